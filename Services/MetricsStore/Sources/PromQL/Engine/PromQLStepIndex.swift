/// The samples of a list of step-aligned series regrouped by step, so that per-step
/// operations (vector matching, `topk`, …) visit only the series present at that step.
/// Built with one counting pass; no per-step allocation.
struct PromQLStepIndex {
    /// Entries of step `s` are `offsets[s] ..< offsets[s + 1]`.
    private(set) var offsets: [Int]
    private(set) var series: [Int32]
    private(set) var values: [Double]

    init(_ input: [PromQLEvalSeries], _ range: PromQLStepRange) {
        var counts = [Int](repeating: 0, count: range.count + 1)
        for s in input {
            for p in s.points { counts[range.step(of: p.timestamp) + 1] += 1 }
        }
        for i in 0..<range.count { counts[i + 1] += counts[i] }
        offsets = counts
        let total = counts[range.count]
        var series = [Int32](repeating: 0, count: total)
        var values = [Double](repeating: 0, count: total)
        var cursor = counts
        for (index, s) in input.enumerated() {
            for p in s.points {
                let step = range.step(of: p.timestamp)
                series[cursor[step]] = Int32(index)
                values[cursor[step]] = p.value
                cursor[step] += 1
            }
        }
        self.series = series
        self.values = values
    }

    @inline(__always) func entries(at step: Int) -> Range<Int> { offsets[step]..<offsets[step + 1] }
}

/// Gathers per-step output samples into series by label set.
///
/// A range query must not produce two samples with the same labels at one step
/// (Prometheus: "vector cannot contain metrics with the same labelset"); for an instant
/// query the check waits for the final result, where names dropped late may collide.
struct PromQLSeriesCollector {
    private(set) var series: [PromQLEvalSeries] = []
    private var indexByLabels: [Labels: Int] = [:]
    private var lastStep: [Int] = []
    let checkDuplicates: Bool

    init(range: PromQLStepRange) {
        checkDuplicates = range.count > 1
    }

    mutating func add(_ labels: Labels, dropName: Bool, step: Int, time: Int64, value: Double) throws(PromQLError) {
        if !checkDuplicates {
            series.append(PromQLEvalSeries(labels: labels, dropName: dropName, points: [Head.Sample(time, value)]))
            return
        }
        if let index = indexByLabels[labels] {
            if lastStep[index] == step { throw .execution("vector cannot contain metrics with the same labelset") }
            lastStep[index] = step
            series[index].points.append(Head.Sample(time, value))
        } else {
            indexByLabels[labels] = series.count
            lastStep.append(step)
            series.append(PromQLEvalSeries(labels: labels, dropName: dropName, points: [Head.Sample(time, value)]))
        }
    }
}

/// Like `PromQLSeriesCollector`, but callers resolve a label set to a slot once and then
/// add points by slot, so the per-sample cost is an array write.
struct PromQLSlotCollector {
    private(set) var series: [PromQLEvalSeries] = []
    private var slotByLabels: [Labels: Int] = [:]
    private var lastStep: [Int] = []

    var slotCount: Int { series.count }

    mutating func slot(for labels: Labels, dropName: Bool) -> Int {
        if let slot = slotByLabels[labels] { return slot }
        slotByLabels[labels] = series.count
        series.append(PromQLEvalSeries(labels: labels, dropName: dropName, points: []))
        lastStep.append(-1)
        return series.count - 1
    }

    mutating func add(slot: Int, step: Int, time: Int64, value: Double) throws(PromQLError) {
        if lastStep[slot] == step { throw .execution("vector cannot contain metrics with the same labelset") }
        lastStep[slot] = step
        series[slot].points.append(Head.Sample(time, value))
    }
}
