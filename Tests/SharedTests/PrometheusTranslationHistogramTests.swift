import Foundation
import XCTest

import OTLP
@testable import PrometheusRemoteWrite

/// Histograms, summaries, exponential histograms and exemplars.
final class PrometheusTranslationHistogramTests: XCTestCase {
    // MARK: Explicit-bucket histograms

    func testHistogramNameCarriesUnitSuffixOnEverySeries() {
        let point = PRWFixtures.histogramPoint(bounds: [100], counts: [1, 1], sum: 150)
        let result = PRWFixtures.translate([PRWFixtures.histogram("http.server.duration", unit: "ms", points: [point])])

        XCTAssertEqual(result.metricNames, [
            "http_server_duration_milliseconds_sum",
            "http_server_duration_milliseconds_count",
            "http_server_duration_milliseconds_bucket",
        ])
    }

    func testHistogramBucketsAreCumulativeWithPrometheusLeLabels() {
        let point = PRWFixtures.histogramPoint(bounds: [0.005, 0.01, 1], counts: [1, 2, 3, 4], sum: 12.5)
        let result = PRWFixtures.translate([PRWFixtures.histogram("latency", unit: "s", points: [point])])

        let buckets = result.series(named: "latency_seconds_bucket")
        XCTAssertEqual(buckets.map { $0.labelMap["le"] }, ["0.005", "0.01", "1", "+Inf"])
        XCTAssertEqual(buckets.map { $0.samples.first?.value }, [1, 3, 6, 10])
        XCTAssertEqual(result.series(named: "latency_seconds_sum").first?.samples.first?.value, 12.5)
        XCTAssertEqual(result.series(named: "latency_seconds_count").first?.samples.first?.value, 10)
        XCTAssertEqual(buckets.first?.samples.first?.timestamp, PRWFixtures.timeMs)
    }

    func testHistogramBoundsAreWrittenWithoutExponent() {
        let point = PRWFixtures.histogramPoint(bounds: [0.00001, 2.5, 1_000_000], counts: [0, 0, 0, 0], sum: 0)
        let buckets = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])]).series(named: "h_bucket")

        XCTAssertEqual(buckets.map { $0.labelMap["le"] }, ["0.00001", "2.5", "1000000", "+Inf"])
    }

    func testHistogramWithoutSumHasNoSumSeries() {
        let point = PRWFixtures.histogramPoint(bounds: [1], counts: [1, 1], sum: nil)
        let result = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])])

        XCTAssertEqual(result.metricNames, ["h_count", "h_bucket"])
    }

    func testStaleHistogramMarksEverySeriesStale() {
        var point = PRWFixtures.histogramPoint(bounds: [1], counts: [1, 1], sum: 3)
        point.flags = 1
        let result = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])])

        let values = result.writeRequest.timeseries.flatMap { $0.samples.map(\.value.bitPattern) }
        XCTAssertEqual(values, Array(repeating: 0x7FF0_0000_0000_0002, count: 4))
    }

    func testHistogramExemplarAttachesToBucketCoveringItsValue() {
        var point = PRWFixtures.histogramPoint(bounds: [0.005, 0.01, 1], counts: [0, 1, 0, 0], sum: 0.007)
        point.exemplars = [PRWFixtures.exemplar(
            0.007,
            traceID: [0x4B, 0xF9, 0x2F, 0x35, 0x77, 0xB3, 0x4D, 0xA6, 0xA3, 0xCE, 0x92, 0x9D, 0x0E, 0x0E, 0x47, 0x36],
            spanID: [0x00, 0xF0, 0x67, 0xAA, 0x0B, 0xA9, 0x02, 0xB7],
            attributes: [PRWFixtures.kv("http.route", "/cart")]
        )]
        let buckets = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])]).series(named: "h_bucket")

        XCTAssertEqual(buckets.map(\.exemplars.count), [0, 1, 0, 0])
        let exemplar = buckets[1].exemplars[0]
        XCTAssertEqual(buckets[1].labelMap["le"], "0.01")
        XCTAssertEqual(exemplar.value, 0.007)
        XCTAssertEqual(exemplar.timestamp, PRWFixtures.timeMs)
        XCTAssertEqual(exemplar.labels.map(\.name), ["trace_id", "span_id", "http.route"])
        XCTAssertEqual(exemplar.labels.map(\.value), ["4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "/cart"])
    }

    func testExemplarAboveEveryBoundGoesToInfBucket() {
        var point = PRWFixtures.histogramPoint(bounds: [1], counts: [0, 1], sum: 5)
        point.exemplars = [PRWFixtures.exemplar(5)]
        let buckets = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])]).series(named: "h_bucket")

        XCTAssertEqual(buckets.map { $0.labelMap["le"] }, ["1", "+Inf"])
        XCTAssertEqual(buckets.map(\.exemplars.count), [0, 1])
    }

    func testExemplarAttributesBeyond128CharactersAreDroppedButIDsKept() {
        var point = PRWFixtures.histogramPoint(bounds: [], counts: [1], sum: 1)
        let longValue = String(repeating: "x", count: 90)
        point.exemplars = [PRWFixtures.exemplar(1, traceID: Array(repeating: 1, count: 16), attributes: [PRWFixtures.kv("detail", longValue)])]
        let exemplar = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])]).series(named: "h_bucket").first?.exemplars.first

        XCTAssertEqual(exemplar?.labels.map(\.name), ["trace_id"])
    }

    func testCounterExemplarsAttachToTheCounterSeries() {
        var point = PRWFixtures.intPoint(10)
        var exemplar = PRWFixtures.exemplar(0, spanID: [1, 2, 3, 4, 5, 6, 7, 8])
        exemplar.asInt = 3
        point.exemplars = [exemplar]
        let series = PRWFixtures.translate([PRWFixtures.sum("jobs", points: [point])]).series(named: "jobs_total")

        XCTAssertEqual(series.first?.exemplars.map(\.value), [3])
        XCTAssertEqual(series.first?.exemplars.first?.labels.map(\.value), ["0102030405060708"])
    }

    func testGaugeExemplarsAreDropped() {
        var point = PRWFixtures.intPoint(10)
        point.exemplars = [PRWFixtures.exemplar(1)]
        let series = PRWFixtures.translate([PRWFixtures.gauge("g", points: [point])]).series(named: "g")

        XCTAssertEqual(series.first?.exemplars.count, 0)
    }

    func testHistogramCreatedSeriesWhenEnabled() {
        var point = PRWFixtures.histogramPoint(bounds: [1], counts: [1, 0], sum: 1)
        point.startTimeUnixNano = PRWFixtures.timeNs - 1_000_000_000
        let options = PrometheusTranslationOptions(exportCreatedMetric: true)
        let created = PRWFixtures.translate([PRWFixtures.histogram("h", points: [point])], options: options).series(named: "h_created")

        XCTAssertEqual(created.first?.samples.map(\.value), [Double(PRWFixtures.timeMs - 1000)])
    }

    // MARK: Summaries

    func testSummaryBecomesQuantileSumAndCountSeries() {
        var point = SummaryDataPoint()
        point.timeUnixNano = PRWFixtures.timeNs
        point.count = 20
        point.sum = 4.2
        point.quantileValues = [(0.5, 0.1), (0.99, 0.9)].map { q, v in
            var quantile = SummaryDataPoint.ValueAtQuantile()
            quantile.quantile = q
            quantile.value = v
            return quantile
        }
        var metric = Metric()
        metric.name = "rpc.duration"
        metric.unit = "s"
        metric.summary.dataPoints = [point]
        let result = PRWFixtures.translate([metric])

        let quantiles = result.series(named: "rpc_duration_seconds")
        XCTAssertEqual(quantiles.map { $0.labelMap["quantile"] }, ["0.5", "0.99"])
        XCTAssertEqual(quantiles.map { $0.samples.first?.value }, [0.1, 0.9])
        XCTAssertEqual(result.series(named: "rpc_duration_seconds_sum").first?.samples.first?.value, 4.2)
        XCTAssertEqual(result.series(named: "rpc_duration_seconds_count").first?.samples.first?.value, 20)
    }

    // MARK: Exponential histograms

    func testExponentialHistogramBecomesNativeHistogram() {
        var point = ExponentialHistogramDataPoint()
        point.timeUnixNano = PRWFixtures.timeNs
        point.scale = 0
        point.count = 4
        point.sum = 10
        point.zeroCount = 1
        point.positive.offset = 0
        point.positive.bucketCounts = [1, 2]
        let series = PRWFixtures.translate([PRWFixtures.exponential("request.size", unit: "By", points: [point])])
            .series(named: "request_size_bytes")

        XCTAssertEqual(series.count, 1)
        let histogram = series[0].histograms[0]
        XCTAssertEqual(histogram.schema, 0)
        XCTAssertEqual(histogram.countInt, 4)
        XCTAssertEqual(histogram.zeroCountInt, 1)
        XCTAssertEqual(histogram.sum, 10)
        XCTAssertEqual(histogram.zeroThreshold, 1e-128)
        XCTAssertEqual(histogram.resetHint, .unknown)
        XCTAssertEqual(histogram.timestamp, PRWFixtures.timeMs)
        XCTAssertEqual(histogram.positiveSpans.map { [$0.offset, Int32($0.length)] }, [[1, 2]])
        XCTAssertEqual(histogram.positiveDeltas, [1, 1])
        XCTAssertTrue(series[0].samples.isEmpty)
    }

    func testExponentialBucketsUseSparseLayoutOfTheSpec() {
        // The example of the OTel spec, section "Exponential Histograms".
        let (spans, deltas) = NativeHistogramConversion.sparseLayout([10, 0, 0, 20, 5, 2], offset: 3, scaleDown: 0)

        XCTAssertEqual(spans.map { [$0.offset, Int32($0.length)] }, [[4, 6]])
        XCTAssertEqual(deltas, [10, -10, 0, 20, -15, -3])
    }

    func testExponentialBucketsOpenNewSpanAfterGapOfMoreThanTwo() {
        let (spans, deltas) = NativeHistogramConversion.sparseLayout([1, 0, 0, 0, 0, 2], offset: 0, scaleDown: 0)

        XCTAssertEqual(spans.map { [$0.offset, Int32($0.length)] }, [[1, 1], [4, 1]])
        XCTAssertEqual(deltas, [1, 1])
    }

    func testExponentialHistogramAboveScale8IsDownscaled() {
        var point = ExponentialHistogramDataPoint()
        point.timeUnixNano = PRWFixtures.timeNs
        point.scale = 10
        point.count = 4
        point.positive.bucketCounts = [1, 1, 1, 1]
        let histogram = PRWFixtures.translate([PRWFixtures.exponential("e", points: [point])]).series(named: "e").first?.histograms.first

        XCTAssertEqual(histogram?.schema, 8)
        XCTAssertEqual(histogram?.positiveSpans.map { [$0.offset, Int32($0.length)] }, [[1, 1]])
        XCTAssertEqual(histogram?.positiveDeltas, [4])
    }

    func testExponentialHistogramBelowScaleMinus4IsDropped() {
        var point = ExponentialHistogramDataPoint()
        point.timeUnixNano = PRWFixtures.timeNs
        point.scale = -5
        let result = PRWFixtures.translate([PRWFixtures.exponential("e", points: [point])])

        XCTAssertTrue(result.writeRequest.timeseries.isEmpty)
        XCTAssertEqual(result.droppedDataPoints, 1)
        XCTAssertEqual(result.errors, ["cannot convert exponential to native histogram. Scale must be >= -4, was -5"])
    }

    func testStaleExponentialHistogramHasStaleSumAndNoBuckets() {
        var point = ExponentialHistogramDataPoint()
        point.timeUnixNano = PRWFixtures.timeNs
        point.flags = 1
        point.count = 3
        point.positive.bucketCounts = [3]
        let histogram = PRWFixtures.translate([PRWFixtures.exponential("e", points: [point])]).series(named: "e").first?.histograms.first

        XCTAssertEqual(histogram?.sum.bitPattern, 0x7FF0_0000_0000_0002)
        XCTAssertEqual(histogram?.countInt, 0)
        XCTAssertEqual(histogram?.positiveDeltas, [])
    }
}

extension PRWFixtures {
    static func exponential(_ name: String, unit: String = "", points: [ExponentialHistogramDataPoint]) -> Metric {
        var metric = Metric()
        metric.name = name
        metric.unit = unit
        metric.exponentialHistogram.aggregationTemporality = .cumulative
        metric.exponentialHistogram.dataPoints = points
        return metric
    }
}
