#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns byte ranges of a scrape body into Strings, reusing a String already made for the
/// same bytes. Metric names, label names and most label values repeat from line to line
/// and from scrape to scrape, and a String longer than 15 UTF-8 bytes is a heap
/// allocation, so a parser kept per target allocates almost no strings after its first
/// scrape.
///
/// A direct-mapped cache: one String per slot, a colliding string replaces it. The
/// cache's size is fixed, so it never grows with the number of distinct strings seen.
struct StringInterner {
    private static let slotCount = 4096
    private static let maximumLength = 128
    private var slots: [String?]

    init() {
        slots = Array(repeating: nil, count: Self.slotCount)
    }

    /// The bytes as a String, or nil when they are not valid UTF-8.
    @inline(__always)
    mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count <= Self.maximumLength else {
            return String(validating: bytes, as: UTF8.self)
        }
        let slot = Int(Self.hash(bytes) & UInt32(Self.slotCount - 1))
        if let cached = slots[slot], Self.equal(cached, bytes) {
            return cached
        }
        guard let made = String(validating: bytes, as: UTF8.self) else { return nil }
        slots[slot] = made
        return made
    }

    /// A multiply-xorshift hash over 8-byte words (names are short; this is cheaper than a
    /// byte-at-a-time hash and good enough to spread them over the slots).
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let raw = UnsafeRawBufferPointer(bytes)
        var hash = UInt64(truncatingIfNeeded: bytes.count) &* 0x9E37_79B9_7F4A_7C15
        var offset = 0
        while offset + 8 <= raw.count {
            hash = mix(hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < raw.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < raw.count {
                tail |= UInt64(raw[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = mix(hash ^ tail)
        }
        return UInt32(truncatingIfNeeded: hash >> 32)
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        let product = value &* 0xBF58_476D_1CE4_E5B9
        return product ^ (product >> 29)
    }

    @inline(__always)
    private static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var string = string
        return string.withUTF8 { stored in
            stored.count == bytes.count
                && (bytes.isEmpty || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        }
    }
}
