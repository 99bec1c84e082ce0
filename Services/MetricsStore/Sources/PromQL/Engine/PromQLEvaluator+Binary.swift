import Foundation

/// Binary operators: arithmetic, comparison (with and without `bool`), and the set
/// operators, with Prometheus's vector matching.
extension PromQLEvaluator {
    func evalBinary(_ b: PromQLBinaryExpr, _ range: PromQLStepRange) throws(PromQLError) -> PromQLEvalValue {
        guard b.op != .trimUpper, b.op != .trimLower else {
            throw .execution("operator \(b.op.rawValue) applies to native histograms only, which are not supported")
        }
        let lhs = try eval(b.lhs, range)
        let rhs = try eval(b.rhs, range)
        switch (lhs, rhs) {
        case (.scalar(let l), .scalar(let r)):
            return .scalar(zip(l, r).map { Self.scalarOperation(b.op, $0, $1) })
        case (.vector(let l), .scalar(let r)):
            return .vector(vectorScalar(b, l, r, range, scalarOnLeft: false))
        case (.scalar(let l), .vector(let r)):
            return .vector(vectorScalar(b, r, l, range, scalarOnLeft: true))
        case (.vector(let l), .vector(let r)):
            switch b.op {
            case .land, .lor, .lunless: return .vector(try setOperation(b, l, r, range))
            default: return .vector(try vectorVector(b, l, r, range))
            }
        default:
            throw .execution("invalid operands of \(b.op.rawValue)")
        }
    }

    static func scalarOperation(_ op: PromQLOperator, _ l: Double, _ r: Double) -> Double {
        let (value, keep) = elementOperation(op, l, r)
        return op.isComparison ? (keep ? 1 : 0) : value
    }

    /// The float result of `l op r` and, for comparisons, whether the pair is kept.
    @inline(__always)
    static func elementOperation(_ op: PromQLOperator, _ l: Double, _ r: Double) -> (Double, Bool) {
        switch op {
        case .add: return (l + r, true)
        case .sub: return (l - r, true)
        case .mul: return (l * r, true)
        case .div: return (l / r, true)
        case .pow: return (Foundation.pow(l, r), true)
        case .mod: return (fmod(l, r), true)
        case .atan2: return (Foundation.atan2(l, r), true)
        case .eqlc: return (l, l == r)
        case .neq: return (l, l != r)
        case .gtr: return (l, l > r)
        case .lss: return (l, l < r)
        case .gte: return (l, l >= r)
        case .lte: return (l, l <= r)
        default: return (.nan, false)
        }
    }

    private func vectorScalar(_ b: PromQLBinaryExpr, _ vector: [PromQLEvalSeries], _ scalar: [Double],
                              _ range: PromQLStepRange, scalarOnLeft: Bool) -> [PromQLEvalSeries] {
        let comparison = b.op.isComparison
        let marksName = !comparison || b.returnBool
        var out: [PromQLEvalSeries] = []
        out.reserveCapacity(vector.count)
        for var series in vector {
            var kept: [Head.Sample] = []
            kept.reserveCapacity(series.points.count)
            for point in series.points {
                let s = scalar[range.step(of: point.timestamp)]
                var (value, keep) = scalarOnLeft ? Self.elementOperation(b.op, s, point.value) : Self.elementOperation(b.op, point.value, s)
                if comparison && scalarOnLeft { value = point.value }
                if b.returnBool {
                    value = keep ? 1 : 0
                    keep = true
                }
                if keep { kept.append(Head.Sample(point.timestamp, value)) }
            }
            guard !kept.isEmpty else { continue }
            series.points = kept
            if marksName { series.dropName = true }
            out.append(series)
        }
        return out
    }

    /// The matching key of each series: the `on(...)` labels, or all but the `ignoring(...)`
    /// labels and `__name__`; as ordinals so per-step work uses arrays, not hashing.
    private func signatureOrdinals(_ lhs: [PromQLEvalSeries], _ rhs: [PromQLEvalSeries], _ matching: PromQLVectorMatching)
        -> (lhs: [Int], rhs: [Int], count: Int) {
        let names = Set(matching.matchingLabels)
        var ordinals: [Labels: Int] = [:]
        func ordinal(_ labels: Labels) -> Int {
            let key = matching.on ? labels.keeping(names) : labels.removing(names, dropName: true)
            if let o = ordinals[key] { return o }
            ordinals[key] = ordinals.count
            return ordinals.count - 1
        }
        let l = lhs.map { ordinal($0.labels) }
        let r = rhs.map { ordinal($0.labels) }
        return (l, r, ordinals.count)
    }

    private func setOperation(_ b: PromQLBinaryExpr, _ lhs: [PromQLEvalSeries], _ rhs: [PromQLEvalSeries],
                              _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let matching = b.vectorMatching ?? PromQLVectorMatching(cardinality: .manyToMany)
        let sigs = signatureOrdinals(lhs, rhs, matching)
        let left = PromQLStepIndex(lhs, range)
        let right = PromQLStepIndex(rhs, range)
        var present = [Int](repeating: -1, count: sigs.count)
        var collector = PromQLSeriesCollector(range: range)
        for step in 0..<range.count {
            let time = range.time(step)
            switch b.op {
            case .land, .lunless:
                for e in right.entries(at: step) { present[sigs.rhs[Int(right.series[e])]] = step }
                let wantPresent = b.op == .land
                for e in left.entries(at: step) {
                    let s = Int(left.series[e])
                    if (present[sigs.lhs[s]] == step) == wantPresent {
                        try collector.add(lhs[s].labels, dropName: lhs[s].dropName, step: step, time: time, value: left.values[e])
                    }
                }
            default:
                for e in left.entries(at: step) {
                    let s = Int(left.series[e])
                    present[sigs.lhs[s]] = step
                    try collector.add(lhs[s].labels, dropName: lhs[s].dropName, step: step, time: time, value: left.values[e])
                }
                for e in right.entries(at: step) {
                    let s = Int(right.series[e])
                    if present[sigs.rhs[s]] != step {
                        try collector.add(rhs[s].labels, dropName: rhs[s].dropName, step: step, time: time, value: right.values[e])
                    }
                }
            }
        }
        return collector.series
    }

    private func vectorVector(_ b: PromQLBinaryExpr, _ lhsIn: [PromQLEvalSeries], _ rhsIn: [PromQLEvalSeries],
                              _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let matching = b.vectorMatching ?? PromQLVectorMatching()
        guard !lhsIn.isEmpty, !rhsIn.isEmpty else { return [] }
        // One-to-many is many-to-one with the sides swapped; values are swapped back below.
        let swapped = matching.cardinality == .oneToMany
        let (many, one) = swapped ? (rhsIn, lhsIn) : (lhsIn, rhsIn)
        let sigs = signatureOrdinals(many, one, matching)
        let names = Set(matching.matchingLabels)
        if let fast = try vectorVectorStablePairs(b, many: many, one: one, manySigs: sigs.lhs, oneSigs: sigs.rhs, sigCount: sigs.count,
                                                  swapped: swapped, matching: matching, names: names) {
            return fast
        }
        let manyIndex = PromQLStepIndex(many, range)
        let oneIndex = PromQLStepIndex(one, range)
        let comparison = b.op.isComparison
        var oneAtSig = [Int](repeating: -1, count: sigs.count)       // entry index in oneIndex
        var oneAtSigStep = [Int](repeating: -1, count: sigs.count)
        var matchedStep = [Int](repeating: -1, count: sigs.count)
        // The output slot of each "many" series, cached for the "one" series it last
        // matched: pairings rarely change between steps, so labels are built and hashed
        // once per pairing, not once per sample.
        var cachedOne = [Int](repeating: -1, count: many.count)
        var cachedSlot = [Int](repeating: -1, count: many.count)
        // Per output slot: the step and match group that last produced it (for the
        // many-to-one uniqueness check, which upstream makes before filtering).
        var slotMatchStep: [Int] = []
        var slotMatchSig: [Int] = []
        var collector = PromQLSlotCollector()

        for step in 0..<range.count {
            try checkInterrupted()
            let time = range.time(step)
            for e in oneIndex.entries(at: step) {
                let s = Int(oneIndex.series[e])
                let sig = sigs.rhs[s]
                if oneAtSigStep[sig] == step {
                    let other = one[Int(oneIndex.series[oneAtSig[sig]])].labels
                    let group = matching.on ? one[s].labels.keeping(names) : one[s].labels.removing(names, dropName: true)
                    var pair = [one[s].labels.description, other.description]
                    pair.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                    throw .execution("found duplicate series for the match group \(group) on the \(swapped ? "left" : "right") hand-side of the operation: [\(pair[0]), \(pair[1])];many-to-many matching not allowed: matching labels must be unique on one side")
                }
                oneAtSigStep[sig] = step
                oneAtSig[sig] = e
            }
            for e in manyIndex.entries(at: step) {
                let ms = Int(manyIndex.series[e])
                let sig = sigs.lhs[ms]
                guard oneAtSigStep[sig] == step else { continue }
                let oe = oneAtSig[sig]
                let os = Int(oneIndex.series[oe])
                let (l, r) = swapped ? (oneIndex.values[oe], manyIndex.values[e]) : (manyIndex.values[e], oneIndex.values[oe])
                var (value, keep) = Self.elementOperation(b.op, l, r)
                if b.returnBool {
                    value = keep ? 1 : 0
                }
                if cachedOne[ms] != os {
                    let metric = Self.resultLabels(many[ms].labels, one[os].labels, op: b.op, matching: matching, names: names)
                    cachedOne[ms] = os
                    cachedSlot[ms] = collector.slot(for: metric, dropName: b.returnBool)
                    while slotMatchStep.count < collector.slotCount {
                        slotMatchStep.append(-1)
                        slotMatchSig.append(-1)
                    }
                }
                let slot = cachedSlot[ms]
                if matching.cardinality == .oneToOne {
                    if matchedStep[sig] == step {
                        throw .execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                    }
                    matchedStep[sig] = step
                } else {
                    if slotMatchStep[slot] == step && slotMatchSig[slot] == sig {
                        throw .execution("multiple matches for labels: grouping labels must ensure unique matches")
                    }
                    slotMatchStep[slot] = step
                    slotMatchSig[slot] = sig
                }
                if !keep && !b.returnBool { continue }
                if comparison && !b.returnBool && swapped { value = l }
                try collector.add(slot: slot, step: step, time: time, value: value)
            }
        }
        return collector.series.filter { !$0.points.isEmpty }
    }

    /// The labels of a vector/vector result: the "many" side's, without `__name__` for
    /// arithmetic, reduced to the matching labels for one-to-one, plus `group_x` labels
    /// copied from the "one" side.
    static func resultLabels(_ many: Labels, _ one: Labels, op: PromQLOperator, matching: PromQLVectorMatching, names: Set<String>) -> Labels {
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(many.count)
        let dropsName = !op.isComparison
        for label in many {
            if dropsName && Labels.isMetadata(label.name) { continue }
            if matching.cardinality == .oneToOne {
                if matching.on != names.contains(label.name) { continue }
            }
            pairs.append((label.name, label.value))
        }
        var result = Labels(sortedPairs: pairs)
        for name in matching.include {
            result = result.setting(name, one[name] ?? "")
        }
        return result
    }
}
