import VigilTestSupport
import XCTest

@testable import Snappy

final class SnappyTests: XCTestCase {
    // MARK: Round trips

    func testEmptyInputRoundTripsAsSinglePreambleByte() throws {
        let compressed = Snappy.compress([UInt8]())
        XCTAssertEqual(compressed, [0x00])
        XCTAssertEqual(try Snappy.decompress(compressed), [])
        XCTAssertEqual(try Snappy.decompressedLength(compressed), 0)
    }

    func testSingleByteRoundTripsAsOneLiteral() throws {
        let compressed = Snappy.compress([0x2A])
        XCTAssertEqual(compressed, [0x01, 0x00, 0x2A])
        XCTAssertEqual(try Snappy.decompress(compressed), [0x2A])
    }

    func testRandomBytesRoundTripAndStayWithinMaxCompressedLength() throws {
        var rng = SplitMix64(seed: 0x5EED)
        for size in [2, 15, 16, 17, 18, 100, 4095, 65535, 65536, 65537, 200_000] {
            let input = randomBytes(size, using: &rng)
            let compressed = Snappy.compress(input)
            XCTAssertLessThanOrEqual(compressed.count, Snappy.maxCompressedLength(size), "size \(size)")
            XCTAssertEqual(try Snappy.decompress(compressed), input, "size \(size)")
        }
    }

    func testHighlyRepetitiveDataRoundTripsAndShrinksDramatically() throws {
        let runOfOneByte = [UInt8](repeating: 0x61, count: 100_000)
        let shortPattern = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 3) }
        let longPattern = (0..<100_000).map { UInt8(truncatingIfNeeded: ($0 % 1000) * 7) }
        for input in [runOfOneByte, shortPattern, longPattern] {
            let compressed = Snappy.compress(input)
            // The format caps out near 21:1: one 3-byte copy-2 element per 64 bytes.
            XCTAssertLessThan(compressed.count, input.count / 15)
            XCTAssertEqual(try Snappy.decompress(compressed), input)
        }
    }

    func testTextRoundTripsAndCompresses() throws {
        let line = "http_requests_total{method=\"GET\",handler=\"/api/v1/query\",code=\"200\"} 1027 1700000000000\n"
        let input = Array(String(repeating: line, count: 200).utf8)
        let compressed = Snappy.compress(input)
        XCTAssertLessThan(compressed.count, input.count / 10)
        XCTAssertEqual(try Snappy.decompress(compressed), input)
    }

    func testOneMebibyteInputsSpanningSeveralFragmentsRoundTrip() throws {
        var rng = SplitMix64(seed: 42)
        let size = 1 << 20
        let incompressible = randomBytes(size, using: &rng)
        let mixed = semiCompressibleBytes(size, using: &rng)
        let zeros = [UInt8](repeating: 0, count: size)
        for input in [incompressible, mixed, zeros] {
            let compressed = Snappy.compress(input)
            XCTAssertEqual(try Snappy.decompressedLength(compressed), size)
            XCTAssertEqual(try Snappy.decompress(compressed), input)
        }
    }

    func testInputsAroundFragmentAndSearchThresholdsRoundTrip() throws {
        var rng = SplitMix64(seed: 7)
        let sizes = [3, 4, 5, 14, 15, 16, 17, 18, 31, 32, 33, 65_535, 65_536, 65_537, 131_072, 131_073]
        for size in sizes {
            let input = semiCompressibleBytes(size, using: &rng)
            XCTAssertEqual(try Snappy.decompress(Snappy.compress(input)), input, "size \(size)")
        }
    }

    func testAllInputFormsProduceTheSameBlock() throws {
        var rng = SplitMix64(seed: 3)
        let input = semiCompressibleBytes(10_000, using: &rng)
        let fromArray = Snappy.compress(input)
        let fromPointer = input.withUnsafeBytes { Snappy.compress($0) }
        let fromSlice = Snappy.compress(input[...])
        let fromNonContiguous = Snappy.compress(AnyCollection(input))
        XCTAssertEqual(fromPointer, fromArray)
        XCTAssertEqual(fromSlice, fromArray)
        XCTAssertEqual(fromNonContiguous, fromArray)

        XCTAssertEqual(try fromArray.withUnsafeBytes { bytes throws(SnappyError) in try Snappy.decompress(bytes) }, input)
        XCTAssertEqual(try Snappy.decompress(fromArray[...]), input)
        XCTAssertEqual(try Snappy.decompress(AnyCollection(fromArray)), input)
    }

    // MARK: Hand-built vectors

    func testHandBuiltBlockWithEveryElementTypeDecodesToKnownOutput() throws {
        let block: [UInt8] = [
            24,  // preamble: 24 bytes
            0x0C, 0x61, 0x62, 0x63, 0x64,  // literal, length 4: "abcd"
            0x01, 0x04,  // copy-1, length 4, offset 4: "abcd"
            0x16, 0x02, 0x00,  // copy-2, length 6, offset 2 (overlapping): "cdcdcd"
            0x0B, 0x0E, 0x00, 0x00, 0x00,  // copy-4, length 3, offset 14: "abc"
            0xF0, 0x02, 0x78, 0x79, 0x7A,  // literal, tag 60 (1 length byte), length 3: "xyz"
            0xF4, 0x01, 0x00, 0x21, 0x21,  // literal, tag 61 (2 length bytes), length 2: "!!"
            0xF8, 0x00, 0x00, 0x00, 0x50,  // literal, tag 62 (3 length bytes), length 1: "P"
            0xFC, 0x00, 0x00, 0x00, 0x00, 0x51,  // literal, tag 63 (4 length bytes), length 1: "Q"
        ]
        XCTAssertEqual(try Snappy.decompressedLength(block), 24)
        XCTAssertEqual(try Snappy.decompress(block), Array("abcdabcdcdcdcdabcxyz!!PQ".utf8))
    }

    func testCopyOneUsesHighOffsetBitsFromTag() throws {
        let literal = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        // Preamble 311 (two-byte varint), literal of 300 via tag 61, then copy-1 of
        // length 11 at offset 300 = 0b001_00101100 (high bits 001 in the tag).
        let block: [UInt8] = [0xB7, 0x02, 0xF4, 0x2B, 0x01] + literal + [0x3D, 0x2C]
        XCTAssertEqual(try Snappy.decompress(block), literal + literal[0..<11])
    }

    func testEncoderEmitsCopyOneForShortNearbyMatchesAndCopyTwoForLongOnes() throws {
        // "ABCDEFGH" twice: an 8-byte match at offset 8 fits copy-1. The search stops 15
        // bytes before the end (left as a literal), so pad with distinct bytes.
        let head = Array("ABCDEFGH".utf8)
        let short = head + head + (0..<16).map { UInt8($0) }
        let compressed = Snappy.compress(short)
        XCTAssertEqual(Array(compressed.prefix(12)), [32, 0x1C] + head + [0x01 | (8 - 4) << 2, 0x08])
        XCTAssertEqual(elementKinds(compressed), [.literal, .copy1, .literal])

        // A 99-byte run at offset 1 is too long for copy-1: two copy-2 elements (64 + 35).
        let run = [0x01] + [UInt8](repeating: 0, count: 100) + (1...16).map { UInt8($0) }
        let encoded = Snappy.compress(run)
        XCTAssertEqual(elementKinds(encoded), [.literal, .copy2, .copy2, .literal])
        XCTAssertEqual(try Snappy.decompress(encoded), run)
    }

    // MARK: Corrupt input

    func testEmptyOrUnterminatedPreambleThrowsTruncatedPreamble() {
        assertThrows([], .truncatedPreamble)
        assertThrows([0x80], .truncatedPreamble)
        assertThrows([0xFF, 0xFF, 0xFF, 0xFF], .truncatedPreamble)
    }

    func testOverlongOrOversizedPreambleThrowsInvalidPreamble() {
        assertThrows([0x80, 0x80, 0x80, 0x80, 0x80, 0x01], .invalidPreamble)
        assertThrows([0xFF, 0xFF, 0xFF, 0xFF, 0x1F], .invalidPreamble)  // 2^33 - 1
        XCTAssertThrowsError(try Snappy.decompressedLength([0x80, 0x80, 0x80, 0x80, 0x80]))
    }

    func testFramedStreamInputIsRecognisedAndRejected() {
        let framed: [UInt8] = [0xFF, 0x06, 0x00, 0x00, 0x73, 0x4E, 0x61, 0x50, 0x70, 0x59, 0x01, 0x05, 0x00, 0x00]
        assertThrows(framed, .framedFormat)
    }

    func testDeclaredLengthOverMaxLengthThrowsBeforeDecoding() {
        let compressed = Snappy.compress([UInt8](repeating: 1, count: 1000))
        XCTAssertEqual(try Snappy.decompress(compressed, maxLength: 1000).count, 1000)
        assertThrows(compressed, .lengthExceedsLimit(length: 1000, limit: 999), maxLength: 999)
        // 2^32 - 1 declared by a 5-byte body must not be allocated under the default limit.
        assertThrows([0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .lengthExceedsLimit(length: 0xFFFF_FFFF, limit: 256 << 20))
    }

    func testElementCutOffByEndOfInputThrowsTruncatedElement() {
        assertThrows([0x05, 0xF0], .truncatedElement(inputOffset: 1))  // literal length byte missing
        assertThrows([0x05, 0xFC, 0x01, 0x00], .truncatedElement(inputOffset: 1))  // 2 of 4 length bytes
        assertThrows([0x08, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x01], .truncatedElement(inputOffset: 6))  // copy-1
        assertThrows([0x08, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x0E, 0x04], .truncatedElement(inputOffset: 6))  // copy-2
        assertThrows([0x08, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x0F, 0x04, 0x00, 0x00], .truncatedElement(inputOffset: 6))  // copy-4
    }

    func testLiteralRunningPastInputThrows() {
        assertThrows([0x05, 0x10, 0x61, 0x62], .literalPastEnd(inputOffset: 1, length: 5, available: 2))
        // Tag 63 declaring a 4 GiB literal must be rejected, not trusted.
        assertThrows([0x05, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0x61], .literalPastEnd(inputOffset: 1, length: 1 << 32, available: 1))
    }

    func testCopyWithZeroOffsetThrows() {
        assertThrows([0x08, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x01, 0x00], .zeroCopyOffset(inputOffset: 6))
        assertThrows([0x08, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x0E, 0x00, 0x00], .zeroCopyOffset(inputOffset: 6))
    }

    func testCopyReachingBeforeStartOfOutputThrows() {
        assertThrows([0x08, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x01, 0x05], .copyOffsetBeyondOutput(offset: 5, decoded: 4))
        assertThrows([0x04, 0x01, 0x01], .copyOffsetBeyondOutput(offset: 1, decoded: 0))  // copy first
        // 1200-byte literal followed by a copy-4 reaching back 70000 bytes.
        let block: [UInt8] = [0xB4, 0x0A, 0xF4, 0xAF, 0x04] + [UInt8](repeating: 7, count: 1200)
            + [0x0F, 0x70, 0x11, 0x01, 0x00]
        assertThrows(block, .copyOffsetBeyondOutput(offset: 70000, decoded: 1200))
        XCTAssertEqual(
            SnappyError.copyOffsetBeyondOutput(offset: 70000, decoded: 1200).description,
            "snappy: corrupt input: copy offset 70000 beyond 1200 bytes decoded")
    }

    func testElementsProducingMoreThanDeclaredThrowOutputOverrun() {
        assertThrows([0x02, 0x0C, 0x61, 0x62, 0x63, 0x64], .outputOverrun(declared: 2, inputOffset: 1))
        assertThrows([0x05, 0x0C, 0x61, 0x62, 0x63, 0x64, 0x01, 0x04], .outputOverrun(declared: 5, inputOffset: 6))
        assertThrows([0x00, 0x00, 0x61], .outputOverrun(declared: 0, inputOffset: 1))
    }

    func testElementsProducingLessThanDeclaredThrowLengthMismatch() {
        assertThrows([0x0A, 0x0C, 0x61, 0x62, 0x63, 0x64], .lengthMismatch(declared: 10, decoded: 4))
        assertThrows([0x0A], .lengthMismatch(declared: 10, decoded: 0))
    }

    func testTruncatedRealBlockThrows() {
        let input = Array(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 50).utf8)
        let compressed = Snappy.compress(input)
        for cut in 1..<compressed.count {
            XCTAssertThrowsError(try Snappy.decompress(Array(compressed.prefix(cut))), "cut at \(cut)")
        }
    }

    func testErrorDescriptionsNameTheProblem() {
        let errors: [SnappyError] = [
            .truncatedPreamble, .invalidPreamble, .framedFormat,
            .lengthExceedsLimit(length: 5, limit: 4), .truncatedElement(inputOffset: 3),
            .literalPastEnd(inputOffset: 1, length: 9, available: 2), .zeroCopyOffset(inputOffset: 6),
            .copyOffsetBeyondOutput(offset: 9, decoded: 4), .outputOverrun(declared: 2, inputOffset: 1),
            .lengthMismatch(declared: 10, decoded: 4),
        ]
        for error in errors {
            XCTAssertTrue(error.description.hasPrefix("snappy: "), error.description)
        }
        XCTAssertEqual(Set(errors.map(\.description)).count, errors.count)
    }

    // MARK: Robustness

    func testMutatedBlocksEitherThrowOrDecodeToDeclaredLength() {
        var rng = SplitMix64(seed: 0xF022)
        let originals = [
            Snappy.compress(semiCompressibleBytes(3000, using: &rng)),
            Snappy.compress(Array(String(repeating: "abcabcabd", count: 300).utf8)),
            Snappy.compress(randomBytes(500, using: &rng)),
            Snappy.compress([UInt8](repeating: 0, count: 70_000)),
        ]
        var decoded = 0
        var rejected = 0
        for original in originals {
            for _ in 0..<2000 {
                var mutated = original
                switch rng.next() % 4 {
                case 0:
                    mutated.removeLast(Int(rng.next() % UInt64(mutated.count)))
                case 1:
                    for _ in 0...(rng.next() % 4) {
                        mutated[Int(rng.next() % UInt64(mutated.count))] ^= UInt8(1) << (rng.next() % 8)
                    }
                case 2:
                    mutated[Int(rng.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: rng.next())
                default:
                    let at = Int(rng.next() % UInt64(mutated.count + 1))
                    mutated.insert(contentsOf: randomBytes(Int(rng.next() % 6), using: &rng), at: at)
                }
                do {
                    let output = try Snappy.decompress(mutated, maxLength: 1 << 20)
                    XCTAssertEqual(output.count, try Snappy.decompressedLength(mutated))
                    decoded += 1
                } catch {
                    rejected += 1
                }
            }
        }
        XCTAssertGreaterThan(rejected, 0)
        XCTAssertEqual(decoded + rejected, originals.count * 2000)
    }

    func testRandomGarbageNeverCrashesTheDecoder() {
        var rng = SplitMix64(seed: 0xBAD)
        for _ in 0..<5000 {
            let garbage = randomBytes(Int(rng.next() % 64), using: &rng)
            if let output = try? Snappy.decompress(garbage, maxLength: 1 << 16) {
                XCTAssertEqual(output.count, try? Snappy.decompressedLength(garbage))
            }
        }
    }

    // MARK: Helpers

    private func assertThrows(
        _ block: [UInt8], _ expected: SnappyError, maxLength: Int = Snappy.defaultMaxLength,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let output = try Snappy.decompress(block, maxLength: maxLength)
            XCTFail("expected \(expected), decoded \(output.count) bytes", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    private enum ElementKind { case literal, copy1, copy2, copy4 }

    /// The tag types of a well-formed block's elements, in order.
    private func elementKinds(_ block: [UInt8]) -> [ElementKind] {
        var i = 0
        while block[i] & 0x80 != 0 { i += 1 }
        i += 1
        var kinds: [ElementKind] = []
        while i < block.count {
            let tag = Int(block[i])
            switch tag & 3 {
            case 0:
                var length = tag >> 2 + 1
                var header = 1
                if length > 60 {
                    length = 1
                    for k in 0..<(tag >> 2 - 59) { length += Int(block[i + 1 + k]) << (8 * k) }
                    header += tag >> 2 - 59
                }
                kinds.append(.literal)
                i += header + length
            case 1: kinds.append(.copy1); i += 2
            case 2: kinds.append(.copy2); i += 3
            default: kinds.append(.copy4); i += 5
            }
        }
        return kinds
    }

    private func randomBytes(_ count: Int, using rng: inout SplitMix64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = rng.next()
            for _ in 0..<min(8, count - i) {
                bytes[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return bytes
    }

    /// Runs of random-length repeats mixed with fresh random bytes, roughly like metric payloads.
    private func semiCompressibleBytes(_ count: Int, using rng: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            let remaining = count - bytes.count
            if bytes.count > 64 && rng.next() % 2 == 0 {
                let distance = 1 + Int(rng.next() % UInt64(min(bytes.count, 4000)))
                let length = min(remaining, 4 + Int(rng.next() % 60))
                let start = bytes.count - distance
                for k in 0..<length { bytes.append(bytes[start + k]) }
            } else {
                let length = min(remaining, 1 + Int(rng.next() % 24))
                for _ in 0..<length { bytes.append(UInt8(truncatingIfNeeded: rng.next() % 64) + 32) }
            }
        }
        return bytes
    }
}
