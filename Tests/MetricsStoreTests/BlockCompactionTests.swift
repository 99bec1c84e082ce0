import XCTest
@testable import MetricsStore

final class BlockCompactionTests: XCTestCase {
    let hour: Int64 = 3600 * 1000
    /// A multiple of 54 h, so every compaction window starts here.
    let base: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % (54 * 3600 * 1000)

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("compact-\(UUID().uuidString)")
    }

    func meta(_ id: Int, _ start: Int64, _ end: Int64, level: Int = 1, sources: [String]? = nil) -> BlockMeta {
        let ulid = String(format: "01H%023d", id)
        return BlockMeta(ulid: ulid, minTime: base + start * hour, maxTime: base + end * hour,
                         stats: .init(numSamples: 1, numSeries: 1, numChunks: 1),
                         compaction: .init(level: level, sources: sources ?? [ulid]), version: 1)
    }

    func testRangesGrowThreefoldUpToATenthOfRetention() {
        XCTAssertEqual(BlockCompactor(blockRange: 2 * hour, retention: 24 * hour).ranges, [2 * hour])
        XCTAssertEqual(BlockCompactor(blockRange: 2 * hour, retention: 15 * 24 * hour).ranges, [2 * hour, 6 * hour, 18 * hour])
        XCTAssertEqual(BlockCompactor(blockRange: 2 * hour, retention: 0).ranges, [2 * hour, 6 * hour, 18 * hour, 54 * hour])
    }

    func testPlanWaitsForAFullWindowAndNeverTakesTheNewestBlock() {
        let compactor = BlockCompactor(blockRange: 2 * hour, retention: 0)
        // Two blocks of the first 6 h window, and the newest is the second of them: nothing due.
        XCTAssertNil(compactor.plan([meta(1, 0, 2), meta(2, 2, 4)]))
        // The third arrives: the first window is full but the newest block is in it; only
        // when a block of the next window exists is the window merged.
        XCTAssertNil(compactor.plan([meta(1, 0, 2), meta(2, 2, 4), meta(3, 4, 6)]))
        let plan = compactor.plan([meta(1, 0, 2), meta(2, 2, 4), meta(3, 4, 6), meta(4, 6, 8)])
        XCTAssertEqual(plan?.blocks.map(\.minTime), [base, base + 2 * hour, base + 4 * hour])
        XCTAssertEqual(plan?.window.min, base)
        XCTAssertEqual(plan?.window.max, base + 6 * hour)
        // A window with a gap is merged too once later data exists.
        let gap = compactor.plan([meta(1, 0, 2), meta(3, 4, 6), meta(4, 8, 10)])
        XCTAssertEqual(gap?.blocks.count, 2)
        // Three 6 h blocks make an 18 h one.
        let level2 = compactor.plan([meta(1, 0, 6, level: 2), meta(2, 6, 12, level: 2), meta(3, 12, 18, level: 2), meta(4, 18, 20)])
        XCTAssertEqual(level2?.window.max, base + 18 * hour)
    }

    func testObsoleteBlocksAreTheSourcesOfAMergedBlock() {
        let a = meta(1, 0, 2), b = meta(2, 2, 4), unrelated = meta(3, 6, 8)
        let merged = meta(9, 0, 6, level: 2, sources: [a.ulid, b.ulid])
        XCTAssertEqual(BlockCompactor.obsoleteBlocks([a, b, unrelated, merged]), [a.ulid, b.ulid])
    }

    func testOverlappingChunksAreReencodedWithoutDuplicates() {
        var first = XORChunk(), second = XORChunk()
        for t in stride(from: Int64(0), to: 100, by: 10) { first.append(timestamp: t, value: Double(t)) }
        for t in stride(from: Int64(50), to: 150, by: 10) { second.append(timestamp: t, value: Double(t)) }
        let merged = BlockCompactor.ordered([.xor(second), .xor(first)])
        let times = merged.flatMap { (try? $0.samples()) ?? [] }.map(\.timestamp)
        XCTAssertEqual(times, Array(stride(from: Int64(0), to: 150, by: 10)))
    }

    /// Hours of 30 s samples for 50 series, appended an hour at a time.
    func fill(_ tsdb: TSDB, hours: Range<Int64>) async throws {
        for h in hours {
            let times = Array(stride(from: base + h * hour, to: base + (h + 1) * hour, by: 30_000))
            var request: [(labels: Labels, samples: [Head.Sample])] = []
            for i in 0..<50 {
                request.append((["__name__": "m", "i": "\(i)"], times.map { Head.Sample($0, Double($0 / 30_000 % 1000 + Int64(i))) }))
            }
            try await tsdb.append(request)
        }
    }

    func testCompactionMergesBlocksAndKeepsEverySample() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let tsdb = try TSDB.open(directory: directory)
        try await fill(tsdb, hours: 0..<26)
        let before = try tsdb.select([.equal("__name__", "m")], mint: .min, maxt: .max)
        let smallBlocksSize = try await { () async throws -> Int64 in
            // Cut only (a 50 h retention allows no range above 2 h) to measure 2 h blocks.
            let copy = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: copy) }
            let other = try TSDB.open(directory: copy, retention: 50 * hour)
            try await fill(other, hours: 0..<26)
            try await other.compact(now: base + 26 * hour)
            XCTAssertEqual(other.blocks.withLock { $0.map(\.meta.compaction.level) }, Array(repeating: 1, count: 12))
            other.close()
            return TSDB.diskUsage(copy.appendingPathComponent("blocks").path)
        }()

        try await tsdb.compact(now: base + 26 * hour)
        let levels = tsdb.blocks.withLock { $0.map(\.meta.compaction.level) }
        // The head is cut up to 24 h. 0–18 h: three 6 h blocks, then one 18 h block (level
        // 3); 18–24 h stays in 2 h blocks: the newest is never merged, so the window waits.
        XCTAssertEqual(levels, [3, 1, 1, 1])
        let merged = tsdb.blocks.withLock { $0[0].meta }
        XCTAssertEqual(merged.minTime, base)
        XCTAssertEqual(merged.maxTime, base + 18 * hour)
        XCTAssertEqual(merged.compaction.sources.count, 9)
        XCTAssertEqual(merged.stats.numSamples, 50 * 18 * 120)
        XCTAssertEqual(try tsdb.select([.equal("__name__", "m")], mint: .min, maxt: .max).map(\.samples), before.map(\.samples))
        XCTAssertLessThan(TSDB.diskUsage(directory.appendingPathComponent("blocks").path), smallBlocksSize,
                          "one index instead of nine")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("blocks").path).count, 4,
                       "the sources are deleted")
        tsdb.close()

        // A crash after the merged block was renamed into place but before its sources
        // were deleted: put (copies of) two sources back. Opening deletes them again and
        // no sample is doubled.
        let blocksPath = directory.appendingPathComponent("blocks").path
        let cutOnly = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cutOnly) }
        let replay = try TSDB.open(directory: cutOnly, retention: 50 * hour)
        try await fill(replay, hours: 0..<26)
        try await replay.compact(now: base + 26 * hour)
        let firstTwo = replay.blocks.withLock { $0.prefix(2).map(\.directory) }
        replay.close()
        for (copy, source) in zip(firstTwo, merged.compaction.sources) {
            try FileManager.default.copyItem(atPath: copy, toPath: blocksPath + "/" + source)
            let metaPath = blocksPath + "/" + source + "/meta.json"
            var meta = try JSONDecoder().decode(BlockMeta.self, from: Data(contentsOf: URL(fileURLWithPath: metaPath)))
            meta.ulid = source
            meta.compaction.sources = [source]
            try JSONEncoder().encode(meta).write(to: URL(fileURLWithPath: metaPath))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocksPath).count, 6)
        let reopened = try TSDB.open(directory: directory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocksPath).count, 4)
        XCTAssertEqual(try reopened.select([.equal("__name__", "m")], mint: .min, maxt: .max).map(\.samples), before.map(\.samples))
        reopened.close()
    }

    func testSizeRetentionDeletesTheOldestBlocksFirst() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Retention by size only: 2 h blocks (time retention 10 h keeps merging off).
        var tsdb = try TSDB.open(directory: directory, retention: 1000 * hour)
        try await fill(tsdb, hours: 0..<9)
        try await tsdb.compact(now: base + 9 * hour)
        tsdb.close()
        let blockSizes = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("blocks").path)
            .map { TSDB.diskUsage(directory.appendingPathComponent("blocks/" + $0).path) }
        let wal = TSDB.diskUsage(directory.appendingPathComponent("wal").path)
        XCTAssertGreaterThan(blockSizes.count, 1)
        // A limit that holds the WAL and one block but not two.
        let limit = wal + blockSizes.max()! + blockSizes.min()! / 2
        tsdb = try TSDB.open(directory: directory, retention: 1000 * hour, retentionSize: limit)
        let newest = tsdb.blocks.withLock { $0.map(\.meta.minTime).max()! }
        try await tsdb.compact(now: base + 9 * hour)
        XCTAssertEqual(tsdb.blocks.withLock { $0.map(\.meta.minTime) }, [newest])
        tsdb.close()
    }

    func testByteSizeReadsPrometheusUnits() throws {
        XCTAssertEqual(try ByteSize.parse("0B"), 0)
        XCTAssertEqual(try ByteSize.parse("512MB"), 512 << 20)
        XCTAssertEqual(try ByteSize.parse("2GiB"), 2 << 30)
        XCTAssertEqual(try ByteSize.parse("1TB"), 1 << 40)
        XCTAssertThrowsError(try ByteSize.parse("12")) { XCTAssertTrue("\($0)".contains("expected a whole number and a unit")) }
        XCTAssertThrowsError(try ByteSize.parse("1.5GB"))
        XCTAssertThrowsError(try ByteSize.parse("9999999EB"))
    }
}
