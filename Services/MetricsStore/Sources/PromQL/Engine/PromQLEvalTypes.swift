/// The steps an expression is evaluated at: `start`, `start + interval`, … up to `end`.
/// An instant query is the one-step range `start == end`.
struct PromQLStepRange: Sendable {
    let start: Int64
    let end: Int64
    let interval: Int64
    let count: Int

    init(start: Int64, end: Int64, interval: Int64) {
        self.start = start
        self.end = end
        self.interval = max(interval, 1)
        self.count = end < start ? 0 : Int((end - start) / max(interval, 1)) + 1
    }

    @inline(__always) func time(_ step: Int) -> Int64 { start + Int64(step) * interval }
    @inline(__always) func step(of time: Int64) -> Int { Int((time - start) / interval) }
}

/// A series during evaluation. For instant-vector values its points sit at step times;
/// for range-vector values they are the raw samples.
///
/// `dropName` implements Prometheus 3's delayed `__name__` removal: operations that would
/// drop the metric name only mark the series, and the name is removed when the query
/// finishes, so that `label_replace` and friends can still read it in between.
struct PromQLEvalSeries: Sendable {
    var labels: Labels
    var dropName: Bool
    var points: [Head.Sample]

    init(labels: Labels, dropName: Bool = false, points: [Head.Sample]) {
        self.labels = labels
        self.dropName = dropName
        self.points = points
    }
}

/// The value of an expression over all steps of its evaluation range.
enum PromQLEvalValue: Sendable {
    /// An instant vector at every step (possibly with gaps).
    case vector([PromQLEvalSeries])
    /// A range vector: only the result of an instant query (or an argument of a function).
    case matrix([PromQLEvalSeries])
    /// One value per step.
    case scalar([Double])
    case string(String)

    var sampleCount: Int {
        switch self {
        case .vector(let s), .matrix(let s): return s.reduce(0) { $0 + $1.points.count }
        case .scalar(let v): return v.count
        case .string: return 0
        }
    }
}

/// Prometheus's staleness marker (`value.StaleNaN`): a NaN with one exact bit pattern,
/// which storage keeps and selectors treat as "series ended here".
enum PromQLStaleness {
    static let marker = Double(bitPattern: 0x7ff0_0000_0000_0002)
    @inline(__always) static func isMarker(_ value: Double) -> Bool { value.bitPattern == 0x7ff0_0000_0000_0002 }
}

extension Labels {
    /// The metadata labels Prometheus 3 drops together with the metric name
    /// (`schema.IsMetadataLabel`): `__name__`, `__type__`, `__unit__`.
    static func isMetadata(_ name: String) -> Bool {
        name == metricName || name == "__type__" || name == "__unit__"
    }

    /// The label set without `__name__` (and the `__type__` / `__unit__` metadata).
    func droppingName() -> Labels {
        guard contains(where: { Labels.isMetadata($0.name) }) else { return self }
        return Labels(sortedPairs: self.filter { !Labels.isMetadata($0.name) }.map { ($0.name, $0.value) })
    }

    /// Only the labels named in `names` (`on(...)`, `by(...)`).
    func keeping(_ names: Set<String>) -> Labels {
        Labels(sortedPairs: self.filter { names.contains($0.name) }.map { ($0.name, $0.value) })
    }

    /// Only the labels named in `names`, which are sorted by bytes and unique: each is
    /// looked up by binary search, cheaper than testing every label against a set when
    /// `by (...)` names a few labels of many.
    func keeping(sortedNames names: [String]) -> Labels {
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(names.count)
        for name in names {
            if let value = self[name] { pairs.append((name, value)) }
        }
        return Labels(sortedPairs: pairs)
    }

    /// Without the labels named in `names` (and without `__name__` if `dropName`).
    func removing(_ names: Set<String>, dropName: Bool) -> Labels {
        Labels(sortedPairs: self.filter { !names.contains($0.name) && !(dropName && $0.name == Labels.metricName) }
            .map { ($0.name, $0.value) })
    }

    /// A copy with `name` set to `value`; an empty value removes the label, as upstream.
    func setting(_ name: String, _ value: String) -> Labels {
        var pairs = self.filter { $0.name != name }.map { (name: $0.name, value: $0.value) }
        if !value.isEmpty { pairs.append((name, value)) }
        return Labels(sorting: pairs)
    }
}
