import XCTest

@testable import MetricsStore

/// The engine's sample statistics (`stats=` on the query API) and its default subquery step.
final class PromQLQueryStatsTests: XCTestCase {
    /// `series` counters sampled every 15 s from 0 to 30 min.
    private func engine(series: Int = 3, options: PromQLEngineOptions = .init()) -> PromQLEngine {
        var storage = PromQLMemoryStorage()
        for s in 0..<series {
            storage.append(Labels(["__name__": "c_total", "i": "\(s)"]), (0...120).map { Head.Sample(Int64($0) * 15_000, Double($0)) })
        }
        return PromQLEngine(storage: storage, options: options)
    }

    func testInstantSelectorCountsOneSamplePerSeries() async throws {
        let stats = try await engine().instantQuery("c_total", at: 600_000).stats
        XCTAssertEqual(stats.totalQueryableSamples, 3)
        XCTAssertEqual(stats.totalQueryableSamplesPerStep, [3])
    }

    func testRangeFunctionCountsEveryWindowsSamples() async throws {
        // At 607 s a 1m window (547, 607] holds the samples at 555, 570, 585 and 600.
        let stats = try await engine().instantQuery("sum(rate(c_total[1m]))", at: 607_000).stats
        XCTAssertEqual(stats.totalQueryableSamples, 12)
        // Over a range, overlapping windows count their shared samples once each.
        let range = try await engine().rangeQuery("rate(c_total[1m])", start: 607_000, end: 637_000, step: 15_000).stats
        XCTAssertEqual(range.totalQueryableSamplesPerStep, [12, 12, 12])
        XCTAssertEqual(range.totalQueryableSamples, 36)
    }

    func testRangeQueryCountsPerStepWhereSeriesHaveValues() async throws {
        // The series end at 1800 s; the 5m lookback, open on the left, misses them from 2100 s.
        let stats = try await engine().rangeQuery("c_total", start: 1_500_000, end: 2_400_000, step: 300_000).stats
        XCTAssertEqual(stats.totalQueryableSamplesPerStep, [3, 3, 0, 0])
        XCTAssertEqual(stats.totalQueryableSamples, 6)
    }

    func testRangeSelectorResultCountsItsSamples() async throws {
        let stats = try await engine().instantQuery("c_total[1m]", at: 607_000).stats
        XCTAssertEqual(stats.totalQueryableSamples, 12)
    }

    func testSubqueriesCountTheirWindowsOrWhatTheyRead() async throws {
        // Under a function: the subquery's own points in the window (the 1m steps at 360,
        // 420, 480, 540 and 600 s), not what its inner selector read.
        let underFunction = try await engine().instantQuery("max_over_time(c_total[5m:1m])", at: 607_000).stats
        XCTAssertEqual(underFunction.totalQueryableSamples, 15)
        // As the result: what the inner selector read, one sample per series and inner step.
        let asResult = try await engine().instantQuery("c_total[5m:1m]", at: 607_000).stats
        XCTAssertEqual(asResult.totalQueryableSamples, 15)
        XCTAssertEqual(asResult.totalQueryableSamplesPerStep, [15])
    }

    func testPeakSamplesIsExactlyWhatMaxSamplesLimits() async throws {
        let query = "sum by (i) (rate(c_total[10m]))"
        let peak = try await engine().instantQuery(query, at: 1_207_000).stats.peakSamples
        XCTAssertGreaterThanOrEqual(peak, 3 * 40, "the loaded windows were held at once")
        _ = try await engine(options: .init(maxSamples: peak)).instantQuery(query, at: 1_207_000)
        do {
            _ = try await engine(options: .init(maxSamples: peak - 1)).instantQuery(query, at: 1_207_000)
            XCTFail("one sample below the peak must be too many")
        } catch {
            guard case .tooManySamples = error else { return XCTFail("unexpected \(error)") }
        }
    }

    func testDefaultSubqueryStepIsSettableAndAppliesToLaterQueries() async throws {
        let engine = engine(series: 1)
        func points() async throws -> Double {
            guard case .vector(let v) = try await engine.instantQuery("count_over_time(c_total[10m:])", at: 1_207_000).value else {
                XCTFail("expected a vector")
                return .nan
            }
            return v.first?.value ?? .nan
        }
        let defaultStep = try await points()
        XCTAssertEqual(defaultStep, 10, "1m by default")
        engine.setDefaultSubqueryStep(30_000)
        let thirtySeconds = try await points()
        XCTAssertEqual(thirtySeconds, 20)
    }

    func testConfigApplierTakesTheEvaluationInterval() async throws {
        let engine = engine(series: 1)
        var config = PrometheusConfig.empty
        config.global.evaluationInterval = PrometheusDuration(milliseconds: 15_000)
        try await engine.configApplier(config, "prometheus.yml")
        XCTAssertEqual(engine.options.defaultSubqueryStep, 15_000)
        config.global.evaluationInterval = PrometheusDuration(milliseconds: 0)
        try await engine.configApplier(config, "prometheus.yml")
        XCTAssertEqual(engine.options.defaultSubqueryStep, 60_000, "zero means the default, as in Prometheus")
    }
}
