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
