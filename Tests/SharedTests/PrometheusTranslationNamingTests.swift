import Foundation
import XCTest

import OTLP
@testable import PrometheusRemoteWrite

/// Metric and label name normalisation, unit words and value formatting. Cases follow the
/// upstream translator's tests (prometheus/otlptranslator `metric_namer_test.go`,
/// `label_namer_test.go`).
final class PrometheusTranslationNamingTests: XCTestCase {
    // MARK: Metric names with suffixes

    func testUnitWordsAreAppended() {
        XCTAssertEqual(name("http.server.duration", unit: "ms", kind: .histogram), "http_server_duration_milliseconds")
        XCTAssertEqual(name("http.server.request.duration", unit: "s", kind: .histogram), "http_server_request_duration_seconds")
        XCTAssertEqual(name("memory.usage", unit: "By"), "memory_usage_bytes")
        XCTAssertEqual(name("cache.size", unit: "KiBy"), "cache_size_kibibytes")
        XCTAssertEqual(name("timeout", unit: "min"), "timeout_minutes")
        XCTAssertEqual(name("temperature", unit: "Cel"), "temperature_celsius")
        XCTAssertEqual(name("disk.usage", unit: "%"), "disk_usage_percent")
    }

    func testRateUnitsBecomePerWords() {
        XCTAssertEqual(name("throughput", unit: "By/s"), "throughput_bytes_per_second")
        XCTAssertEqual(name("requests", unit: "1/s"), "requests_per_second")
        XCTAssertEqual(name("speed", unit: "m/h"), "speed_meters_per_hour")
        XCTAssertEqual(name("errors", unit: "{error}/min"), "errors_per_min")
    }

    func testAnnotationsInBracesAreDropped() {
        XCTAssertEqual(name("custom_metric", unit: "{custom}"), "custom_metric")
        XCTAssertEqual(name("custom_metric", unit: "By/{custom}"), "custom_metric_bytes")
        XCTAssertEqual(name("network.packets", unit: "{packet}", kind: .monotonicCounter), "network_packets_total")
    }

    func testUnknownUnitsAreEscapedAndAppended() {
        XCTAssertEqual(name("custom_metric", unit: "custom_unit"), "custom_metric_custom_unit")
        XCTAssertEqual(name("custom_metric", unit: "unit@with#special/chars"), "custom_metric_unit_with_special_per_chars")
        XCTAssertEqual(name("metric__with__multiple__underscores", unit: "unit__multiple__underscores"),
                       "metric_with_multiple_underscores_unit_multiple_underscores")
    }

    func testSuffixesAlreadyInTheNameAreNotRepeated() {
        XCTAssertEqual(name("response_time_seconds", unit: "s"), "response_time_seconds")
        XCTAssertEqual(name("requests_total", kind: .monotonicCounter), "requests_total")
        XCTAssertEqual(name("cpu_usage_ratio", unit: "1"), "cpu_usage_ratio")
        XCTAssertEqual(name("process.cpu.seconds", unit: "s", kind: .monotonicCounter), "process_cpu_seconds_total")
    }

    func testTotalMovesToTheEndOfCounters() {
        XCTAssertEqual(name("total.requests", kind: .monotonicCounter), "requests_total")
        XCTAssertEqual(name("requests", unit: "1/s", kind: .monotonicCounter), "requests_per_second_total")
    }

    func testUnitOneGivesRatioOnlyForGauges() {
        XCTAssertEqual(name("cpu_usage", unit: "1"), "cpu_usage_ratio")
        XCTAssertEqual(name("items", unit: "1", kind: .monotonicCounter), "items_total")
        XCTAssertEqual(name("queue.fill", unit: "1", kind: .nonMonotonicCounter), "queue_fill")
        XCTAssertEqual(name("fill", unit: "1", kind: .histogram), "fill")
    }

    func testNonMonotonicSumHasNoTotal() {
        XCTAssertEqual(name("active_connections", kind: .nonMonotonicCounter), "active_connections")
    }

    func testInvalidCharactersAndRunsCollapseToSingleUnderscore() {
        XCTAssertEqual(name("http..server--requests__count_"), "http_server_requests_count")
        XCTAssertEqual(name("système.mémoire"), "syst_me_m_moire")
        XCTAssertEqual(name("k8s:pod:cpu"), "k8s:pod:cpu")
    }

    func testNamespaceIsPrependedAndDigitPrefixed() {
        XCTAssertEqual(name("requests", unit: "1/s", kind: .monotonicCounter, namespace: "app"), "app_requests_per_second_total")
        XCTAssertEqual(name("123_requests", kind: .monotonicCounter, namespace: "app"), "app_123_requests_total")
        XCTAssertEqual(name("2xx.responses"), "_2xx_responses")
    }

    func testNameWithoutValidCharactersCannotBeNormalised() {
        let namer = PrometheusMetricNamer(namespace: nil, withSuffixes: true)
        XCTAssertThrowsError(try namer.build(name: "@#$%", unit: "", kind: .gauge)) { error in
            XCTAssertEqual((error as? TranslationError)?.description, "normalization for metric \"@#$%\" resulted in empty name")
        }
        XCTAssertEqual(OTLPToPrometheus.metricName(PRWFixtures.gauge("...", points: []), options: .init()), "")
    }

    func testPublicMetricNameAppliesTypeAndOptions() {
        let counter = PRWFixtures.sum("http.requests", points: [])
        XCTAssertEqual(OTLPToPrometheus.metricName(counter, options: .init()), "http_requests_total")
        XCTAssertEqual(OTLPToPrometheus.metricName(counter, options: .init(namespace: "ns")), "ns_http_requests_total")
        XCTAssertEqual(OTLPToPrometheus.metricName(counter, options: .init(addMetricSuffixes: false)), "http_requests")
    }

    // MARK: Metric names without suffixes

    func testWithoutSuffixesOnlyInvalidCharactersAreReplaced() {
        XCTAssertEqual(escaped("metric@with#special$chars"), "metric_with_special_chars")
        XCTAssertEqual(escaped("metric@@##$$name"), "metric_name")
        XCTAssertEqual(escaped("123metric"), "_123metric")
        XCTAssertEqual(escaped("___"), "___")
        XCTAssertEqual(escaped("metric", namespace: "test@namespace!!??"), "test_namespace_metric")
    }

    // MARK: Label names

    func testLabelNamesFollowUpstreamSanitisation() {
        let cases: [(String, String)] = [
            ("label:with:colons", "label_with_colons"),
            ("LabelWithCapitalLetters", "LabelWithCapitalLetters"),
            ("label!with&special$chars)", "label_with_special_chars_"),
            ("label_with_foreign_characters_字符", "label_with_foreign_characters_"),
            ("label.with.dots", "label_with_dots"),
            (".foo", "_foo"),
            ("123label", "key_123label"),
            ("_label_starting_with_underscore", "_label_starting_with_underscore"),
            ("__label_starting_with_2underscores", "_label_starting_with_2underscores"),
            ("label__with__double__underscores", "label_with_double_underscores"),
            ("label.name__with&&special##chars", "label_name_with_special_chars"),
            ("__reserved__label__name__", "__reserved_label_name__"),
            ("__name__", "__name__"),
            ("trailing_underscores___", "trailing_underscores_"),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(OTLPToPrometheus.sanitizeLabelName(input), expected, input)
        }
    }

    func testLabelNamesThatSanitiseToNothingAreRejected() {
        XCTAssertEqual(OTLPToPrometheus.sanitizeLabelName(""), "")
        XCTAssertEqual(OTLPToPrometheus.sanitizeLabelName("__"), "")
        XCTAssertEqual(OTLPToPrometheus.sanitizeLabelName("ようこそ"), "")
        XCTAssertThrowsError(try PrometheusLabelNamer.build("")) { error in
            XCTAssertEqual(error as? TranslationError, .emptyLabelName)
        }
    }

    // MARK: Units in metadata

    func testMetadataUnitIsThePrometheusUnitWord() {
        XCTAssertEqual(PrometheusUnits.metadataUnit("s"), "seconds")
        XCTAssertEqual(PrometheusUnits.metadataUnit("By/s"), "bytes_per_second")
        XCTAssertEqual(PrometheusUnits.metadataUnit("1/s"), "per_second")
        XCTAssertEqual(PrometheusUnits.metadataUnit("1"), "")
        XCTAssertEqual(PrometheusUnits.metadataUnit("{packet}"), "")
        XCTAssertEqual(PrometheusUnits.metadataUnit("unit__multiple__underscores"), "unit_multiple_underscores")
    }

    // MARK: Value text

    func testFloatLabelValuesMatchGoShortestDecimalFormatting() {
        XCTAssertEqual(GoFloatFormat.fixed(0.005), "0.005")
        XCTAssertEqual(GoFloatFormat.fixed(1), "1")
        XCTAssertEqual(GoFloatFormat.fixed(0.99), "0.99")
        XCTAssertEqual(GoFloatFormat.fixed(1e-5), "0.00001")
        XCTAssertEqual(GoFloatFormat.fixed(2.5e16), "25000000000000000")
        XCTAssertEqual(GoFloatFormat.fixed(-0.25), "-0.25")
        XCTAssertEqual(GoFloatFormat.fixed(0.1 + 0.2), "0.30000000000000004")
        XCTAssertEqual(GoFloatFormat.fixed(0), "0")
        XCTAssertEqual(GoFloatFormat.fixed(.infinity), "+Inf")
        XCTAssertEqual(GoFloatFormat.fixed(-.infinity), "-Inf")
        XCTAssertEqual(GoFloatFormat.fixed(.nan), "NaN")
    }

    func testDoubleAttributesUseJSONNumberText() {
        XCTAssertEqual(GoFloatFormat.es6(3.14), "3.14")
        XCTAssertEqual(GoFloatFormat.es6(100), "100")
        XCTAssertEqual(GoFloatFormat.es6(1e-7), "1e-7")
        XCTAssertEqual(GoFloatFormat.es6(1.5e21), "1.5e+21")
        XCTAssertEqual(GoFloatFormat.es6(1e-6), "0.000001")
        XCTAssertEqual(GoFloatFormat.es6(.nan), "json: unsupported value: NaN")
    }

    func testStructuredAttributeValuesBecomeJSON() {
        var array = AnyValue()
        array.arrayValue.values = [.init(.stringValue("a")), .init(.intValue(1)), .init(.boolValue(false))]
        var map = AnyValue()
        map.kvlistValue.values = [PRWFixtures.kv("b", "x\"y"), PRWFixtures.kv("a", .doubleValue(2.5))]
        var bytes = AnyValue()
        bytes.bytesValue = Data([0xDE, 0xAD, 0xBE, 0xEF])

        XCTAssertEqual(AttributeText.string(array), "[\"a\",1,false]")
        XCTAssertEqual(AttributeText.string(map), "{\"a\":2.5,\"b\":\"x\\\"y\"}")
        XCTAssertEqual(AttributeText.string(bytes), "3q2+7w==")
        XCTAssertEqual(AttributeText.string(AnyValue()), "")
    }

    // MARK: Helpers

    private func name(_ name: String, unit: String = "", kind: PrometheusMetricKind = .gauge, namespace: String? = nil) -> String? {
        try? PrometheusMetricNamer(namespace: namespace, withSuffixes: true).build(name: name, unit: unit, kind: kind)
    }

    private func escaped(_ name: String, namespace: String? = nil) -> String? {
        try? PrometheusMetricNamer(namespace: namespace, withSuffixes: false).build(name: name, unit: "", kind: .gauge)
    }
}

private extension AnyValue {
    init(_ value: AnyValue.OneOf_Value) {
        self.init()
        self.value = value
    }
}
