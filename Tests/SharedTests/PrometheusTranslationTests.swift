import Foundation
import XCTest

import OTLP
@testable import PrometheusRemoteWrite

/// Behaviour of `OTLPToPrometheus.translate` for gauges, sums, labels, resources and options.
/// Expected values follow the OpenTelemetry Collector's prometheusremotewrite translator and
/// the OTel "Prometheus and OpenMetrics Compatibility" spec.
final class PrometheusTranslationTests: XCTestCase {
    // MARK: Sums and gauges

    func testMonotonicCumulativeSumBecomesCounterWithTotalSuffix() {
        let metric = PRWFixtures.sum("http.requests", points: [PRWFixtures.intPoint(42)])
        let result = PRWFixtures.translate([metric])

        let series = result.series(named: "http_requests_total")
        XCTAssertEqual(series.count, 1)
        XCTAssertEqual(series.first?.samples.map(\.value), [42])
        XCTAssertEqual(series.first?.samples.map(\.timestamp), [PRWFixtures.timeMs])
        XCTAssertTrue(result.errors.isEmpty)
    }

    func testNonMonotonicSumKeepsNameWithoutTotal() {
        let metric = PRWFixtures.sum("queue.size", unit: "{item}", monotonic: false, points: [PRWFixtures.intPoint(3)])
        let result = PRWFixtures.translate([metric])

        XCTAssertEqual(result.metricNames, ["queue_size"])
    }

    func testGaugeWithUnitOneGetsRatioSuffix() {
        let metric = PRWFixtures.gauge("cpu.utilization", unit: "1", points: [PRWFixtures.doublePoint(0.25)])
        let result = PRWFixtures.translate([metric])

        XCTAssertEqual(result.metricNames, ["cpu_utilization_ratio"])
        XCTAssertEqual(result.series(named: "cpu_utilization_ratio").first?.samples.first?.value, 0.25)
    }

    func testGaugeUnitBecomesSuffix() {
        let metric = PRWFixtures.gauge("system.memory.usage", unit: "By", points: [PRWFixtures.intPoint(1024)])
        XCTAssertEqual(PRWFixtures.translate([metric]).metricNames, ["system_memory_usage_bytes"])
    }

    func testNoRecordedValueFlagBecomesPrometheusStaleMarker() {
        var point = PRWFixtures.doublePoint(7)
        point.flags = 1
        let result = PRWFixtures.translate([PRWFixtures.gauge("temperature", points: [point])])

        let value = result.series(named: "temperature").first?.samples.first?.value
        XCTAssertEqual(value?.bitPattern, 0x7FF0_0000_0000_0002)
    }

    func testNanosecondTimestampsBecomeMilliseconds() {
        let point = PRWFixtures.intPoint(1, time: 1_700_000_000_999_999_999)
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])])

        XCTAssertEqual(result.series(named: "g").first?.samples.first?.timestamp, 1_700_000_000_999)
    }

    func testNamespacePrefixesMetricNames() {
        let options = PrometheusTranslationOptions(namespace: "vigil")
        let result = PRWFixtures.translate([PRWFixtures.sum("requests", points: [PRWFixtures.intPoint(1)])], options: options)

        XCTAssertEqual(result.metricNames, ["vigil_requests_total"])
    }

    func testMetricNameStartingWithDigitGetsUnderscorePrefix() {
        let result = PRWFixtures.translate([PRWFixtures.gauge("2xx.responses", points: [PRWFixtures.intPoint(1)])])
        XCTAssertEqual(result.metricNames, ["_2xx_responses"])
    }

    func testWithoutMetricSuffixesNamesAreOnlyEscaped() {
        let options = PrometheusTranslationOptions(addMetricSuffixes: false)
        let metrics = [
            PRWFixtures.sum("http.requests", unit: "1", points: [PRWFixtures.intPoint(1)]),
            PRWFixtures.gauge("memory.used", unit: "By", points: [PRWFixtures.intPoint(1)]),
        ]
        XCTAssertEqual(PRWFixtures.translate(metrics, options: options).metricNames, ["http_requests", "memory_used"])
    }

    // MARK: Temporality

    func testDeltaSumIsDroppedCountedAndExplained() {
        let metric = PRWFixtures.sum("requests", temporality: .delta, points: [PRWFixtures.intPoint(1), PRWFixtures.intPoint(2)])
        let result = PRWFixtures.translate([metric])

        XCTAssertTrue(result.writeRequest.timeseries.isEmpty)
        XCTAssertEqual(result.droppedDataPoints, 2)
        XCTAssertEqual(result.errors, ["invalid temporality and type combination for metric \"requests\""])
    }

    func testDeltaHistogramIsDropped() {
        var histogram = Opentelemetry_Proto_Metrics_V1_Histogram()
        histogram.aggregationTemporality = .delta
        histogram.dataPoints = [PRWFixtures.histogramPoint(bounds: [1], counts: [1, 0], sum: 1)]
        var metric = Metric()
        metric.name = "latency"
        metric.histogram = histogram
        let result = PRWFixtures.translate([metric])

        XCTAssertTrue(result.writeRequest.timeseries.isEmpty)
        XCTAssertEqual(result.droppedDataPoints, 1)
        XCTAssertEqual(result.errors.count, 1)
    }

    func testMetricWithoutDataPointsIsReported() {
        let result = PRWFixtures.translate([PRWFixtures.gauge("empty", points: [])])

        XCTAssertTrue(result.writeRequest.timeseries.isEmpty)
        XCTAssertEqual(result.droppedDataPoints, 0)
        XCTAssertEqual(result.errors, ["empty data points. empty is dropped"])
    }

    // MARK: Labels

    func testAttributeKeysAreSanitisedIntoLabelNames() {
        let point = PRWFixtures.intPoint(1, attributes: [
            PRWFixtures.kv("http.request.method", "GET"),
            PRWFixtures.kv("2xx", "yes"),
            PRWFixtures.kv("net..peer", "x"),
        ])
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])]).series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g", "http_request_method": "GET", "key_2xx": "yes", "net_peer": "x"])
    }

    func testCollidingAttributesJoinValuesInOrderOfOriginalKeys() {
        let point = PRWFixtures.intPoint(1, attributes: [
            PRWFixtures.kv("foo_bar", "underscore"),
            PRWFixtures.kv("foo.bar", "dot"),
            PRWFixtures.kv("foo-bar", "dash"),
        ])
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])]).series(named: "g").first?.labelMap

        // Byte order of the original keys: "foo-bar" < "foo.bar" < "foo_bar".
        XCTAssertEqual(labels?["foo_bar"], "dash;dot;underscore")
    }

    func testNonStringAttributeValuesAreStringified() {
        let point = PRWFixtures.intPoint(1, attributes: [
            PRWFixtures.kv("flag", .boolValue(true)),
            PRWFixtures.kv("code", .intValue(404)),
            PRWFixtures.kv("ratio", .doubleValue(0.5)),
        ])
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])]).series(named: "g").first?.labelMap

        XCTAssertEqual(labels?["flag"], "true")
        XCTAssertEqual(labels?["code"], "404")
        XCTAssertEqual(labels?["ratio"], "0.5")
    }

    func testPointWithAttributeKeyThatCannotBeALabelIsDropped() {
        let bad = PRWFixtures.intPoint(1, attributes: [PRWFixtures.kv("ようこそ", "x")])
        let good = PRWFixtures.intPoint(2, attributes: [PRWFixtures.kv("ok", "x")])
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [bad, good])])

        XCTAssertEqual(result.series(named: "g").map(\.labelMap), [["__name__": "g", "ok": "x"]])
        XCTAssertEqual(result.droppedDataPoints, 1)
        XCTAssertEqual(result.errors, ["normalization for label name \"ようこそ\" resulted in invalid name \"_\""])
    }

    func testLabelsAreSortedByNameInByteOrder() {
        let point = PRWFixtures.intPoint(1, attributes: [PRWFixtures.kv("zone", "a"), PRWFixtures.kv("Az", "b"), PRWFixtures.kv("app", "c")])
        let names = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])]).series(named: "g").first?.labels.map(\.name)

        XCTAssertEqual(names, ["Az", "__name__", "app", "zone"])
    }

    func testPointsWithSameLabelsMergeIntoOneSeriesInTimestampOrder() {
        let later = PRWFixtures.intPoint(2, time: PRWFixtures.timeNs + 2_000_000_000)
        let earlier = PRWFixtures.intPoint(1, time: PRWFixtures.timeNs)
        let result = PRWFixtures.translate([
            PRWFixtures.gauge("g", points: [later]),
            PRWFixtures.gauge("g", points: [earlier]),
        ])

        let series = result.series(named: "g")
        XCTAssertEqual(series.count, 1)
        XCTAssertEqual(series.first?.samples.map(\.value), [1, 2])
        XCTAssertEqual(series.first?.samples.map(\.timestamp), [PRWFixtures.timeMs, PRWFixtures.timeMs + 2000])
    }

    func testExternalLabelsAreAddedButNeverOverrideSeriesLabels() {
        let options = PrometheusTranslationOptions(externalLabels: ["cluster": "eu-1", "env": "prod", "k8s.zone": "b"])
        let point = PRWFixtures.intPoint(1, attributes: [PRWFixtures.kv("env", "dev")])
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])], options: options).series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g", "cluster": "eu-1", "env": "dev", "k8s_zone": "b"])
    }

    func testExternalLabelWithEmptyValueIsRejected() {
        let options = PrometheusTranslationOptions(externalLabels: ["cluster": ""])
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])], options: options)

        XCTAssertEqual(result.series(named: "g").first?.labelMap, ["__name__": "g"])
        XCTAssertEqual(result.errors.count, 1)
    }

    // MARK: Resource attributes

    func testJobJoinsServiceNamespaceAndNameAndInstanceIsServiceInstanceID() {
        let resource = [
            PRWFixtures.kv("service.name", "checkout"),
            PRWFixtures.kv("service.namespace", "shop"),
            PRWFixtures.kv("service.instance.id", "pod-7"),
        ]
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])], resource: resource)
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g", "job": "shop/checkout", "instance": "pod-7"])
    }

    func testJobIsServiceNameAloneWithoutNamespace() {
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])],
                                           resource: [PRWFixtures.kv("service.name", "checkout")])
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g", "job": "checkout"])
    }

    func testServiceNameOverridesJobAttributeOnPoint() {
        let point = PRWFixtures.intPoint(1, attributes: [PRWFixtures.kv("job", "from-point")])
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])], resource: [PRWFixtures.kv("service.name", "svc")])
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels?["job"], "svc")
    }

    func testOtherResourceAttributesAreNotSeriesLabelsByDefault() {
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])],
                                           resource: [PRWFixtures.kv("service.name", "svc"), PRWFixtures.kv("host.name", "h1")])
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g", "job": "svc"])
    }

    func testTargetInfoCarriesNonIdentifyingResourceAttributes() {
        let resource = [
            PRWFixtures.kv("service.name", "checkout"),
            PRWFixtures.kv("service.namespace", "shop"),
            PRWFixtures.kv("service.instance.id", "pod-7"),
            PRWFixtures.kv("host.name", "node-1"),
            PRWFixtures.kv("k8s.pod.name", "checkout-abc"),
        ]
        let newest = PRWFixtures.timeNs + 5_000_000_000
        let result = PRWFixtures.translate([
            PRWFixtures.gauge("a", points: [PRWFixtures.intPoint(1, time: PRWFixtures.timeNs)]),
            PRWFixtures.gauge("b", points: [PRWFixtures.intPoint(1, time: newest)]),
        ], resource: resource)

        let info = result.series(named: "target_info")
        XCTAssertEqual(info.count, 1)
        XCTAssertEqual(info.first?.labelMap, [
            "__name__": "target_info", "job": "shop/checkout", "instance": "pod-7",
            "host_name": "node-1", "k8s_pod_name": "checkout-abc",
        ])
        XCTAssertEqual(info.first?.samples.map(\.value), [1])
        XCTAssertEqual(info.first?.samples.map(\.timestamp), [PRWFixtures.timeMs + 5000])
    }

    func testTargetInfoOmittedWhenResourceHasOnlyServiceIdentity() {
        let resource = [PRWFixtures.kv("service.name", "checkout"), PRWFixtures.kv("service.instance.id", "pod-7")]
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])], resource: resource)

        XCTAssertTrue(result.series(named: "target_info").isEmpty)
    }

    func testTargetInfoOmittedWithoutJobOrInstance() {
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])],
                                           resource: [PRWFixtures.kv("host.name", "node-1")])

        XCTAssertTrue(result.series(named: "target_info").isEmpty)
    }

    func testTargetInfoCanBeDisabled() {
        let options = PrometheusTranslationOptions(targetInfoEnabled: false)
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])],
                                           resource: [PRWFixtures.kv("service.name", "svc"), PRWFixtures.kv("host.name", "h")],
                                           options: options)

        XCTAssertEqual(result.metricNames, ["g"])
    }

    func testTargetInfoIsPrefixedWithNamespace() {
        let options = PrometheusTranslationOptions(namespace: "vigil")
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])],
                                           resource: [PRWFixtures.kv("service.name", "svc"), PRWFixtures.kv("host.name", "h")],
                                           options: options)

        XCTAssertEqual(result.metricNames, ["vigil_g", "vigil_target_info"])
    }

    func testResourceToTelemetryConversionCopiesResourceAttributesOntoSeries() {
        let options = PrometheusTranslationOptions(resourceToTelemetryConversion: true)
        let resource = [PRWFixtures.kv("service.name", "svc"), PRWFixtures.kv("host.name", "node-1"), PRWFixtures.kv("region", "eu")]
        let point = PRWFixtures.intPoint(1, attributes: [PRWFixtures.kv("region", "us"), PRWFixtures.kv("path", "/")])
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])], resource: resource, options: options)

        // Resource values replace point attributes of the same key, as the collector does.
        XCTAssertEqual(result.series(named: "g").first?.labelMap, [
            "__name__": "g", "job": "svc", "service_name": "svc", "host_name": "node-1", "region": "eu", "path": "/",
        ])
        XCTAssertEqual(result.series(named: "target_info").count, 1)
    }

    // MARK: Scope

    func testScopeNameAndVersionBecomeLabels() {
        var scope = InstrumentationScope()
        scope.name = "io.vigil.http"
        scope.version = "1.2.0"
        scope.attributes = [PRWFixtures.kv("library.language", "swift")]
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])], scope: scope)
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels, [
            "__name__": "g", "otel_scope_name": "io.vigil.http", "otel_scope_version": "1.2.0",
            "otel_scope_library_language": "swift",
        ])
    }

    func testScopeAttributeThatWouldReplaceScopeNameIsDropped() {
        var scope = InstrumentationScope()
        scope.name = "io.vigil.http"
        scope.attributes = [PRWFixtures.kv("name", "impostor")]
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])], scope: scope)
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g", "otel_scope_name": "io.vigil.http"])
    }

    func testScopeLabelsCanBeTurnedOff() {
        var scope = InstrumentationScope()
        scope.name = "io.vigil.http"
        let options = PrometheusTranslationOptions(addScopeInfo: false)
        let labels = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])], scope: scope, options: options)
            .series(named: "g").first?.labelMap

        XCTAssertEqual(labels, ["__name__": "g"])
    }

    // MARK: Created series and metadata

    func testCreatedSeriesCarriesStartTimeOfMonotonicSum() {
        var point = PRWFixtures.intPoint(5)
        point.startTimeUnixNano = PRWFixtures.timeNs - 60_000_000_000
        let options = PrometheusTranslationOptions(exportCreatedMetric: true)
        let result = PRWFixtures.translate([PRWFixtures.sum("requests", points: [point])], options: options)

        let created = result.series(named: "requests_created")
        XCTAssertEqual(created.first?.samples.map(\.value), [Double(PRWFixtures.timeMs - 60_000)])
        XCTAssertEqual(created.first?.samples.map(\.timestamp), [PRWFixtures.timeMs])
    }

    func testNonMonotonicSumHasNoCreatedSeries() {
        var point = PRWFixtures.intPoint(5)
        point.startTimeUnixNano = PRWFixtures.timeNs - 60_000_000_000
        let options = PrometheusTranslationOptions(exportCreatedMetric: true)
        let metric = PRWFixtures.sum("queue.size", monotonic: false, points: [point])

        XCTAssertEqual(PRWFixtures.translate([metric], options: options).metricNames, ["queue_size"])
    }

    func testCreatedSeriesAreOffByDefault() {
        var point = PRWFixtures.intPoint(5)
        point.startTimeUnixNano = PRWFixtures.timeNs - 60_000_000_000
        XCTAssertEqual(PRWFixtures.translate([PRWFixtures.sum("requests", points: [point])]).metricNames, ["requests_total"])
    }

    func testMetadataDescribesEachMetricWhenRequested() {
        var counter = PRWFixtures.sum("http.requests", unit: "1", points: [PRWFixtures.intPoint(1)])
        counter.description_p = "Requests served."
        let gauge = PRWFixtures.gauge("io.rate", unit: "By/s", points: [PRWFixtures.intPoint(1)])
        let options = PrometheusTranslationOptions(namespace: "vigil", sendMetadata: true)
        let metadata = PRWFixtures.translate([counter, gauge], options: options).writeRequest.metadata

        XCTAssertEqual(metadata.map(\.metricFamilyName), ["vigil_http_requests_total", "vigil_io_rate_bytes_per_second"])
        XCTAssertEqual(metadata.map(\.type), [.counter, .gauge])
        XCTAssertEqual(metadata.map(\.unit), ["", "bytes_per_second"])
        XCTAssertEqual(metadata.map(\.help), ["Requests served.", ""])
    }

    func testMetadataIsEmptyByDefault() {
        let result = PRWFixtures.translate([PRWFixtures.gauge("g", points: [PRWFixtures.intPoint(1)])])
        XCTAssertTrue(result.writeRequest.metadata.isEmpty)
    }
}

// MARK: - Fixtures shared by the PrometheusTranslation*Tests files

enum PRWFixtures {
    /// 2023-11-14T22:13:20.123456789Z.
    static let timeNs: UInt64 = 1_700_000_000_123_456_789
    static let timeMs: Int64 = 1_700_000_000_123

    static func translate(
        _ metrics: [Metric],
        resource: [KeyValue] = [],
        scope: InstrumentationScope = InstrumentationScope(),
        options: PrometheusTranslationOptions = PrometheusTranslationOptions()
    ) -> PrometheusTranslationResult {
        var scopeMetrics = ScopeMetrics()
        scopeMetrics.scope = scope
        scopeMetrics.metrics = metrics
        var resourceMetrics = ResourceMetrics()
        resourceMetrics.resource.attributes = resource
        resourceMetrics.scopeMetrics = [scopeMetrics]
        var request = ExportMetricsServiceRequest()
        request.resourceMetrics = [resourceMetrics]
        return OTLPToPrometheus.translate(request, options: options)
    }

    static func kv(_ key: String, _ value: String) -> KeyValue {
        kv(key, .stringValue(value))
    }

    static func kv(_ key: String, _ value: AnyValue.OneOf_Value) -> KeyValue {
        var kv = KeyValue()
        kv.key = key
        kv.value.value = value
        return kv
    }

    static func intPoint(_ value: Int64, time: UInt64 = timeNs, attributes: [KeyValue] = []) -> NumberDataPoint {
        var point = NumberDataPoint()
        point.asInt = value
        point.timeUnixNano = time
        point.attributes = attributes
        return point
    }

    static func doublePoint(_ value: Double, time: UInt64 = timeNs, attributes: [KeyValue] = []) -> NumberDataPoint {
        var point = NumberDataPoint()
        point.asDouble = value
        point.timeUnixNano = time
        point.attributes = attributes
        return point
    }

    static func gauge(_ name: String, unit: String = "", points: [NumberDataPoint]) -> Metric {
        var metric = Metric()
        metric.name = name
        metric.unit = unit
        metric.gauge.dataPoints = points
        return metric
    }

    static func sum(
        _ name: String, unit: String = "", monotonic: Bool = true,
        temporality: Opentelemetry_Proto_Metrics_V1_AggregationTemporality = .cumulative,
        points: [NumberDataPoint]
    ) -> Metric {
        var metric = Metric()
        metric.name = name
        metric.unit = unit
        metric.sum.isMonotonic = monotonic
        metric.sum.aggregationTemporality = temporality
        metric.sum.dataPoints = points
        return metric
    }

    static func histogram(_ name: String, unit: String = "", points: [HistogramDataPoint]) -> Metric {
        var metric = Metric()
        metric.name = name
        metric.unit = unit
        metric.histogram.aggregationTemporality = .cumulative
        metric.histogram.dataPoints = points
        return metric
    }

    static func histogramPoint(bounds: [Double], counts: [UInt64], sum: Double?, time: UInt64 = timeNs) -> HistogramDataPoint {
        var point = HistogramDataPoint()
        point.explicitBounds = bounds
        point.bucketCounts = counts
        point.count = counts.reduce(0, +)
        if let sum { point.sum = sum }
        point.timeUnixNano = time
        return point
    }

    static func exemplar(_ value: Double, traceID: [UInt8] = [], spanID: [UInt8] = [], attributes: [KeyValue] = []) -> Exemplar {
        var exemplar = Exemplar()
        exemplar.asDouble = value
        exemplar.timeUnixNano = timeNs
        exemplar.traceID = Data(traceID)
        exemplar.spanID = Data(spanID)
        exemplar.filteredAttributes = attributes
        return exemplar
    }
}

extension PrometheusTranslationResult {
    func series(named name: String) -> [Prometheus_TimeSeries] {
        writeRequest.timeseries.filter { $0.metricName == name }
    }

    /// Distinct metric names in order of first appearance.
    var metricNames: [String] {
        var seen: [String] = []
        for ts in writeRequest.timeseries where !seen.contains(ts.metricName) {
            seen.append(ts.metricName)
        }
        return seen
    }
}

extension Prometheus_TimeSeries {
    var metricName: String {
        labels.first(where: { $0.name == "__name__" })?.value ?? ""
    }

    var labelMap: [String: String] {
        Dictionary(labels.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}
