import XCTest
@testable import MetricsStore

final class HeadTests: XCTestCase {
    let up: Labels = ["__name__": "up", "job": "api"]
    let down: Labels = ["__name__": "up", "job": "db"]

    func testAppendedSamplesAreSelectedByMatchers() throws {
        let head = Head()
        _ = try head.append([(up, [.init(1000, 1), .init(2000, 0)]), (down, [.init(1000, 1)])])
        let selected = head.select([.equal("__name__", "up"), .equal("job", "api")])
        XCTAssertEqual(selected.count, 1)
        XCTAssertEqual(selected[0].labels, up)
        XCTAssertEqual(selected[0].samples, [.init(1000, 1), .init(2000, 0)])
        XCTAssertEqual(head.select([.equal("__name__", "up")]).count, 2)
    }

    func testOutOfOrderRequestIsRefusedWhole() throws {
        let head = Head()
        _ = try head.append([(up, [.init(5000, 1)])])
        XCTAssertThrowsError(try head.append([(down, [.init(1000, 1)]), (up, [.init(4000, 2)])])) { error in
            XCTAssertEqual(error as? Head.AppendError, .outOfOrder(series: up.description, timestamp: 4000))
        }
        XCTAssertTrue(head.select([.equal("job", "db")]).isEmpty, "nothing of a refused request is kept")
    }

    func testDuplicateTimestampWithOtherValueIsRefusedSameValueSkipped() throws {
        let head = Head()
        _ = try head.append([(up, [.init(1000, 1)])])
        let again = try head.append([(up, [.init(1000, 1)])])
        XCTAssertTrue(again.samples.isEmpty)
        XCTAssertThrowsError(try head.append([(up, [.init(1000, 2)])])) { error in
            XCTAssertEqual(error as? Head.AppendError, .duplicate(series: up.description, timestamp: 1000))
        }
    }

    func testASeriesRepeatedWithinOneRequestIsCheckedAcrossItsEntries() throws {
        let head = Head()
        let fresh: Labels = ["__name__": "fresh"]
        XCTAssertThrowsError(try head.append([(fresh, [.init(2000, 1)]), (fresh, [.init(1000, 1)])]))
        XCTAssertEqual(head.seriesCount, 0)
        let result = try head.append([(fresh, [.init(1000, 1)]), (fresh, [.init(2000, 2)]), (up, [.init(1000, 1)])])
        XCTAssertEqual(result.newSeries.count, 2)
        XCTAssertEqual(head.select([.equal("__name__", "fresh")])[0].samples, [.init(1000, 1), .init(2000, 2)])
    }

    func testStaleMarkerBitsAreKept() throws {
        let head = Head()
        let stale = Double(bitPattern: 0x7ff0_0000_0000_0002)
        _ = try head.append([(up, [.init(1000, 1), .init(2000, stale)])])
        let samples = head.select([.equal("job", "api")])[0].samples
        XCTAssertEqual(samples[1].value.bitPattern, 0x7ff0_0000_0000_0002)
    }

    func testManySamplesSpanSeveralChunksAndRangesSelect() throws {
        let head = Head()
        _ = try head.append([(up, (0..<1000).map { .init(Int64($0) * 15_000, Double($0)) })])
        let all = head.select([.equal("job", "api")])[0].samples
        XCTAssertEqual(all.count, 1000)
        XCTAssertEqual(all.last, .init(999 * 15_000, 999))
        let window = head.select([.equal("job", "api")], mint: 15_000 * 100, maxt: 15_000 * 200)[0].samples
        XCTAssertEqual(window.count, 101)
    }

    func testSeriesLookupHonoursTimeRange() throws {
        let head = Head()
        _ = try head.append([(up, [.init(1000, 1)]), (down, [.init(100_000, 1)])])
        XCTAssertEqual(head.series(matching: [[.equal("__name__", "up")]], mint: 50_000, maxt: 200_000), [down])
    }

    func testWALRecordsRoundTrip() throws {
        let series: [(ref: SeriesRef, labels: Labels)] = [(1, up), (2, down)]
        guard case .series(let decoded) = try WALRecord.decode(WALRecord.series(series).encode()[...]) else { return XCTFail() }
        XCTAssertEqual(decoded.map(\.ref), [1, 2])
        XCTAssertEqual(decoded.map(\.labels), [up, down])
        let samples: [(ref: SeriesRef, sample: Head.Sample)] = [(1, .init(-5, .nan)), (2, .init(1_700_000_000_000, -0.5))]
        guard case .samples(let back) = try WALRecord.decode(WALRecord.samples(samples).encode()[...]) else { return XCTFail() }
        XCTAssertEqual(back.map(\.ref), [1, 2])
        XCTAssertEqual(back.map(\.sample), samples.map(\.sample))
    }

    func testTruncatedWALRecordIsAnError() {
        let bytes = WALRecord.series([(1, up)]).encode()
        XCTAssertThrowsError(try WALRecord.decode(bytes.dropLast(3)))
    }

    func testTSDBReplaysWhatWasAcknowledged() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tsdb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try TSDB.open(directory: directory)
        try await first.append([(up, [.init(1000, 1), .init(2000, 2)])])
        try await first.append([(down, [.init(1000, 5)]), (up, [.init(3000, 3)])])
        first.close()
        let second = try TSDB.open(directory: directory)
        XCTAssertEqual(second.head.select([.equal("job", "api")])[0].samples, [.init(1000, 1), .init(2000, 2), .init(3000, 3)])
        XCTAssertEqual(second.head.select([.equal("job", "db")])[0].samples, [.init(1000, 5)])
        // New series after replay get fresh refs: nothing collides.
        try await second.append([(["__name__": "new"], [.init(1, 1)])])
        XCTAssertEqual(second.head.seriesCount, 3)
        second.close()
    }
}

final class SeriesSelectorTests: XCTestCase {
    func testMetricNameAndMatchers() throws {
        let matchers = try SeriesSelector.parse(#"http_requests_total{job="api", code!~"5..", path=~'/a.*'}"#)
        XCTAssertEqual(Set(matchers.map(\.description)),
                       [#"__name__="http_requests_total""#, #"job="api""#, #"code!~"5..""#, #"path=~"/a.*""#])
    }

    func testQuotedUTF8Names() throws {
        let matchers = try SeriesSelector.parse(#"{"my.metric", "service.name"="x"}"#)
        let byName = Dictionary(uniqueKeysWithValues: matchers.map { ($0.name, $0.value) })
        XCTAssertEqual(byName, ["__name__": "my.metric", "service.name": "x"])
    }

    func testEscapesInStrings() throws {
        let matchers = try SeriesSelector.parse(#"m{a="x\"y\n", b=`raw\n`}"#)
        let byName = Dictionary(uniqueKeysWithValues: matchers.map { ($0.name, $0.value) })
        XCTAssertEqual(byName["a"], "x\"y\n")
        XCTAssertEqual(byName["b"], #"raw\n"#)
    }

    /// Prometheus's own messages, with positions.
    func testErrorsCarryPosition() {
        XCTAssertThrowsError(try SeriesSelector.parse("up{job=}")) { error in
            XCTAssertEqual("\(error)", #"1:8: parse error: unexpected "}" in label matching, expected string"#)
        }
        XCTAssertThrowsError(try SeriesSelector.parse(#"{job=""}"#)) { error in
            XCTAssertEqual("\(error)", "1:1: parse error: vector selector must contain at least one non-empty matcher")
        }
        XCTAssertThrowsError(try SeriesSelector.parse("up extra"))
    }

    func testOnlyPlainSelectorsAreSeriesSelectors() {
        XCTAssertThrowsError(try SeriesSelector.parse("rate(up[5m])")) { error in
            XCTAssertEqual(error as? SeriesSelector.ParseError, .notASelector("rate(up[5m])"))
        }
        XCTAssertThrowsError(try SeriesSelector.parse("up offset 5m"))
    }

    func testExemplarQueriesYieldEverySelector() throws {
        let selectors = try SeriesSelector.selectors(inQuery: #"histogram_quantile(0.9, sum by (le) (rate(a_bucket{x="1"}[5m]))) / b"#)
        XCTAssertEqual(selectors.map { Set($0.map(\.description)) }, [[#"__name__="a_bucket""#, #"x="1""#], [#"__name__="b""#]])
    }
}

final class WALRecordCompressionTests: XCTestCase {
    func testCompressedRecordsRoundTripAndAreSmaller() throws {
        let series: [(ref: SeriesRef, labels: Labels)] = (0..<200).map { ($0 + 1, ["__name__": "node_cpu_seconds_total", "cpu": "\($0)", "mode": "idle"]) }
        let plain = WALRecord.series(series).encode()
        let compressed = WALRecord.series(series).encodeCompressed()
        XCTAssertLessThan(compressed.count, plain.count / 2)
        guard case .series(let back) = try WALRecord.decode(compressed[...]) else { return XCTFail() }
        XCTAssertEqual(back.map(\.labels), series.map(\.labels))
        var samples: [(ref: SeriesRef, sample: Head.Sample)] = []
        for i in 0..<500 {
            let time: Int64 = 1_700_000_000_000 + Int64(i) * 15_000
            samples.append((SeriesRef(i % 50 + 1), Head.Sample(time, Double(i % 7))))
        }
        guard case .samples(let decoded) = try WALRecord.decode(WALRecord.samples(samples).encodeCompressed()[...]) else { return XCTFail() }
        XCTAssertEqual(decoded.map(\.ref), samples.map(\.ref))
        XCTAssertEqual(decoded.map(\.sample), samples.map(\.sample))
    }

    func testRecordsOfTheOlderSampleLayoutStillDecode() throws {
        var old: [UInt8] = [WALRecord.samplesType]
        Varint.appendUnsigned(7, to: &old)
        Varint.appendSigned(-1000, to: &old)
        withUnsafeBytes(of: (2.5).bitPattern.littleEndian) { old.append(contentsOf: $0) }
        guard case .samples(let decoded) = try WALRecord.decode(old[...]) else { return XCTFail() }
        XCTAssertEqual(decoded.first?.ref, 7)
        XCTAssertEqual(decoded.first?.sample, Head.Sample(-1000, 2.5))
    }
}

final class HeadChunkCuttingTests: XCTestCase {
    let range: Int64 = 2 * 3600 * 1000

    func chunkSizes(startingAt first: Int64, count: Int, step: Int64) throws -> [(min: Int64, count: Int)] {
        let head = Head()
        let samples = (0..<count).map { Head.Sample(first + Int64($0) * step, Double($0)) }
        _ = try head.append([(labels: Labels(["__name__": "m"]), samples: samples)])
        let series = head.state.withLock { $0.byRef.values.first! }
        return (series.closedChunks + [series.openChunk]).map { ($0.minTime, $0.count) }
    }

    func testChunksHold120SamplesAndNeverCrossTheBlockRange() throws {
        let base = 1_700_006_400_000 - 1_700_006_400_000 % range
        // 15 s samples over two full ranges: four chunks of 120 per range.
        let full = try chunkSizes(startingAt: base, count: 960, step: 15_000)
        XCTAssertEqual(full.map(\.count), Array(repeating: 120, count: 8))
        XCTAssertEqual(full[4].min, base + range, "a chunk starts at the range boundary")
        // Starting half way through a range: the rest of that range in equal chunks.
        let half = try chunkSizes(startingAt: base + range / 2, count: 480, step: 15_000)
        XCTAssertEqual(half.map(\.count), [120, 120, 120, 120])
        XCTAssertEqual(half[2].min, base + range)
        // Samples arriving faster than predicted: cut at 240 at the latest.
        let dense = try chunkSizes(startingAt: base, count: 2000, step: 1_000)
        XCTAssertTrue(dense.allSatisfy { $0.count <= 240 })
        XCTAssertEqual(dense.reduce(0) { $0 + $1.count }, 2000)
    }
}
