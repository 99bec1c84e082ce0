import XCTest
@testable import MetricsStore

/// The head's append of `SeriesBatch`es: series found by key bytes, new ones created once.
final class HeadBatchAppendTests: XCTestCase {
    let up: Labels = ["__name__": "up", "job": "api"]

    func testKeyHashIsTheStableHashOfTheLabels() {
        let batch = SeriesBatch([(up, [.init(1, 1)]), (Labels(), [])])
        XCTAssertEqual(batch.entries[0].hash, up.stableHash)
        XCTAssertEqual(batch.entries[1].hash, Labels().stableHash)
        let expected: [UInt8] = ["__name__", "up", "job", "api"].flatMap { Array($0.utf8) + [UInt8(0xFF)] }
        XCTAssertEqual(Array(batch.keys[batch.entries[0].key]), expected)
    }

    func testLabelsMatchOnlyTheirOwnKey() {
        func key(_ labels: Labels) -> [UInt8] { Array(SeriesBatch([(labels, [])]).keys) }
        func matches(_ labels: Labels, _ key: [UInt8]) -> Bool { key.withUnsafeBytes { labels.matches(key: $0) } }
        XCTAssertTrue(matches(up, key(up)))
        XCTAssertFalse(matches(up, key(["__name__": "up", "job": "ap"])))
        XCTAssertFalse(matches(up, key(["__name__": "up", "job": "api", "x": "1"])))
        XCTAssertFalse(matches(["__name__": "up", "job": "api", "x": "1"], key(up)))
        XCTAssertFalse(matches(up, key(["__name__": "up", "jobapi": ""])))
        XCTAssertTrue(matches(Labels(), []))
    }

    func testKnownSeriesAreFoundByKeyAndNewOnesCreatedOnce() throws {
        let head = Head()
        let first = try head.append([(up, [.init(1000, 1)])])
        XCTAssertEqual(first.newSeries.count, 1)
        head.markSeriesRecordsDurable(first.newSeries)
        let other: Labels = ["__name__": "up", "job": "db"]
        // Decoded from the wire: the head sees only keys.
        var request = SeriesBatch()
        for (labels, t) in [(up, Int64(2000)), (other, 1000), (other, 2000), (up, 3000)] {
            let start = request.pendingSamplesStart
            request.appendSample(.init(t, 1))
            let key = Array(SeriesBatch([(labels, [])]).keys)
            request.commitSeries(keyLength: key.count, sampleStart: start) { destination in key.withUnsafeBytes { destination.copyMemory(from: $0) } }
        }
        let result = try head.append(request)
        XCTAssertEqual(result.newSeries.map(\.labels), [other])
        XCTAssertEqual(result.samples.map(\.ref), [first.newSeries[0].ref, result.newSeries[0].ref, result.newSeries[0].ref, first.newSeries[0].ref])
        XCTAssertEqual(head.seriesCount, 2)
        XCTAssertEqual(head.select([.equal("job", "db")]).first?.samples, [.init(1000, 1), .init(2000, 1)])
    }

    func testRepeatedSeriesIsCheckedAcrossItsEntries() throws {
        let head = Head()
        _ = try head.append([(up, [.init(5000, 1)])])
        XCTAssertThrowsError(try head.append([(up, [.init(6000, 1)]), (up, [.init(5500, 1)])])) { error in
            XCTAssertEqual(error as? Head.AppendError, .outOfOrder(series: up.description, timestamp: 5500))
        }
        XCTAssertEqual(head.sampleCount, 1, "a refused batch leaves nothing behind")
        _ = try head.append([(up, [.init(6000, 1)]), (up, [.init(6000, 1), .init(7000, 2)])])
        XCTAssertEqual(head.select([.equal("job", "api")]).first?.samples, [.init(5000, 1), .init(6000, 1), .init(7000, 2)])
    }

    /// Requests reach the WAL in another order than the head: a request adding samples to
    /// a series whose creating request has not made its series record durable writes the
    /// record again, so its own acknowledged samples can never be orphans at replay.
    func testSeriesRecordRepeatsUntilItIsDurable() throws {
        let head = Head()
        let creating = try head.append([(up, [.init(1000, 1)])])
        XCTAssertEqual(creating.newSeries.map(\.labels), [up])
        let racing = try head.append([(up, [.init(2000, 1)]), (up, [.init(3000, 1)])])
        XCTAssertEqual(racing.newSeries.map(\.labels), [up], "listed once per request while the record is pending")
        XCTAssertEqual(racing.newSeries.first?.ref, creating.newSeries.first?.ref)
        head.markSeriesRecordsDurable(racing.newSeries)
        let later = try head.append([(up, [.init(4000, 1)])])
        XCTAssertTrue(later.newSeries.isEmpty)
    }

    func testTSDBMarksSeriesRecordsDurableAfterTheWALWrite() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("head-durable-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tsdb = try TSDB.open(directory: directory)
        defer { tsdb.close() }
        try await tsdb.append([(up, [.init(1000, 1)])])
        let next = try tsdb.head.append([(up, [.init(2000, 1)])])
        XCTAssertTrue(next.newSeries.isEmpty)
    }
}
