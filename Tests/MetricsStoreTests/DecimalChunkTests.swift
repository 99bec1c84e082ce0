import VigilTestSupport
import XCTest
@testable import MetricsStore

final class DecimalChunkTests: XCTestCase {
    let start: Int64 = 1_700_000_000_000
    let staleMarker = Double(bitPattern: 0x7FF0_0000_0000_0002)

    private func regularTimes(_ count: Int, step: Int64 = 15_000) -> [Int64] {
        (0..<count).map { start + Int64($0) * step }
    }

    private func samples(_ times: [Int64], _ values: [Double]) -> [Head.Sample] {
        zip(times, values).map { Head.Sample($0, $1) }
    }

    /// Encodes, decodes the bytes as a chunk file would hand them back, and checks every
    /// sample bit for bit.
    @discardableResult
    private func assertRoundTrip(_ input: [Head.Sample], file: StaticString = #filePath, line: UInt = #line) throws -> DecimalChunk {
        let encoded = try XCTUnwrap(DecimalChunk.encode(input), "not encodable", file: file, line: line)
        let decoded = try DecimalChunk(bytes: encoded.bytes)
        XCTAssertEqual(decoded.count, input.count, file: file, line: line)
        XCTAssertEqual(decoded.minTime, input.first?.timestamp, file: file, line: line)
        XCTAssertEqual(decoded.maxTime, input.last?.timestamp, file: file, line: line)
        let output = try decoded.samples()
        XCTAssertEqual(output.count, input.count, file: file, line: line)
        for (got, want) in zip(output, input) where got != want {
            XCTFail("sample \(want.timestamp): got \(got.value) (\(got.value.bitPattern)), want \(want.value) (\(want.value.bitPattern))",
                    file: file, line: line)
            break
        }
        return encoded
    }

    func testIntegerCounterRoundTripsAndIsSmallerThanXOR() throws {
        var generator = SplitMix64(seed: 1)
        var value = 1_000_000.0
        let values = (0..<480).map { _ in value += Double(generator.next() % 2000); return value }
        let input = samples(regularTimes(480), values)
        let decimal = try assertRoundTrip(input)
        var xor = XORChunk()
        for sample in input { xor.append(timestamp: sample.timestamp, value: sample.value) }
        XCTAssertLessThan(decimal.bytes.count * 2, xor.bytes.count, "decimal \(decimal.bytes.count) B, XOR \(xor.bytes.count) B")
    }

    func testDecimalsOfManyScalesRoundTrip() throws {
        var generator = SplitMix64(seed: 2)
        for divisor in [1.0, 10, 100, 1000, 1e6, 1e9, 1e12, 1e15] {
            let values = (0..<300).map { _ in Double(generator.next() % 10_000_000) / divisor }
            try assertRoundTrip(samples(regularTimes(300), values))
        }
        // Negative values and steps down (a gauge), zigzag-coded.
        let gauge = (0..<200).map { _ in (Double(generator.next() % 20_000) - 10_000) / 100 }
        try assertRoundTrip(samples(regularTimes(200), gauge))
    }

    func testConstantSeriesCostsAFewBytesWhateverItsLength() throws {
        let constant = try assertRoundTrip(samples(regularTimes(1000), Array(repeating: 42.5, count: 1000)))
        XCTAssertLessThan(constant.bytes.count, 20)
        let one = try assertRoundTrip([Head.Sample(start, 7)])
        XCTAssertEqual(one.count, 1)
        try assertRoundTrip(samples(regularTimes(2), [1, 0.5]))
    }

    func testIrregularTimestampsRoundTrip() throws {
        var generator = SplitMix64(seed: 3)
        var t = start
        let jittered = (0..<500).map { _ in t += 14_990 + Int64(generator.next() % 20); return t }
        try assertRoundTrip(samples(jittered, (0..<500).map { Double($0 % 7) }))
        // Timestamps far apart, negative, and huge steps (wrapping arithmetic).
        let extremes: [Int64] = [-9_000_000_000_000_000, -1, 0, 1, 5_000_000_000_000_000, Int64.max - 1]
        try assertRoundTrip(samples(extremes, [1, 2, 3, 4, 5, 6]))
    }

    func testSpecialValuesAreKeptAsExceptions() throws {
        var values = (0..<160).map { Double($0 * 3) }
        values[0] = staleMarker
        values[17] = .infinity
        values[40] = -.infinity
        values[41] = -0.0
        values[90] = 0.1 + 0.2   // needs all 17 digits
        values[159] = staleMarker
        let encoded = try assertRoundTrip(samples(regularTimes(160), values))
        XCTAssertEqual(try encoded.samples()[0].value.bitPattern, staleMarker.bitPattern)
    }

    func testArbitraryFloatsAreNotEncodable() {
        var generator = SplitMix64(seed: 4)
        let values = (0..<120).map { _ in Double(bitPattern: generator.next() >> 2 | 0x3FF0_0000_0000_0000) }
        XCTAssertNil(DecimalChunk.encode(samples(regularTimes(120), values)))
        // A few odd values are exceptions; more than one in eight is too many.
        var mostlyIntegers = (0..<120).map { Double($0) }
        for i in stride(from: 0, to: 120, by: 7) { mostlyIntegers[i] = .nan }
        XCTAssertNil(DecimalChunk.encode(samples(regularTimes(120), mostlyIntegers)))
        XCTAssertNil(DecimalChunk.encode([]))
        // Integers past 2^53 do not survive a round trip through Int64 and Double scaling
        // at every scale, so they are exceptions or make the chunk unencodable.
        let huge = (0..<16).map { Double(1 << 60) + Double($0) * 4096 }
        if let chunk = DecimalChunk.encode(samples(regularTimes(16), huge)) {
            XCTAssertEqual(try chunk.samples().map(\.value), huge)
        }
    }

    func testRangeReadsMatchTheFullDecode() throws {
        var generator = SplitMix64(seed: 5)
        let input = samples(regularTimes(400), (0..<400).map { _ in Double(generator.next() % 1000) / 10 })
        let chunk = try XCTUnwrap(DecimalChunk.encode(input))
        for _ in 0..<200 {
            let a = start - 30_000 + Int64(generator.next() % 6_100_000)
            let b = a + Int64(generator.next() % 3_000_000)
            var out: [Head.Sample] = []
            let more = try chunk.appendSamples(from: a, through: b, to: &out)
            XCTAssertEqual(out, input.filter { $0.timestamp >= a && $0.timestamp <= b })
            XCTAssertEqual(more, chunk.maxTime <= b, "window \(a)...\(b)")
        }
    }

    func testDamagedBytesThrowAndNeverCrash() throws {
        var generator = SplitMix64(seed: 6)
        var t = start
        let input = (0..<300).map { i -> Head.Sample in
            t += 15_000 + Int64(generator.next() % 3)
            return Head.Sample(t, i % 50 == 0 ? staleMarker : Double(generator.next() % 100_000) / 100)
        }
        let bytes = try XCTUnwrap(DecimalChunk.encode(input)).bytes
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try DecimalChunk(bytes: Array(bytes[..<length])), "prefix of \(length) bytes")
        }
        XCTAssertThrowsError(try DecimalChunk(bytes: bytes + [0x80])) { error in
            guard case .trailingData(let bits) = error as? ChunkError else { return XCTFail("\(error)") }
            XCTAssertGreaterThanOrEqual(bits, 8)
        }
        var badFlags = try XCTUnwrap(DecimalChunk.encode([Head.Sample(start, 1), Head.Sample(start + 1, 2)])).bytes
        // count (1 B), t0 (6 B), first delta (1 B), then the flags byte.
        badFlags[8] = 0x80
        XCTAssertThrowsError(try DecimalChunk(bytes: badFlags)) { error in
            guard case .invalidField(let problem, _) = error as? ChunkError else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.contains("flags"), problem)
        }
        // Random damage either decodes to something or throws; it must not trap.
        for _ in 0..<2_000 {
            var damaged = bytes
            damaged[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            _ = try? DecimalChunk(bytes: damaged)
        }
        // A count header claiming billions of samples is refused before any allocation.
        XCTAssertThrowsError(try DecimalChunk(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0, 0]))
    }

    func testBlockReadsDecodeTimestampsNowAndValuesOnlyWhenAsked() throws {
        var generator = SplitMix64(seed: 8)
        var t = start
        let input = (0..<300).map { _ -> Head.Sample in
            t += 15_000 + Int64(generator.next() % 5)
            return Head.Sample(t, Double(generator.next() % 10_000) / 100)
        }
        let bytes = try XCTUnwrap(DecimalChunk.encode(input)).bytes
        let read = try DecimalChunk(checksummedBytes: bytes)
        XCTAssertEqual(read.count, input.count)
        XCTAssertEqual(read.minTime, input.first?.timestamp)
        XCTAssertEqual(read.maxTime, input.last?.timestamp)
        XCTAssertEqual(try read.samples(), input)
        // Damage after the timestamps passes the cheap read and is caught by the decode.
        let damaged = try DecimalChunk(checksummedBytes: bytes + [0x80])
        XCTAssertThrowsError(try damaged.samples())
        var out: [Head.Sample] = []
        XCTAssertThrowsError(try damaged.appendSamples(from: .min, through: .max, to: &out))
        // Damage in the header or timestamps is caught at once.
        XCTAssertThrowsError(try DecimalChunk(checksummedBytes: Array(bytes.prefix(5))))
    }

    // MARK: - Choosing the encoding for a block

    private func xorChunks(_ input: [Head.Sample], per: Int = 120) -> [StoredChunk] {
        var builder = ChunkSequenceBuilder(samplesPerChunk: per)
        for sample in input { builder.append(timestamp: sample.timestamp, value: sample.value) }
        return builder.finish().map { .xor($0) }
    }

    private func allSamples(_ chunks: [StoredChunk]) throws -> [Head.Sample] {
        try chunks.flatMap { try $0.samples() }
    }

    func testDecimalEncodingMergesXORChunksWhereThatIsSmaller() throws {
        let counter = samples(regularTimes(2_200), (0..<2_200).map { Double($0 * 5) })
        let encoded = BlockChunkEncoding.decimal.encode(xorChunks(counter))
        // 120-sample chunks merge up to 1,024 samples: 8 + 8 + the remaining 40 samples' 3.
        XCTAssertEqual(encoded.map(\.count), [960, 960, 280])
        XCTAssertTrue(encoded.allSatisfy { $0.encoding == DecimalChunk.encoding })
        XCTAssertEqual(try allSamples(encoded), counter)

        var generator = SplitMix64(seed: 7)
        let noise = samples(regularTimes(240), (0..<240).map { _ in Double(bitPattern: generator.next() >> 2 | 0x3FF0_0000_0000_0000) })
        let kept = BlockChunkEncoding.decimal.encode(xorChunks(noise))
        XCTAssertEqual(kept.map(\.encoding), [XORChunk.encoding, XORChunk.encoding])
        XCTAssertEqual(try allSamples(kept), noise)
    }

    func testXOREncodingTurnsDecimalChunksBackIntoPrometheusChunks() throws {
        let counter = samples(regularTimes(500), (0..<500).map { Double($0) / 4 })
        let decimal = BlockChunkEncoding.decimal.encode(xorChunks(counter))
        XCTAssertEqual(decimal.count, 1)
        let xor = BlockChunkEncoding.xor.encode(decimal)
        XCTAssertEqual(xor.map(\.count), [120, 120, 120, 120, 20])
        XCTAssertTrue(xor.allSatisfy { $0.encoding == XORChunk.encoding })
        XCTAssertEqual(try allSamples(xor), counter)
        // Chunks already XOR pass through untouched, byte for byte.
        let original = xorChunks(counter)
        XCTAssertEqual(BlockChunkEncoding.xor.encode(original).map(\.bytes), original.map(\.bytes))
    }
}
