import VigilService

/// A relabel `regex`: RE2 syntax, anchored at both ends, `.` matching newlines too, because
/// Prometheus compiles it as `^(?s:` + regex + `)$` (so `a)(b` is accepted, as there).
///
/// Whether a value matches is decided by the index's RE2 automaton (``ValuePattern``, the
/// engine behind ``LabelMatcher``): keep, drop, labelkeep, labeldrop and the match test of
/// replace and labelmap are exact RE2 and linear in the value's length. That engine does not
/// track capture groups, so when a template refers to groups (`$1`, `${name}`) they are
/// taken from Swift's `Regex` running a translation of the expression into its syntax, only
/// on values RE2 already matched. Known differences in group values from Go, for inputs
/// that RE2 matches:
/// - case-insensitive matching folds as Swift does (`(?i)σ` does not match `ς` there), so
///   the capture engine may find no match; then `$0` is the whole value and every other
///   group is empty;
/// - a repeated group that can match empty (`(a*)+` on `aa`) may report a different
///   iteration than Go's engine (Swift reports the empty last one);
/// - Swift's engine backtracks: a pathological expression can be slow on a value it
///   matches (RE2 has already rejected the values it does not match).
public struct RelabelRegex: Sendable, CustomStringConvertible {
    /// The expression as written in the configuration, without the anchoring.
    public let pattern: String
    /// True only for the default `(.*)` of an absent `regex` key: Prometheus compares the
    /// compiled default by identity, so `keepequal` refuses an explicit `regex: (.*)`.
    let isDefault: Bool
    private let matcher: ValuePattern
    /// `(.*)`: group 1 is the whole value, no engine needed.
    private let capturesWholeValue: Bool
    private let captureProgram: CaptureProgram?
    /// Name of each capture group (index 0 is the whole match, never named).
    let groupNames: [String?]
    /// Set when Swift's `Regex` rejects the translated expression.
    let captureUnavailableReason: String?

    /// `(.*)`, the value of an absent `regex` key.
    public static let `default`: RelabelRegex = {
        do {
            return try RelabelRegex("(.*)", isDefault: true)
        } catch {
            preconditionFailure("default relabel regex does not compile: \(error)")
        }
    }()

    /// Parses `pattern` as Go's `regexp.Compile("^(?s:" + pattern + ")$")` would, failing
    /// with Go's message when RE2 rejects it.
    public init(_ pattern: String) throws(RegexParseError) {
        try self.init(pattern, isDefault: false)
    }

    private init(_ pattern: String, isDefault: Bool) throws(RegexParseError) {
        self.pattern = pattern
        self.isDefault = isDefault
        matcher = try ValuePattern.compile(regex: "^(?s:" + pattern + ")$", optimize: true)
        capturesWholeValue = pattern == "(.*)"
        let translation = RE2Translation(pattern)
        groupNames = translation.groupNames
        do {
            captureProgram = try CaptureProgram(translation.swiftPattern)
            captureUnavailableReason = nil
        } catch {
            captureProgram = nil
            captureUnavailableReason = "\(error)"
        }
    }

    public var description: String { pattern }

    /// Whole-value RE2 match.
    func matches(_ value: String) -> Bool {
        matcher.matches(value)
    }

    /// The groups of `value`, which must be one `matches` accepted.
    func submatches(of value: String) -> Submatches {
        var groups = [Substring?](repeating: nil, count: groupNames.count)
        groups[0] = value[...]
        if capturesWholeValue {
            groups[1] = value[...]
        } else if let captured = captureProgram?.groups(of: value) {
            for index in captured.indices where index < groups.count { groups[index] = captured[index] }
        }
        return Submatches(groups: groups, names: groupNames)
    }

    /// Capture groups of one match, for template expansion.
    struct Submatches {
        /// Index 0 is the whole value; nil for a group that took no part in the match.
        let groups: [Substring?]
        let names: [String?]

        func group(_ number: Int) -> Substring? {
            number < groups.count ? groups[number] : nil
        }

        /// Go's rule: the first group with this name that took part in the match.
        func group(named name: String) -> Substring? {
            for index in names.indices where names[index].map({ UTF8Bytes.equal($0, name) }) == true {
                if let value = groups[index] { return value }
            }
            return nil
        }
    }
}

/// Swift's `Regex` is not `Sendable` (its generic output need not be). This one has
/// `AnyRegexOutput` and is only read after `init`, which runs it once so the lazily compiled
/// program exists before the value is shared between tasks.
private final class CaptureProgram: @unchecked Sendable {
    private let regex: Regex<AnyRegexOutput>

    init(_ swiftPattern: String) throws {
        regex = try Regex(swiftPattern)
            .matchingSemantics(.unicodeScalar)  // Go matches runes, not grapheme clusters
            .asciiOnlyCharacterClasses()
            .wordBoundaryKind(.simple)  // RE2's \b is ASCII-only
        _ = try regex.wholeMatch(in: "")
    }

    /// All groups of a whole-value match (index 0 is the match), or nil without one.
    func groups(of value: String) -> [Substring?]? {
        guard let match = try? regex.wholeMatch(in: value) else { return nil }
        return match.output.map(\.substring)
    }
}

/// Rewrites an RE2 expression that `RE2Parser` accepted into Swift `Regex` syntax with the
/// same meaning, wrapped as `(?s:...)`. Needed because the two syntaxes differ: Swift has no
/// `\pL` shorthand or `\p{^X}`, reads `\12` as a back-reference, `x{,3}` as a repeat,
/// `&&`/`--`/`~~` and `[` inside brackets as set operators, and its POSIX classes and `\s`
/// are wider than RE2's ASCII ones. So bracket members become `\x{...}` code points, RE2's
/// Perl and POSIX classes become explicit ASCII ranges, and capture names are kept here
/// (groups are emitted unnamed, which sidesteps Swift's stricter naming rules).
private struct RE2Translation {
    private(set) var swiftPattern = "(?s:"
    private(set) var groupNames: [String?] = [nil]
    private let scalars: [Unicode.Scalar]
    private var index = 0

    private static let digitRanges = "0-9"
    private static let wordRanges = "0-9A-Za-z_"
    private static let spaceMembers = "\\t\\n\\f\\r "  // RE2's \s has no \v
    /// RE2's POSIX classes, ASCII only (https://github.com/google/re2/wiki/Syntax).
    private static let posixRanges: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "alpha": [0x41...0x5A, 0x61...0x7A],
        "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20],
        "cntrl": [0x00...0x1F, 0x7F...0x7F],
        "digit": [0x30...0x39],
        "graph": [0x21...0x7E],
        "lower": [0x61...0x7A],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A],
        "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
        "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    init(_ re2: String) {
        scalars = Array(re2.unicodeScalars)
        while index < scalars.count {
            let current = scalars[index]
            switch current {
            case "\\": translateEscape()
            case "[": translateBracket()
            case "(": translateGroupOpening()
            case "{":
                if let end = repeatEnd() {
                    emit(scalars[index..<end])
                    index = end
                } else {
                    swiftPattern += "\\{"
                    index += 1
                }
            case "}", "]":
                swiftPattern += "\\" + String(current)
                index += 1
            default:
                swiftPattern.unicodeScalars.append(current)
                index += 1
            }
        }
        swiftPattern += ")"
    }

    /// The ASCII members of `\d`, `\w`, `\s` (and of their negations `\D`, `\W`, `\S`).
    private static func perlClassMembers(_ kind: Unicode.Scalar) -> String {
        switch kind {
        case "d", "D": return digitRanges
        case "w", "W": return wordRanges
        default: return spaceMembers
        }
    }

    private func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func emit(_ part: ArraySlice<Unicode.Scalar>) {
        swiftPattern.unicodeScalars.append(contentsOf: part)
    }

    private static func codePoint(_ value: UInt32) -> String {
        "\\x{" + String(value, radix: 16) + "}"
    }

    private static func ranges(_ ranges: [ClosedRange<UInt32>]) -> String {
        ranges.map { range in
            range.lowerBound == range.upperBound
                ? codePoint(range.lowerBound)
                : codePoint(range.lowerBound) + "-" + codePoint(range.upperBound)
        }.joined()
    }

    /// `{n}`, `{n,}`, `{n,m}` as Go's `parseRepeat` reads them (no leading zeros); anything
    /// else leaves `{` a literal. Returns the index after `}`.
    private func repeatEnd() -> Int? {
        var position = index + 1
        func number() -> Bool {
            let start = position
            while position < scalars.count, ("0"..."9").contains(scalars[position]) { position += 1 }
            return position > start && (position - start == 1 || scalars[start] != "0")
        }
        guard number() else { return nil }
        if position < scalars.count && scalars[position] == "," {
            position += 1
            if position < scalars.count && scalars[position] != "}" && !number() { return nil }
        }
        guard position < scalars.count && scalars[position] == "}" else { return nil }
        return position + 1
    }

    /// `(`, `(?P<name>`, `(?<name>` open a capture (emitted unnamed); `(?flags)` and
    /// `(?flags:` pass through, Swift reads `i`, `m`, `s` and `U` as RE2 does.
    private mutating func translateGroupOpening() {
        guard peek(1) == "?" else {
            groupNames.append(nil)
            swiftPattern += "("
            index += 1
            return
        }
        let nameStart: Int? = peek(2) == "P" && peek(3) == "<" ? index + 4 : peek(2) == "<" ? index + 3 : nil
        if let nameStart, let close = scalars[nameStart...].firstIndex(of: ">") {
            var name = String.UnicodeScalarView()
            name.append(contentsOf: scalars[nameStart..<close])
            groupNames.append(String(name))
            swiftPattern += "("
            index = close + 1
            return
        }
        let start = index
        index += 2
        while index < scalars.count, scalars[index] != ")", scalars[index] != ":" { index += 1 }
        index = min(index + 1, scalars.count)
        emit(scalars[start..<index])
    }

    private mutating func translateEscape() {
        guard let kind = peek(1) else {
            index += 1
            return
        }
        switch kind {
        case "Q":
            index += 2
            while index < scalars.count && !(scalars[index] == "\\" && peek(1) == "E") {
                swiftPattern += Self.codePoint(scalars[index].value)
                index += 1
            }
            index = min(index + 2, scalars.count)
        case "p", "P":
            swiftPattern += unicodeClass()
        case "d", "D", "w", "W", "s", "S":
            index += 2
            swiftPattern += (kind.properties.isUppercase ? "[^" : "[") + Self.perlClassMembers(kind) + "]"
        case "A", "z", "b", "B":
            emit(scalars[index..<index + 2])
            index += 2
        default:
            swiftPattern += Self.codePoint(escapedScalar())
        }
    }

    /// `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL`... as `\p{...}` / `\P{...}`.
    private mutating func unicodeClass() -> String {
        var negated = scalars[index + 1] == "P"
        index += 2
        var name = String.UnicodeScalarView()
        if peek(0) == "{" {
            index += 1
            while index < scalars.count && scalars[index] != "}" {
                name.append(scalars[index])
                index += 1
            }
            index += 1
        } else if index < scalars.count {
            name.append(scalars[index])
            index += 1
        }
        if name.first == "^" {
            negated.toggle()
            name.removeFirst()
        }
        return (negated ? "\\P{" : "\\p{") + String(name) + "}"
    }

    /// The scalar an escape such as `\x41`, `\x{263a}`, `\101`, `\n` or `\.` stands for;
    /// `index` is at the backslash.
    private mutating func escapedScalar() -> UInt32 {
        let kind = scalars[index + 1]
        index += 2
        switch kind {
        case "0"..."7":
            var value = kind.value - 0x30
            var digits = 1
            while digits < 3, let next = peek(0), ("0"..."7").contains(next) {
                value = value * 8 + next.value - 0x30
                index += 1
                digits += 1
            }
            return value
        case "x":
            var digits = String.UnicodeScalarView()
            if peek(0) == "{" {
                index += 1
                while index < scalars.count && scalars[index] != "}" {
                    digits.append(scalars[index])
                    index += 1
                }
                index += 1
            } else {
                digits.append(contentsOf: scalars[index..<min(index + 2, scalars.count)])
                index += 2
            }
            return UInt32(String(digits), radix: 16) ?? 0
        case "a": return 0x07
        case "f": return 0x0C
        case "t": return 0x09
        case "n": return 0x0A
        case "r": return 0x0D
        case "v": return 0x0B
        default: return kind.value
        }
    }

    /// A bracket expression, members rewritten as code points or explicit ranges. Go's
    /// rules: `]` right after `[` or `[^` is a member; `-` is a range only between members.
    private mutating func translateBracket() {
        index += 1
        swiftPattern += "["
        if peek(0) == "^" {
            swiftPattern += "^"
            index += 1
        }
        var first = true
        while index < scalars.count && (scalars[index] != "]" || first) {
            first = false
            if let posix = posixClass() {
                swiftPattern += posix
                continue
            }
            if scalars[index] == "\\", let kind = peek(1) {
                switch kind {
                case "p", "P":
                    swiftPattern += unicodeClass()
                    continue
                case "d", "D", "w", "W", "s", "S":
                    index += 2
                    let members = Self.perlClassMembers(kind)
                    swiftPattern += kind.properties.isUppercase ? "[^" + members + "]" : members
                    continue
                default:
                    break
                }
            }
            let low = bracketMember()
            if peek(0) == "-", let after = peek(1), after != "]" {
                index += 1
                swiftPattern += Self.codePoint(low) + "-" + Self.codePoint(bracketMember())
            } else {
                swiftPattern += Self.codePoint(low)
            }
        }
        index += 1
        swiftPattern += "]"
    }

    private mutating func bracketMember() -> UInt32 {
        if scalars[index] == "\\" { return escapedScalar() }
        index += 1
        return scalars[index - 1].value
    }

    /// `[:alpha:]` or `[:^alpha:]` inside brackets, as ranges (a nested negated set for
    /// the `^` form); nil when the text is not a POSIX class, so `[` is a member.
    private mutating func posixClass() -> String? {
        guard scalars[index] == "[", peek(1) == ":" else { return nil }
        var position = index + 2
        while position + 1 < scalars.count && !(scalars[position] == ":" && scalars[position + 1] == "]") {
            position += 1
        }
        guard position + 1 < scalars.count else { return nil }
        var name = String.UnicodeScalarView()
        name.append(contentsOf: scalars[(index + 2)..<position])
        let negated = name.first == "^"
        if negated { name.removeFirst() }
        guard let ranges = Self.posixRanges[String(name)] else { return nil }
        index = position + 2
        return negated ? "[^" + Self.ranges(ranges) + "]" : Self.ranges(ranges)
    }
}
