import VigilTestSupport
import XCTest
@testable import MetricsStore

/// `BitWriter` against a one-bit-at-a-time reference: the XOR chunk's bytes (and so the
/// blocks' compatibility with Prometheus) depend on its exact bit order.
final class BitWriterTests: XCTestCase {
    /// Packs bits most-significant first, zero-padding the last byte.
    private func reference(_ bits: [Bool]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
        for (index, bit) in bits.enumerated() where bit {
            bytes[index / 8] |= 0x80 >> UInt8(index % 8)
        }
        return bytes
    }

    func testRandomMixOfBitWritesMatchesBitByBitPacking() {
        var random = SplitMix64(seed: 42)
        for round in 0..<200 {
            var writer = BitWriter(reservingCapacity: Int.random(in: 0...16, using: &random))
            var bits: [Bool] = []
            for _ in 0..<Int.random(in: 1...60, using: &random) {
                let value = random.next()
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    writer.writeBit(value & 1 == 1)
                    bits.append(value & 1 == 1)
                case 1:
                    writer.writeByte(UInt8(truncatingIfNeeded: value))
                    bits += (0..<8).reversed().map { value >> UInt64($0) & 1 == 1 }
                default:
                    // Bits above `count` must be ignored, so `value` keeps them set.
                    let count = Int.random(in: 0...64, using: &random)
                    writer.writeBits(value, count: count)
                    bits += (0..<count).reversed().map { value >> UInt64($0) & 1 == 1 }
                }
                XCTAssertEqual(writer.bitCount, bits.count, "round \(round)")
            }
            XCTAssertEqual(writer.bytes, reference(bits), "round \(round)")
            XCTAssertEqual(writer.freeBits, (8 - bits.count % 8) % 8, "round \(round)")
        }
    }

    func testOverwritingTheHeaderKeepsTheBitsAfterIt() {
        var writer = BitWriter()
        writer.writeBits(0, count: 16)
        writer.writeBits(0b101, count: 3)
        writer.overwriteUInt16BigEndian(0x1234, at: 0)
        XCTAssertEqual(writer.bytes, [0x12, 0x34, 0b1010_0000])
        XCTAssertEqual(writer.freeBits, 5)
    }
}
