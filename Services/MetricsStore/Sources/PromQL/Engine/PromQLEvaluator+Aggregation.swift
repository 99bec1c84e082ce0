import Foundation

/// Aggregation operators (`sum`, `avg`, `topk`, `count_values`, …). Each input series'
/// group is computed once; values are then folded step by step into per-group state.
extension PromQLEvaluator {
    func evalAggregate(_ a: PromQLAggregateExpr, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        if a.op.isExperimental && !options.experimentalFunctions {
            throw .execution("aggregation \(a.op.rawValue) is experimental and not enabled")
        }
        var parameter: [Double] = []
        var labelParameter = ""
        if let p = a.parameter {
            switch try eval(p, range) {
            case .scalar(let v): parameter = v
            case .string(let s): labelParameter = s
            default: break
            }
        }
        let input = try evalVector(a.expr, range)
        try checkParameter(a, parameter, input)
        let grouping = Set(a.grouping)
        let sortedGrouping = grouping.sorted { UTF8Bytes.compare($0, $1) < 0 }
        // Group labels once per series.
        var groupOrdinal: [Labels: Int] = [:]
        var groupLabels: [Labels] = []
        var seriesGroup: [Int] = []
        seriesGroup.reserveCapacity(input.count)
        for series in input {
            let key: Labels
            if a.without {
                key = series.labels.removing(grouping, dropName: true)
            } else if grouping.isEmpty {
                key = Labels()
            } else {
                key = series.labels.keeping(sortedNames: sortedGrouping)
            }
            if let o = groupOrdinal[key] {
                seriesGroup.append(o)
            } else {
                groupOrdinal[key] = groupLabels.count
                seriesGroup.append(groupLabels.count)
                groupLabels.append(key)
            }
        }
        if let dense = try foldDense(a.op, input, seriesGroup, groupLabels, range) { return dense }
        let steps = PromQLStepIndex(input, range)
        switch a.op {
        case .topk, .bottomk, .limitk, .limitRatio:
            return try selectK(a, input, seriesGroup, groupLabels.count, steps, parameter, range)
        case .countValues:
            return try countValues(a, input, seriesGroup, groupLabels, steps, labelParameter, range)
        default:
            return try fold(a.op, input, seriesGroup, groupLabels, steps, parameter, range)
        }
    }

    private func checkParameter(_ a: PromQLAggregateExpr, _ parameter: [Double], _ input: [PromQLEvalSeries]) throws(PromQLError) {
        guard let p = a.parameter else { return }
        switch a.op {
        case .topk, .bottomk, .limitk:
            // As upstream: NaN makes the maximum NaN, which is not "below one".
            let highest = parameter.contains(where: \.isNaN) ? Double.nan : (parameter.max() ?? 0)
            if highest < 1 { return }
            if parameter.contains(where: \.isNaN) { throw .execution("Parameter value is NaN") }
            if let low = parameter.min(), low <= -9.223372036854775807e18 { throw .execution("Scalar value \(low) underflows int64") }
            if let high = parameter.max(), high >= 9.223372036854775807e18 { throw .execution("Scalar value \(high) overflows int64") }
        case .limitRatio:
            if parameter.allSatisfy({ $0 == 0 }) { return }
            if parameter.contains(where: \.isNaN) { throw .execution("Ratio value is NaN") }
        case .quantile:
            if parameter.contains(where: \.isNaN) {
                annotations.warn("PromQL warning: quantile value should be between 0 and 1, got NaN \(position(p.positionRange))")
            }
            if let high = parameter.max(), high > 1 {
                annotations.warn("PromQL warning: quantile value should be between 0 and 1, got \(formatGo(high)) \(position(p.positionRange))")
            }
            if let low = parameter.min(), low < 0 {
                annotations.warn("PromQL warning: quantile value should be between 0 and 1, got \(formatGo(low)) \(position(p.positionRange))")
            }
        default:
            break
        }
    }

    /// sum, avg, count, min, max, group, stddev, stdvar, quantile.
    private func fold(_ op: PromQLAggregateOp, _ input: [PromQLEvalSeries], _ seriesGroup: [Int], _ groupLabels: [Labels],
                      _ steps: PromQLStepIndex, _ parameter: [Double], _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let groupCount = groupLabels.count
        var value = [Double](repeating: 0, count: groupCount)
        var compensation = [Double](repeating: 0, count: groupCount)
        var mean = [Double](repeating: 0, count: groupCount)
        var count = [Double](repeating: 0, count: groupCount)
        var incrementalMean = [Bool](repeating: false, count: groupCount)
        var seenAt = [Int](repeating: -1, count: groupCount)
        var dropName = [Bool](repeating: false, count: groupCount)
        var heaps = [[Double]](repeating: [], count: op == .quantile ? groupCount : 0)
        var points = [[Head.Sample]](repeating: [], count: groupCount)
        var touched: [Int] = []
        for step in 0..<range.count {
            try checkInterrupted()
            touched.removeAll(keepingCapacity: true)
            for e in steps.entries(at: step) {
                let s = Int(steps.series[e])
                let f = steps.values[e]
                let g = seriesGroup[s]
                if input[s].dropName { dropName[g] = true }
                if seenAt[g] != step {
                    seenAt[g] = step
                    touched.append(g)
                    value[g] = f
                    mean[g] = f
                    count[g] = 1
                    compensation[g] = 0
                    incrementalMean[g] = false
                    switch op {
                    case .stddev, .stdvar: value[g] = (f.isNaN || f.isInfinite) ? .nan : 0
                    case .quantile: heaps[g].removeAll(keepingCapacity: true); heaps[g].append(f)
                    case .group: value[g] = 1
                    default: break
                    }
                    continue
                }
                switch op {
                case .sum:
                    (value[g], compensation[g]) = PromQLKahanSum.increment(f, value[g], compensation[g])
                case .avg:
                    count[g] += 1
                    if !incrementalMean[g] {
                        let (v, c) = PromQLKahanSum.increment(f, value[g], compensation[g])
                        if !v.isInfinite {
                            value[g] = v
                            compensation[g] = c
                            break
                        }
                        incrementalMean[g] = true
                        mean[g] = value[g] / (count[g] - 1)
                        compensation[g] /= count[g] - 1
                    }
                    let q = (count[g] - 1) / count[g]
                    (mean[g], compensation[g]) = PromQLKahanSum.increment(f / count[g], q * mean[g], q * compensation[g])
                case .count:
                    count[g] += 1
                case .max:
                    if value[g] < f || value[g].isNaN { value[g] = f }
                case .min:
                    if value[g] > f || value[g].isNaN { value[g] = f }
                case .stddev, .stdvar:
                    count[g] += 1
                    let delta = f - mean[g]
                    mean[g] += delta / count[g]
                    value[g] += delta * (f - mean[g])
                case .quantile:
                    heaps[g].append(f)
                default:
                    break
                }
            }
            let time = range.time(step)
            for g in touched {
                let result: Double
                switch op {
                case .sum: result = value[g] + compensation[g]
                case .avg:
                    result = incrementalMean[g] ? mean[g] + compensation[g]
                        : value[g] / count[g] + compensation[g] / count[g]
                case .count: result = count[g]
                case .stdvar: result = value[g] / count[g]
                case .stddev: result = (value[g] / count[g]).squareRoot()
                case .quantile: result = promQLQuantile(parameter[step], &heaps[g])
                default: result = value[g]
                }
                points[g].append(Head.Sample(time, result))
            }
        }
        var out: [PromQLEvalSeries] = []
        for g in 0..<groupCount where !points[g].isEmpty {
            out.append(PromQLEvalSeries(labels: groupLabels[g], dropName: dropName[g], points: points[g]))
        }
        try retain(out.reduce(0) { $0 + $1.points.count })
        return out
    }

    /// topk, bottomk (and the experimental limitk / limit_ratio): the output keeps the
    /// selected input series as they are.
    private func selectK(_ a: PromQLAggregateExpr, _ input: [PromQLEvalSeries], _ seriesGroup: [Int], _ groupCount: Int,
                         _ steps: PromQLStepIndex, _ parameter: [Double], _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        var selected = [[(series: Int, value: Double)]](repeating: [], count: groupCount)
        var groupOrder: [Int] = []
        var seenAt = [Int](repeating: -1, count: groupCount)
        var points = [[Head.Sample]](repeating: [], count: input.count)
        var order: [Int] = []   // series in first-output order (instant queries keep it)
        var emitted = [Bool](repeating: false, count: input.count)
        let top = a.op == .topk
        // `better(x, y)`: x ranks before y; NaN ranks last either way.
        func better(_ x: Double, _ y: Double) -> Bool {
            if y.isNaN { return !x.isNaN }
            if x.isNaN { return false }
            return top ? x > y : x < y
        }
        for step in 0..<range.count {
            try checkInterrupted()
            let p = parameter[step]
            groupOrder.removeAll(keepingCapacity: true)
            switch a.op {
            case .limitRatio:
                guard p != 0 else { continue }
            default:
                guard min(p, Double(input.count)) >= 1 else { continue }
            }
            let k = a.op == .limitRatio ? Int.max : Int(min(p, Double(input.count)))
            let ratio = max(-1, min(1, p))
            for e in steps.entries(at: step) {
                let s = Int(steps.series[e])
                let f = steps.values[e]
                let g = seriesGroup[s]
                if seenAt[g] != step {
                    seenAt[g] = step
                    selected[g].removeAll(keepingCapacity: true)
                    groupOrder.append(g)
                }
                switch a.op {
                case .limitk:
                    if selected[g].count < k { selected[g].append((s, f)) }
                case .limitRatio:
                    if Self.ratioSampleKept(input[s].labels, ratio) { selected[g].append((s, f)) }
                default:
                    var position = selected[g].count
                    while position > 0, better(f, selected[g][position - 1].value) { position -= 1 }
                    if position < k {
                        selected[g].insert((s, f), at: position)
                        if selected[g].count > k { selected[g].removeLast() }
                    }
                }
            }
            let time = range.time(step)
            for g in groupOrder {
                for (s, f) in selected[g] {
                    points[s].append(Head.Sample(time, f))
                    if !emitted[s] { emitted[s] = true; order.append(s) }
                }
            }
        }
        let out = order.map { PromQLEvalSeries(labels: input[$0].labels, dropName: input[$0].dropName, points: points[$0]) }
        try retain(out.reduce(0) { $0 + $1.points.count })
        return out
    }

    /// Whether `limit_ratio` keeps a series: a deterministic sample by label hash.
    static func ratioSampleKept(_ labels: Labels, _ ratio: Double) -> Bool {
        let fraction = Double(labels.stableHash) / Double(UInt64.max)
        return ratio >= 0 ? fraction < ratio : fraction >= 1 + ratio
    }

    private func countValues(_ a: PromQLAggregateExpr, _ input: [PromQLEvalSeries], _ seriesGroup: [Int], _ groupLabels: [Labels],
                             _ steps: PromQLStepIndex, _ label: String, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        guard Self.isValidLabelName(label) else {
            throw .execution("invalid label name \(GoQuote.quote(label))")
        }
        var collector: [Labels: Int] = [:]
        var out: [PromQLEvalSeries] = []
        for step in 0..<range.count {
            try checkInterrupted()
            var counts: [Labels: Double] = [:]
            var order: [Labels] = []
            for e in steps.entries(at: step) {
                let s = Int(steps.series[e])
                let labels = groupLabels[seriesGroup[s]].setting(label, formatPlain(steps.values[e]))
                if counts[labels] == nil { order.append(labels) }
                counts[labels, default: 0] += 1
            }
            let time = range.time(step)
            for labels in order {
                let value = counts[labels]!
                if let index = collector[labels] {
                    out[index].points.append(Head.Sample(time, value))
                } else {
                    collector[labels] = out.count
                    out.append(PromQLEvalSeries(labels: labels, points: [Head.Sample(time, value)]))
                }
            }
        }
        try retain(out.reduce(0) { $0 + $1.points.count })
        return out
    }

    /// Prometheus 3 accepts any non-empty valid UTF-8 label name. A Swift string is always
    /// valid UTF-8; bytes that were not arrive here as U+FFFD, so that is what is refused.
    static func isValidLabelName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains("\u{FFFD}")
    }
}
