import OTLP

/// Translates OTLP metrics into a Prometheus remote-write 1.0 request, following the
/// OpenTelemetry Collector's `prometheusremotewrite` exporter (its
/// `pkg/translator/prometheusremotewrite`) and the OTel spec "Prometheus and OpenMetrics
/// Compatibility", section "OTLP Metric points to Prometheus".
///
/// Translation never fails as a whole: points that cannot be represented are dropped,
/// counted in `droppedDataPoints` and explained in `errors`, and everything else is kept.
public enum OTLPToPrometheus {
    public static func translate(_ request: ExportMetricsServiceRequest, options: PrometheusTranslationOptions) -> PrometheusTranslationResult {
        var translator = MetricTranslator(options: options)
        for resourceMetrics in request.resourceMetrics {
            translator.translate(resourceMetrics)
        }
        var result = translator.finish()
        if options.sendMetadata {
            let (metadata, errors) = MetricMetadataBuilder.metadata(for: request, options: options)
            result.writeRequest.metadata = metadata
            result.errors.append(contentsOf: errors)
        }
        return result
    }

    /// The Prometheus name of `metric` (namespace, escaping and suffixes applied), without the
    /// `_bucket`/`_sum`/`_count` series suffixes; "" when the name cannot be normalised.
    public static func metricName(_ metric: Metric, options: PrometheusTranslationOptions) -> String {
        let namer = PrometheusMetricNamer(namespace: options.namespace, withSuffixes: options.addMetricSuffixes)
        return (try? namer.build(metric)) ?? ""
    }

    /// The Prometheus label name for an attribute key (`http.method` → `http_method`,
    /// `2xx` → `key_2xx`); "" for a key that is empty or sanitises to underscores only,
    /// which the translation rejects.
    public static func sanitizeLabelName(_ name: String) -> String {
        (try? PrometheusLabelNamer.build(name)) ?? ""
    }
}

/// Prometheus' staleness marker: a NaN with this exact bit pattern (`value.StaleNaN`).
let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)

/// OTLP `DataPointFlags.FLAG_NO_RECORDED_VALUE`.
let noRecordedValueFlag: UInt32 = 1

/// OTLP nanoseconds since the epoch → Prometheus milliseconds (truncating, as upstream).
func milliseconds(_ unixNano: UInt64) -> Int64 {
    Int64(truncatingIfNeeded: unixNano) / 1_000_000
}
