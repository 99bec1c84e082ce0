/// The sample statistics of one query, which the query API returns for `stats=…` in
/// Prometheus's `samples` object (upstream `util/stats`).
///
/// `totalQueryableSamples` is defined as Prometheus 2.42 defines it, so the two agree on
/// the same data: an instant selector counts one sample per series and step it yields a
/// value for; a range selector under a function counts the samples of every step's window
/// (a sample in several windows counts in each); a range selector that is itself the
/// result counts its samples. A subquery under a function counts its windows the same
/// way and not what its inner expression read; a subquery that is itself the result
/// counts what its inner expression read, at the last step.
public struct PromQLQueryStats: Sendable, Equatable {
    /// Samples counted over the whole query.
    public var totalQueryableSamples: Int
    /// The same per step of the query, in step order (one step for an instant query).
    public var totalQueryableSamplesPerStep: [Int]
    /// The most samples the evaluation held in memory at once: the figure checked against
    /// `PromQLEngineOptions.maxSamples`. This engine loads a selector's samples for all
    /// steps at once, so its peak is its own and not comparable with Prometheus's.
    public var peakSamples: Int

    public init(totalQueryableSamples: Int = 0, totalQueryableSamplesPerStep: [Int] = [], peakSamples: Int = 0) {
        self.totalQueryableSamples = totalQueryableSamples
        self.totalQueryableSamplesPerStep = totalQueryableSamplesPerStep
        self.peakSamples = peakSamples
    }
}

/// Queryable samples counted per step of the range an evaluation runs over. Hot loops
/// count into a local array and add it here once.
struct PromQLSampleCounter {
    private(set) var perStep: [Int]

    init(steps: Int) {
        perStep = [Int](repeating: 0, count: steps)
    }

    var total: Int { perStep.reduce(0, +) }

    mutating func add(_ counts: [Int]) {
        for (step, count) in counts.enumerated() where count != 0 { perStep[step] += count }
    }

    mutating func add(_ count: Int, atStep step: Int) {
        perStep[step] += count
    }
}
