import VigilTestSupport
import PrometheusRemoteWrite
import XCTest
@testable import MetricsStore

/// The hand-written WriteRequest decoder against the reference path (the generated
/// SwiftProtobuf decoder followed by `RemoteWriteIngest.convert`): same series, samples,
/// exemplars, metadata and skipped series on valid input, and an error exactly when the
/// reference fails on malformed input.
final class WriteRequestDecoderTests: XCTestCase {
    // MARK: Randomized equivalence

    func testRandomValidRequestsDecodeLikeTheGeneratedDecoder() throws {
        var random = SplitMix64(seed: 3)
        for _ in 0..<300 {
            let bytes: [UInt8] = try Self.randomRequest(&random).serializedBytes()
            try assertSameOutcome(bytes)
        }
    }

    func testMutatedRequestsFailExactlyWhenTheGeneratedDecoderFails() throws {
        var random = SplitMix64(seed: 11)
        var failures = 0
        for _ in 0..<3000 {
            var bytes: [UInt8] = try Self.randomRequest(&random, maxSeries: 3).serializedBytes()
            guard !bytes.isEmpty else { continue }
            switch random.next() % 4 {
            case 0: bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
            case 1: bytes.removeLast(Int(random.next() % UInt64(bytes.count)) + 1)
            case 2: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: Int(random.next() % UInt64(bytes.count)))
            default:
                let at = Int(random.next() % UInt64(bytes.count))
                bytes[at] ^= 1 << UInt8(random.next() % 8)
            }
            if try !assertSameOutcome(bytes) { failures += 1 }
        }
        XCTAssertGreaterThan(failures, 100, "mutations should break a good share of requests")
    }

    // MARK: Malformed input

    func testTruncatedVarintIsAnError() throws {
        // timeseries (field 1, length-delimited) whose length varint never ends.
        try assertRejected([0x0A, 0xFF, 0xFF], mentioning: "varint at byte 1")
        // A sample whose timestamp varint is cut off.
        try assertRejected(Self.timeSeries(Self.field(2, bytes: [0x10, 0x80])), mentioning: "varint")
    }

    func testVarintOfElevenBytesIsAnError() throws {
        try assertRejected([0x08] + Array(repeating: 0xFF, count: 10) + [0x01], mentioning: "varint")
    }

    func testLengthPastTheEndIsAnError() throws {
        try assertRejected([0x0A, 0x05, 0x0A, 0x00], mentioning: "truncated")
        try assertRejected(Self.timeSeries([0x0A, 0x10, 0x0A, 0x01, 0x61]), mentioning: "truncated")
    }

    func testInvalidWireTypeFieldZeroAndStrayEndGroupAreErrors() throws {
        try assertRejected([0x0F], mentioning: "wire type 7")
        try assertRejected([0x02, 0x00], mentioning: "field number 0")
        try assertRejected([0x0C], mentioning: "end-group")
        try assertRejected([0x0B, 0x14], mentioning: "end-group")  // group 1 closed as group 2
    }

    func testInvalidUTF8InALabelIsAnError() throws {
        let label = Self.field(1, bytes: Array("__name__".utf8)) + Self.field(2, bytes: [0x61, 0xC3])
        try assertRejected(Self.timeSeries(Self.field(1, bytes: label)), mentioning: "UTF-8")
    }

    func testMalformedHistogramIsAnErrorThoughHistogramsAreNotStored() throws {
        try assertRejected(Self.timeSeries(Self.field(4, bytes: [0x08])), mentioning: "histogram")
    }

    func testFieldsWithAnotherWireTypeAndUnknownFieldsAreSkipped() throws {
        let name = Self.field(1, bytes: Self.field(1, bytes: Array("__name__".utf8)) + Self.field(2, bytes: Array("m".utf8)))
        // Sample value sent as varint (declared fixed64), then a proper sample.
        let oddSample = Self.field(2, bytes: [0x08, 0x05, 0x10, 0x02])
        let sample = Self.field(2, bytes: [0x09] + Array(repeating: 0, count: 7) + [0x40, 0x10, 0x04])
        let group: [UInt8] = [0x2B, 0x08, 0x01, 0x2C]  // field 5 as a group holding a varint
        let bytes = Self.field(1, bytes: name + oddSample + group + sample + [0x35, 1, 2, 3, 4]) + [0x10, 0x07]
        let decoded = try assertSameOutcome(bytes)
        XCTAssertTrue(decoded)
        let ours = try RemoteWriteIngest.decode(protobuf: bytes)
        XCTAssertEqual(Array(ours.batch.samples(of: 0)), [Head.Sample(2, 0), Head.Sample(4, 2)])
    }

    // MARK: Prometheus's clean-up of labels

    func testLabelsAreSortedEmptyValuesDroppedAndBadSeriesSkipped() throws {
        var request = WriteRequest()
        func series(_ pairs: [(String, String)]) {
            var ts = TimeSeries()
            ts.labels = pairs.map { pair in .with { $0.name = pair.0; $0.value = pair.1 } }
            ts.samples = [.with { $0.timestamp = 1000; $0.value = 1 }]
            request.timeseries.append(ts)
        }
        series([("job", "noname")])
        series([("__name__", "dup"), ("a", "1"), ("a", "2")])
        series([("z", "last"), ("__name__", "good"), ("empty", "")])
        series([("__name__", "x"), ("", "v")])
        let decoded = try RemoteWriteIngest.decode(protobuf: try request.serializedBytes())
        XCTAssertEqual(decoded.invalidSeries, 3)
        XCTAssertEqual(decoded.batch.count, 1)
        XCTAssertEqual(decoded.batch.labels(of: 0), ["__name__": "good", "z": "last"])
        XCTAssertEqual(decoded.batch.entries[0].hash, decoded.batch.labels(of: 0).stableHash)
        XCTAssertEqual(decoded.sampleCount, 1)
    }

    // MARK: Helpers

    /// Decodes `bytes` both ways; fails the test unless both succeed with the same result
    /// or both fail. Returns whether they succeeded.
    @discardableResult
    func assertSameOutcome(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        let reference = try? RemoteWriteIngest.convert(WriteRequest(serializedBytes: bytes))
        let ours: RemoteWriteIngest.Decoded
        do {
            ours = try RemoteWriteIngest.decode(protobuf: bytes)
        } catch {
            XCTAssertNil(reference, "only the hand-written decoder failed (\(error)) on \(bytes)", file: file, line: line)
            return false
        }
        guard let reference else {
            XCTFail("only the generated decoder failed on \(bytes)", file: file, line: line)
            return false
        }
        XCTAssertEqual(ours.invalidSeries, reference.invalidSeries, file: file, line: line)
        XCTAssertEqual(ours.sampleCount, reference.sampleCount, file: file, line: line)
        XCTAssertEqual(ours.exemplars, reference.exemplars, file: file, line: line)
        // Compared by the fields the store reads: the generated messages also keep unknown fields.
        func fields(_ list: [MetricMetadata]) -> [String] { list.map { "\($0.type.rawValue) \($0.metricFamilyName) \($0.help) \($0.unit)" } }
        XCTAssertEqual(fields(ours.metadata), fields(reference.metadata), file: file, line: line)
        XCTAssertEqual(ours.batch.count, reference.batch.count, file: file, line: line)
        for index in 0..<min(ours.batch.count, reference.batch.count) {
            XCTAssertEqual(ours.batch.labels(of: index), reference.batch.labels(of: index), file: file, line: line)
            XCTAssertEqual(ours.batch.entries[index].hash, reference.batch.labels(of: index).stableHash, file: file, line: line)
            XCTAssertEqual(ours.batch.samples(of: index), reference.batch.samples(of: index), file: file, line: line)
        }
        return true
    }

    func assertRejected(_ bytes: [UInt8], mentioning fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try WriteRequest(serializedBytes: bytes), "the generated decoder accepts it too", file: file, line: line)
        XCTAssertThrowsError(try RemoteWriteIngest.decode(protobuf: bytes), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("WriteRequest") && text.contains(fragment), text, file: file, line: line)
        }
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }

    static func field(_ number: UInt64, bytes: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes
    }

    static func timeSeries(_ body: [UInt8]) -> [UInt8] { field(1, bytes: body) }

    static let names = ["__name__", "job", "instance", "a", "b", "", "zone", "é", "__name__"]
    static let values = ["", "up", "node", "host-1:9100", "x", "ünïcode ✓", "a longer value that will not fit inline", "e\u{301}"]

    static func randomRequest(_ random: inout SplitMix64, maxSeries: Int = 12) -> WriteRequest {
        var request = WriteRequest()
        for _ in 0..<Int(random.next() % UInt64(maxSeries + 1)) {
            var ts = TimeSeries()
            for _ in 0..<Int(random.next() % 6) {
                let name = names[Int(random.next() % UInt64(names.count))]
                let value = values[Int(random.next() % UInt64(values.count))]
                ts.labels.append(.with { $0.name = name; $0.value = value })
            }
            if random.next() % 3 != 0 { ts.labels.insert(.with { $0.name = "__name__"; $0.value = "m\(random.next() % 4)" }, at: 0) }
            if random.next() % 2 == 0 { ts.labels.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) } }
            var t = Int64(random.next() % 100_000) - 50_000
            for _ in 0..<Int(random.next() % 5) {
                t += Int64(random.next() % 3)
                let value = random.next() % 5 == 0 ? Double(bitPattern: random.next()) : Double(random.next() % 100)
                ts.samples.append(.with { $0.timestamp = t; $0.value = value })
            }
            if random.next() % 4 == 0 {
                ts.exemplars.append(.with {
                    $0.labels = [.with { $0.name = "trace_id"; $0.value = "abc\(random.next() % 9)" }]
                    $0.value = Double(random.next() % 10)
                    $0.timestamp = t
                })
            }
            request.timeseries.append(ts)
        }
        if random.next() % 3 == 0 {
            request.metadata.append(.with {
                $0.type = MetricMetadata.MetricType(rawValue: Int(random.next() % 9)) ?? .unknown
                $0.metricFamilyName = "m\(random.next() % 4)"
                $0.help = random.next() % 2 == 0 ? "" : "Help text ✓"
                $0.unit = "seconds"
            })
        }
        return request
    }
}
