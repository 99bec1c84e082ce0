import Foundation
import XCTest
@testable import MetricsStore

/// Engine behaviour beyond the upstream scripts: limits, cancellation, API shapes.
final class PromQLEngineTests: XCTestCase {
    private func storage(series: Int, samples: Int, interval: Int64 = 15_000) -> PromQLMemoryStorage {
        var storage = PromQLMemoryStorage()
        for s in 0..<series {
            let labels = Labels(["__name__": "requests_total", "instance": "\(s)", "job": "job\(s % 10)"])
            storage.append(labels, (0..<samples).map { Head.Sample(Int64($0) * interval, Double($0 * (s + 1))) })
        }
        return storage
    }

    func testInstantSelectorReturnsLatestSampleWithinLookback() async throws {
        let engine = PromQLEngine(storage: storage(series: 2, samples: 10))
        let result = try await engine.instantQuery("requests_total", at: 100_000)
        guard case .vector(let samples) = result.value else { return XCTFail("expected vector, got \(result.value)") }
        XCTAssertEqual(samples.count, 2)
        // Samples at 0, 15s, …, 135s: the latest at or before 100s is at 90s (index 6).
        XCTAssertEqual(Set(samples.map(\.value)), [6, 12])
        XCTAssertTrue(samples.allSatisfy { $0.timestamp == 100_000 })
    }
}

extension PromQLEngineTests {
    func testQueryLoadingMoreThanMaxSamplesFailsWithPrometheusMessage() async throws {
        let engine = PromQLEngine(storage: storage(series: 10, samples: 100), options: .init(maxSamples: 500))
        do {
            _ = try await engine.instantQuery("sum(rate(requests_total[1h]))", at: 1_500_000)
            XCTFail("expected too many samples")
        } catch {
            guard case .tooManySamples = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(error.description, "query processing would load too many samples into memory in query execution")
            XCTAssertEqual(error.errorType, "execution")
        }
        // The same query fits a larger budget.
        let roomy = PromQLEngine(storage: storage(series: 10, samples: 100), options: .init(maxSamples: 5_000))
        let result = try await roomy.instantQuery("sum(rate(requests_total[1h]))", at: 1_500_000)
        guard case .vector(let samples) = result.value else { return XCTFail("expected vector") }
        XCTAssertEqual(samples.count, 1)
    }

    func testQueryPastItsTimeoutFailsWithTimeout() async throws {
        let engine = PromQLEngine(storage: storage(series: 200, samples: 200), options: .init(timeout: .zero))
        do {
            _ = try await engine.rangeQuery("sum by (job) (rate(requests_total[5m]))", start: 0, end: 3_000_000, step: 15_000)
            XCTFail("expected timeout")
        } catch {
            guard case .timeout = error else { return XCTFail("unexpected \(error)") }
            XCTAssertEqual(error.description, "query timed out in query execution")
            XCTAssertEqual(error.errorType, "timeout")
        }
    }

    func testCancelledTaskStopsTheQuery() async throws {
        let engine = PromQLEngine(storage: storage(series: 50, samples: 200))
        let task = Task { () async -> PromQLError? in
            withUnsafeCurrentTask { $0?.cancel() }
            do throws(PromQLError) {
                _ = try await engine.rangeQuery("rate(requests_total[5m])", start: 0, end: 3_000_000, step: 15_000)
                return nil
            } catch {
                return error
            }
        }
        let error = await task.value
        guard let error, case .canceled = error else { return XCTFail("expected cancellation, got \(String(describing: error))") }
        XCTAssertEqual(error.errorType, "canceled")
    }

    func testParseErrorsKeepPrometheusWordingAndBadDataType() async throws {
        let engine = PromQLEngine(storage: PromQLMemoryStorage())
        do {
            _ = try await engine.instantQuery("sum(", at: 0)
            XCTFail("expected a parse error")
        } catch {
            guard case .parse = error else { return XCTFail("unexpected \(error)") }
            XCTAssertTrue(error.description.hasPrefix("1:5: parse error:"), error.description)
            XCTAssertEqual(error.errorType, "bad_data")
        }
    }

    func testRangeQueryReturnsMatrixSortedByLabelsWithOnePointPerStep() async throws {
        let engine = PromQLEngine(storage: storage(series: 3, samples: 40))
        let result = try await engine.rangeQuery("requests_total * 2", start: 60_000, end: 120_000, step: 30_000)
        guard case .matrix(let series) = result.value else { return XCTFail("expected matrix") }
        XCTAssertEqual(series.map { $0.labels["instance"] }, ["0", "1", "2"])
        XCTAssertTrue(series.allSatisfy { $0.labels[Labels.metricName] == nil })
        XCTAssertEqual(series[1].points, [Head.Sample(60_000, 16), Head.Sample(90_000, 24), Head.Sample(120_000, 32)])
    }

    func testRangeQueryOfRangeVectorIsRejected() async throws {
        let engine = PromQLEngine(storage: PromQLMemoryStorage())
        do {
            _ = try await engine.rangeQuery("requests_total[5m]", start: 0, end: 60_000, step: 15_000)
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(error.description, "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
        }
    }

    func testPreParsedExpressionEvaluatesLikeItsText() async throws {
        let engine = PromQLEngine(storage: storage(series: 4, samples: 40))
        let expr = try PromQLParser.parse("sum by (job) (requests_total)")
        let parsed = try await engine.instantQuery(expr, at: 300_000)
        let text = try await engine.instantQuery("sum by (job) (requests_total)", at: 300_000)
        XCTAssertEqual(parsed.value, text.value)
    }

    func testStaleMarkerEndsSeriesBeforeLookbackRunsOut() async throws {
        var storage = PromQLMemoryStorage()
        storage.append(Labels(["__name__": "up"]), [Head.Sample(0, 1), Head.Sample(15_000, PromQLStaleness.marker)])
        let engine = PromQLEngine(storage: storage)
        let before = try await engine.instantQuery("up", at: 10_000)
        let after = try await engine.instantQuery("up", at: 20_000)
        XCTAssertEqual(before.value, .vector([PromQLSample(labels: Labels(["__name__": "up"]), timestamp: 10_000, value: 1)]))
        XCTAssertEqual(after.value, .vector([]))
    }
}

extension PromQLEngineTests {
    /// `a / on(job) b` where the `b` series for job x is replaced half way: the pairing
    /// changes over time, so the step-by-step matcher runs; with a fixed pairing the
    /// series-by-series merge runs. Both must give the same shape of answer.
    func testVectorMatchingFollowsPartnersThatChangeOverTime() async throws {
        var storage = PromQLMemoryStorage()
        storage.append(Labels(["__name__": "a", "job": "x"]), (0...4).map { Head.Sample(Int64($0) * 60_000, 100) })
        storage.append(Labels(["__name__": "b", "job": "x", "v": "1"]), [Head.Sample(0, 2), Head.Sample(60_000, 2), Head.Sample(90_000, PromQLStaleness.marker)])
        storage.append(Labels(["__name__": "b", "job": "x", "v": "2"]), [Head.Sample(120_000, 4), Head.Sample(180_000, 4), Head.Sample(240_000, 4)])
        let engine = PromQLEngine(storage: storage)
        let changing = try await engine.rangeQuery("a / on(job) b", start: 0, end: 240_000, step: 60_000)
        XCTAssertEqual(changing.value, .matrix([PromQLSeries(labels: Labels(["job": "x"]), points: [
            Head.Sample(0, 50), Head.Sample(60_000, 50), Head.Sample(120_000, 25), Head.Sample(180_000, 25), Head.Sample(240_000, 25),
        ])]))
        let fixed = try await engine.rangeQuery("a / on(job) b{v=\"2\"}", start: 0, end: 240_000, step: 60_000)
        XCTAssertEqual(fixed.value, .matrix([PromQLSeries(labels: Labels(["job": "x"]), points: [
            Head.Sample(120_000, 25), Head.Sample(180_000, 25), Head.Sample(240_000, 25),
        ])]))
        // Both b series overlap at no step, but together they are not unique per job at 60s
        // once the stale marker is gone: many-to-many must then fail as upstream words it.
        var overlapping = storage
        overlapping.append(Labels(["__name__": "b", "job": "x", "v": "1"]), [Head.Sample(90_000, 2), Head.Sample(120_000, 2)])
        do {
            _ = try await PromQLEngine(storage: overlapping).rangeQuery("a / on(job) b", start: 0, end: 240_000, step: 60_000)
            XCTFail("expected a matching error")
        } catch {
            XCTAssertTrue(error.description.hasPrefix("found duplicate series for the match group {job=\"x\"} on the right hand-side"), error.description)
        }
    }
}
