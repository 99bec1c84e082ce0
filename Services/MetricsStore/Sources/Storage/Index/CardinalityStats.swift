/// The head index's cardinality figures that /api/v1/status/tsdb reports, each list the
/// `limit` largest entries, largest first (ties by name, so answers are stable).
public struct CardinalityStats: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var value: Int
    }

    /// Series per metric name (the values of `__name__`).
    public var seriesCountByMetricName: [Entry] = []
    /// Distinct values per label name.
    public var labelValueCountByLabelName: [Entry] = []
    /// Bytes of label values per label name, each value counted once per series using it:
    /// what the label costs in memory, as Prometheus estimates it.
    public var memoryInBytesByLabelName: [Entry] = []
    /// Series per `name=value` pair.
    public var seriesCountByLabelValuePair: [Entry] = []
    /// Distinct `name=value` pairs in the index.
    public var numLabelPairs = 0

    public init(_ postings: MemPostings, limit: Int) {
        var metricNames: [Entry] = []
        var valueCounts: [Entry] = []
        var memory: [Entry] = []
        var pairs: [Entry] = []
        postings.forEachLabel { name, values in
            numLabelPairs += values.count
            valueCounts.append(Entry(name: name, value: values.count))
            memory.append(Entry(name: name, value: values.reduce(0) { $0 + $1.value.utf8.count * $1.count }))
            for (value, count) in values {
                pairs.append(Entry(name: name + "=" + value, value: count))
                if name == Labels.metricName { metricNames.append(Entry(name: value, value: count)) }
            }
        }
        seriesCountByMetricName = Self.top(metricNames, limit)
        labelValueCountByLabelName = Self.top(valueCounts, limit)
        memoryInBytesByLabelName = Self.top(memory, limit)
        seriesCountByLabelValuePair = Self.top(pairs, limit)
    }

    private static func top(_ entries: [Entry], _ limit: Int) -> [Entry] {
        Array(entries.sorted { $0.value != $1.value ? $0.value > $1.value : $0.name < $1.name }.prefix(max(0, limit)))
    }
}
