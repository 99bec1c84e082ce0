import Synchronization

/// An exemplar as stored: the series it belongs to, its own labels (trace_id, …), value
/// and time in milliseconds.
public struct StoredExemplar: Sendable, Equatable {
    public var series: Labels
    public var labels: Labels
    public var value: Double
    public var timestamp: Int64
}

/// Exemplars in a fixed-size ring, as Prometheus keeps them: the newest `capacity`
/// exemplars across all series; older ones are overwritten. Memory never grows past it.
public final class ExemplarStorage: Sendable {
    private struct Ring {
        var slots: [StoredExemplar?]
        var next = 0
        /// The newest timestamp per series, so out-of-order exemplars are skipped.
        var newest: [Labels: Int64] = [:]
    }

    private let ring: Mutex<Ring>
    public let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
        self.ring = Mutex(Ring(slots: Array(repeating: nil, count: max(1, capacity))))
    }

    /// Adds exemplars; returns how many were older than their series' newest and skipped.
    @discardableResult
    public func add(_ exemplars: [StoredExemplar]) -> Int {
        ring.withLock { ring in
            var skipped = 0
            for exemplar in exemplars {
                if let newest = ring.newest[exemplar.series], exemplar.timestamp <= newest {
                    skipped += 1
                    continue
                }
                if let evicted = ring.slots[ring.next], ring.newest[evicted.series] == evicted.timestamp {
                    ring.newest[evicted.series] = nil
                }
                ring.slots[ring.next] = exemplar
                ring.newest[exemplar.series] = exemplar.timestamp
                ring.next = (ring.next + 1) % ring.slots.count
            }
            return skipped
        }
    }

    /// Every stored exemplar, oldest first (what a WAL checkpoint keeps).
    public func all() -> [StoredExemplar] {
        ring.withLock { ring in
            (ring.slots[ring.next...] + ring.slots[..<ring.next]).compactMap { $0 }
        }
    }

    /// Exemplars of series matching any selector, in [start, end], grouped by series and
    /// in time order within each.
    public func query(_ selectors: [[LabelMatcher]], start: Int64, end: Int64) -> [(series: Labels, exemplars: [StoredExemplar])] {
        let found = ring.withLock { ring in
            ring.slots.compactMap { slot -> StoredExemplar? in
                guard let e = slot, e.timestamp >= start, e.timestamp <= end else { return nil }
                let matches = selectors.contains { matchers in matchers.allSatisfy { $0.matches(e.series[$0.name] ?? "") } }
                return matches ? e : nil
            }
        }
        let grouped = Dictionary(grouping: found, by: \.series)
        return grouped.map { ($0.key, $0.value.sorted { $0.timestamp < $1.timestamp }) }.sorted { $0.series < $1.series }
    }
}

/// Metric metadata (type, help, unit) by metric family name, the newest report winning.
public final class MetadataStore: Sendable {
    public struct Entry: Sendable, Equatable {
        public var type: String
        public var help: String
        public var unit: String
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    public func set(_ family: String, _ entry: Entry) {
        entries.withLock { $0[family] = entry }
    }

    public func all() -> [String: Entry] { entries.withLock { $0 } }
}
