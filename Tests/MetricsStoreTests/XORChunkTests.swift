import VigilTestSupport
import XCTest

@testable import MetricsStore

/// Specification of the XOR sample chunk: it must round-trip every float bit pattern and
/// timestamp sequence, write the same bytes as Prometheus's `chunkenc.EncXOR`, and
/// reject damaged data with an error rather than a crash.
final class XORChunkTests: XCTestCase {
    // MARK: - Header and bookkeeping

    func testEmptyChunkIsJustAZeroSampleCount() throws {
        let chunk = XORChunk()
        XCTAssertEqual(chunk.bytes, [0x00, 0x00])
        XCTAssertEqual(chunk.count, 0)
        XCTAssertTrue(chunk.isEmpty)
        XCTAssertEqual(chunk.minTime, .max)
        XCTAssertEqual(chunk.maxTime, .min)
        var iterator = chunk.makeIterator()
        XCTAssertNil(try iterator.next())
        XCTAssertEqual(try XORChunk(bytes: [0, 0]).count, 0)
    }

    func testSampleCountHeaderIsBigEndianUInt16() {
        var chunk = XORChunk()
        for i in 0..<300 { chunk.append(timestamp: Int64(i) * 1000, value: 1) }
        XCTAssertEqual(Array(chunk.bytes.prefix(2)), [0x01, 0x2C])
        XCTAssertEqual(chunk.count, 300)
    }

    func testTracksMinAndMaxTime() {
        var chunk = XORChunk()
        chunk.append(timestamp: 5_000, value: 1)
        XCTAssertEqual(chunk.minTime, 5_000)
        XCTAssertEqual(chunk.maxTime, 5_000)
        chunk.append(timestamp: 20_000, value: 2)
        chunk.append(timestamp: 35_000, value: 3)
        XCTAssertEqual(chunk.minTime, 5_000)
        XCTAssertEqual(chunk.maxTime, 35_000)
    }

    // MARK: - Round trips

    func testRoundTripsRegularFifteenSecondScrapes() throws {
        let start: Int64 = 1_700_000_000_000
        let samples = (0..<120).map { (start + Int64($0) * 15_000, Double($0) * 0.5) }
        try assertRoundTrips(samples)
    }

    func testRoundTripsJitteredScrapeIntervals() throws {
        var rng = SplitMix64(seed: 1)
        var t: Int64 = 1_700_000_000_000
        var samples: [(Int64, Double)] = []
        for _ in 0..<1_000 {
            t += 15_000 + Int64(rng.next() % 201) - 100  // ±100 ms jitter
            samples.append((t, Double(rng.next() % 1_000)))
        }
        try assertRoundTrips(samples)
    }

    func testRoundTripsDeltaOfDeltaInEveryBucketAndTheEscape() throws {
        // Each dod is applied on top of a 1 s baseline delta, so timestamps stay increasing.
        let dods: [Int64] = [
            0, 1, -1, 8_191, -8_191, 8_192, -8_192, 8_193,
            65_535, -65_535, 65_536, -65_536, 65_537,
            524_287, -524_287, 524_288, -524_288, 524_289,
            1 << 40, -(1 << 39), Int64(Int32.max) * 4,
        ]
        var samples: [(Int64, Double)] = [(0, 1), (1_000_000_000_000, 2)]
        var delta: Int64 = 1_000_000_000_000
        for dod in dods {
            delta += dod
            samples.append((samples.last!.0 + delta, Double(dod)))
        }
        try assertRoundTrips(samples)
    }

    func testPicksUpstreamsBucketForEachDeltaOfDelta() {
        // The buckets are lopsided: n payload bits hold -(2^(n-1) - 1) ... +2^(n-1).
        let expectations: [(dod: Int64, prefix: String)] = [
            (0, "0"),
            (1, "10"), (-1, "10"), (8_192, "10"), (-8_191, "10"),
            (-8_192, "110"), (8_193, "110"), (65_536, "110"), (-65_535, "110"),
            (-65_536, "1110"), (65_537, "1110"), (524_288, "1110"), (-524_287, "1110"),
            (-524_288, "1111"), (524_289, "1111"), (Int64.min / 4, "1111"),
        ]
        for (dod, expected) in expectations {
            XCTAssertEqual(timestampPrefix(forDeltaOfDelta: dod), expected, "dod \(dod)")
        }
    }

    func testRoundTripsNegativeTimestamps() throws {
        let samples = (0..<50).map { (Int64(-1_000_000) + Int64($0) * 30_000, Double($0)) }
        try assertRoundTrips(samples)
        try assertRoundTrips([(Int64.min / 2, 1), (Int64.min / 2 + 1, 2), (-1, 3), (0, 4), (1, 5)])
    }

    func testRoundTripsConstantValuesInTwoBitsPerSample() throws {
        let samples = (0..<121).map { (Int64($0) * 15_000, 42.0) }
        let chunk = try assertRoundTrips(samples)
        // header 2 + varint(0) 1 + value 8 + uvarint(15000) 2, then 1 + 1 bits for
        // sample 1 and 2 bits for each of the other 119: 240 bits = 30 bytes.
        XCTAssertEqual(chunk.bytes.count, 2 + 1 + 8 + 2 + 30)
    }

    func testRoundTripsRandomBitPatterns() throws {
        var rng = SplitMix64(seed: 2)
        let samples = (0..<2_000).map { (Int64($0) * 10_000, Double(bitPattern: rng.next())) }
        try assertRoundTrips(samples)
    }

    func testRoundTripsIntegerCounters() throws {
        var rng = SplitMix64(seed: 3)
        var counter = 0.0
        var samples: [(Int64, Double)] = []
        for i in 0..<500 {
            counter += Double(rng.next() % 10_000)
            samples.append((Int64(i) * 15_000, counter))
        }
        samples.append((500 * 15_000, 0))  // counter reset
        samples.append((501 * 15_000, Double(1 << 53)))
        try assertRoundTrips(samples)
    }

    func testPreservesNaNPayloadsInfinitiesAndSignedZeroBitExactly() throws {
        let staleMarker = Double(bitPattern: 0x7FF0_0000_0000_0002)
        let values: [Double] = [
            1, staleMarker, staleMarker, .nan, -.nan, Double(bitPattern: 0x7FF8_0000_0000_0001),
            .signalingNaN, .infinity, -.infinity, 0, -0.0, 0, -0.0, -0.0,
            .leastNonzeroMagnitude, -.greatestFiniteMagnitude, staleMarker, 1,
        ]
        let samples = values.enumerated().map { (Int64($0.offset) * 15_000, $0.element) }
        let chunk = try assertRoundTrips(samples)
        var iterator = chunk.makeIterator()
        _ = try iterator.next()
        XCTAssertEqual(try iterator.next()?.value.bitPattern, 0x7FF0_0000_0000_0002)
    }

    func testSlowlyChangingGaugeUsesAtMostOneAndAHalfBytesPerSample() throws {
        // A realistic gauge (e.g. open connections) changing by a small integer step on
        // about one scrape in four, scraped every 15 s exactly: Prometheus's scraper snaps
        // timestamps within 2 ms of the schedule onto it (scrape.timestamp-tolerance).
        let chunk = try assertRoundTrips(gaugeSamples(jitterMilliseconds: 0))
        let bytesPerSample = Double(chunk.bytes.count) / Double(chunk.count)
        print("XORChunk: gauge, 120 samples every 15 s:", chunk.bytes.count, "bytes,",
              bytesPerSample, "bytes/sample")
        XCTAssertLessThanOrEqual(bytesPerSample, 1.5)
    }

    func testTimestampJitterCostsTwoBytesPerDeltaOfDelta() throws {
        // Why ingest should align timestamps as upstream does: any non-zero dod, even
        // 1 ms, takes the 16-bit bucket ('10' + 14 bits) instead of a single '0' bit.
        let aligned = chunk(of: gaugeSamples(jitterMilliseconds: 0))
        let jittered = try assertRoundTrips(gaugeSamples(jitterMilliseconds: 2))
        let bytesPerSample = Double(jittered.bytes.count) / Double(jittered.count)
        print("XORChunk: same gauge with ±2 ms jitter:", jittered.bytes.count, "bytes,",
              bytesPerSample, "bytes/sample")
        XCTAssertGreaterThan(jittered.bytes.count, aligned.bytes.count + 120)
        XCTAssertLessThanOrEqual(bytesPerSample, 2.5)
    }

    func testReopenedChunkContinuesWithTheSameBytes() throws {
        var rng = SplitMix64(seed: 5)
        let samples = (0..<200).map { i -> (Int64, Double) in
            (Int64(i) * 15_000 + Int64(rng.next() % 3), Double(rng.next() % 100) / 8)
        }
        for cut in [1, 2, 3, 77, 199] {
            var reopened = try XORChunk(bytes: chunk(of: Array(samples[..<cut])).bytes)
            for (t, v) in samples[cut...] { reopened.append(timestamp: t, value: v) }
            XCTAssertEqual(reopened.bytes, chunk(of: samples).bytes, "cut after \(cut)")
            XCTAssertEqual(reopened.minTime, samples.first!.0)
        }
    }

    func testIteratorIsUnaffectedByLaterAppends() throws {
        var chunk = XORChunk()
        chunk.append(timestamp: 1, value: 1)
        chunk.append(timestamp: 2, value: 2)
        var iterator = chunk.makeIterator()
        chunk.append(timestamp: 3, value: 3)
        XCTAssertEqual(try iterator.next()?.timestamp, 1)
        XCTAssertEqual(try iterator.next()?.timestamp, 2)
        XCTAssertNil(try iterator.next())
    }

    // MARK: - Exact bytes

    /// Derived by hand from the format rules (tsdb/docs/format/chunks.md and
    /// FORMAT-chunks.md); the same bytes were also produced by Prometheus's own
    /// chunkenc XOR appender when this test was written.
    ///
    ///  #  t        v       field bits
    ///  0  1000     1.0     count 0x0009; varint zigzag(1000)=2000 -> D0 0F;
    ///                      1.0 = 3F F0 00 00 00 00 00 00
    ///  1  2000     2.0     uvarint(1000) -> E8 07
    ///                      xor 0x7FF0000000000000: lz 1, tz 52, sig 11, new window
    ///                      11 00001 001011 11111111111        -> C2 5F FF
    ///  2  3000     2.0     dod 0: 0; unchanged: 0
    ///  3  4010     3.0     dod 10: 10 00000000001010
    ///                      xor 0x0008000000000000: lz 12, tz 51 (< 52, new window)
    ///                      11 01100 000001 1
    ///  4  5020     2.0     dod 0: 0; xor same bit, fits window: 10 1
    ///                      (samples 2-4: 36 bits -> 20 02 B6 03 + 0101)
    ///  5  14222    2.0     dod +8192, the top of the 14-bit range: 10 10000000000000; 0
    ///  6  15232    2.0     dod -8192, NOT in the 14-bit range:
    ///                      110 11110000000000000 (2^17 - 8192 = 0x1E000); 0
    ///  7  81779    2.0     dod +65537, above the 17-bit range:
    ///                      1110 00010000000000000001; 0
    ///                      (samples 5-7 with the 0101 left over -> 5A 00 06 F0 00 38 40 00 + 010)
    ///  8  672615   stale   dod +524289, above the 20-bit range: 1111 + 64 bits 0x80001
    ///                      xor 0x3FF0000000000002: lz 2, tz 1, sig 61, new window
    ///                      11 00010 111101 + 1111111111 (50 zeros) 1; 7 zero padding bits
    ///                      (-> 5E 00 00 00 00 00 10 00 03 8B DF FC 00 00 00 00 00 00 80)
    func testEncodesHandDerivedByteVector() throws {
        let samples: [(Int64, Double)] = [
            (1000, 1.0), (2000, 2.0), (3000, 2.0), (4010, 3.0), (5020, 2.0),
            (14222, 2.0), (15232, 2.0), (81779, 2.0),
            (672_615, Double(bitPattern: 0x7FF0_0000_0000_0002)),
        ]
        let expected: [UInt8] = [
            0x00, 0x09, 0xD0, 0x0F, 0x3F, 0xF0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xE8, 0x07, 0xC2, 0x5F, 0xFF, 0x20, 0x02, 0xB6, 0x03, 0x5A, 0x00, 0x06,
            0xF0, 0x00, 0x38, 0x40, 0x00, 0x5E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
            0x00, 0x03, 0x8B, 0xDF, 0xFC, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
        ]
        XCTAssertEqual(hex(chunk(of: samples).bytes), hex(expected))
        try assertRoundTrips(samples)
    }

    func testDecodesWindowReuseBeforeAnyWindowAsAllSixtyFourBits() throws {
        // Upstream's appender, when reopened on a one-sample chunk, starts from a 0/0
        // window and writes '10' + 64 bits instead of a new window. Samples (0, 0.0) and
        // (1, 1.0) that way: 00 02 | 00 | 8 zero bytes | 01 | 10 + 0x3FF0000000000000.
        let bytes: [UInt8] = [0x00, 0x02, 0x00] + [UInt8](repeating: 0, count: 8)
            + [0x01, 0x8F, 0xFC, 0, 0, 0, 0, 0, 0, 0]
        let chunk = try XORChunk(bytes: bytes)
        XCTAssertEqual(try decode(chunk).map(\.1), [0.0, 1.0])
    }

    // MARK: - Damaged data

    func testRejectsDataShorterThanTheHeader() {
        XCTAssertThrowsError(try XORChunk(bytes: [])) {
            XCTAssertEqual($0 as? ChunkError, .missingHeader(byteCount: 0))
        }
        XCTAssertThrowsError(try XORChunk(bytes: [0x00]))
    }

    func testRejectsEveryTruncationOfAValidChunk() throws {
        var rng = SplitMix64(seed: 6)
        let samples = (0..<120).map { (Int64($0) * 15_000 + Int64(rng.next() % 50), Double(rng.next() % 64)) }
        let bytes = chunk(of: samples).bytes
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try XORChunk(bytes: Array(bytes[..<length])), "length \(length)")
        }
        XCTAssertEqual(try XORChunk(bytes: bytes).count, 120)
    }

    func testIteratorOverTruncatedDataThrowsAndKeepsThrowing() throws {
        let bytes = chunk(of: (0..<10).map { (Int64($0) * 1000, Double($0)) }).bytes
        var iterator = XORChunk.Iterator(bytes: Array(bytes.dropLast(3)))
        var decoded = 0
        var firstError: ChunkError?
        while firstError == nil {
            do {
                guard try iterator.next() != nil else { break }
                decoded += 1
            } catch {
                firstError = error
            }
        }
        XCTAssertNotNil(firstError)
        XCTAssertLessThan(decoded, 10)
        XCTAssertThrowsError(try iterator.next()) { XCTAssertEqual($0 as? ChunkError, firstError) }
    }

    func testRejectsBytesAfterTheLastSample() {
        var bytes = chunk(of: [(1, 1), (2, 2), (3, 3)]).bytes
        bytes.append(0)
        XCTAssertThrowsError(try XORChunk(bytes: bytes)) {
            guard case .trailingData = $0 as? ChunkError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try XORChunk(bytes: [0, 0, 0]))
    }

    func testRejectsNonZeroPaddingBits() {
        // After the byte-aligned first sample and delta, three bits follow (sample 1's
        // value, sample 2's dod and value): five padding bits in the last byte.
        var bytes = chunk(of: [(1, 1), (2, 1), (3, 1)]).bytes
        bytes[bytes.count - 1] |= 0x01
        XCTAssertThrowsError(try XORChunk(bytes: bytes)) {
            XCTAssertEqual($0 as? ChunkError, .trailingData(bitCount: 5))
        }
    }

    func testRejectsOverlongTimestampVarint() {
        let bytes: [UInt8] = [0x00, 0x01] + [UInt8](repeating: 0xFF, count: 10) + [0x01]
            + [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try XORChunk(bytes: bytes)) {
            XCTAssertEqual($0 as? ChunkError, .varintOverflow(bitOffset: 16))
        }
    }

    func testRejectsValueWindowWiderThanSixtyFourBits() {
        // Sample 1 value header '11', leading 31, significant 40: 71 bits.
        // 11 11111 101000 -> 11111111 01000... = FF 40, then plenty of payload bytes.
        let bytes: [UInt8] = [0x00, 0x02, 0x00] + [UInt8](repeating: 0, count: 8)
            + [0x01, 0xFF, 0x40] + [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try XORChunk(bytes: bytes)) {
            XCTAssertEqual($0 as? ChunkError,
                           .invalidValueWindow(leadingZeros: 31, significantBits: 40, bitOffset: 96))
        }
    }

    func testRandomGarbageAndBitFlipsNeverCrash() throws {
        var rng = SplitMix64(seed: 7)
        let valid = chunk(of: (0..<120).map { (Int64($0) * 15_000, Double(rng.next() % 1000) / 10) }).bytes
        for round in 0..<5_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = valid
                for _ in 0..<1 + Int(rng.next() % 4) {
                    let bit = Int(rng.next() % UInt64(bytes.count * 8))
                    bytes[bit / 8] ^= 0x80 >> UInt8(bit % 8)
                }
            }
            if let chunk = try? XORChunk(bytes: bytes) {
                XCTAssertEqual(try decode(chunk).count, chunk.count)
            }
            if bytes.count >= 2 {
                var iterator = XORChunk.Iterator(bytes: bytes)
                var steps = 0
                while steps <= 70_000, (try? iterator.next()) != nil { steps += 1 }
                XCTAssertLessThanOrEqual(steps, 65_535)
            }
        }
    }

    func testErrorsDescribeTheDamage() {
        XCTAssertEqual(
            ChunkError.unexpectedEnd(bitOffset: 120, bitsNeeded: 14).description,
            "chunk data ends at bit 120 but the next field needs 14 bits: truncated or wrong sample count")
    }

    // MARK: - Helpers

    private func chunk(of samples: [(Int64, Double)]) -> XORChunk {
        var chunk = XORChunk()
        for (t, v) in samples { chunk.append(timestamp: t, value: v) }
        return chunk
    }

    private func decode(_ chunk: XORChunk) throws -> [(Int64, Double)] {
        var out: [(Int64, Double)] = []
        var iterator = chunk.makeIterator()
        while let sample = try iterator.next() { out.append(sample) }
        return out
    }

    /// Encodes, decodes both from the chunk and from its bytes, and compares timestamps
    /// and value bit patterns exactly (NaN != NaN, and 0.0 == -0.0, would hide bugs).
    @discardableResult
    private func assertRoundTrips(
        _ samples: [(Int64, Double)], file: StaticString = #filePath, line: UInt = #line
    ) throws -> XORChunk {
        let encoded = chunk(of: samples)
        XCTAssertEqual(encoded.count, samples.count, file: file, line: line)
        for source in [encoded, try XORChunk(bytes: encoded.bytes)] {
            let decoded = try decode(source)
            XCTAssertEqual(decoded.map(\.0), samples.map(\.0), file: file, line: line)
            XCTAssertEqual(decoded.map(\.1.bitPattern), samples.map(\.1.bitPattern), file: file, line: line)
        }
        return encoded
    }

    /// 120 samples of a gauge around 512 that moves by -3...+3 on about one scrape in four.
    private func gaugeSamples(jitterMilliseconds jitter: Int64) -> [(Int64, Double)] {
        var rng = SplitMix64(seed: 4)
        var value = 512.0
        return (0..<120).map { i in
            let draw = rng.next()  // drawn even without jitter, so the values stay the same
            let offset = Int64(draw % UInt64(2 * jitter + 1)) - jitter
            if rng.next() % 4 == 0 { value += Double(Int64(rng.next() % 7) - 3) }
            return (1_700_000_000_000 + Int64(i) * 15_000 + offset, value)
        }
    }

    /// The prefix bits written for a third sample whose delta-of-delta is `dod`.
    private func timestampPrefix(forDeltaOfDelta dod: Int64) -> String {
        let first: Int64 = 0, delta: Int64 = 1 << 50
        let bytes = chunk(of: [(first, 7), (first + delta, 7), (first + 2 * delta + dod, 7)]).bytes
        // header 2, varint(0) 1, value 8, uvarint(2^50) 8 bytes; then '0' for sample 1's value.
        let bitsAfterUvarint = bytes[19...].flatMap { byte in (0..<8).map { (byte >> (7 - $0)) & 1 } }
        var prefix = ""
        for bit in bitsAfterUvarint.dropFirst() {
            prefix += bit == 1 ? "1" : "0"
            if bit == 0 || prefix.count == 4 { break }
        }
        return prefix
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined(separator: " ")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
