import OTLP

/// `WriteRequest.metadata` for `sendMetadata` (upstream `OtelMetricsToMetadata`): one entry per
/// OTLP metric, in request order, whatever its temporality.
enum MetricMetadataBuilder {
    /// The `prometheus.type` key of `Metric.metadata` that a Prometheus receiver sets to keep
    /// the original type (OTel spec, "Gauges": `unknown`, `info`, `stateset`).
    static let typeHintKey = "prometheus.type"

    static func metadata(for request: ExportMetricsServiceRequest, options: PrometheusTranslationOptions) -> ([Prometheus_MetricMetadata], [String]) {
        let namer = PrometheusMetricNamer(namespace: options.namespace, withSuffixes: options.addMetricSuffixes)
        var entries: [Prometheus_MetricMetadata] = []
        var errors: [String] = []
        for resourceMetrics in request.resourceMetrics {
            for scopeMetrics in resourceMetrics.scopeMetrics {
                for metric in scopeMetrics.metrics {
                    do {
                        var entry = Prometheus_MetricMetadata()
                        entry.type = type(of: metric)
                        entry.metricFamilyName = try namer.build(metric)
                        entry.unit = PrometheusUnits.metadataUnit(metric.unit)
                        entry.help = metric.description_p
                        entries.append(entry)
                    } catch {
                        errors.append(error.description)
                    }
                }
            }
        }
        return (entries, errors)
    }

    /// Gauge-like metrics (gauges, non-monotonic sums) honour the `prometheus.type` hint;
    /// exponential histograms are native histograms, typed `HISTOGRAM`.
    static func type(of metric: Metric) -> Prometheus_MetricMetadata.MetricType {
        switch metric.data {
        case .gauge?:
            return hintedType(metric) ?? .gauge
        case .sum(let sum)?:
            return sum.isMonotonic ? .counter : (hintedType(metric) ?? .gauge)
        case .histogram?, .exponentialHistogram?:
            return .histogram
        case .summary?:
            return .summary
        case nil:
            return .unknown
        }
    }

    private static func hintedType(_ metric: Metric) -> Prometheus_MetricMetadata.MetricType? {
        guard let hint = metric.metadata.firstValue(forKey: typeHintKey) else { return nil }
        switch AttributeText.string(hint) {
        case "unknown": return .unknown
        case "info": return .info
        case "stateset": return .stateset
        default: return nil
        }
    }
}
