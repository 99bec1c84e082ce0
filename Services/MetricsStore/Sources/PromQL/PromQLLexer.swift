/// Splits a PromQL expression into tokens, following the states of upstream's `lex.go`:
/// inside `{...}` only label names, strings, matchers and commas are valid; inside `[...]`
/// only numbers, durations, `:` and (experimental) duration arithmetic; anywhere else the
/// expression language. Comments (`# ...` to end of line) are skipped.
///
/// Lexing stops at the first error, which becomes a `.error` token whose text is the
/// upstream message ("unexpected character: '$'", "unterminated quoted string", ...).
struct PromQLLexer {
    private let bytes: [UInt8]
    private var pos = 0
    private var parenDepth = 0
    private var braceOpen = false
    private var bracketOpen = false
    private var gotColon = false
    private var gotDuration = false
    /// Upstream leaves its duration-expression state after a number inside `[...]`; letters
    /// there then get lexStatements' message ("unexpected character: 'x', expected ':'").
    private var afterNumberInBrackets = false

    init(_ input: String) { bytes = Array(input.utf8) }

    /// All tokens up to and including `.eof` or the first `.error`.
    static func tokenize(_ input: String) -> [PromQLToken] {
        var lexer = PromQLLexer(input)
        var out: [PromQLToken] = []
        while true {
            let t = lexer.next()
            out.append(t)
            if t.kind == .eof || t.kind == .error { return out }
        }
    }

    // MARK: Character classes (ASCII, as upstream's isAlpha/isDigit)

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isAlpha(_ b: UInt8) -> Bool { b == 0x5F || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
    static func isAlphaNumeric(_ b: UInt8) -> Bool { isAlpha(b) || isDigit(b) }

    private func peek(_ offset: Int = 0) -> UInt8? { pos + offset < bytes.count ? bytes[pos + offset] : nil }

    private func text(_ from: Int, _ to: Int) -> String { String(decoding: bytes[from..<to], as: UTF8.self) }

    private func token(_ kind: PromQLTokenKind, _ start: Int) -> PromQLToken {
        PromQLToken(kind: kind, position: start, text: text(start, pos))
    }

    private func error(_ message: String, at start: Int) -> PromQLToken {
        PromQLToken(kind: .error, position: start, text: message)
    }

    /// Go's `%q` of one character (rune).
    private func quotedChar(at index: Int) -> String {
        guard index < bytes.count else { return "'\\x00'" }
        var it = bytes[index...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let s) = decoder.decode(&it) {
            switch s {
            case "'": return "'\\''"
            case "\\": return "'\\\\'"
            case "\n": return "'\\n'"
            case "\t": return "'\\t'"
            case "\r": return "'\\r'"
            default:
                let q = GoQuote.quote(String(s))
                return "'" + q.dropFirst().dropLast() + "'"
            }
        }
        return "'\u{FFFD}'"
    }

    private func scalarWidth(at index: Int) -> Int {
        let b = bytes[index]
        if b < 0x80 { return 1 }
        if b >= 0xF0 { return 4 }
        if b >= 0xE0 { return 3 }
        return 2
    }

    // MARK: Main dispatch

    mutating func next() -> PromQLToken {
        while true {
            if braceOpen { return lexInsideBraces() }
            if bracketOpen {
                guard let t = lexInsideBrackets() else { continue }
                afterNumberInBrackets = t.kind == .number || t.kind == .duration
                return t
            }
            guard let c = peek() else {
                if parenDepth > 0 { return error("unclosed left parenthesis", at: pos) }
                return PromQLToken(kind: .eof, position: pos, text: "")
            }
            if Self.isSpace(c) { pos += 1; continue }
            if c == UInt8(ascii: "#") { skipComment(); continue }
            return lexStatement(c)
        }
    }

    private mutating func skipComment() {
        while let c = peek(), c != 0x0A, c != 0x0D { pos += 1 }
    }

    private mutating func lexStatement(_ c: UInt8) -> PromQLToken {
        let start = pos
        pos += 1
        switch c {
        case UInt8(ascii: ","): return token(.comma, start)
        case UInt8(ascii: "*"): return token(.op(.mul), start)
        case UInt8(ascii: "/"): return token(.op(.div), start)
        case UInt8(ascii: "%"): return token(.op(.mod), start)
        case UInt8(ascii: "+"): return token(.op(.add), start)
        case UInt8(ascii: "-"): return token(.op(.sub), start)
        case UInt8(ascii: "^"): return token(.op(.pow), start)
        case UInt8(ascii: "@"): return token(.op(.at), start)
        case UInt8(ascii: "="):
            if peek() == UInt8(ascii: "=") { pos += 1; return token(.op(.eqlc), start) }
            if peek() == UInt8(ascii: "~") { return error("unexpected character after '=': '~'", at: start) }
            return token(.assign, start)
        case UInt8(ascii: "!"):
            guard peek() == UInt8(ascii: "=") else { return error("unexpected character after '!': \(quotedChar(at: pos))", at: start) }
            pos += 1
            return token(.op(.neq), start)
        case UInt8(ascii: "<"):
            if peek() == UInt8(ascii: "=") { pos += 1; return token(.op(.lte), start) }
            if peek() == UInt8(ascii: "/") { pos += 1; return token(.op(.trimUpper), start) }
            return token(.op(.lss), start)
        case UInt8(ascii: ">"):
            if peek() == UInt8(ascii: "=") { pos += 1; return token(.op(.gte), start) }
            if peek() == UInt8(ascii: "/") { pos += 1; return token(.op(.trimLower), start) }
            return token(.op(.gtr), start)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return lexString(quote: c, start: start)
        case UInt8(ascii: "`"): return lexRawString(start: start)
        case UInt8(ascii: "("):
            parenDepth += 1
            return token(.leftParen, start)
        case UInt8(ascii: ")"):
            parenDepth -= 1
            if parenDepth < 0 { return error("unexpected right parenthesis ')'", at: pos) }
            return token(.rightParen, start)
        case UInt8(ascii: "{"):
            braceOpen = true
            return token(.leftBrace, start)
        case UInt8(ascii: "["):
            bracketOpen = true
            gotColon = false
            gotDuration = false
            return token(.leftBracket, start)
        case UInt8(ascii: "]"): return error("unexpected right bracket ']'", at: start)
        default:
            if Self.isDigit(c) || (c == UInt8(ascii: ".") && peek().map(Self.isDigit) == true) {
                pos = start
                return lexNumberOrDuration(start: start)
            }
            if Self.isAlpha(c) || c == UInt8(ascii: ":") {
                pos = start
                return lexKeywordOrIdentifier(start: start)
            }
            return error("unexpected character: \(quotedChar(at: start))", at: start)
        }
    }

    private mutating func lexKeywordOrIdentifier(start: Int) -> PromQLToken {
        while let c = peek(), Self.isAlphaNumeric(c) || c == UInt8(ascii: ":") { pos += 1 }
        let word = text(start, pos)
        if word.lowercased() == "inf" || word.lowercased() == "nan" { return token(.number, start) }
        if let kw = PromQLKeyword(rawValue: word.lowercased()) {
            // fill/fill_left/fill_right are keywords only before "(" (else metric names).
            if [.fill, .fillLeft, .fillRight].contains(kw), !followedByLeftParen() {
                return token(.identifier, start)
            }
            return token(.keyword(kw), start)
        }
        return token(word.contains(":") ? .metricIdentifier : .identifier, start)
    }

    private func followedByLeftParen() -> Bool {
        var i = pos
        while i < bytes.count, Self.isSpace(bytes[i]) { i += 1 }
        return i < bytes.count && bytes[i] == UInt8(ascii: "(")
    }

    // MARK: Braces

    private mutating func lexInsideBraces() -> PromQLToken {
        while let c = peek(), Self.isSpace(c) { pos += 1 }
        if peek() == UInt8(ascii: "#") { skipComment(); return lexInsideBraces() }
        let start = pos
        guard let c = peek() else { return error("unexpected end of input inside braces", at: start) }
        pos += 1
        switch c {
        case UInt8(ascii: ","): return token(.comma, start)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return lexString(quote: c, start: start)
        case UInt8(ascii: "`"): return lexRawString(start: start)
        case UInt8(ascii: "="):
            if peek() == UInt8(ascii: "~") { pos += 1; return token(.op(.eqlRegex), start) }
            return token(.assign, start)
        case UInt8(ascii: "!"):
            if peek() == UInt8(ascii: "~") { pos += 1; return token(.op(.neqRegex), start) }
            if peek() == UInt8(ascii: "=") { pos += 1; return token(.op(.neq), start) }
            return error("unexpected character after '!' inside braces: \(quotedChar(at: pos))", at: start)
        case UInt8(ascii: "{"): return error("unexpected left brace '{'", at: start)
        case UInt8(ascii: "}"):
            braceOpen = false
            return token(.rightBrace, start)
        default:
            if Self.isAlpha(c) {
                while let c = peek(), Self.isAlphaNumeric(c) { pos += 1 }
                return token(.identifier, start)
            }
            return error("unexpected character inside braces: \(quotedChar(at: start))", at: start)
        }
    }

    // MARK: Brackets (range / subquery durations)

    /// Returns nil after skipping whitespace.
    private mutating func lexInsideBrackets() -> PromQLToken? {
        let start = pos
        guard let c = peek() else { return error("unexpected end of input in duration expression", at: start) }
        if Self.isSpace(c) { pos += 1; return nil }
        pos += 1
        switch c {
        case UInt8(ascii: "]"):
            bracketOpen = false
            gotColon = false
            return token(.rightBracket, start)
        case UInt8(ascii: ":"):
            if !gotDuration { return error("unexpected colon before duration in duration expression", at: start) }
            if gotColon { return error("unexpected repeated colon in duration expression", at: start) }
            gotColon = true
            return token(.colon, start)
        case UInt8(ascii: "("): parenDepth += 1; return token(.leftParen, start)
        case UInt8(ascii: ")"):
            parenDepth -= 1
            if parenDepth < 0 { return error("unexpected right parenthesis ')'", at: start) }
            return token(.rightParen, start)
        case UInt8(ascii: "+"): return token(.op(.add), start)
        case UInt8(ascii: "-"): return token(.op(.sub), start)
        case UInt8(ascii: "*"): return token(.op(.mul), start)
        case UInt8(ascii: "/"): return token(.op(.div), start)
        case UInt8(ascii: "%"): return token(.op(.mod), start)
        case UInt8(ascii: "^"): return token(.op(.pow), start)
        case UInt8(ascii: ","): return token(.comma, start)
        default:
            if Self.isDigit(c) || (c == UInt8(ascii: ".") && peek().map(Self.isDigit) == true) {
                pos = start
                gotDuration = true
                return lexNumberOrDuration(start: start)
            }
            if Self.isAlpha(c) {
                while let c = peek(), Self.isAlpha(c) { pos += 1 }
                if let kw = PromQLKeyword(rawValue: text(start, pos).lowercased()), [.step, .range, .maxOf, .minOf].contains(kw) {
                    return token(.keyword(kw), start)
                }
                if afterNumberInBrackets { return error("unexpected character: \(quotedChar(at: start)), expected ':'", at: start) }
            }
            return error("unexpected character in duration expression: \(quotedChar(at: start))", at: start)
        }
    }

    // MARK: Numbers and durations

    private mutating func lexNumberOrDuration(start: Int) -> PromQLToken {
        if scanNumber() { return token(.number, start) }
        // scanNumber stopped at the first unit letter of a duration such as 1h30m.
        if acceptRemainingDuration() { return token(.duration, start) }
        return error("bad number or duration syntax: \(GoQuote.quote(text(start, pos)))", at: start)
    }

    private mutating func accept(_ set: String) -> Bool {
        guard let c = peek(), set.utf8.contains(c) else { return false }
        pos += 1
        return true
    }

    private func peekIs(_ set: String) -> Bool { peek().map { set.utf8.contains($0) } ?? false }

    private mutating func acceptRemainingDuration() -> Bool {
        guard accept("smhdwy") else { return false }
        _ = accept("s")
        while accept("0123456789") {
            while accept("0123456789") {}
            guard accept("smhdw") else { return false }
            _ = accept("s")
        }
        if let c = peek(), Self.isAlphaNumeric(c) { pos += 1; return false }
        return true
    }

    /// Decimal/hex integers and floats with `_` digit separators, as upstream's scanNumber;
    /// on failure `pos` is where upstream's stops, so messages quote the same text.
    private mutating func scanNumber() -> Bool {
        let initial = pos
        var digits = "0123456789"
        if peek() == UInt8(ascii: "0"), let x = peek(1), x == UInt8(ascii: "x") || x == UInt8(ascii: "X") {
            pos += 2
            _ = accept("_")
            digits = "0123456789abcdefABCDEF"
        }
        _ = accept(".")
        _ = accept(digits)
        var dotSeen = false
        var expSeen = false
        while peekIs(digits + "._eE") {
            if peekIs("."), dotSeen { pos += 1; return false }
            if peekIs("eE"), expSeen { pos += 1; return false }
            if accept(".") {
                dotSeen = true
                if accept("_.") || digits.count > 10 { return false }
                continue
            }
            if accept("eE") {
                expSeen = true
                _ = accept("+-")
                if accept("._eE") || peek() == nil { return false }
                continue
            }
            if accept("_") {
                if accept("._eE") || peek() == nil { return false }
                continue
            }
            while accept(digits) {}
        }
        if pos == initial { return false }
        return peek().map(Self.isAlphaNumeric) != true
    }

    // MARK: Strings

    private mutating func lexString(quote: UInt8, start: Int) -> PromQLToken {
        while true {
            guard let c = peek(), c != 0x0A else { return error("unterminated quoted string", at: start) }
            pos += 1
            if c == quote { return token(.string, start) }
            if c == UInt8(ascii: "\\") {
                if let message = scanEscape(quote: quote) { return error(message, at: start) }
            } else if c >= 0x80 {
                // Go's lexer sees U+FFFD (also what invalid UTF-8 decodes to) as a bad rune.
                if c == 0xEF, peek() == 0xBF, peek(1) == 0xBD { return error("invalid UTF-8 rune", at: start) }
                pos += scalarWidth(at: pos - 1) - 1
            }
        }
    }

    /// Validates one escape after a backslash; returns the upstream message if invalid.
    private mutating func scanEscape(quote: UInt8) -> String? {
        guard let c = peek() else { return "escape sequence not terminated" }
        pos += 1
        var count = 0, base: UInt32 = 16, maxValue: UInt32 = 0x10FFFF
        switch c {
        case UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"),
             UInt8(ascii: "t"), UInt8(ascii: "v"), UInt8(ascii: "\\"), quote:
            return nil
        case UInt8(ascii: "0")...UInt8(ascii: "7"): count = 3; base = 8; maxValue = 255; pos -= 1
        case UInt8(ascii: "x"): count = 2; maxValue = 255
        case UInt8(ascii: "u"): count = 4
        case UInt8(ascii: "U"): count = 8
        default:
            return "unknown escape sequence U+\(String(format4(UInt32(c))))"
        }
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let d = peek() else { return "escape sequence not terminated" }
            guard let v = Self.digitValue(d), v < base else {
                return "illegal character U+\(format4(UInt32(d))) in escape sequence"
            }
            value = value * base + v
            pos += 1
        }
        if value > maxValue || (0xD800..<0xE000).contains(value) { return "escape sequence is an invalid Unicode code point" }
        return nil
    }

    private func format4(_ v: UInt32) -> String {
        let hex = String(v, radix: 16, uppercase: true)
        let padded = String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        if let s = Unicode.Scalar(v), v >= 0x20, v < 0x7F { return padded + " '\(Character(s))'" }
        return padded
    }

    static func digitValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - 0x61 + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    private mutating func lexRawString(start: Int) -> PromQLToken {
        while let c = peek() {
            pos += 1
            if c == UInt8(ascii: "`") { return token(.string, start) }
        }
        return error("unterminated raw string", at: start)
    }
}
