/// One sample line of a scrape body: a series, its value and, when the target gave one,
/// its own timestamp and (OpenMetrics only) one exemplar.
///
/// `labels` always contains `__name__`. As in Prometheus's scrape loop, labels whose value
/// is empty are left out: an empty value and an absent label are the same series.
public struct ScrapedSample: Sendable, Equatable {
    public var labels: Labels
    /// Milliseconds since the Unix epoch, or nil when the line had no timestamp (the
    /// scrape loop then uses the scrape time).
    public var timestamp: Int64?
    /// Bit-exact except for NaN, which is always Prometheus's normal NaN
    /// (`0x7ff8000000000001`) so that an exposed NaN never looks like a staleness marker.
    public var value: Double
    public var exemplar: ScrapedExemplar?

    public init(labels: Labels, timestamp: Int64? = nil, value: Double, exemplar: ScrapedExemplar? = nil) {
        self.labels = labels
        self.timestamp = timestamp
        self.value = value
        self.exemplar = exemplar
    }

    public static func == (lhs: ScrapedSample, rhs: ScrapedSample) -> Bool {
        lhs.labels == rhs.labels && lhs.timestamp == rhs.timestamp
            && lhs.value.bitPattern == rhs.value.bitPattern && lhs.exemplar == rhs.exemplar
    }
}

/// The exemplar an OpenMetrics sample may carry after ` # `: a small label set (usually a
/// trace ID), a value and an optional timestamp.
public struct ScrapedExemplar: Sendable, Equatable {
    public var labels: Labels
    public var value: Double
    /// Milliseconds since the Unix epoch.
    public var timestamp: Int64?

    public init(labels: Labels, value: Double, timestamp: Int64? = nil) {
        self.labels = labels
        self.value = value
        self.timestamp = timestamp
    }

    public static func == (lhs: ScrapedExemplar, rhs: ScrapedExemplar) -> Bool {
        lhs.labels == rhs.labels && lhs.value.bitPattern == rhs.value.bitPattern && lhs.timestamp == rhs.timestamp
    }
}

/// What the `# HELP`, `# TYPE` and `# UNIT` lines of a scrape said about one metric family.
/// Families without any such line have no entry; fields a family did not set keep their
/// defaults (`unknown`, empty help, empty unit).
public struct ScrapedMetadata: Sendable, Equatable {
    /// The family name as written on the metadata lines: without the `_total`, `_bucket`,
    /// `_count`... suffixes its samples carry.
    public var family: String
    public var type: MetricType
    public var help: String
    public var unit: String

    public init(family: String, type: MetricType = .unknown, help: String = "", unit: String = "") {
        self.family = family
        self.type = type
        self.help = help
        self.unit = unit
    }
}

/// The metric types of the OpenMetrics data model. The Prometheus text format knows only
/// the first four plus `untyped`, which is read as `unknown`.
public enum MetricType: String, Sendable, CaseIterable {
    case counter
    case gauge
    case histogram
    case gaugehistogram
    case summary
    case info
    case stateset
    case unknown
}

/// A fully parsed scrape body.
public struct ParsedExposition: Sendable, Equatable {
    /// In the order of the body.
    public var samples: [ScrapedSample]
    /// One entry per family that had metadata lines, in order of first appearance.
    public var metadata: [ScrapedMetadata]

    public init(samples: [ScrapedSample] = [], metadata: [ScrapedMetadata] = []) {
        self.samples = samples
        self.metadata = metadata
    }
}
