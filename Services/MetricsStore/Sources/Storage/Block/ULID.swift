/// A Universally Unique Lexicographically Sortable Identifier: 48 bits of Unix time in
/// milliseconds followed by 80 random bits, written as 26 Crockford base32 characters
/// (https://github.com/ulid/spec). Prometheus names block directories with these, and its
/// tools skip directories whose name does not parse as one.
///
/// Invariant: the string form sorts like the creation time (to the millisecond).
public struct ULID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The 128-bit value, timestamp in the high 48 bits.
    public let value: UInt128

    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public init(value: UInt128) {
        self.value = value
    }

    /// A new ULID for `milliseconds` since the Unix epoch, with 80 bits from `generator`.
    public init<G: RandomNumberGenerator>(milliseconds: UInt64, using generator: inout G) {
        precondition(milliseconds < 1 << 48, "ULID timestamps are 48 bits")
        let random = UInt128(generator.next() as UInt64) << 16 | UInt128(generator.next() as UInt16)
        value = UInt128(milliseconds) << 80 | random
    }

    /// A new ULID for `milliseconds` since the Unix epoch, random bits from the system.
    public init(milliseconds: UInt64) {
        var generator = SystemRandomNumberGenerator()
        self.init(milliseconds: milliseconds, using: &generator)
    }

    /// Parses the 26-character form (case-insensitive, as the spec allows).
    public init?(_ string: String) {
        let utf8 = Array(string.utf8)
        guard utf8.count == 26 else { return nil }
        var result: UInt128 = 0
        for (index, character) in utf8.enumerated() {
            guard let digit = Self.digit(character) else { return nil }
            // 26 × 5 = 130 bits: the first character may only carry the top 3 bits.
            if index == 0 && digit > 7 { return nil }
            result = result << 5 | UInt128(digit)
        }
        value = result
    }

    /// Milliseconds since the Unix epoch when the ULID was made.
    public var milliseconds: UInt64 { UInt64(truncatingIfNeeded: value >> 80) }

    public var description: String {
        var characters = [UInt8](repeating: 0, count: 26)
        var rest = value
        for index in stride(from: 25, through: 0, by: -1) {
            characters[index] = Self.alphabet[Int(rest & 0x1F)]
            rest >>= 5
        }
        return String(decoding: characters, as: UTF8.self)
    }

    public static func < (lhs: ULID, rhs: ULID) -> Bool { lhs.value < rhs.value }

    private static func digit(_ character: UInt8) -> UInt8? {
        let upper = character >= 0x61 && character <= 0x7A ? character - 0x20 : character
        return alphabet.firstIndex(of: upper).map(UInt8.init)
    }
}
