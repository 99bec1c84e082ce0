/// One sample of an instant vector result.
public struct PromQLSample: Sendable, Equatable {
    public var labels: Labels
    public var timestamp: Int64
    public var value: Double

    public init(labels: Labels, timestamp: Int64, value: Double) {
        self.labels = labels
        self.timestamp = timestamp
        self.value = value
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.labels == b.labels && a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }
}

/// One series of a range vector (matrix) result; points sorted by time.
public struct PromQLSeries: Sendable, Equatable {
    public var labels: Labels
    public var points: [Head.Sample]

    public init(labels: Labels, points: [Head.Sample]) {
        self.labels = labels
        self.points = points
    }
}

/// The result of a query, shaped as the Prometheus HTTP API's `resultType`s.
public enum PromQLValue: Sendable, Equatable {
    case vector([PromQLSample])
    case matrix([PromQLSeries])
    case scalar(timestamp: Int64, value: Double)
    case string(timestamp: Int64, value: String)

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.vector(let x), .vector(let y)): return x == y
        case (.matrix(let x), .matrix(let y)): return x == y
        case (.scalar(let t1, let v1), .scalar(let t2, let v2)): return t1 == t2 && v1.bitPattern == v2.bitPattern
        case (.string(let t1, let v1), .string(let t2, let v2)): return t1 == t2 && v1 == v2
        default: return false
        }
    }
}

/// A query's value plus its annotations: warnings (`PromQL warning: …`) and infos
/// (`PromQL info: …`), each ending in the `(line:column)` of the expression concerned.
public struct PromQLQueryResult: Sendable {
    public var value: PromQLValue
    public var warnings: [String]
    public var infos: [String]
    /// Sample counts, for the API's `stats` parameter.
    public var stats: PromQLQueryStats

    public init(value: PromQLValue, warnings: [String] = [], infos: [String] = [], stats: PromQLQueryStats = .init()) {
        self.value = value
        self.warnings = warnings
        self.infos = infos
        self.stats = stats
    }
}
