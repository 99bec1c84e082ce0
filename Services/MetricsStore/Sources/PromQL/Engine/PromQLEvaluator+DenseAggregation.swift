/// The common aggregations (`sum`, `avg`, `count`, `min`, `max`, `group`) folded series by
/// series into one dense cell per (group, step). Each series' points are read in order,
/// which is much kinder to caches than regrouping all samples by step; the per-cell
/// order of additions is still the input order, so results match the step-wise fold.
extension PromQLEvaluator {
    /// Upper bound on groups × steps for the dense fold; beyond it the step-wise fold is used.
    static let denseCellLimit = 8_000_000

    /// nil when the dense fold does not apply (other operators, too many cells, or an
    /// average that overflows and needs upstream's incremental-mean fallback).
    func foldDense(_ op: PromQLAggregateOp, _ input: [PromQLEvalSeries], _ seriesGroup: [Int], _ groupLabels: [Labels],
                   _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries]? {
        switch op {
        case .sum, .avg, .count, .min, .max, .group: break
        default: return nil
        }
        let steps = range.count
        let cells = groupLabels.count * steps
        guard cells <= Self.denseCellLimit else { return nil }
        let summing = op == .sum || op == .avg
        var value = [Double](repeating: 0, count: cells)
        var compensation = [Double](repeating: 0, count: summing ? cells : 0)
        var count = [Double](repeating: 0, count: cells)
        var dropName = [Bool](repeating: false, count: groupLabels.count)
        for (index, series) in input.enumerated() {
            try checkInterrupted()
            let group = seriesGroup[index]
            if series.dropName { dropName[group] = true }
            let base = group * steps
            for point in series.points {
                let cell = base + range.step(of: point.timestamp)
                let f = point.value
                if count[cell] == 0 {
                    count[cell] = 1
                    value[cell] = op == .group ? 1 : f
                    continue
                }
                count[cell] += 1
                switch op {
                case .sum, .avg:
                    (value[cell], compensation[cell]) = PromQLKahanSum.increment(f, value[cell], compensation[cell])
                case .max:
                    if value[cell] < f || value[cell].isNaN { value[cell] = f }
                case .min:
                    if value[cell] > f || value[cell].isNaN { value[cell] = f }
                default:
                    break
                }
            }
        }
        if op == .avg, value.contains(where: { !$0.isFinite }) { return nil }
        var out: [PromQLEvalSeries] = []
        out.reserveCapacity(groupLabels.count)
        for group in groupLabels.indices {
            var points: [Head.Sample] = []
            let base = group * steps
            for step in 0..<steps where count[base + step] > 0 {
                let cell = base + step
                let result: Double
                switch op {
                case .sum: result = value[cell] + compensation[cell]
                case .avg: result = value[cell] / count[cell] + compensation[cell] / count[cell]
                case .count: result = count[cell]
                default: result = value[cell]
                }
                if points.isEmpty { points.reserveCapacity(steps - step) }
                points.append(Head.Sample(range.time(step), result))
            }
            if !points.isEmpty { out.append(PromQLEvalSeries(labels: groupLabels[group], dropName: dropName[group], points: points)) }
        }
        try retain(out.reduce(0) { $0 + $1.points.count })
        return out
    }
}
