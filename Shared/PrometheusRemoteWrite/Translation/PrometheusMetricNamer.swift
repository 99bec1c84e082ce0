import OTLP

/// The kind of an OTLP metric as far as naming and metadata are concerned.
enum PrometheusMetricKind: Equatable {
    case gauge
    case monotonicCounter
    case nonMonotonicCounter
    case histogram
    case exponentialHistogram
    case summary
    case unknown

    init(_ metric: Metric) {
        switch metric.data {
        case .gauge?: self = .gauge
        case .sum(let sum)?: self = sum.isMonotonic ? .monotonicCounter : .nonMonotonicCounter
        case .histogram?: self = .histogram
        case .exponentialHistogram?: self = .exponentialHistogram
        case .summary?: self = .summary
        case nil: self = .unknown
        }
    }
}

/// Builds classic Prometheus metric names from OTLP metric names (prometheus/otlptranslator
/// `MetricNamer` with UTF-8 disallowed, which the collector's exporter uses).
///
/// With suffixes (the default):
/// - the name is split on every character outside `[a-zA-Z0-9:]` (so runs of `_`, `.`, `-`
///   collapse and leading/trailing ones vanish) and the parts are joined with `_`;
/// - the unit word and `per_<unit>` word are appended unless the name already has that word
///   (OTel spec: "unless the metric name already ends with the unit");
/// - monotonic sums end in `_total` (any other `total` word is removed first), gauges with
///   unit `1` end in `_ratio` (non-monotonic sums with unit `1` do not);
/// - the namespace is prepended as given;
/// - a name starting with a digit is prefixed with `_`.
/// Without suffixes, the name (and namespace) are only escaped.
struct PrometheusMetricNamer {
    var namespace: String
    var withSuffixes: Bool

    init(namespace: String?, withSuffixes: Bool) {
        self.namespace = namespace ?? ""
        self.withSuffixes = withSuffixes
    }

    func build(_ metric: Metric) throws(TranslationError) -> String {
        try build(name: metric.name, unit: metric.unit, kind: PrometheusMetricKind(metric))
    }

    func build(name: String, unit: String, kind: PrometheusMetricKind) throws(TranslationError) -> String {
        let normalized = withSuffixes
            ? normalizedName(name: name, unit: unit, kind: kind)
            : escapedName(name)
        guard !normalized.isEmpty else { throw .emptyMetricName(original: name) }
        if normalized != name, normalized.utf8.allSatisfy({ $0 == UInt8(ascii: "_") }) {
            throw .invalidMetricName(original: name, normalized: normalized)
        }
        return normalized
    }

    private func normalizedName(name: String, unit: String, kind: PrometheusMetricKind) -> String {
        var tokens = name.unicodeScalars
            .split(whereSeparator: { !$0.isMetricNameCharacter })
            .map { String($0) }

        let (main, per) = PrometheusUnits.suffixes(of: unit)
        tokens = appendingUnitTokens(to: tokens, main: PrometheusUnits.cleanUp(main), per: PrometheusUnits.cleanUp(per))

        if kind == .monotonicCounter {
            tokens.removeAll { $0 == "total" }
            tokens.append("total")
        }
        // Only gauges: some receivers wrongly give counters of objects the unit "1".
        if unit == "1", kind == .gauge {
            tokens.removeAll { $0 == "ratio" }
            tokens.append("ratio")
        }
        if !namespace.isEmpty {
            tokens.insert(namespace, at: 0)
        }
        let joined = tokens.joined(separator: "_")
        return startsWithDigit(joined) ? "_" + joined : joined
    }

    private func appendingUnitTokens(to tokens: [String], main: String, per: String) -> [String] {
        var main = tokens.contains(main) ? "" : main
        var per = per
        if per == "per_" {
            per = ""
        } else {
            if per.hasSuffix("_") { per.removeLast() }
            if tokens.contains(per) { per = "" }
        }
        if !per.isEmpty, main.hasSuffix("_") { main.removeLast() }

        var result = tokens
        if !main.isEmpty { result.append(main) }
        if !per.isEmpty { result.append(per) }
        return result
    }

    private func escapedName(_ name: String) -> String {
        let metricName = Self.escape(name)
        if !namespace.isEmpty {
            return Self.escape(namespace) + "_" + metricName
        }
        return startsWithDigit(metricName) ? "_" + metricName : metricName
    }

    /// Splits on characters outside `[a-zA-Z0-9:_]` and joins the parts with `_`.
    private static func escape(_ text: String) -> String {
        text.unicodeScalars
            .split(whereSeparator: { !$0.isMetricNameCharacter && $0 != "_" })
            .map { String($0) }
            .joined(separator: "_")
    }

    private func startsWithDigit(_ text: String) -> Bool {
        guard let first = text.utf8.first else { return false }
        return first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")
    }
}
