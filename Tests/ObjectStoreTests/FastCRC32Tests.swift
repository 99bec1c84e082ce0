import CObjectStoreZlib
import Testing
@testable import ObjectStore

/// Block CRCs stored in data files were computed by zlib, so the carry-less-multiplication
/// CRC-32 must give zlib's values for every length, alignment and starting value.
struct FastCRC32Tests {
    static func zlibCRC(_ seed: UInt32, _ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(crc32(UInt(seed), $0.baseAddress?.assumingMemoryBound(to: UInt8.self), uInt($0.count))) }
    }

    @Test func matchesZlibForEveryLengthAndAlignment() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var lengths = Array(0...300) + [1023, 1024, 4096, 65_537, 1 << 20, (1 << 20) + 13]
        lengths.append(bytes.count - 3)
        let prefix = bytes[0..<77]
        for length in lengths {
            for offset in 0..<3 {
                let slice = bytes[offset..<(offset + length)]
                var crc = CRC32()
                crc.update(slice)
                #expect(crc.value == Self.zlibCRC(0, slice), "length \(length) at offset \(offset)")
                // Continued from the CRC of other bytes, as a body's x-amz-checksum-crc32 is.
                var continued = CRC32()
                continued.update(prefix)
                continued.update(slice)
                #expect(continued.value == Self.zlibCRC(Self.zlibCRC(0, prefix), slice), "length \(length) after a prefix")
            }
        }
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
