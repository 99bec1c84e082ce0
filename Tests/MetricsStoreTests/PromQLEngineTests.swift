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
