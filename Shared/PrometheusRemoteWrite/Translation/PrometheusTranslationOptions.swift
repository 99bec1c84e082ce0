/// Settings of the OTLP → Prometheus remote-write translation.
///
/// Each field mirrors a setting of the OpenTelemetry Collector's `prometheusremotewrite`
/// exporter (`namespace`, `add_metric_suffixes`, `resource_to_telemetry_conversion`,
/// `target_info`, `export_created_metric`, `external_labels`, `send_metadata`), with the
/// exporter's defaults, so a collector configuration maps onto it one to one.
public struct PrometheusTranslationOptions: Sendable {
    /// Prefix for every metric name, joined with `_` (`ns_http_requests_total`). Used as given,
    /// like upstream: the caller validates it.
    public var namespace: String?
    /// Append unit suffixes (`_seconds`, `_bytes`, `_per_second`), `_total` for monotonic sums
    /// and `_ratio` for gauges with unit `1`. When false, names are only escaped.
    public var addMetricSuffixes: Bool
    /// Copy every resource attribute onto the labels of every series (resource values win
    /// over data-point attributes of the same key, as the collector's `resourcetotelemetry`).
    public var resourceToTelemetryConversion: Bool
    /// Emit one `target_info` series per resource that has attributes besides
    /// `service.name`, `service.namespace` and `service.instance.id`.
    public var targetInfoEnabled: Bool
    /// Emit `<name>_created` series (value: start time in ms) for monotonic sums, histograms
    /// and summaries whose points carry a start time.
    public var exportCreatedMetric: Bool
    /// Labels added to every series unless the series already has a label of that name.
    /// Keys are sanitised like attribute keys; empty keys or values are rejected.
    public var externalLabels: [String: String]
    /// Fill `WriteRequest.metadata` with one entry per metric (type, family name, unit, help).
    public var sendMetadata: Bool
    /// Add `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` and
    /// `otel_scope_<attribute>` labels to every series. On by default, as in the collector's
    /// exporter (and required by the OTel "Prometheus and OpenMetrics Compatibility" spec,
    /// section "Instrumentation Scope").
    public var addScopeInfo: Bool

    public init(
        namespace: String? = nil,
        addMetricSuffixes: Bool = true,
        resourceToTelemetryConversion: Bool = false,
        targetInfoEnabled: Bool = true,
        exportCreatedMetric: Bool = false,
        externalLabels: [String: String] = [:],
        sendMetadata: Bool = false,
        addScopeInfo: Bool = true
    ) {
        self.namespace = namespace
        self.addMetricSuffixes = addMetricSuffixes
        self.resourceToTelemetryConversion = resourceToTelemetryConversion
        self.targetInfoEnabled = targetInfoEnabled
        self.exportCreatedMetric = exportCreatedMetric
        self.externalLabels = externalLabels
        self.sendMetadata = sendMetadata
        self.addScopeInfo = addScopeInfo
    }
}

/// What a translation produced.
///
/// Invariants of `writeRequest.timeseries`: no two series have the same label set; labels
/// are sorted by name in byte order (so `__name__` precedes lower-case names); the samples
/// and native histograms of a series are in timestamp order. Series appear in the order in
/// which they were first produced.
public struct PrometheusTranslationResult: Sendable {
    public var writeRequest: Prometheus_WriteRequest
    /// OTLP data points that could not be converted (delta temporality, invalid names,
    /// unconvertible exponential histograms). Each one is explained in `errors`.
    public var droppedDataPoints: Int
    /// One message per problem, worded like the upstream translator's errors.
    public var errors: [String]

    public init(writeRequest: Prometheus_WriteRequest = Prometheus_WriteRequest(), droppedDataPoints: Int = 0, errors: [String] = []) {
        self.writeRequest = writeRequest
        self.droppedDataPoints = droppedDataPoints
        self.errors = errors
    }
}
