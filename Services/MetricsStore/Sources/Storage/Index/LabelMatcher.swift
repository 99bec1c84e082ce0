import Synchronization

/// One label matcher of a PromQL selector: `name op "value"`, with op `=`, `!=`, `=~` or `!~`.
///
/// Regular expressions behave as Prometheus's (`model/labels/matcher.go`, `regexp.go`):
/// RE2 syntax as Go's `regexp/syntax` parses it with Perl flags, always fully anchored, and
/// `.` matches `\n` too because Prometheus compiles `^(?s:re)$`. So `=~"fo"` does not match
/// `"foo"`, and `=~".*"` matches the empty string (and therefore series without the label).
///
/// Values compare by UTF-8 bytes. Common pattern shapes never run a regex engine: literals,
/// alternations of literals (`a|b|c`, also `x(a|b)`, up to 256 strings: a set lookup),
/// `.*`, `.+`, prefix `foo.*`, suffix `.*foo`, contains `.*foo.*` and any mix of literals
/// with `.*`/`.+` gaps. Everything else runs a Thompson automaton (``RegexProgram``) whose
/// time is linear in the value's length, as RE2's is; Swift's backtracking `Regex` is not
/// used for matching because `(a*)*b` takes seconds on a 25-character value there.
///
/// Equality and hashing consider `type`, `name` and `value` only.
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum MatchType: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"
    }

    public let type: MatchType
    public let name: String
    public let value: String
    /// What the positive form (`=` or `=~`) accepts; negative types invert it.
    let pattern: ValuePattern
    /// Whether the matcher accepts the empty string, so also series that lack the label.
    public let matchesEmpty: Bool

    /// Builds a matcher; regular expressions are parsed and compiled here, once.
    public init(_ type: MatchType, _ name: String, _ value: String) throws(RegexParseError) {
        try self.init(type, name, value, optimize: true)
    }

    /// `optimize: false` forces the automaton even where a fast path exists (tests compare
    /// the two).
    init(_ type: MatchType, _ name: String, _ value: String, optimize: Bool) throws(RegexParseError) {
        let pattern: ValuePattern
        switch type {
        case .equal, .notEqual: pattern = .literal(value)
        case .regexMatch, .regexNoMatch: pattern = try ValuePattern.compile(regex: value, optimize: optimize)
        }
        self.init(type: type, name: name, value: value, pattern: pattern)
    }

    private init(type: MatchType, name: String, value: String, pattern: ValuePattern) {
        self.type = type
        self.name = name
        self.value = value
        self.pattern = pattern
        let negative = type == .notEqual || type == .regexNoMatch
        self.matchesEmpty = pattern.matches("") != negative
    }

    public static func equal(_ name: String, _ value: String) -> LabelMatcher {
        LabelMatcher(type: .equal, name: name, value: value, pattern: .literal(value))
    }

    public static func notEqual(_ name: String, _ value: String) -> LabelMatcher {
        LabelMatcher(type: .notEqual, name: name, value: value, pattern: .literal(value))
    }

    public static func regex(_ name: String, _ pattern: String) throws(RegexParseError) -> LabelMatcher {
        try LabelMatcher(.regexMatch, name, pattern)
    }

    public static func notRegex(_ name: String, _ pattern: String) throws(RegexParseError) -> LabelMatcher {
        try LabelMatcher(.regexNoMatch, name, pattern)
    }

    /// `!=` and `!~`.
    public var isNegative: Bool { type == .notEqual || type == .regexNoMatch }

    public func matches(_ value: String) -> Bool {
        pattern.matches(value) != isNegative
    }

    /// The matcher accepting exactly the values this one rejects (`=` ↔ `!=`, `=~` ↔ `!~`).
    public var inverse: LabelMatcher {
        let flipped: MatchType
        switch type {
        case .equal: flipped = .notEqual
        case .notEqual: flipped = .equal
        case .regexMatch: flipped = .regexNoMatch
        case .regexNoMatch: flipped = .regexMatch
        }
        return LabelMatcher(type: flipped, name: name, value: value, pattern: pattern)
    }

    // MARK: Planning hints for the index

    /// The values this matcher accepts when they form a known finite set (`=`, `=~"a|b"`),
    /// so the index can look them up instead of scanning the label's values.
    var acceptedValues: [String]? { isNegative ? nil : pattern.finiteValues }

    /// The values this matcher rejects when they form a known finite set (`!=`, `!~"a|b"`).
    var rejectedValues: [String]? { isNegative ? pattern.finiteValues : nil }

    /// `=~".*"`: accepts every value and every series.
    var acceptsEverything: Bool { !isNegative && pattern.isAnything }

    /// `!~".*"`: accepts nothing, not even series lacking the label.
    var acceptsNothing: Bool { isNegative && pattern.isAnything }

    // MARK: Equatable, Hashable, description

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.type == rhs.type && UTF8Bytes.equal(lhs.name, rhs.name) && UTF8Bytes.equal(lhs.value, rhs.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        UTF8Bytes.hash(name, into: &hasher)
        UTF8Bytes.hash(value, into: &hasher)
    }

    /// `job=~"api|web"`, as Prometheus's `Matcher.String()` prints it.
    public var description: String {
        (GoQuote.isLegacyName(name) ? name : GoQuote.quote(name)) + type.rawValue + GoQuote.quote(value)
    }
}

/// A regular expression that RE2 (Go's `regexp/syntax`) would reject, with Go's message:
/// `error parsing regexp: missing closing ): `(foo``. Prometheus returns exactly this text
/// (PromQL prefixes it with the position: `1:6: parse error: error parsing regexp: ...`).
public struct RegexParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Go's `syntax.ErrorCode` values.
    public enum Code: String, Sendable {
        case invalidCharRange = "invalid character class range"
        case invalidEscape = "invalid escape sequence"
        case invalidNamedCapture = "invalid named capture"
        case invalidPerlOp = "invalid or unsupported Perl syntax"
        case invalidRepeatOp = "invalid nested repetition operator"
        case invalidRepeatSize = "invalid repeat count"
        case missingBracket = "missing closing ]"
        case missingParen = "missing closing )"
        case missingRepeatArgument = "missing argument to repetition operator"
        case trailingBackslash = "trailing backslash at end of expression"
        case unexpectedParen = "unexpected )"
        case nestingDepth = "expression nests too deeply"
        case tooLarge = "expression too large"
    }

    public let code: Code
    /// The offending part of the expression (the whole expression for parenthesis errors).
    public let expression: String

    public init(_ code: Code, _ expression: String) {
        self.code = code
        self.expression = expression
    }

    public var description: String { "error parsing regexp: \(code.rawValue): `\(expression)`" }
}

// MARK: - Compiled value patterns

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

// MARK: - Syntax tree

/// A parsed RE2 expression with flags already applied to each node.
indirect enum RegexNode: Sendable {
    case empty
    /// A scalar value (a surrogate is representable, as in Go, and matches nothing).
    case literal(UInt32, foldCase: Bool)
    case anyCharacter
    case anyCharacterExceptNewline
    case characterClass(CharacterClass)
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    case concatenation([RegexNode])
    case alternation([RegexNode])
    case group(RegexNode)
    /// `maximum == nil` is unbounded.
    case repetition(RegexNode, minimum: Int, maximum: Int?)
}

/// A bracket expression, Perl class (`\d`), POSIX class or Unicode class (`\pL`).
///
/// As in Go's parser, under `(?i)` each item is case-folded before its own negation
/// (`\W`, `[:^lower:]`, `\PL`), and the whole class is negated (`[^...]`) last.
struct CharacterClass: Sendable {
    /// A negated or non-range item.
    struct Group: Sendable {
        enum Members: Sendable {
            case ranges([ClosedRange<UInt32>])
            case property(UnicodeProperty)
        }

        let members: Members
        let negated: Bool

        func contains(_ value: UInt32) -> Bool {
            switch members {
            case .ranges(let ranges): return CharacterClass.rangesContain(ranges, value)
            case .property(let property): return property.contains(value)
            }
        }
    }

    /// Union of the plain items (characters, ranges, positive Perl and POSIX classes):
    /// sorted, non-overlapping, non-adjacent.
    let ranges: [ClosedRange<UInt32>]
    let groups: [Group]
    let negated: Bool
    let foldCase: Bool
    /// Membership of the 128 ASCII scalars, precomputed.
    private var ascii: (UInt64, UInt64) = (0, 0)

    init(ranges: [ClosedRange<UInt32>], groups: [Group] = [], negated: Bool = false, foldCase: Bool) {
        self.ranges = CharacterClass.normalize(ranges)
        self.groups = groups
        self.negated = negated
        self.foldCase = foldCase
        var low: UInt64 = 0
        var high: UInt64 = 0
        for value in UInt32(0)..<128 where slowContains(value) {
            if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
        }
        ascii = (low, high)
    }

    /// Whether the class has only plain items, so its scalars can be listed.
    var isPlainRanges: Bool { groups.isEmpty && !negated && !foldCase }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return ascii.0 & (1 << UInt64(value)) != 0 }
        if value < 128 { return ascii.1 & (1 << UInt64(value - 64)) != 0 }
        return slowContains(value)
    }

    private func slowContains(_ value: UInt32) -> Bool {
        itemsContain(value) != negated
    }

    private func itemsContain(_ value: UInt32) -> Bool {
        if !ranges.isEmpty && folded(value, { CharacterClass.rangesContain(ranges, $0) }) { return true }
        return groups.contains { group in folded(value, group.contains) != group.negated }
    }

    /// Whether `value` or, under `(?i)`, any scalar of its case orbit passes `test`.
    @inline(__always)
    private func folded(_ value: UInt32, _ test: (UInt32) -> Bool) -> Bool {
        foldCase ? CaseFolding.anyInOrbit(value, test) : test(value)
    }

    static func rangesContain(_ ranges: [ClosedRange<UInt32>], _ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < value { low = mid + 1 } else { high = mid }
        }
        return low < ranges.count && ranges[low].contains(value)
    }

    static func normalize(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}

/// `\p{...}` classes: `Any`, general categories (Go's names: `L`, `Lu`, ..., `Zs`) from
/// Swift's Unicode tables, and scripts (`Greek`, `Han`, ...), for which Swift has no public
/// table, so membership of one scalar is asked of a one-class Swift `Regex` (linear: one
/// class, one scalar).
enum UnicodeProperty: Sendable {
    case any
    case categories(UInt32)
    case script(ScriptTable)

    func contains(_ value: UInt32) -> Bool {
        switch self {
        case .any:
            return true
        case .categories(let mask):
            guard let scalar = Unicode.Scalar(value) else { return false }
            return mask & UnicodeProperty.bit(scalar.properties.generalCategory) != 0
        case .script(let table):
            guard let scalar = Unicode.Scalar(value) else { return false }
            return table.contains(scalar)
        }
    }

    /// Go accepts `Any`, general category names and script names; anything else is an error.
    static func named(_ name: String) -> UnicodeProperty? {
        if name == "Any" { return .any }
        if let mask = categoryMasks[name] { return .categories(mask) }
        let isIdentifier = name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) }
        guard isIdentifier, let first = name.unicodeScalars.first, ("A"..."Z").contains(first),
              let table = ScriptTable(name) else { return nil }
        return .script(table)
    }

    private static let categoryOrder: [(String, Unicode.GeneralCategory)] = [
        ("Lu", .uppercaseLetter), ("Ll", .lowercaseLetter), ("Lt", .titlecaseLetter),
        ("Lm", .modifierLetter), ("Lo", .otherLetter),
        ("Mn", .nonspacingMark), ("Mc", .spacingMark), ("Me", .enclosingMark),
        ("Nd", .decimalNumber), ("Nl", .letterNumber), ("No", .otherNumber),
        ("Pc", .connectorPunctuation), ("Pd", .dashPunctuation), ("Ps", .openPunctuation),
        ("Pe", .closePunctuation), ("Pi", .initialPunctuation), ("Pf", .finalPunctuation),
        ("Po", .otherPunctuation),
        ("Sm", .mathSymbol), ("Sc", .currencySymbol), ("Sk", .modifierSymbol), ("So", .otherSymbol),
        ("Zs", .spaceSeparator), ("Zl", .lineSeparator), ("Zp", .paragraphSeparator),
        ("Cc", .control), ("Cf", .format), ("Cs", .surrogate), ("Co", .privateUse),
    ]

    private static func bit(_ category: Unicode.GeneralCategory) -> UInt32 {
        categoryBits[category] ?? 0  // unassigned (Cn), which Go has no name for
    }

    private static let categoryBits: [Unicode.GeneralCategory: UInt32] = {
        var bits: [Unicode.GeneralCategory: UInt32] = [:]
        for (index, entry) in categoryOrder.enumerated() { bits[entry.1] = 1 << UInt32(index) }
        return bits
    }()

    /// Two-letter categories and their one-letter groups (Go's `C` has no `Cn`).
    private static let categoryMasks: [String: UInt32] = {
        var masks: [String: UInt32] = [:]
        for (index, entry) in categoryOrder.enumerated() {
            masks[entry.0] = 1 << UInt32(index)
            masks[String(entry.0.prefix(1)), default: 0] |= 1 << UInt32(index)
        }
        return masks
    }()
}

/// Script membership (`Script`, not `Script_Extensions`, as in Go) via Swift's own tables.
/// `Regex` is not `Sendable`; the mutex makes the shared instance safe for concurrent
/// queries.
final class ScriptTable: Sendable {
    private let regex: Mutex<Regex<AnyRegexOutput>>

    init?(_ name: String) {
        guard let compiled = try? Regex("\\p{sc=\(name)}").matchingSemantics(.unicodeScalar) else { return nil }
        regex = Mutex(compiled)
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let text = String(scalar)
        return regex.withLock { (try? $0.wholeMatch(in: text)) != nil }
    }
}

/// Case-insensitive (`(?i)`) matching with RE2's Unicode simple case folding orbits.
/// Every member of an orbit has the same canonical form, the lowercase of its uppercase
/// (single-scalar mappings from Swift's tables); an orbit is that form, its uppercase and
/// the few extra members listed below (from Unicode's CaseFolding.txt, the orbits Go's
/// `unicode.SimpleFold` cycles through). U+0130 and U+0131 (Turkish i) fold only to
/// themselves, as in RE2.
enum CaseFolding {
    static func canonical(_ value: UInt32) -> UInt32 {
        if value < 0x80 { return (0x41...0x5A).contains(value) ? value + 0x20 : value }
        if value == 0x130 || value == 0x131 { return value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        let upper = single(scalar.properties.uppercaseMapping) ?? scalar
        return (single(upper.properties.lowercaseMapping) ?? upper).value
    }

    static func upper(_ value: UInt32) -> UInt32 {
        if value < 0x80 { return (0x61...0x7A).contains(value) ? value - 0x20 : value }
        if value == 0x131 { return value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        return (single(scalar.properties.uppercaseMapping) ?? scalar).value
    }

    static func hasOtherCase(_ value: UInt32) -> Bool {
        let folded = canonical(value)
        return folded != value || upper(folded) != value || extraMembers[folded] != nil
    }

    /// Whether any scalar case-equivalent to `value` passes `test`.
    static func anyInOrbit(_ value: UInt32, _ test: (UInt32) -> Bool) -> Bool {
        if test(value) { return true }
        let folded = canonical(value)
        if test(folded) || test(upper(folded)) { return true }
        return extraMembers[folded]?.contains(where: test) ?? false
    }

    /// Orbit members that are neither the canonical form nor its uppercase, by canonical form.
    private static let extraMembers: [UInt32: [UInt32]] = [
        0x006B: [0x212A],  // k K KELVIN SIGN
        0x0073: [0x017F],  // s S LONG S
        0x00E5: [0x212B],  // å Å ANGSTROM SIGN
        0x00DF: [0x1E9E],  // ß CAPITAL SHARP S
        0x01C6: [0x01C5], 0x01C9: [0x01C8], 0x01CC: [0x01CB], 0x01F3: [0x01F2],  // titlecase digraphs
        0x03B2: [0x03D0], 0x03B5: [0x03F5], 0x03B8: [0x03D1, 0x03F4], 0x03B9: [0x0345, 0x1FBE],
        0x03BA: [0x03F0], 0x03BC: [0x00B5], 0x03C0: [0x03D6], 0x03C1: [0x03F1], 0x03C3: [0x03C2],
        0x03C6: [0x03D5], 0x03C9: [0x2126],  // Greek symbol variants, MICRO SIGN, OHM SIGN
        0x0432: [0x1C80], 0x0434: [0x1C81], 0x043E: [0x1C82], 0x0441: [0x1C83], 0x0442: [0x1C84, 0x1C85],
        0x044A: [0x1C86], 0x0463: [0x1C87], 0xA64B: [0x1C88],  // Cyrillic small variants
        0x1E61: [0x1E9B],  // ṡ ẛ
    ]

    private static func single(_ string: String) -> Unicode.Scalar? {
        var scalars = string.unicodeScalars.makeIterator()
        guard let first = scalars.next(), scalars.next() == nil else { return nil }
        return first
    }
}

// MARK: - RE2 parser

/// A recursive-descent parser for RE2 syntax as Go's `regexp/syntax.Parse(re, Perl|DotNL)`
/// accepts it (https://github.com/google/re2/wiki/Syntax), with Go's error codes and
/// fragments. Flags (`i`, `m`, `s`) are resolved into the nodes; `U` and lazy `?` are
/// accepted and ignored because they change which match is found, never whether one exists.
/// Captures become plain groups.
struct RE2Parser {
    private struct Flags {
        var foldCase = false
        var dotMatchesNewline = true  // Prometheus wraps every expression in (?s:...)
        var multiLine = false
    }

    private let scalars: [Unicode.Scalar]
    private let whole: String
    private var index = 0
    private var flags = Flags()
    private var depth = 0

    static let maxNesting = 1000
    static let maxRepeat = 1000

    static func parse(_ pattern: String) throws(RegexParseError) -> RegexNode {
        var parser = RE2Parser(scalars: Array(pattern.unicodeScalars), whole: pattern)
        let tree = try parser.parseAlternation()
        if parser.index < parser.scalars.count { throw RegexParseError(.unexpectedParen, pattern) }
        return tree
    }

    private init(scalars: [Unicode.Scalar], whole: String) {
        self.scalars = scalars
        self.whole = whole
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[from..<min(to, scalars.count)])
        return String(view)
    }

    private func literal(_ value: UInt32) -> RegexNode {
        .literal(value, foldCase: flags.foldCase && CaseFolding.hasOtherCase(value))
    }

    private mutating func parseAlternation() throws(RegexParseError) -> RegexNode {
        var branches = [try parseConcatenation()]
        while peek() == "|" {
            index += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcatenation() throws(RegexParseError) -> RegexNode {
        var items: [RegexNode] = []
        var previousRepeat: Int?  // where the repetition operator just before started
        while let current = peek(), current != "|", current != ")" {
            var repeatStart: Int?
            switch current {
            case "(":
                if let group = try parseGroup() { items.append(group) }
            case "*", "+", "?":
                let start = index
                index += 1
                let bounds: (Int, Int?) = current == "*" ? (0, nil) : current == "+" ? (1, nil) : (0, 1)
                try applyRepeat(to: &items, bounds, operatorStart: start, previousRepeat: previousRepeat)
                repeatStart = start
            case "{":
                guard let spec = repeatSpec() else {
                    index += 1
                    items.append(literal(UInt32(UInt8(ascii: "{"))))
                    break
                }
                let start = index
                index = spec.end
                if spec.minimum > Self.maxRepeat || (spec.maximum ?? 0) > Self.maxRepeat
                    || spec.maximum.map({ spec.minimum > $0 }) == true {
                    throw RegexParseError(.invalidRepeatSize, text(start, index))
                }
                try applyRepeat(to: &items, (spec.minimum, spec.maximum), operatorStart: start, previousRepeat: previousRepeat)
                repeatStart = start
            case "^":
                index += 1
                items.append(flags.multiLine ? .beginLine : .beginText)
            case "$":
                index += 1
                items.append(flags.multiLine ? .endLine : .endText)
            case ".":
                index += 1
                items.append(flags.dotMatchesNewline ? .anyCharacter : .anyCharacterExceptNewline)
            case "[":
                items.append(.characterClass(try parseBracketClass()))
            case "\\":
                try parseEscape(into: &items)
            default:
                index += 1
                items.append(literal(current.value))
            }
            previousRepeat = repeatStart
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .concatenation(items)
    }

    private mutating func applyRepeat(
        to items: inout [RegexNode], _ bounds: (Int, Int?), operatorStart: Int, previousRepeat: Int?
    ) throws(RegexParseError) {
        if peek() == "?" { index += 1 }  // non-greedy: irrelevant to a yes/no whole match
        if let previousRepeat { throw RegexParseError(.invalidRepeatOp, text(previousRepeat, index)) }
        guard let operand = items.popLast() else {
            throw RegexParseError(.missingRepeatArgument, text(operatorStart, index))
        }
        items.append(.repetition(operand, minimum: bounds.0, maximum: bounds.1))
    }

    /// `{n}`, `{n,}` or `{n,m}` at `index`; anything else makes `{` a literal, as in Go.
    private func repeatSpec() -> (minimum: Int, maximum: Int?, end: Int)? {
        var position = index + 1
        guard let minimum = decimal(&position) else { return nil }
        var maximum: Int? = minimum
        if position < scalars.count && scalars[position] == "," {
            position += 1
            if position < scalars.count && scalars[position] == "}" {
                maximum = nil
            } else {
                guard let bound = decimal(&position) else { return nil }
                maximum = bound
            }
        }
        guard position < scalars.count && scalars[position] == "}" else { return nil }
        return (minimum, maximum, position + 1)
    }

    /// Go's `parseInt`: no leading zeros; huge values saturate above the repeat limit.
    private func decimal(_ position: inout Int) -> Int? {
        let start = position
        var value = 0
        while position < scalars.count, ("0"..."9").contains(scalars[position]) {
            value = min(value * 10 + Int(scalars[position].value - 0x30), Self.maxRepeat + 1)
            position += 1
        }
        if position == start { return nil }
        if position - start > 1 && scalars[start] == "0" { return nil }
        return value
    }

    /// `(`: a capture, a named capture, a flag change `(?i)` (returns nil) or a flagged
    /// non-capturing group `(?i:...)`.
    private mutating func parseGroup() throws(RegexParseError) -> RegexNode? {
        let open = index
        guard peek(1) == "?" else {
            index += 1
            return try parseGroupBody(flags: flags)
        }
        if (peek(2) == "P" && peek(3) == "<") || peek(2) == "<" {
            let nameStart = index + (peek(2) == "P" ? 4 : 3)
            guard let close = scalars[nameStart...].firstIndex(of: ">") else {
                throw RegexParseError(.invalidNamedCapture, text(open, scalars.count))
            }
            let name = scalars[nameStart..<close]
            let valid = !name.isEmpty && name.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) }
            guard valid else { throw RegexParseError(.invalidNamedCapture, text(open, close + 1)) }
            index = close + 1
            return try parseGroupBody(flags: flags)
        }
        var position = open + 2
        var newFlags = flags
        var negate = false
        var sawFlag = false
        while position < scalars.count {
            let current = scalars[position]
            position += 1
            switch current {
            case "i": newFlags.foldCase = !negate; sawFlag = true
            case "m": newFlags.multiLine = !negate; sawFlag = true
            case "s": newFlags.dotMatchesNewline = !negate; sawFlag = true
            case "U": sawFlag = true
            case "-" where !negate:
                negate = true
                sawFlag = false
            case ":", ")":
                if negate && !sawFlag { throw RegexParseError(.invalidPerlOp, text(open, position)) }
                index = position
                if current == ")" {
                    flags = newFlags  // until the end of the enclosing group
                    return nil
                }
                return try parseGroupBody(flags: newFlags)
            default:
                throw RegexParseError(.invalidPerlOp, text(open, position))
            }
        }
        throw RegexParseError(.invalidPerlOp, text(open, position))
    }

    private mutating func parseGroupBody(flags inner: Flags) throws(RegexParseError) -> RegexNode {
        depth += 1
        if depth > Self.maxNesting { throw RegexParseError(.nestingDepth, whole) }
        let outer = flags
        flags = inner
        let body = try parseAlternation()
        guard peek() == ")" else { throw RegexParseError(.missingParen, whole) }
        index += 1
        flags = outer
        depth -= 1
        return .group(body)
    }

    private mutating func parseEscape(into items: inout [RegexNode]) throws(RegexParseError) {
        let start = index
        guard let kind = peek(1) else { throw RegexParseError(.trailingBackslash, "") }
        switch kind {
        case "A": items.append(.beginText)
        case "z": items.append(.endText)
        case "b": items.append(.wordBoundary)
        case "B": items.append(.notWordBoundary)
        case "C": throw RegexParseError(.invalidEscape, "\\C")
        case "Q":
            index += 2
            while index < scalars.count {
                if scalars[index] == "\\" && peek(1) == "E" {
                    index += 2
                    return
                }
                items.append(literal(scalars[index].value))
                index += 1
            }
            return
        case "p", "P":
            let group = try parseUnicodeClass()
            items.append(.characterClass(CharacterClass(ranges: [], groups: [group], foldCase: flags.foldCase)))
            return
        case "d", "D", "s", "S", "w", "W":
            index += 2
            let group = Self.perlClass(kind)
            items.append(.characterClass(CharacterClass(ranges: [], groups: [group], foldCase: flags.foldCase)))
            return
        default:
            items.append(literal(try parseEscapedScalar()))
            return
        }
        index = start + 2
    }

    /// `\a \f \t \n \r \v`, octal `\0`, `\012`, `\123`, hex `\x7F`, `\x{10FFFF}` and escaped
    /// punctuation. `\1` alone is a backreference, which RE2 rejects.
    private mutating func parseEscapedScalar() throws(RegexParseError) -> UInt32 {
        let start = index
        index += 1
        guard let current = peek() else { throw RegexParseError(.trailingBackslash, "") }
        index += 1
        func isOctal(_ scalar: Unicode.Scalar?) -> Bool { scalar.map { ("0"..."7").contains($0) } ?? false }
        switch current {
        case "0"..."7":
            if current != "0" && !isOctal(peek()) { break }
            var value = current.value - 0x30
            for _ in 0..<2 where isOctal(peek()) {
                value = value * 8 + peek()!.value - 0x30
                index += 1
            }
            return value
        case "x":
            guard let first = peek() else { break }
            index += 1
            if first == "{" {
                var value: UInt32 = 0
                var digits = 0
                while true {
                    guard let next = peek() else { throw RegexParseError(.invalidEscape, text(start, index)) }
                    index += 1
                    if next == "}" { break }
                    guard let digit = Self.hexValue(next) else { throw RegexParseError(.invalidEscape, text(start, index)) }
                    value = value * 16 + digit
                    digits += 1
                    if value > 0x10FFFF { throw RegexParseError(.invalidEscape, text(start, index)) }
                }
                if digits == 0 { break }
                return value
            }
            guard let second = peek() else { break }
            index += 1
            guard let high = Self.hexValue(first), let low = Self.hexValue(second) else { break }
            return high * 16 + low
        case "a": return 0x07
        case "f": return 0x0C
        case "t": return 0x09
        case "n": return 0x0A
        case "r": return 0x0D
        case "v": return 0x0B
        default:
            if current.isASCII && !current.properties.isAlphabetic && !("0"..."9").contains(current) {
                return current.value
            }
        }
        throw RegexParseError(.invalidEscape, text(start, index))
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": return scalar.value - 0x30
        case "a"..."f": return scalar.value - 0x61 + 10
        case "A"..."F": return scalar.value - 0x41 + 10
        default: return nil
        }
    }

    /// `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}` at `index`.
    private mutating func parseUnicodeClass() throws(RegexParseError) -> CharacterClass.Group {
        let start = index
        var negated = scalars[index + 1] == "P"
        index += 2
        guard let first = peek() else { throw RegexParseError(.invalidCharRange, text(start, index)) }
        var name: String
        if first == "{" {
            guard let close = scalars[index...].firstIndex(of: "}") else {
                throw RegexParseError(.invalidCharRange, text(start, scalars.count))
            }
            name = text(index + 1, close)
            index = close + 1
        } else {
            name = String(first)
            index += 1
        }
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        guard let property = UnicodeProperty.named(name) else {
            throw RegexParseError(.invalidCharRange, text(start, index))
        }
        return CharacterClass.Group(members: .property(property), negated: negated)
    }

    /// `[...]` at `index`. As in Go: `]` first is a literal, `-` is a literal where it
    /// cannot form a range, `[` is a literal unless it opens `[:name:]`.
    private mutating func parseBracketClass() throws(RegexParseError) -> CharacterClass {
        let start = index
        index += 1
        var negated = false
        if peek() == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt32>] = []
        var groups: [CharacterClass.Group] = []
        var first = true
        while true {
            guard let current = peek() else { throw RegexParseError(.missingBracket, text(start, scalars.count)) }
            if current == "]" && !first {
                index += 1
                break
            }
            first = false
            if current == "[", peek(1) == ":", let close = findPOSIXClose(from: index + 2) {
                let name = text(index, close + 2)
                guard let posix = Self.posixClass(name) else { throw RegexParseError(.invalidCharRange, name) }
                groups.append(posix)
                index = close + 2
                continue
            }
            if current == "\\", let kind = peek(1) {
                if kind == "p" || kind == "P" {
                    groups.append(try parseUnicodeClass())
                    continue
                }
                if "dDsSwW".unicodeScalars.contains(kind) {
                    groups.append(Self.perlClass(kind))
                    index += 2
                    continue
                }
            }
            let rangeStart = index
            let low = try parseClassCharacter(classStart: start)
            var high = low
            if peek() == "-", let after = peek(1), after != "]" {
                index += 1
                high = try parseClassCharacter(classStart: start)
                if high < low { throw RegexParseError(.invalidCharRange, text(rangeStart, index)) }
            }
            ranges.append(low...high)
        }
        // Positive groups are plain ranges; keeping them in `ranges` lets small classes
        // such as `[\d]` expand into literal sets.
        var plainGroups: [CharacterClass.Group] = []
        for group in groups {
            if !group.negated, case .ranges(let members) = group.members {
                ranges += members
            } else {
                plainGroups.append(group)
            }
        }
        return CharacterClass(ranges: ranges, groups: plainGroups, negated: negated, foldCase: flags.foldCase)
    }

    private mutating func parseClassCharacter(classStart: Int) throws(RegexParseError) -> UInt32 {
        guard let current = peek() else { throw RegexParseError(.missingBracket, text(classStart, scalars.count)) }
        if current == "\\" { return try parseEscapedScalar() }
        index += 1
        return current.value
    }

    private func findPOSIXClose(from position: Int) -> Int? {
        var position = position
        while position + 1 < scalars.count {
            if scalars[position] == ":" && scalars[position + 1] == "]" { return position }
            position += 1
        }
        return nil
    }

    private static func perlClass(_ kind: Unicode.Scalar) -> CharacterClass.Group {
        let ranges: [ClosedRange<UInt32>]
        switch kind {
        case "d", "D": ranges = [0x30...0x39]
        case "s", "S": ranges = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]
        default: ranges = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        }
        return CharacterClass.Group(members: .ranges(ranges), negated: kind.properties.isUppercase)
    }

    /// Go's ASCII-only POSIX classes, `[:alpha:]` and negated `[:^alpha:]`.
    private static func posixClass(_ name: String) -> CharacterClass.Group? {
        let negated = name.hasPrefix("[:^")
        let bare = negated ? "[:" + name.dropFirst(3) : name
        let ranges: [ClosedRange<UInt32>]
        switch bare {
        case "[:alnum:]": ranges = [0x30...0x39, 0x41...0x5A, 0x61...0x7A]
        case "[:alpha:]": ranges = [0x41...0x5A, 0x61...0x7A]
        case "[:ascii:]": ranges = [0x00...0x7F]
        case "[:blank:]": ranges = [0x09...0x09, 0x20...0x20]
        case "[:cntrl:]": ranges = [0x00...0x1F, 0x7F...0x7F]
        case "[:digit:]": ranges = [0x30...0x39]
        case "[:graph:]": ranges = [0x21...0x7E]
        case "[:lower:]": ranges = [0x61...0x7A]
        case "[:print:]": ranges = [0x20...0x7E]
        case "[:punct:]": ranges = [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E]
        case "[:space:]": ranges = [0x09...0x0D, 0x20...0x20]
        case "[:upper:]": ranges = [0x41...0x5A]
        case "[:word:]": ranges = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        case "[:xdigit:]": ranges = [0x30...0x39, 0x41...0x46, 0x61...0x66]
        default: return nil
        }
        return CharacterClass.Group(members: .ranges(ranges), negated: negated)
    }
}

// MARK: - Fast paths

/// Recognises expressions that need no automaton, as Prometheus's `FastRegexMatcher` does.
enum FastPath {
    /// Prometheus's `maxSetMatches`.
    static let maxSetSize = 256

    static func pattern(for tree: RegexNode) -> ValuePattern? {
        let tree = stripEdgeAnchors(tree)
        if let strings = finiteStrings(tree), !strings.isEmpty {
            return strings.count == 1 ? .literal(strings[0]) : .set(LiteralSet(strings))
        }
        return glob(tree)
    }

    /// `^` and `$` (and `\A`, `\z`, multi-line forms) at the very start or end of a
    /// top-level branch are no-ops under whole-value matching.
    static func stripEdgeAnchors(_ node: RegexNode) -> RegexNode {
        switch node {
        case .group(let inner):
            return stripEdgeAnchors(inner)
        case .alternation(let branches):
            return .alternation(branches.map(stripEdgeAnchors))
        case .beginText, .beginLine, .endText, .endLine:
            return .empty
        case .concatenation(var items):
            while let first = items.first, isStartAnchor(first) { items.removeFirst() }
            while let last = items.last, isEndAnchor(last) { items.removeLast() }
            return items.count == 1 ? items[0] : items.isEmpty ? .empty : .concatenation(items)
        default:
            return node
        }
    }

    private static func isStartAnchor(_ node: RegexNode) -> Bool {
        if case .beginText = node { return true }
        if case .beginLine = node { return true }
        return false
    }

    private static func isEndAnchor(_ node: RegexNode) -> Bool {
        if case .endText = node { return true }
        if case .endLine = node { return true }
        return false
    }

    /// Every string the expression matches, if there are at most `maxSetSize`, found by
    /// expanding literals, alternations, small classes and bounded repeats (`x(a|b)?`).
    static func finiteStrings(_ node: RegexNode) -> [String]? {
        switch node {
        case .empty:
            return [""]
        case .literal(let value, let foldCase):
            guard !foldCase, let scalar = Unicode.Scalar(value) else { return nil }
            return [String(scalar)]
        case .group(let inner):
            return finiteStrings(inner)
        case .concatenation(let items):
            var result = [""]
            for item in items {
                guard let next = finiteStrings(item), result.count * next.count <= maxSetSize else { return nil }
                result = result.flatMap { head in next.map { head + $0 } }
            }
            return result
        case .alternation(let branches):
            var result: [String] = []
            var seen = Set<UTF8Key>()
            for branch in branches {
                guard let strings = finiteStrings(branch) else { return nil }
                for string in strings where seen.insert(UTF8Key(string)).inserted { result.append(string) }
                if result.count > maxSetSize { return nil }
            }
            return result
        case .characterClass(let characterClass):
            guard characterClass.isPlainRanges, characterClass.ranges.reduce(0, { $0 + $1.count }) <= 16 else {
                return nil
            }
            return characterClass.ranges.flatMap { $0 }.compactMap { Unicode.Scalar($0).map(String.init) }
        case .repetition(let inner, let minimum, let maximum):
            guard let maximum, let strings = finiteStrings(inner) else { return nil }
            var result: [String] = []
            var seen = Set<UTF8Key>()
            var power = [""]  // `inner` repeated `count` times
            for count in 0...maximum {
                if count >= minimum {
                    for string in power where seen.insert(UTF8Key(string)).inserted { result.append(string) }
                    if result.count > maxSetSize { return nil }
                }
                if count < maximum {
                    power = Array(Set(power.flatMap { head in strings.map { UTF8Key(head + $0) } })).map(\.string)
                    if power.count > maxSetSize { return nil }
                }
            }
            return result
        default:
            return nil
        }
    }

    private enum Piece {
        case text(String)
        case gap(Int)
    }

    /// Literals and `.*`/`.+`/`.{n,}` gaps in sequence; at least one gap.
    static func glob(_ node: RegexNode) -> ValuePattern? {
        var pieces: [Piece] = []
        guard flatten(node, into: &pieces) else { return nil }
        var texts: [[UInt8]] = [[]]
        var gaps: [Int] = []
        var gapOpen = false
        for piece in pieces {
            switch piece {
            case .text(let string):
                if gapOpen {
                    texts.append([])
                    gapOpen = false
                }
                texts[texts.count - 1] += Array(string.utf8)
            case .gap(let minimum):
                if gapOpen {
                    gaps[gaps.count - 1] += minimum
                } else {
                    gaps.append(minimum)
                    gapOpen = true
                }
            }
        }
        guard !gaps.isEmpty else { return nil }
        if gapOpen { texts.append([]) }
        if texts.allSatisfy(\.isEmpty) && gaps == [0] { return .anything }
        return .glob(Glob(prefix: texts[0], middles: Array(texts.dropFirst().dropLast()), gaps: gaps, suffix: texts[texts.count - 1]))
    }

    private static func flatten(_ node: RegexNode, into pieces: inout [Piece]) -> Bool {
        switch node {
        case .group(let inner):
            return flatten(inner, into: &pieces)
        case .concatenation(let items):
            return items.allSatisfy { flatten($0, into: &pieces) }
        case .repetition(let inner, let minimum, nil) where isAnyCharacter(inner):
            pieces.append(.gap(minimum))
            return true
        default:
            guard let strings = finiteStrings(node), strings.count == 1 else { return false }
            pieces.append(.text(strings[0]))
            return true
        }
    }

    private static func isAnyCharacter(_ node: RegexNode) -> Bool {
        switch node {
        case .anyCharacter: return true
        case .group(let inner): return isAnyCharacter(inner)
        default: return false
        }
    }
}

// MARK: - Automaton

/// A compiled RE2 expression run as a Thompson NFA simulation (the "Pike VM" without
/// captures): all alive states advance together one scalar at a time, so matching costs
/// O(value length × program size) whatever the expression, like RE2. Matches are whole-value
/// only. Before the automaton runs, a required literal prefix and suffix are checked.
final class RegexProgram: Sendable {
    enum Instruction: Sendable {
        case scalar(UInt32)
        case foldedScalar(UInt32)  // compares canonical case folds
        case characterClass(Int)
        case anyScalar
        case anyScalarExceptNewline
        case split(Int, Int)
        case jump(Int)
        case assertion(Assertion)
        case match
    }

    enum Assertion: Sendable {
        case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    }

    /// Go rejects programs that would exceed its size limit with "expression too large";
    /// this limit is lower than Go's, to bound the work per value.
    static let maxInstructions = 100_000

    let instructions: [Instruction]
    let classes: [CharacterClass]
    let requiredPrefix: [UInt8]
    let requiredSuffix: [UInt8]

    init(_ tree: RegexNode) throws(RegexParseError) {
        var builder = Builder()
        try builder.emit(tree)
        builder.instructions.append(.match)
        instructions = builder.instructions
        classes = builder.classes
        (requiredPrefix, requiredSuffix) = RegexProgram.requiredLiterals(FastPath.stripEdgeAnchors(tree))
    }

    func matches(_ value: String) -> Bool {
        UTF8Bytes.withBytes(value) { bytes in
            guard bytes.count >= requiredPrefix.count + requiredSuffix.count,
                  ByteSearch.hasPrefix(bytes, requiredPrefix),
                  ByteSearch.hasSuffix(bytes, requiredSuffix) else { return false }
            return run(bytes)
        }
    }

    // MARK: Compilation

    private struct Builder {
        var instructions: [Instruction] = []
        var classes: [CharacterClass] = []

        mutating func append(_ instruction: Instruction) throws(RegexParseError) -> Int {
            guard instructions.count < RegexProgram.maxInstructions else {
                throw RegexParseError(.tooLarge, "")
            }
            instructions.append(instruction)
            return instructions.count - 1
        }

        mutating func emit(_ node: RegexNode) throws(RegexParseError) {
            switch node {
            case .empty:
                break
            case .literal(let value, let foldCase):
                _ = try append(foldCase ? .foldedScalar(CaseFolding.canonical(value)) : .scalar(value))
            case .anyCharacter:
                _ = try append(.anyScalar)
            case .anyCharacterExceptNewline:
                _ = try append(.anyScalarExceptNewline)
            case .characterClass(let characterClass):
                classes.append(characterClass)
                _ = try append(.characterClass(classes.count - 1))
            case .beginText: _ = try append(.assertion(.beginText))
            case .endText: _ = try append(.assertion(.endText))
            case .beginLine: _ = try append(.assertion(.beginLine))
            case .endLine: _ = try append(.assertion(.endLine))
            case .wordBoundary: _ = try append(.assertion(.wordBoundary))
            case .notWordBoundary: _ = try append(.assertion(.notWordBoundary))
            case .group(let inner):
                try emit(inner)
            case .concatenation(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                try emitAlternation(branches)
            case .repetition(let inner, let minimum, let maximum):
                try emitRepetition(inner, minimum: minimum, maximum: maximum)
            }
        }

        private mutating func emitAlternation(_ branches: [RegexNode]) throws(RegexParseError) {
            var exits: [Int] = []
            for branch in branches.dropLast() {
                let split = try append(.split(0, 0))
                try emit(branch)
                exits.append(try append(.jump(0)))
                instructions[split] = .split(split + 1, instructions.count)
            }
            try emit(branches[branches.count - 1])
            for exit in exits { instructions[exit] = .jump(instructions.count) }
        }

        private mutating func emitRepetition(_ inner: RegexNode, minimum: Int, maximum: Int?) throws(RegexParseError) {
            guard let maximum else {
                if minimum == 0 {  // L: split(body, out); body; jump L
                    let loop = try append(.split(0, 0))
                    try emit(inner)
                    _ = try append(.jump(loop))
                    instructions[loop] = .split(loop + 1, instructions.count)
                    return
                }
                for _ in 0..<(minimum - 1) { try emit(inner) }
                let body = instructions.count  // L: body; split(L, out)
                try emit(inner)
                let split = try append(.split(body, 0))
                instructions[split] = .split(body, split + 1)
                return
            }
            for _ in 0..<minimum { try emit(inner) }
            var skips: [Int] = []
            for _ in minimum..<maximum {  // optional copies: split(body, out); body
                skips.append(try append(.split(0, 0)))
                try emit(inner)
            }
            for skip in skips { instructions[skip] = .split(skip + 1, instructions.count) }
        }
    }

    /// Literal text every match must start and end with (top-level concatenation only).
    private static func requiredLiterals(_ tree: RegexNode) -> ([UInt8], [UInt8]) {
        var node = tree
        while case .group(let inner) = node { node = inner }
        guard case .concatenation(let items) = node else { return ([], []) }
        func single(_ item: RegexNode) -> String? {
            guard let strings = FastPath.finiteStrings(item), strings.count == 1 else { return nil }
            return strings[0]
        }
        var prefix = ""
        var prefixItems = 0
        for item in items {
            guard let string = single(item) else { break }
            prefix += string
            prefixItems += 1
        }
        var suffix = ""
        for item in items[prefixItems...].reversed() {
            guard let string = single(item) else { break }
            suffix = string + suffix
        }
        return (Array(prefix.utf8), Array(suffix.utf8))
    }

    // MARK: Simulation

    private static let noScalar = UInt32.max

    private struct StateSet {
        let dense: UnsafeMutablePointer<Int32>
        let sparse: UnsafeMutablePointer<Int32>
        var count = 0

        @inline(__always)
        func contains(_ state: Int) -> Bool {
            let slot = Int(sparse[state])
            return slot < count && dense[slot] == Int32(state)
        }

        @inline(__always)
        mutating func insert(_ state: Int) {
            sparse[state] = Int32(count)
            dense[count] = Int32(state)
            count += 1
        }
    }

    private func run(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        let size = instructions.count
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 6 * size + 1) { scratch in
            let base = scratch.baseAddress!
            scratch.initialize(repeating: 0)
            var current = StateSet(dense: base, sparse: base + size)
            var next = StateSet(dense: base + 2 * size, sparse: base + 3 * size)
            let stack = base + 4 * size
            return instructions.withUnsafeBufferPointer { program in
                var position = 0
                var previous = Self.noScalar
                var (scalar, width) = Self.decode(input, at: 0)
                addState(0, to: &current, program: program, stack: stack, previous: previous, next: scalar)
                while position < input.count {
                    if current.count == 0 { return false }
                    position += width
                    let following: UInt32
                    (following, width) = Self.decode(input, at: position)
                    var folded = Self.noScalar
                    next.count = 0
                    for slot in 0..<current.count {
                        let state = Int(current.dense[slot])
                        let advances: Bool
                        switch program[state] {
                        case .scalar(let expected):
                            advances = scalar == expected
                        case .foldedScalar(let expected):
                            if folded == Self.noScalar { folded = CaseFolding.canonical(scalar) }
                            advances = folded == expected
                        case .characterClass(let index):
                            advances = classes[index].contains(scalar)
                        case .anyScalar:
                            advances = true
                        case .anyScalarExceptNewline:
                            advances = scalar != 0x0A
                        case .split, .jump, .assertion, .match:
                            advances = false
                        }
                        if advances {
                            addState(state + 1, to: &next, program: program, stack: stack, previous: scalar, next: following)
                        }
                    }
                    swap(&current, &next)
                    previous = scalar
                    scalar = following
                }
                return current.contains(size - 1)
            }
        }
    }

    /// Adds `state` and everything reachable from it without consuming input.
    @inline(__always)
    private func addState(
        _ state: Int, to set: inout StateSet, program: UnsafeBufferPointer<Instruction>,
        stack: UnsafeMutablePointer<Int32>, previous: UInt32, next: UInt32
    ) {
        stack[0] = Int32(state)
        var top = 1
        while top > 0 {
            top -= 1
            let state = Int(stack[top])
            if set.contains(state) { continue }
            set.insert(state)
            switch program[state] {
            case .jump(let target):
                stack[top] = Int32(target)
                top += 1
            case .split(let first, let second):
                stack[top] = Int32(second)
                stack[top + 1] = Int32(first)
                top += 2
            case .assertion(let assertion):
                if Self.holds(assertion, previous: previous, next: next) {
                    stack[top] = Int32(state + 1)
                    top += 1
                }
            default:
                break
            }
        }
    }

    private static func holds(_ assertion: Assertion, previous: UInt32, next: UInt32) -> Bool {
        switch assertion {
        case .beginText: return previous == noScalar
        case .endText: return next == noScalar
        case .beginLine: return previous == noScalar || previous == 0x0A
        case .endLine: return next == noScalar || next == 0x0A
        case .wordBoundary: return isWordCharacter(previous) != isWordCharacter(next)
        case .notWordBoundary: return isWordCharacter(previous) == isWordCharacter(next)
        }
    }

    /// RE2's `\b` is ASCII-only: `[0-9A-Za-z_]`.
    private static func isWordCharacter(_ value: UInt32) -> Bool {
        (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) || value == 0x5F
    }

    /// The scalar starting at `position` and its byte width, or `noScalar` at the end.
    /// Input is a Swift string, so it is valid UTF-8.
    @inline(__always)
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> (UInt32, Int) {
        guard position < bytes.count else { return (noScalar, 0) }
        let lead = UInt32(bytes[position])
        if lead < 0x80 { return (lead, 1) }
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(bytes[position + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            return ((lead & 0x0F) << 12 | UInt32(bytes[position + 1] & 0x3F) << 6 | UInt32(bytes[position + 2] & 0x3F), 3)
        }
        return ((lead & 0x07) << 18 | UInt32(bytes[position + 1] & 0x3F) << 12
            | UInt32(bytes[position + 2] & 0x3F) << 6 | UInt32(bytes[position + 3] & 0x3F), 4)
    }
}
