/// Splits a Go `text/template` source into text and action tokens, following Go's
/// lexer: `{{- ` / ` -}}` trim the adjacent whitespace, `{{/* */}}` is a comment,
/// and inside actions there are fields (`.a.b`), variables (`$x.a`), identifiers,
/// string, raw-string, char and number literals, `|`, `(`, `)`, `,`, `:=` and `=`.
/// See https://pkg.go.dev/text/template#hdr-Text_and_spaces
struct GoTemplateToken: Equatable {
    enum Kind: Equatable {
        case text(String)
        case leftDelim, rightDelim
        case pipe, leftParen, rightParen, comma, declare, assign
        case string(String)
        case number(String)
        case char(Int64)
        case bool(Bool)
        case nilValue
        case dot
        /// `.a.b`, or `.b` after `)` (a field of a parenthesised pipeline).
        case field([String])
        /// `$` or `$x`, with its field chain.
        case variable(String, [String])
        case identifier(String)
        case keyword(String)
        case eof
    }

    var kind: Kind
    var line: Int
}

struct GoTemplateLexer {
    static let keywords: Set<String> = ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"]

    let name: String
    let scalars: [Unicode.Scalar]
    var position = 0
    var line = 1
    var tokens: [GoTemplateToken] = []

    init(name: String, text: String) {
        self.name = name
        self.scalars = Array(text.unicodeScalars)
    }

    func error(_ message: String) -> GoTemplateError {
        GoTemplateError(message: "template: \(name):\(line): \(message)")
    }

    static func tokenize(_ text: String, name: String) throws(GoTemplateError) -> [GoTemplateToken] {
        var lexer = GoTemplateLexer(name: name, text: text)
        try lexer.run()
        return lexer.tokens
    }

    func hasPrefix(_ s: String, at index: Int) -> Bool {
        var i = index
        for scalar in s.unicodeScalars {
            guard i < scalars.count, scalars[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" }

    mutating func run() throws(GoTemplateError) {
        var pendingText: [Unicode.Scalar] = []
        var trimNextText = false
        while position < scalars.count {
            guard hasPrefix("{{", at: position) else {
                pendingText.append(scalars[position])
                position += 1
                continue
            }
            var text = pendingText
            pendingText = []
            let trimLeft = hasPrefix("{{- ", at: position) || hasPrefix("{{-\t", at: position)
                || hasPrefix("{{-\n", at: position) || hasPrefix("{{-\r", at: position)
            if trimNextText { while let first = text.first, Self.isSpace(first) { text.removeFirst() } }
            if trimLeft { while let last = text.last, Self.isSpace(last) { text.removeLast() } }
            emitText(text)
            position += trimLeft ? 3 : 2
            trimNextText = try action()
        }
        if trimNextText { while let first = pendingText.first, Self.isSpace(first) { pendingText.removeFirst() } }
        emitText(pendingText)
        tokens.append(GoTemplateToken(kind: .eof, line: line))
    }

    mutating func emitText(_ text: [Unicode.Scalar]) {
        guard !text.isEmpty else { return }
        var string = ""
        string.unicodeScalars.append(contentsOf: text)
        tokens.append(GoTemplateToken(kind: .text(string), line: line))
        line += text.filter { $0 == "\n" }.count
    }

    /// Lexes one action after its `{{`; returns whether it ended with ` -}}`.
    mutating func action() throws(GoTemplateError) -> Bool {
        // Comments must sit right against the delimiters (after an optional trim marker).
        if hasPrefix("/*", at: position) {
            guard let close = find("*/", from: position + 2) else { throw error("unclosed comment") }
            line += scalars[position..<close].filter { $0 == "\n" }.count
            position = close + 2
            if hasPrefix("}}", at: position) { position += 2; return false }
            if hasPrefix(" -}}", at: position) { position += 4; return true }
            throw error("comment ends before closing delimiter")
        }
        tokens.append(GoTemplateToken(kind: .leftDelim, line: line))
        var parenDepth = 0
        while true {
            guard position < scalars.count else { throw error("unclosed action") }
            let c = scalars[position]
            if Self.isSpace(c) {
                if hasPrefix(" -}}", at: position) || hasPrefix("\t-}}", at: position) || hasPrefix("\n-}}", at: position) {
                    position += 4
                    tokens.append(GoTemplateToken(kind: .rightDelim, line: line))
                    return true
                }
                if c == "\n" { line += 1 }
                position += 1
                continue
            }
            if hasPrefix("}}", at: position) {
                if parenDepth > 0 { throw error("unclosed left paren") }
                position += 2
                tokens.append(GoTemplateToken(kind: .rightDelim, line: line))
                return false
            }
            try actionToken(c, parenDepth: &parenDepth)
        }
    }

    func find(_ s: String, from index: Int) -> Int? {
        var i = index
        while i < scalars.count {
            if hasPrefix(s, at: i) { return i }
            i += 1
        }
        return nil
    }

    mutating func add(_ kind: GoTemplateToken.Kind) { tokens.append(GoTemplateToken(kind: kind, line: line)) }

    mutating func actionToken(_ c: Unicode.Scalar, parenDepth: inout Int) throws(GoTemplateError) {
        switch c {
        case "|": position += 1; add(.pipe)
        case ",": position += 1; add(.comma)
        case "(": position += 1; parenDepth += 1; add(.leftParen)
        case ")":
            position += 1
            parenDepth -= 1
            if parenDepth < 0 { throw error("unexpected right paren") }
            add(.rightParen)
            if position < scalars.count, scalars[position] == ".", position + 1 < scalars.count, isIdentifierStart(scalars[position + 1]) {
                add(.field(fieldChain()))
            }
        case ":":
            guard hasPrefix(":=", at: position) else { throw error("expected :=") }
            position += 2
            add(.declare)
        case "=": position += 1; add(.assign)
        case "\"": add(.string(try quoted()))
        case "`":
            guard let close = find("`", from: position + 1) else { throw error("unterminated raw quoted string") }
            var s = ""
            s.unicodeScalars.append(contentsOf: scalars[(position + 1)..<close])
            line += s.filter { $0 == "\n" }.count
            position = close + 1
            add(.string(s))
        case "'": add(.char(try charConstant()))
        case "$":
            position += 1
            var name = "$"
            while position < scalars.count, isIdentifierPart(scalars[position]) {
                name.unicodeScalars.append(scalars[position])
                position += 1
            }
            add(.variable(name, fieldChain()))
        case ".":
            if position + 1 < scalars.count, isIdentifierStart(scalars[position + 1]) {
                add(.field(fieldChain()))
            } else if position + 1 < scalars.count, ("0"..."9").contains(scalars[position + 1]) {
                add(.number(number()))
            } else {
                position += 1
                add(.dot)
            }
        case "0"..."9", "+", "-":
            add(.number(number()))
        default:
            guard isIdentifierStart(c) else { throw error("unexpected \"\(Character(c))\" in command") }
            var word = ""
            while position < scalars.count, isIdentifierPart(scalars[position]) {
                word.unicodeScalars.append(scalars[position])
                position += 1
            }
            switch word {
            case "true": add(.bool(true))
            case "false": add(.bool(false))
            case "nil": add(.nilValue)
            default: add(Self.keywords.contains(word) ? .keyword(word) : .identifier(word))
            }
            if position < scalars.count, scalars[position] == ".", position + 1 < scalars.count, isIdentifierStart(scalars[position + 1]) {
                add(.field(fieldChain()))
            }
        }
    }

    func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
    func isIdentifierPart(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || c.properties.numericType != nil }

    /// `.a.b.c` starting at a dot.
    mutating func fieldChain() -> [String] {
        var fields: [String] = []
        while position < scalars.count, scalars[position] == ".", position + 1 < scalars.count, isIdentifierStart(scalars[position + 1]) {
            position += 1
            var field = ""
            while position < scalars.count, isIdentifierPart(scalars[position]) {
                field.unicodeScalars.append(scalars[position])
                position += 1
            }
            fields.append(field)
        }
        return fields
    }

    mutating func number() -> String {
        var text = ""
        while position < scalars.count {
            let c = scalars[position]
            let previous = text.unicodeScalars.last
            let sign = (c == "+" || c == "-") && (text.isEmpty || previous == "e" || previous == "E" || previous == "p" || previous == "P")
            guard sign || c == "." || c == "_" || c.properties.isASCIIHexDigit || c == "x" || c == "X" || c == "o" || c == "p" || c == "P" else { break }
            text.unicodeScalars.append(c)
            position += 1
        }
        return text
    }

    mutating func quoted() throws(GoTemplateError) -> String {
        position += 1
        var result = ""
        while true {
            guard position < scalars.count, scalars[position] != "\n" else { throw error("unterminated quoted string") }
            let c = scalars[position]
            position += 1
            if c == "\"" { return result }
            guard c == "\\" else { result.unicodeScalars.append(c); continue }
            guard position < scalars.count else { throw error("unterminated quoted string") }
            let escape = scalars[position]
            position += 1
            switch escape {
            case "n": result += "\n"
            case "t": result += "\t"
            case "r": result += "\r"
            case "\\": result += "\\"
            case "\"": result += "\""
            case "'": result += "'"
            case "a": result += "\u{07}"
            case "b": result += "\u{08}"
            case "f": result += "\u{0C}"
            case "v": result += "\u{0B}"
            case "x", "u", "U":
                let count = escape == "x" ? 2 : escape == "u" ? 4 : 8
                guard position + count <= scalars.count else { throw error("unterminated quoted string") }
                var hex = ""
                hex.unicodeScalars.append(contentsOf: scalars[position..<(position + count)])
                position += count
                guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                    throw error("invalid syntax in quoted string")
                }
                result.unicodeScalars.append(scalar)
            default: throw error("invalid syntax in quoted string")
            }
        }
    }

    mutating func charConstant() throws(GoTemplateError) -> Int64 {
        position += 1
        guard position < scalars.count else { throw error("unterminated character constant") }
        var c = scalars[position]
        position += 1
        if c == "\\", position < scalars.count {
            let escape = scalars[position]
            position += 1
            c = ["n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'"][escape] ?? escape
        }
        guard position < scalars.count, scalars[position] == "'" else { throw error("unterminated character constant") }
        position += 1
        return Int64(c.value)
    }
}

/// A template that does not parse or could not be executed, worded as Go's text/template.
public struct GoTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The query a `query` call is waiting for, when that is why execution stopped.
    var missingQuery: String?
    public init(message: String) { self.message = message }
    public var description: String { message }
}
