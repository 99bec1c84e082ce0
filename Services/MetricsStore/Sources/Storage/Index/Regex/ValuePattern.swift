/// The compiled form of a matcher's value: the cheapest matcher that is exact for it.
enum ValuePattern: Sendable {
    case literal(String)
    case set(LiteralSet)
    case glob(Glob)
    case anything
    case program(RegexProgram)

    static func compile(regex: String, optimize: Bool) throws(RegexParseError) -> ValuePattern {
        let tree = try RE2Parser.parse(regex)
        if optimize, let fast = FastPath.pattern(for: tree) { return fast }
        return .program(try RegexProgram(tree))
    }

    func matches(_ value: String) -> Bool {
        switch self {
        case .literal(let literal): return UTF8Bytes.equal(literal, value)
        case .set(let set): return set.contains(value)
        case .glob(let glob): return UTF8Bytes.withBytes(value) { glob.matches($0) }
        case .anything: return true
        case .program(let program): return program.matches(value)
        }
    }

    var finiteValues: [String]? {
        switch self {
        case .literal(let literal): return [literal]
        case .set(let set): return set.members
        default: return nil
        }
    }

    var isAnything: Bool {
        if case .anything = self { return true }
        return false
    }

    /// Which implementation runs, for tests and debugging.
    var kind: String {
        switch self {
        case .literal: return "literal"
        case .set: return "set"
        case .glob: return "glob"
        case .anything: return "anything"
        case .program: return "program"
        }
    }
}

/// Distinct literal strings; linear comparison for a few, hashing beyond.
struct LiteralSet: Sendable {
    let members: [String]
    private let hashed: Set<UTF8Key>?

    init(_ members: [String]) {
        self.members = members
        hashed = members.count > 8 ? Set(members.map(UTF8Key.init)) : nil
    }

    func contains(_ value: String) -> Bool {
        if let hashed { return hashed.contains(UTF8Key(value)) }
        return members.contains { UTF8Bytes.equal($0, value) }
    }
}

/// Literal pieces separated by gaps of "at least n of any character" (`.*` is n = 0,
/// `.+` is n = 1): `prefix gap middle gap ... gap suffix`. Matching places each middle
/// piece at its leftmost possible position, which is optimal because every gap is
/// unbounded above, so no backtracking is ever needed.
struct Glob: Sendable {
    let prefix: [UInt8]
    let middles: [[UInt8]]
    /// Minimum number of Unicode scalars in each gap; `middles.count + 1` entries.
    let gaps: [Int]
    let suffix: [UInt8]

    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= prefix.count + suffix.count,
              ByteSearch.hasPrefix(bytes, prefix), ByteSearch.hasSuffix(bytes, suffix) else { return false }
        let end = bytes.count - suffix.count
        var position = prefix.count
        for (gap, middle) in zip(gaps, middles) {
            guard let start = ByteSearch.skipScalars(bytes, from: position, count: gap, limit: end),
                  let found = ByteSearch.find(middle, in: bytes, from: start, to: end) else { return false }
            position = found + middle.count
        }
        return ByteSearch.skipScalars(bytes, from: position, count: gaps[gaps.count - 1], limit: end) != nil
    }
}

enum ByteSearch {
    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8]) -> Bool {
        prefix.count <= bytes.count && prefix.indices.allSatisfy { bytes[$0] == prefix[$0] }
    }

    static func hasSuffix(_ bytes: UnsafeBufferPointer<UInt8>, _ suffix: [UInt8]) -> Bool {
        let offset = bytes.count - suffix.count
        return offset >= 0 && suffix.indices.allSatisfy { bytes[offset + $0] == suffix[$0] }
    }

    /// The position after `count` scalars from `position`, if they fit before `limit`.
    static func skipScalars(_ bytes: UnsafeBufferPointer<UInt8>, from position: Int, count: Int, limit: Int) -> Int? {
        var position = position
        for _ in 0..<count {
            guard position < limit else { return nil }
            position += 1
            while position < limit && bytes[position] & 0xC0 == 0x80 { position += 1 }
        }
        return position
    }

    /// Leftmost start of `needle` within `bytes[from..<to]`.
    static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        guard let first = needle.first else { return from }
        var start = from
        while start + needle.count <= to {
            if bytes[start] == first {
                var offset = 1
                while offset < needle.count && bytes[start + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return start }
            }
            start += 1
        }
        return nil
    }
}
