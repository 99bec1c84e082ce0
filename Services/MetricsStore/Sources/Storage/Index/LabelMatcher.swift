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
