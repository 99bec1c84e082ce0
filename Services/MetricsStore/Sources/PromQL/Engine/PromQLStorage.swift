/// Where the PromQL engine reads series from. `TSDB` conforms by its own `select`.
///
/// Contract: each returned series' samples are sorted by timestamp, lie in `[mint, maxt]`,
/// and staleness markers (NaN with bits `0x7ff0000000000002`) are included as stored.
public protocol PromQLStorage: Sendable {
    func select(_ matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws -> [(labels: Labels, samples: [Head.Sample])]
}

extension TSDB: PromQLStorage {}

/// The in-memory head alone (benchmarks, tests that do not need blocks).
extension Head: PromQLStorage {}

/// A fixed set of series held in memory: for tests and the conformance runner.
public struct PromQLMemoryStorage: PromQLStorage {
    public private(set) var series: [Labels: [Head.Sample]] = [:]
    /// Series by metric name, so that `name{…}` selectors do not scan everything.
    private var byName: [String: [Labels]] = [:]

    public init() {}

    /// Adds samples to a series, keeping its samples sorted; a sample at an existing
    /// timestamp replaces the old one (test scripts load additively).
    public mutating func append(_ labels: Labels, _ samples: [Head.Sample]) {
        if series[labels] == nil { byName[labels[Labels.metricName] ?? "", default: []].append(labels) }
        var merged = series[labels, default: []]
        merged.append(contentsOf: samples)
        merged.sort { $0.timestamp < $1.timestamp }
        var deduplicated: [Head.Sample] = []
        deduplicated.reserveCapacity(merged.count)
        for sample in merged {
            if let last = deduplicated.last, last.timestamp == sample.timestamp {
                deduplicated[deduplicated.count - 1] = sample
            } else {
                deduplicated.append(sample)
            }
        }
        series[labels] = deduplicated
    }

    public mutating func removeAll() {
        series.removeAll()
        byName.removeAll()
    }

    public func select(_ matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws -> [(labels: Labels, samples: [Head.Sample])] {
        var out: [(labels: Labels, samples: [Head.Sample])] = []
        let candidates: [Labels]
        if let name = matchers.first(where: { $0.name == Labels.metricName && $0.type == .equal }) {
            candidates = byName[name.value] ?? []
        } else {
            candidates = Array(series.keys)
        }
        for labels in candidates where matchers.allSatisfy({ $0.matches(labels[$0.name] ?? "") }) {
            guard let samples = series[labels] else { continue }
            let lower = samples.partitioningIndex { $0.timestamp >= mint }
            let upper = samples.partitioningIndex { $0.timestamp > maxt }
            if lower < upper { out.append((labels, Array(samples[lower..<upper]))) }
        }
        return out.sorted { $0.labels < $1.labels }
    }
}

extension RandomAccessCollection {
    /// The first index whose element satisfies `predicate`, for a predicate that is false
    /// then true along the collection (binary search).
    @inlinable
    func partitioningIndex(where predicate: (Element) throws -> Bool) rethrows -> Index {
        var low = startIndex
        var n = count
        while n > 0 {
            let half = n / 2
            let mid = index(low, offsetBy: half)
            if try predicate(self[mid]) {
                n = half
            } else {
                low = index(after: mid)
                n -= half + 1
            }
        }
        return low
    }
}
