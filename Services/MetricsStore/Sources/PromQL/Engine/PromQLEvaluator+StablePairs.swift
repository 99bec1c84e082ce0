/// Vector/vector arithmetic and comparison when every match group has at most one series
/// on the "one" side over the whole range (the usual case): each "many" series then has a
/// fixed partner, and the two point lists are merged by time, series by series, with no
/// per-step hashing. When that does not hold, or result label sets could collide, it
/// returns nil and the step-by-step path (which reports upstream's errors) runs instead.
extension PromQLEvaluator {
    func vectorVectorStablePairs(_ b: PromQLBinaryExpr, many: [PromQLEvalSeries], one: [PromQLEvalSeries],
                                 manySigs: [Int], oneSigs: [Int], sigCount: Int, swapped: Bool,
                                 matching: PromQLVectorMatching, names: Set<String>) throws(PromQLError) -> [PromQLEvalSeries]? {
        var oneBySig = [Int](repeating: -1, count: sigCount)
        for (index, sig) in oneSigs.enumerated() {
            if oneBySig[sig] >= 0 { return nil }
            oneBySig[sig] = index
        }
        if matching.cardinality == .oneToOne {
            var seen = [Bool](repeating: false, count: sigCount)
            for sig in manySigs {
                if seen[sig] { return nil }
                seen[sig] = true
            }
        }
        var outputs: Set<Labels> = []
        var pairs: [(many: Int, one: Int, labels: Labels)] = []
        pairs.reserveCapacity(many.count)
        for (index, sig) in manySigs.enumerated() where oneBySig[sig] >= 0 {
            let partner = oneBySig[sig]
            let labels = Self.resultLabels(many[index].labels, one[partner].labels, op: b.op, matching: matching, names: names)
            if !outputs.insert(labels).inserted { return nil }
            pairs.append((index, partner, labels))
        }
        let comparison = b.op.isComparison
        var out: [PromQLEvalSeries] = []
        out.reserveCapacity(pairs.count)
        for pair in pairs {
            try checkInterrupted()
            let m = many[pair.many].points, o = one[pair.one].points
            var points: [Head.Sample] = []
            points.reserveCapacity(min(m.count, o.count))
            var i = 0, j = 0
            while i < m.count && j < o.count {
                let tm = m[i].timestamp, to = o[j].timestamp
                if tm < to { i += 1; continue }
                if to < tm { j += 1; continue }
                let (l, r) = swapped ? (o[j].value, m[i].value) : (m[i].value, o[j].value)
                var (value, keep) = Self.elementOperation(b.op, l, r)
                if b.returnBool {
                    value = keep ? 1 : 0
                    keep = true
                }
                if keep {
                    if comparison && !b.returnBool { value = l }
                    points.append(Head.Sample(tm, value))
                }
                i += 1
                j += 1
            }
            if !points.isEmpty { out.append(PromQLEvalSeries(labels: pair.labels, dropName: b.returnBool, points: points)) }
        }
        return out
    }
}
