/// Parses a PromQL series selector — `name`, `name{l="v", l2=~"re"}`, `{__name__="x"}`,
/// with the quoted UTF-8 names of Prometheus 3 (`{"name.with.dots", "l.x"="v"}`) — into
/// label matchers. Used by the match[] parameters of the metadata APIs; the full PromQL
/// parser builds on the same rules.
public struct SeriesSelector {
    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case unexpected(position: Int, found: String, expected: String)
        case invalidRegex(String)
        case empty

        public var description: String {
            switch self {
            case .unexpected(let position, let found, let expected):
                return "1:\(position + 1): parse error: unexpected \(found), expected \(expected)"
            case .invalidRegex(let message):
                return message
            case .empty:
                return "vector selector must contain at least one non-empty matcher"
            }
        }
    }

    private let chars: [Character]
    private var index = 0

    public static func parse(_ text: String) throws(ParseError) -> [LabelMatcher] {
        var parser = SeriesSelector(chars: Array(text))
        let matchers = try parser.parseSelector()
        // Like Prometheus: at least one matcher must not match the empty string.
        guard matchers.contains(where: { !$0.matches("") }) else { throw .empty }
        return matchers
    }

    private init(chars: [Character]) { self.chars = chars }

    private mutating func parseSelector() throws(ParseError) -> [LabelMatcher] {
        skipSpace()
        var matchers: [LabelMatcher] = []
        if let first = peek(), isIdentifierStart(first) {
            let name = readIdentifier(allowColon: true)
            matchers.append(try makeMatcher(.equal, "__name__", name))
            skipSpace()
        }
        if peek() == "{" {
            index += 1
            matchers.append(contentsOf: try parseMatcherList())
        }
        skipSpace()
        if let extra = peek() { throw .unexpected(position: index, found: "character \"\(extra)\"", expected: "end of selector") }
        if matchers.isEmpty { throw .unexpected(position: index, found: "end of input", expected: "metric name or \"{\"") }
        return matchers
    }

    private mutating func parseMatcherList() throws(ParseError) -> [LabelMatcher] {
        var matchers: [LabelMatcher] = []
        while true {
            skipSpace()
            if peek() == "}" { index += 1; return matchers }
            let name: String
            if peek() == "\"" || peek() == "'" || peek() == "`" {
                name = try readString()
                skipSpace()
                // A lone quoted string is a metric name (Prometheus 3 UTF-8 syntax).
                if peek() == "," || peek() == "}" {
                    matchers.append(try makeMatcher(.equal, "__name__", name))
                    if peek() == "," { index += 1 }
                    continue
                }
            } else if let c = peek(), isIdentifierStart(c) {
                name = readIdentifier(allowColon: false)
            } else {
                throw .unexpected(position: index, found: describe(peek()), expected: "label matching operator or \"}\"")
            }
            skipSpace()
            let type = try readOperator()
            skipSpace()
            guard peek() == "\"" || peek() == "'" || peek() == "`" else {
                throw .unexpected(position: index, found: describe(peek()), expected: "string")
            }
            let value = try readString()
            matchers.append(try makeMatcher(type, name, value))
            skipSpace()
            if peek() == "," { index += 1; continue }
            if peek() == "}" { continue }
            throw .unexpected(position: index, found: describe(peek()), expected: "\",\" or \"}\"")
        }
    }

    private mutating func readOperator() throws(ParseError) -> LabelMatcher.MatchType {
        let two = index + 1 < chars.count ? String(chars[index...index + 1]) : ""
        switch two {
        case "!=": index += 2; return .notEqual
        case "=~": index += 2; return .regexMatch
        case "!~": index += 2; return .regexNoMatch
        default:
            if peek() == "=" { index += 1; return .equal }
            throw .unexpected(position: index, found: describe(peek()), expected: "label matching operator")
        }
    }

    private func makeMatcher(_ type: LabelMatcher.MatchType, _ name: String, _ value: String) throws(ParseError) -> LabelMatcher {
        do {
            return try LabelMatcher(type, name, value)
        } catch {
            throw .invalidRegex("\(error)")
        }
    }

    /// Double- and single-quoted strings with Go escapes; backquoted raw strings.
    private mutating func readString() throws(ParseError) -> String {
        let quote = chars[index]
        let start = index
        index += 1
        var out = ""
        while index < chars.count {
            let c = chars[index]
            index += 1
            if c == quote { return out }
            if c == "\\", quote != "`" {
                guard index < chars.count else { break }
                let e = chars[index]
                index += 1
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\", "\"", "'": out.append(e)
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "x", "u", "U":
                    let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    guard index + width <= chars.count, let code = UInt32(String(chars[index..<index + width]), radix: 16),
                          let scalar = Unicode.Scalar(code) else {
                        throw .unexpected(position: index, found: "invalid escape", expected: "\(width) hex digits")
                    }
                    out.unicodeScalars.append(scalar)
                    index += width
                default:
                    throw .unexpected(position: index - 1, found: "unknown escape sequence \"\\\(e)\"", expected: "a valid escape")
                }
            } else {
                out.append(c)
            }
        }
        throw .unexpected(position: start, found: "unterminated quoted string", expected: "closing \(quote)")
    }

    private mutating func readIdentifier(allowColon: Bool) -> String {
        let start = index
        while let c = peek(), c.isASCII, c.isLetter || c.isNumber || c == "_" || (allowColon && c == ":") { index += 1 }
        return String(chars[start..<index])
    }

    private func isIdentifierStart(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c == "_" || c == ":") }
    private func peek() -> Character? { index < chars.count ? chars[index] : nil }
    private mutating func skipSpace() { while let c = peek(), c.isWhitespace { index += 1 } }
    private func describe(_ c: Character?) -> String { c.map { "character \"\($0)\"" } ?? "end of input" }
}
