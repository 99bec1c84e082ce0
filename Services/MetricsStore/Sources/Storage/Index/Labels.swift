#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One label of a series: a name and its value.
public struct Label: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static func == (lhs: Label, rhs: Label) -> Bool {
        UTF8Bytes.equal(lhs.name, rhs.name) && UTF8Bytes.equal(lhs.value, rhs.value)
    }

    public func hash(into hasher: inout Hasher) {
        UTF8Bytes.hash(name, into: &hasher)
        UTF8Bytes.hash(value, into: &hasher)
    }
}

/// The identity of a series: its label pairs, sorted by name.
///
/// Invariants (checked by `validate()`, guaranteed by every initialiser except
/// `init(sortedPairs:)`, which trusts its caller): names are non-empty, unique and in
/// ascending byte order.
///
/// Names and values compare by their UTF-8 bytes, as Prometheus's Go strings do, not by
/// Swift's Unicode canonical equivalence: `"é"` precomposed and `"e\u{301}"` are different
/// values here, exactly as they are to Prometheus.
///
/// Storage is a single `[String]` of alternating name and value, so a label set is one
/// allocation plus whatever strings are too long to be stored inline (over 15 UTF-8 bytes).
public struct Labels: Sendable, Hashable, Comparable, RandomAccessCollection, CustomStringConvertible {
    /// The reserved label that carries the metric name.
    public static let metricName = "__name__"

    /// `[name0, value0, name1, value1, ...]`, sorted by name.
    @usableFromInline
    internal private(set) var storage: [String]

    /// The empty label set.
    public init() {
        storage = []
    }

    /// Builds a label set from a dictionary, sorting it by name.
    public init(_ dict: [String: String]) {
        self.init(sorting: dict.map { (name: $0.key, value: $0.value) })
    }

    /// Builds a label set from pairs already sorted by name with no duplicates, without
    /// re-sorting. Decoders of formats that require sorted labels (remote write) use this
    /// and then call `validate()` on untrusted input.
    public init(sortedPairs: [(name: String, value: String)]) {
        var storage: [String] = []
        storage.reserveCapacity(sortedPairs.count * 2)
        for pair in sortedPairs {
            storage.append(pair.name)
            storage.append(pair.value)
        }
        self.storage = storage
    }

    /// Builds a label set from pairs in any order. Duplicated names are kept (stable order)
    /// so that `validate()` can report them.
    public init(sorting pairs: [(name: String, value: String)]) {
        self.init(sortedPairs: pairs.sorted { UTF8Bytes.compare($0.name, $1.name) < 0 })
    }

    // MARK: Lookup

    /// The value of the label `name`, or nil if the set has no such label.
    public subscript(_ name: String) -> String? {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            let order = UTF8Bytes.compare(storage[mid &* 2], name)
            if order == 0 { return storage[mid &* 2 + 1] }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// The label names, in order.
    public var names: [String] {
        stride(from: 0, to: storage.count, by: 2).map { storage[$0] }
    }

    // MARK: RandomAccessCollection

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.count / 2 }

    public subscript(position: Int) -> Label {
        Label(name: storage[position &* 2], value: storage[position &* 2 + 1])
    }

    // MARK: Validation

    /// Checks the invariants: non-empty names, strictly ascending (so unique) by bytes.
    public func validate() throws(LabelsError) {
        for index in 0..<count {
            let name = storage[index * 2]
            if name.isEmpty { throw .emptyName(position: index) }
            guard index > 0 else { continue }
            let previous = storage[(index - 1) * 2]
            let order = UTF8Bytes.compare(previous, name)
            if order == 0 { throw .duplicateName(name) }
            if order > 0 { throw .unsorted(previous: previous, next: name) }
        }
    }

    // MARK: Equality, ordering, hashing

    public static func == (lhs: Labels, rhs: Labels) -> Bool {
        guard lhs.storage.count == rhs.storage.count else { return false }
        for index in lhs.storage.indices where !UTF8Bytes.equal(lhs.storage[index], rhs.storage[index]) {
            return false
        }
        return true
    }

    /// Prometheus's `labels.Compare`: pairwise by name then value (bytes); when one set is a
    /// prefix of the other, the shorter sorts first.
    public static func < (lhs: Labels, rhs: Labels) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// Three-way comparison with the order of `<`.
    public static func compare(_ lhs: Labels, _ rhs: Labels) -> Int {
        let shared = Swift.min(lhs.storage.count, rhs.storage.count)
        for index in 0..<shared {
            let order = UTF8Bytes.compare(lhs.storage[index], rhs.storage[index])
            if order != 0 { return order }
        }
        return lhs.storage.count - rhs.storage.count
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.count)
        for string in storage {
            UTF8Bytes.hash(string, into: &hasher)
        }
    }

    /// A 64-bit hash that is stable across processes and releases (unlike `hashValue`), for
    /// series IDs in files, sharding and deduplication.
    ///
    /// XXH64 (seed 0) over `name 0xFF value 0xFF` for each label in order. This is the
    /// byte stream Prometheus's `slicelabels` build hashes in `Labels.Hash()`, so the two
    /// agree; Prometheus's default `stringlabels` build hashes a length-prefixed encoding
    /// instead, so do not expect equality with a stock Prometheus binary.
    public var stableHash: UInt64 {
        let separator: UInt8 = 0xFF
        let total = storage.reduce(0) { $0 + $1.utf8.count + 1 }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Swift.max(total, 1)) { buffer in
            var offset = 0
            for string in storage {
                for byte in string.utf8 {
                    buffer[offset] = byte
                    offset += 1
                }
                buffer[offset] = separator
                offset += 1
            }
            return XXH64.hash(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[0..<offset])))
        }
    }

    // MARK: Text form

    /// `{__name__="up", job="api"}` as Prometheus prints label sets: values quoted as Go's
    /// `strconv.Quote` does, names quoted only when they are not legacy identifiers
    /// (`[a-zA-Z_][a-zA-Z0-9_]*`).
    public var description: String {
        var out = "{"
        for index in 0..<count {
            if index > 0 { out += ", " }
            let name = storage[index * 2]
            out += GoQuote.isLegacyName(name) ? name : GoQuote.quote(name)
            out += "="
            out += GoQuote.quote(storage[index * 2 + 1])
        }
        return out + "}"
    }
}

extension Labels: ExpressibleByDictionaryLiteral {
    /// `["__name__": "up", "job": "api"]`, sorted by name.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(sorting: elements.map { (name: $0.0, value: $0.1) })
    }
}

/// Why a label set is not well-formed.
public enum LabelsError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyName(position: Int)
    case duplicateName(String)
    case unsorted(previous: String, next: String)

    public var description: String {
        switch self {
        case .emptyName(let position):
            return "label name at position \(position) is empty"
        case .duplicateName(let name):
            return "duplicate label name \(GoQuote.quote(name))"
        case .unsorted(let previous, let next):
            return "labels are not sorted by name: \(GoQuote.quote(previous)) before \(GoQuote.quote(next))"
        }
    }
}

// MARK: - Byte-wise string helpers

/// Comparison, equality and hashing of strings by their UTF-8 bytes (Go semantics), used
/// throughout the index. Swift's own `String ==` and `<` use canonical equivalence, which
/// would merge label values that Prometheus keeps apart.
enum UTF8Bytes {
    @inline(__always)
    static func withBytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(string.utf8).withUnsafeBufferPointer(body)
    }

    static func equal(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        return withBytes(lhs) { left in
            withBytes(rhs) { right in
                left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
            }
        }
    }

    /// Negative, zero or positive as `lhs` sorts before, equal to or after `rhs` bytewise.
    static func compare(_ lhs: String, _ rhs: String) -> Int {
        withBytes(lhs) { left in
            withBytes(rhs) { right in
                let shared = min(left.count, right.count)
                if shared > 0 {
                    let order = memcmp(left.baseAddress!, right.baseAddress!, shared)
                    if order != 0 { return Int(order) }
                }
                return left.count - right.count
            }
        }
    }

    static func hash(_ string: String, into hasher: inout Hasher) {
        withBytes(string) { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }
}

/// A string that hashes and compares by UTF-8 bytes: the key type of the postings index.
struct UTF8Key: Hashable, Sendable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (lhs: UTF8Key, rhs: UTF8Key) -> Bool { UTF8Bytes.equal(lhs.string, rhs.string) }

    func hash(into hasher: inout Hasher) {
        UTF8Bytes.withBytes(string) { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

// MARK: - XXH64

/// XXH64 as specified in https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md
/// (one-shot form, seed 0 unless given).
enum XXH64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    static func hash(_ input: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let length = input.count
        var offset = 0
        var acc: UInt64
        if length >= 32 {
            var v1 = seed &+ prime1 &+ prime2
            var v2 = seed &+ prime2
            var v3 = seed
            var v4 = seed &- prime1
            while offset + 32 <= length {
                v1 = round(v1, read64(input, offset))
                v2 = round(v2, read64(input, offset + 8))
                v3 = round(v3, read64(input, offset + 16))
                v4 = round(v4, read64(input, offset + 24))
                offset += 32
            }
            acc = v1.rotatedLeft(1) &+ v2.rotatedLeft(7) &+ v3.rotatedLeft(12) &+ v4.rotatedLeft(18)
            acc = mergeRound(acc, v1)
            acc = mergeRound(acc, v2)
            acc = mergeRound(acc, v3)
            acc = mergeRound(acc, v4)
        } else {
            acc = seed &+ prime5
        }
        acc &+= UInt64(length)
        while offset + 8 <= length {
            acc ^= round(0, read64(input, offset))
            acc = acc.rotatedLeft(27) &* prime1 &+ prime4
            offset += 8
        }
        if offset + 4 <= length {
            let lane = UInt32(littleEndian: input.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            acc ^= UInt64(lane) &* prime1
            acc = acc.rotatedLeft(23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < length {
            acc ^= UInt64(input[offset]) &* prime5
            acc = acc.rotatedLeft(11) &* prime1
            offset += 1
        }
        acc ^= acc >> 33
        acc &*= prime2
        acc ^= acc >> 29
        acc &*= prime3
        acc ^= acc >> 32
        return acc
    }

    @inline(__always)
    private static func read64(_ input: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: input.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        (acc &+ lane &* prime2).rotatedLeft(31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* prime1 &+ prime4
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 {
        (self << count) | (self >> (64 - count))
    }
}

// MARK: - Go string quoting

/// Go's `strconv.Quote`, which Prometheus uses to print label values and matchers.
enum GoQuote {
    static func isLegacyName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isASCIILetter(first) else {
            return false
        }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isASCIILetter($0) || (0x30...0x39).contains($0) }
    }

    static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value < 0x80 {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value <= 0xFFFF {
                    out += "\\u" + hex(scalar.value, width: 4)
                } else {
                    out += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        return out + "\""
    }

    /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and U+0020.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar.value >= 0x20 && scalar.value < 0x7F }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
