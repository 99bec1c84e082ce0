import VigilTestSupport
import XCTest
@testable import MetricsStore

final class BlockCuttingTests: XCTestCase {
    let hour: Int64 = 3600 * 1000
    let base: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % (2 * 3600 * 1000)   // a block boundary

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID().uuidString)")
    }

    /// 5 hours of 15 s samples for two series, written in 30-minute requests.
    func fill(_ tsdb: TSDB) async throws {
        for step in 0..<10 {
            let from = base + Int64(step) * hour / 2
            let times = stride(from: from, to: from + hour / 2, by: 15_000)
            try await tsdb.append([
                (["__name__": "a", "i": "1"], times.map { Head.Sample($0, Double($0 / 15_000 % 100)) }),
                (["__name__": "b", "i": "2"], times.map { Head.Sample($0, 1) }),
            ])
        }
    }

    func testHeadIsCutIntoBlocksAndEverySampleStaysReadable() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tsdb = try TSDB.open(directory: directory)
        try await fill(tsdb)
        let before = try tsdb.select([.equal("__name__", "a")], mint: .min, maxt: .max)[0].samples
        XCTAssertEqual(before.count, 1200)

        let written = try await tsdb.compact(now: base + 5 * hour)
        XCTAssertEqual(written.count, 1, "5 h of head data leaves one 2 h block to cut")
        XCTAssertEqual(written[0].minTime, base)
        XCTAssertEqual(written[0].stats.numSeries, 2)
        XCTAssertEqual(written[0].stats.numSamples, 2 * 480)
        XCTAssertEqual(tsdb.head.timeRange?.min, base + 2 * hour, "the head keeps only what the block does not hold")

        let after = try tsdb.select([.equal("__name__", "a")], mint: .min, maxt: .max)[0].samples
        XCTAssertEqual(after, before)
        XCTAssertEqual(try tsdb.series(matching: [[.equal("i", "2")]], mint: base, maxt: base + hour), [["__name__": "b", "i": "2"]])

        // A sample for the block's window is now out of bounds.
        do {
            try await tsdb.append([(["__name__": "a", "i": "1"], [.init(base + hour, 1)])])
            XCTFail("expected out of bounds")
        } catch {
            guard case .rejected(.outOfBounds) = error else { return XCTFail("\(error)") }
        }
        tsdb.close()

        // Restart: blocks load, the checkpointed WAL restores the head, nothing is lost or doubled.
        let reopened = try TSDB.open(directory: directory)
        XCTAssertEqual(try reopened.select([.equal("__name__", "a")], mint: .min, maxt: .max)[0].samples, before)
        XCTAssertEqual(reopened.head.timeRange?.min, base + 2 * hour)
        reopened.close()
    }

    /// Series of every kind the decimal encoding treats differently (integers, decimals,
    /// nanoseconds in seconds, arbitrary doubles, stale markers), cut into a block in
    /// each encoding and read back through the TSDB bit for bit, also after a restart.
    func testBlocksInEitherChunkEncodingReturnEverySampleBitForBit() async throws {
        var random = SplitMix64(seed: 11)
        let stale = Double(bitPattern: 0x7FF0_0000_0000_0002)
        var series: [(Labels, [Head.Sample])] = []
        for kind in 0..<5 {
            var counter = 0.0
            var samples: [Head.Sample] = []
            for t in stride(from: base, to: base + 5 * hour, by: 15_000) {
                counter += Double(random.next() % 1000)
                let value: Double = switch kind {
                case 0: counter
                case 1: Double(random.next() % 100_000) / 100
                case 2: Double(random.next() % 5_000_000) / 1e9
                case 3: Double(bitPattern: random.next() >> 2 | 0x3FF0_0000_0000_0000)
                default: t % (20 * 60_000) == 0 ? stale : counter / 4
                }
                samples.append(Head.Sample(t + Int64(random.next() % 3), value))
            }
            series.append((["__name__": "kind", "k": "\(kind)"], samples))
        }
        for encoding in BlockChunkEncoding.allCases {
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let tsdb = try TSDB.open(directory: directory, blockChunkEncoding: encoding)
            try await tsdb.append(series)
            let written = try await tsdb.compact(now: base + 5 * hour)
            XCTAssertEqual(written.count, 1)
            for reopen in [false, true] {
                let store = reopen ? try TSDB.open(directory: directory, blockChunkEncoding: encoding) : tsdb
                let read = try store.select([.equal("__name__", "kind")], mint: .min, maxt: .max)
                XCTAssertEqual(read.map(\.labels), series.map(\.0), "\(encoding)")
                for ((labels, got), (_, want)) in zip(read, series) {
                    XCTAssertEqual(got, want, "\(encoding) \(labels) reopened: \(reopen)")
                }
                store.close()
            }
        }
    }

    func testMergingSourcesKeepsLabelOrderAndTimeOrder() {
        func series(_ name: String, _ times: [Int64]) -> (labels: Labels, samples: [Head.Sample]) {
            (["__name__": name], times.map { Head.Sample($0, Double($0)) })
        }
        let block = [series("a", [1, 2]), series("c", [1, 2]), series("d", [5, 9])]
        let head = [series("b", [3]), series("c", [3, 4]), series("d", [7]), series("e", [8])]
        let merged = TSDB.mergeByLabels(block, head)
        XCTAssertEqual(merged.map { $0.labels[Labels.metricName] }, ["a", "b", "c", "d", "e"])
        XCTAssertEqual(merged[2].samples.map(\.timestamp), [1, 2, 3, 4])
        XCTAssertEqual(merged[3].samples.map(\.timestamp), [5, 7, 9], "overlapping sources are sorted by time")
        XCTAssertEqual(TSDB.mergeByLabels([], head).count, 4)
        XCTAssertEqual(TSDB.mergeByLabels(block, []).count, 3)
    }

    /// A crash right after a block was renamed into place, before the WAL checkpoint and
    /// head truncation: on restart the block and the whole WAL are both there, and each
    /// sample must come back exactly once.
    func testCrashBetweenBlockWriteAndCheckpointLosesAndDoublesNothing() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tsdb = try TSDB.open(directory: directory)
        try await fill(tsdb)
        let before = try tsdb.select([.equal("__name__", "a")], mint: .min, maxt: .max)[0].samples
        let blocks = directory.appendingPathComponent("blocks").path
        try BlockWriter(directory: blocks).write(tsdb.head.blockData(start: base, end: base + 2 * hour))
        tsdb.close()   // the "crash": no checkpoint, no truncation

        let reopened = try TSDB.open(directory: directory)
        XCTAssertEqual(reopened.blocks.withLock { $0.count }, 1)
        XCTAssertEqual(try reopened.select([.equal("__name__", "a")], mint: .min, maxt: .max)[0].samples, before)
        XCTAssertEqual(reopened.head.timeRange?.min, base + 2 * hour, "replay skipped what the block holds")
        reopened.close()
    }

    func testExemplarsSurviveRestartAndCheckpoint() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tsdb = try TSDB.open(directory: directory)
        let series: Labels = ["__name__": "a", "i": "1"]
        let early = StoredExemplar(series: series, labels: ["trace_id": "0af7651916cd43dd8448eb211c80319c"], value: 3.5, timestamp: base + 60_000)
        try await tsdb.append([], exemplars: [early])
        try await fill(tsdb)
        tsdb.close()

        var reopened = try TSDB.open(directory: directory)
        XCTAssertEqual(reopened.exemplars.all(), [early], "the WAL restores exemplars")
        // Cutting a block truncates the WAL; the checkpoint must carry the exemplar on.
        let cut = try await reopened.compact(now: base + 5 * hour)
        XCTAssertEqual(cut.count, 1)
        let late = StoredExemplar(series: series, labels: ["trace_id": "1"], value: 4, timestamp: base + 6 * hour)
        try await reopened.append([(series, [.init(base + 6 * hour, 2)])], exemplars: [late])
        reopened.close()

        reopened = try TSDB.open(directory: directory)
        XCTAssertEqual(reopened.exemplars.all(), [early, late])
        reopened.close()
    }

    func testRetentionDeletesOldBlocks() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tsdb = try TSDB.open(directory: directory, retention: hour)
        try await fill(tsdb)
        try await tsdb.compact(now: base + 2 * hour + hour / 2)
        XCTAssertEqual(tsdb.blocks.withLock { $0.count }, 1, "the block ended 30 min ago: within retention")
        try await tsdb.compact(now: base + 4 * hour)
        XCTAssertEqual(tsdb.blocks.withLock { $0.count }, 0, "the block ended 2 h ago: past a 1 h retention")
        let blockFiles = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("blocks").path)
        XCTAssertEqual(blockFiles, [])
        tsdb.close()
    }
}
