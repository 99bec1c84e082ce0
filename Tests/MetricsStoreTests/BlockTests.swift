import VigilTestSupport
import Foundation
import XCTest

@testable import MetricsStore

/// Specification of persisted blocks: what `BlockWriter` writes, `BlockReader` (and
/// Prometheus's own `promtool`) reads back exactly, and damage is reported, never hidden.
final class BlockTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "vigil-block-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: - Workload

    /// `count` series of `chunksPerSeries` chunks of 120 samples at 15 s, sorted by labels:
    /// counters and gauges that change slowly, as a realistic scrape produces.
    private func makeSeries(count: Int, chunksPerSeries: Int, start: Int64 = 1_700_000_000_000) -> [BlockSeries] {
        var generator = SplitMix64(seed: 42)
        var series: [BlockSeries] = []
        series.reserveCapacity(count)
        for index in 0..<count {
            let metric = index % 2 == 0 ? "http_requests_total" : "memory_bytes"
            let labels: Labels = [
                "__name__": metric,
                "instance": "host-\(index / 2)",
                "job": ["api", "db", "web", "cache"][index % 4],
            ]
            var chunks: [XORChunk] = []
            var value = Double(generator.next() % 1000)
            var timestamp = start
            for _ in 0..<chunksPerSeries {
                var chunk = XORChunk()
                for _ in 0..<120 {
                    if metric == "http_requests_total" {
                        value += Double(generator.next() % 5)
                    } else if generator.next() % 4 == 0 {
                        value = Double(1_000_000 + generator.next() % 4096)
                    }
                    chunk.append(timestamp: timestamp, value: value)
                    timestamp += 15_000
                }
                chunks.append(chunk)
            }
            series.append(BlockSeries(labels: labels, chunks: chunks))
        }
        return series.sorted { $0.labels < $1.labels }
    }

    private func samples(_ chunk: StoredChunk) throws -> [(Int64, UInt64)] {
        try chunk.samples().map { ($0.timestamp, $0.value.bitPattern) }
    }

    private func writeBlock(_ series: [BlockSeries], maxSegmentSize: Int = 512 << 20,
                            encoding: BlockChunkEncoding = .xor) throws -> (BlockMeta, String) {
        let meta = try BlockWriter(directory: root, maxSegmentSize: maxSegmentSize, chunkEncoding: encoding).write(series)
        return (meta, root + "/" + meta.ulid)
    }

    // MARK: - ULID

    func testULIDIsTimestampThenRandomInCrockfordBase32() throws {
        let first = ULID(milliseconds: 1_700_000_000_000)
        let later = ULID(milliseconds: 1_700_000_000_001)
        XCTAssertEqual(first.description.count, 26)
        XCTAssertEqual(first.milliseconds, 1_700_000_000_000)
        XCTAssertEqual(ULID(first.description), first)
        XCTAssertEqual(ULID(first.description.lowercased()), first)
        XCTAssertLessThan(first.description, later.description)
        XCTAssertNotEqual(ULID(milliseconds: 5), ULID(milliseconds: 5), "80 random bits")
        XCTAssertEqual(ULID(value: 0).description, "00000000000000000000000000")
        XCTAssertEqual(ULID(value: .max).description, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
        XCTAssertNil(ULID("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"), "overflows 128 bits")
        XCTAssertNil(ULID("0000000000000000000000000U"), "U is not in Crockford's alphabet")
        XCTAssertNil(ULID("000"))
    }

    // MARK: - Round trip

    func testReadsBackEverySeriesAndSampleExactly() throws {
        let series = makeSeries(count: 1_000, chunksPerSeries: 4)
        let (meta, path) = try writeBlock(series)
        let reader = try BlockReader(directory: path)

        XCTAssertEqual(reader.meta, meta)
        XCTAssertEqual(meta.stats.numSeries, 1_000)
        XCTAssertEqual(meta.stats.numChunks, 4_000)
        XCTAssertEqual(meta.stats.numSamples, 480_000)
        XCTAssertEqual(meta.minTime, series.map { $0.chunks[0].minTime }.min())
        XCTAssertEqual(meta.maxTime, series.map { $0.chunks.last!.maxTime }.max()! + 1, "maxTime is exclusive")
        XCTAssertEqual(meta.compaction, .init(level: 1, sources: [meta.ulid]))

        let refs = try reader.allPostings()
        XCTAssertEqual(refs.count, series.count)
        XCTAssertEqual(refs, refs.sorted())
        for (ref, expected) in zip(refs, series) {
            let (labels, metas) = try reader.series(ref)
            XCTAssertEqual(labels, expected.labels)
            XCTAssertEqual(metas.count, expected.chunks.count)
            for (meta, chunk) in zip(metas, expected.chunks) {
                XCTAssertEqual(meta.minTime, chunk.minTime)
                XCTAssertEqual(meta.maxTime, chunk.maxTime)
                let read = try reader.chunk(meta.ref)
                XCTAssertEqual(read.bytes, chunk.bytes)
                let got = try samples(read), want = try samples(chunk)
                XCTAssertTrue(got.elementsEqual(want, by: { $0 == $1 }))
            }
        }
    }

    func testChunksSpanSeveralSegmentsWhenSegmentsAreSmall() throws {
        let series = makeSeries(count: 50, chunksPerSeries: 3)
        let (_, path) = try writeBlock(series, maxSegmentSize: 4_096)
        let files = try FileManager.default.contentsOfDirectory(atPath: path + "/chunks").sorted()
        XCTAssertGreaterThan(files.count, 2)
        XCTAssertEqual(files.first, "000001")
        let reader = try BlockReader(directory: path)
        for (ref, expected) in zip(try reader.allPostings(), series) {
            let metas = try reader.series(ref).chunks
            XCTAssertEqual(try metas.map { try reader.chunk($0.ref).bytes }, expected.chunks.map(\.bytes))
        }
    }

    func testBlockIsRenamedIntoPlaceWithNoTemporaryDirectoryLeft() throws {
        let (meta, path) = try writeBlock(makeSeries(count: 10, chunksPerSeries: 1))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [meta.ulid])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path).sorted(), ["chunks", "index", "meta.json", "tombstones"])
        let tombstones = try Data(contentsOf: URL(fileURLWithPath: path + "/tombstones"))
        XCTAssertEqual(Array(tombstones), [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0], "magic, version, CRC32C of no entries")
        XCTAssertEqual(try BlockReader(directory: path).tombstones, [])
    }

    func testRejectsUnsortedSeriesAndOverlappingChunksBeforeWriting() throws {
        let series = makeSeries(count: 2, chunksPerSeries: 2)
        XCTAssertThrowsError(try BlockWriter(directory: root).write(series.reversed())) { error in
            guard case BlockError.invalidInput = error else { return XCTFail("\(error)") }
        }
        let overlapping = BlockSeries(labels: series[0].labels, chunks: [series[0].chunks[1], series[0].chunks[0]])
        XCTAssertThrowsError(try BlockWriter(directory: root).write([overlapping]))
        XCTAssertThrowsError(try BlockWriter(directory: root).write([]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [])
    }

    func testStreamedWriteThatMeetsABadSeriesLeavesNothingBehind() throws {
        let series = makeSeries(count: 20, chunksPerSeries: 2)
        var remaining = (Array(series[..<10]) + [series[3]] + Array(series[10...]))[...]
        XCTAssertThrowsError(try BlockWriter(directory: root).write(next: { () throws(BlockError) in remaining.popFirst() })) { error in
            guard case BlockError.invalidInput(let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("not strictly ascending"), reason)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [], "the half-written block is removed")
        var all = series[...]
        let meta = try BlockWriter(directory: root).write(next: { () throws(BlockError) in all.popFirst() })
        XCTAssertEqual(meta.stats.numSeries, 20)
        XCTAssertEqual(meta.stats.numSamples, 20 * 240)
    }

    // MARK: - Postings and selection

    func testLabelNamesValuesAndPostings() throws {
        let series = makeSeries(count: 1_000, chunksPerSeries: 1)
        let (_, path) = try writeBlock(series)
        let reader = try BlockReader(directory: path)
        XCTAssertEqual(reader.labelNames(), ["__name__", "instance", "job"])
        XCTAssertEqual(reader.labelValues("job"), ["api", "cache", "db", "web"])
        XCTAssertEqual(reader.labelValues("instance").count, 500)
        XCTAssertEqual(reader.labelValues("missing"), [])

        let api = try reader.postings("job", "api")
        XCTAssertEqual(api.count, 250)
        XCTAssertTrue(try api.allSatisfy { try reader.series($0).labels["job"] == "api" })
        XCTAssertEqual(try reader.postings("job", "nope"), [])
        XCTAssertEqual(try reader.postings("missing", "x"), [])
    }

    func testSelectMatchesLikeABruteForceScan() throws {
        let series = makeSeries(count: 1_000, chunksPerSeries: 2)
        let (_, path) = try writeBlock(series)
        let reader = try BlockReader(directory: path)
        let cases: [[LabelMatcher]] = [
            [.equal("job", "db")],
            [try .regex("instance", "host-1.*"), .equal("__name__", "memory_bytes")],
            [try .regex("job", "api|web"), .notEqual("__name__", "memory_bytes")],
            [try .notRegex("instance", "host-[0-4].*"), .equal("job", "cache")],
            [.equal("missing", "")],
            [.equal("missing", "x")],
        ]
        for matchers in cases {
            let selected = try reader.select(matchers: matchers, mint: .min, maxt: .max)
            let expected = series.filter { entry in matchers.allSatisfy { $0.matches(entry.labels[$0.name] ?? "") } }
            XCTAssertEqual(selected.map(\.labels), expected.map(\.labels), "\(matchers)")
            XCTAssertEqual(selected.map { $0.chunks.map(\.bytes) }, expected.map { $0.chunks.map(\.bytes) })
        }
    }

    func testSelectKeepsOnlyChunksOverlappingTheTimeRange() throws {
        let series = makeSeries(count: 20, chunksPerSeries: 3)
        let (_, path) = try writeBlock(series)
        let reader = try BlockReader(directory: path)
        let second = series[0].chunks[1]
        let selected = try reader.select(matchers: [.equal("job", "api")], mint: second.minTime, maxt: second.minTime)
        XCTAssertEqual(selected.count, 5)
        XCTAssertTrue(selected.allSatisfy { $0.chunks.count == 1 && $0.chunks[0].minTime == second.minTime })
        XCTAssertEqual(try reader.select(matchers: [.equal("job", "api")], mint: 0, maxt: 1).count, 0)
    }

    // MARK: - Corruption

    func testCorruptedChunkByteIsAChecksumErrorNotWrongData() throws {
        let series = makeSeries(count: 5, chunksPerSeries: 2)
        let (_, path) = try writeBlock(series)
        let chunkFile = path + "/chunks/000001"
        let intact = try BlockReader(directory: path)
        let ref = try intact.series(try intact.allPostings()[1]).chunks[1].ref
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: chunkFile)))
        bytes[Int(ref & 0xFFFF_FFFF) + 20] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: chunkFile))

        let reader = try BlockReader(directory: path)
        XCTAssertThrowsError(try reader.chunk(ref)) { error in
            guard case BlockError.checksumMismatch(let file, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "chunks/000001")
        }
        XCTAssertThrowsError(try reader.select(matchers: [try .regex("job", ".+")], mint: .min, maxt: .max))
        XCTAssertNoThrow(try reader.chunk(try reader.series(try reader.allPostings()[0]).chunks[0].ref))
    }

    func testCorruptedIndexIsAChecksumError() throws {
        let (_, path) = try writeBlock(makeSeries(count: 5, chunksPerSeries: 1))
        let indexFile = path + "/index"
        let original = try Array(Data(contentsOf: URL(fileURLWithPath: indexFile)))
        // Byte 12 lies in the symbol table; the first series starts at offset 16 × n.
        for offset in [12, original.count - 10, original.count / 2] {
            var bytes = original
            bytes[offset] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: indexFile))
            let failure: Error? = {
                do {
                    let reader = try BlockReader(directory: path)
                    for ref in try reader.allPostings() { _ = try reader.series(ref) }
                    for name in reader.labelNames() {
                        for value in reader.labelValues(name) { _ = try reader.postings(name, value) }
                    }
                    return nil
                } catch {
                    return error
                }
            }()
            XCTAssertTrue(failure is BlockError, "flipping index byte \(offset) went unnoticed")
        }
    }

    // MARK: - Size

    /// Two hours of 10,000 series scraped every 15 s (4 chunks of 120 samples each): half
    /// counters growing by small integer steps, 30 % integer gauges that change now and then,
    /// 20 % two-decimal float gauges. Prints the block's bytes per sample, all files counted.
    func testReportsBytesPerSampleForTwoHoursOfTenThousandSeries() throws {
        var random = SplitMix64(seed: 7)
        let start: Int64 = 1_700_000_000_000
        var series: [BlockSeries] = []
        for index in 0..<10_000 {
            let kind = index % 10
            let labels: Labels = [
                "__name__": "metric_\(index % 50)_" + (kind < 5 ? "total" : "value"),
                "instance": "10.0.\(index / 250).\(index % 250):9100",
                "job": ["node", "api", "db", "cache"][index % 4],
            ]
            var value = kind < 8 ? Double(random.next() % 100_000) : Double(random.next() % 10_000) / 100
            var chunks: [XORChunk] = []
            for chunkIndex in 0..<4 {
                var chunk = XORChunk()
                for sample in 0..<120 {
                    switch kind {
                    case 0..<5: value += Double(random.next() % 10)
                    case 5..<8: if random.next() % 20 == 0 { value = Double(random.next() % 100_000) }
                    default: if random.next() % 3 == 0 { value = Double(random.next() % 10_000) / 100 }
                    }
                    chunk.append(timestamp: start + Int64(chunkIndex * 120 + sample) * 15_000, value: value)
                }
                chunks.append(chunk)
            }
            series.append(BlockSeries(labels: labels, chunks: chunks))
        }
        series.sort { $0.labels < $1.labels }
        var bytesPerSample: [BlockChunkEncoding: Double] = [:]
        for encoding in BlockChunkEncoding.allCases {
            let (meta, path) = try writeBlock(series, encoding: encoding)
            var total = 0
            let enumerator = FileManager.default.enumerator(atPath: path)!
            while let file = enumerator.nextObject() as? String {
                let attributes = try FileManager.default.attributesOfItem(atPath: path + "/" + file)
                if attributes[.type] as? FileAttributeType == .typeRegular { total += (attributes[.size] as? Int) ?? 0 }
            }
            bytesPerSample[encoding] = Double(total) / Double(meta.stats.numSamples)
            let indexSize = (try FileManager.default.attributesOfItem(atPath: path + "/index")[.size] as? Int) ?? 0
            print("\(encoding) block size: \(total) bytes (index \(indexSize)) for \(meta.stats.numSamples) samples of \(meta.stats.numSeries) series: \(String(format: "%.3f", bytesPerSample[encoding]!)) bytes/sample")
            XCTAssertEqual(meta.stats.numSamples, 4_800_000)
        }
        XCTAssertLessThan(bytesPerSample[.xor]!, 3, "Prometheus reaches 1-2 bytes/sample on such data")
        XCTAssertLessThan(bytesPerSample[.decimal]!, bytesPerSample[.xor]! * 0.75, "decimal chunks should save at least a quarter on integer and two-decimal data")
    }

    func testDecimalBlockReadsBackEverySampleAndMergesWithXORBlocks() throws {
        let series = makeSeries(count: 40, chunksPerSeries: 4)
        let (decimalMeta, decimalPath) = try writeBlock(series, encoding: .decimal)
        XCTAssertEqual(decimalMeta.stats.numSamples, 40 * 480)
        XCTAssertEqual(decimalMeta.stats.numChunks, 40, "four 120-sample chunks per series become one")
        let decimal = try BlockReader(directory: decimalPath)
        let read = try decimal.select(matchers: [try .regex("job", ".+")], mint: .min, maxt: .max)
        XCTAssertEqual(read.map(\.labels), series.map(\.labels))
        for ((_, chunks), expected) in zip(read, series) {
            XCTAssertEqual(try chunks.flatMap { try samples($0) }.map(\.0), try expected.chunks.flatMap { try samples($0) }.map(\.0))
            XCTAssertEqual(try chunks.flatMap { try samples($0) }.map(\.1), try expected.chunks.flatMap { try samples($0) }.map(\.1))
        }

        // A block of the following hours in Prometheus's format, merged with the decimal
        // one as compaction does, in either encoding: the same samples come out.
        let later = makeSeries(count: 40, chunksPerSeries: 4, start: 1_700_000_000_000 + 480 * 15_000)
        let (_, xorPath) = try writeBlock(later, encoding: .xor)
        let merged = try BlockCompactor.merge([decimal, try BlockReader(directory: xorPath)])
        for encoding in BlockChunkEncoding.allCases {
            let meta = try BlockWriter(directory: root, chunkEncoding: encoding).write(merged)
            let reader = try BlockReader(directory: root + "/" + meta.ulid)
            for (ref, (first, second)) in zip(try reader.allPostings(), zip(series, later)) {
                let (labels, metas) = try reader.series(ref)
                XCTAssertEqual(labels, first.labels)
                let got = try metas.flatMap { try samples(try reader.chunk($0.ref)) }
                let want = try (first.chunks + second.chunks).flatMap { try samples($0) }
                XCTAssertEqual(got.map(\.0), want.map(\.0))
                XCTAssertEqual(got.map(\.1), want.map(\.1))
                let encodings = Set(try metas.map { try reader.chunk($0.ref).encoding })
                XCTAssertEqual(encodings, encoding == .xor ? [XORChunk.encoding] : [DecimalChunk.encoding], "\(encoding)")
            }
        }
    }

    // MARK: - Prometheus's own tool

    /// Runs promtool and returns (exit status, stdout + stderr).
    private func promtool(_ arguments: [String]) throws -> (Int32, String) {
        let path = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: install Debian's prometheus package (apt-get install prometheus)")
            throw BlockError.invalidInput("promtool missing")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func testPromtoolListsAndAnalyzesOurBlock() throws {
        try assertPromtoolListsAndAnalyzes(encoding: .xor)
    }

    /// promtool reads a block's index and meta whatever its chunks' encoding.
    func testPromtoolListsAndAnalyzesADecimalBlock() throws {
        try assertPromtoolListsAndAnalyzes(encoding: .decimal)
    }

    private func assertPromtoolListsAndAnalyzes(encoding: BlockChunkEncoding) throws {
        let series = makeSeries(count: 1_000, chunksPerSeries: 4)
        let (meta, _) = try writeBlock(series, encoding: encoding)

        let (listStatus, list) = try promtool(["tsdb", "list", root])
        XCTAssertEqual(listStatus, 0, list)
        let row = list.split(separator: "\n").first { $0.hasPrefix(meta.ulid) }.map(String.init) ?? ""
        let columns = row.split(whereSeparator: \.isWhitespace).map(String.init)
        XCTAssertTrue(columns.contains("1000"), "series count missing from: \(list)")
        XCTAssertTrue(columns.contains("480000"), "sample count missing from: \(list)")

        let (analyzeStatus, analysis) = try promtool(["tsdb", "analyze", "--extended", root, meta.ulid])
        XCTAssertEqual(analyzeStatus, 0, analysis)
        XCTAssertTrue(analysis.contains("Block ID: \(meta.ulid)"), analysis)
        XCTAssertTrue(analysis.contains("Series: 1000"), analysis)
        XCTAssertTrue(analysis.contains("Label names: 3"), analysis)
    }

    func testPromtoolDumpsExactlyOurSamples() throws {
        let series = makeSeries(count: 6, chunksPerSeries: 2)
        _ = try writeBlock(series)
        // `dump` opens the directory as a whole database, head included: give it an empty WAL.
        try FileManager.default.createDirectory(atPath: root + "/wal", withIntermediateDirectories: false)
        let (status, dump) = try promtool(["tsdb", "dump", root])
        XCTAssertEqual(status, 0, dump)
        var expected: [(labels: String, value: Double, timestamp: Int64)] = []
        for entry in series {
            for chunk in entry.chunks {
                for (timestamp, bits) in try samples(chunk) {
                    expected.append((entry.labels.description, Double(bitPattern: bits), timestamp))
                }
            }
        }
        // Each line is `{labels} value timestamp`; Go formats the value with %g, so compare
        // the parsed number rather than its text.
        let lines = dump.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, expected.count, String(dump.prefix(500)))
        for (line, want) in zip(lines, expected) {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, let value = Double(fields[fields.count - 2]), let timestamp = Int64(fields[fields.count - 1]) else {
                return XCTFail("unparsable dump line: \(line)")
            }
            let labels = fields.dropLast(2).joined(separator: " ")
            if labels != want.labels || value != want.value || timestamp != want.timestamp {
                return XCTFail("promtool dumped \(line), expected \(want)")
            }
        }
    }
}
