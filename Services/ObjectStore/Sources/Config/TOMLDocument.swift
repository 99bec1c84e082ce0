/// A value in a TOML document, as far as Garage's configuration needs: strings, integers,
/// floats, booleans and arrays of those.
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])

    var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .array: "array"
        }
    }
}

/// A syntax error in a TOML file, with the 1-based line it was found on.
public struct TOMLSyntaxError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A parsed TOML document flattened to dotted keys ("s3_api.api_bind_addr"), each with the
/// line it was defined on so that validation errors can point at it.
///
/// Only the subset Garage's `garage.toml` uses is read: `[table]` headers (dotted names
/// allowed), `key = value` pairs with bare or quoted keys, basic and literal strings
/// (single-line and multi-line), integers with `_` separators and hex/octal/binary
/// prefixes, floats, booleans, arrays and comments. Inline tables and arrays of tables
/// are rejected with a message naming them.
public struct TOMLDocument: Sendable {
    public struct Entry: Sendable, Equatable {
        public var value: TOMLValue
        public var line: Int
    }

    public private(set) var entries: [String: Entry] = [:]
    /// Keys in the order they appear, for deterministic error reporting.
    public private(set) var orderedKeys: [String] = []

    public init(parsing text: String) throws(TOMLSyntaxError) {
        var scanner = TOMLScanner(Array(text.utf8))
        var table: [String] = []
        while true {
            scanner.skipWhitespaceCommentsAndNewlines()
            guard let byte = scanner.peek() else { break }
            let line = scanner.line
            if byte == UInt8(ascii: "[") {
                scanner.advance()
                if scanner.peek() == UInt8(ascii: "[") {
                    throw TOMLSyntaxError(line: line, message: "arrays of tables ([[...]]) are not supported in this configuration")
                }
                table = try scanner.readKeyPath()
                scanner.skipInlineWhitespace()
                guard scanner.peek() == UInt8(ascii: "]") else {
                    throw TOMLSyntaxError(line: line, message: "expected ']' to close the table header")
                }
                scanner.advance()
            } else {
                let key = try scanner.readKeyPath()
                scanner.skipInlineWhitespace()
                guard scanner.peek() == UInt8(ascii: "=") else {
                    throw TOMLSyntaxError(line: line, message: "expected '=' after key \"\(key.joined(separator: "."))\"")
                }
                scanner.advance()
                scanner.skipInlineWhitespace()
                let value = try scanner.readValue()
                let full = (table + key).joined(separator: ".")
                if entries[full] != nil {
                    throw TOMLSyntaxError(line: line, message: "key \"\(full)\" is defined twice")
                }
                entries[full] = Entry(value: value, line: line)
                orderedKeys.append(full)
            }
            try scanner.expectEndOfLine()
        }
    }
}

/// Byte-level reader behind `TOMLDocument`; tracks the current line.
struct TOMLScanner {
    let bytes: [UInt8]
    var index = 0
    var line = 1

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func peek(_ offset: Int = 0) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

    mutating func advance() {
        if bytes[index] == UInt8(ascii: "\n") { line += 1 }
        index += 1
    }

    mutating func skipInlineWhitespace() {
        while let b = peek(), b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { advance() }
    }

    mutating func skipComment() {
        if peek() == UInt8(ascii: "#") { while let b = peek(), b != UInt8(ascii: "\n") { advance() } }
    }

    mutating func skipWhitespaceCommentsAndNewlines() {
        while let b = peek() {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r") {
                advance()
            } else if b == UInt8(ascii: "#") {
                skipComment()
            } else {
                return
            }
        }
    }

    mutating func expectEndOfLine() throws(TOMLSyntaxError) {
        skipInlineWhitespace()
        skipComment()
        if peek() == UInt8(ascii: "\r") { advance() }
        guard let b = peek() else { return }
        guard b == UInt8(ascii: "\n") else {
            throw TOMLSyntaxError(line: line, message: "unexpected text \"\(restOfLine())\" after the value")
        }
        advance()
    }

    func restOfLine() -> String {
        var end = index
        while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }

    static func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    mutating func readKeyPath() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            skipInlineWhitespace()
            guard let b = peek() else { throw TOMLSyntaxError(line: line, message: "expected a key") }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                parts.append(try readString())
            } else {
                let start = index
                while let c = peek(), Self.isBareKeyByte(c) { advance() }
                guard index > start else { throw TOMLSyntaxError(line: line, message: "expected a key, found \"\(restOfLine())\"") }
                parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
            }
            skipInlineWhitespace()
            guard peek() == UInt8(ascii: ".") else { return parts }
            advance()
        }
    }

    mutating func readValue() throws(TOMLSyntaxError) -> TOMLValue {
        guard let b = peek() else { throw TOMLSyntaxError(line: line, message: "expected a value") }
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return .string(try readString())
        case UInt8(ascii: "["):
            return try readArray()
        case UInt8(ascii: "{"):
            throw TOMLSyntaxError(line: line, message: "inline tables are not supported in this configuration")
        default:
            return try readScalar()
        }
    }

    mutating func readArray() throws(TOMLSyntaxError) -> TOMLValue {
        advance()  // [
        var items: [TOMLValue] = []
        while true {
            skipWhitespaceCommentsAndNewlines()
            if peek() == UInt8(ascii: "]") { advance(); return .array(items) }
            items.append(try readValue())
            skipWhitespaceCommentsAndNewlines()
            if peek() == UInt8(ascii: ",") { advance(); continue }
            guard peek() == UInt8(ascii: "]") else { throw TOMLSyntaxError(line: line, message: "expected ',' or ']' in array") }
        }
    }

    mutating func readScalar() throws(TOMLSyntaxError) -> TOMLValue {
        let start = index
        while let c = peek(), c != UInt8(ascii: ","), c != UInt8(ascii: "]"), c != UInt8(ascii: "#"),
              c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r") { advance() }
        let text = String(decoding: bytes[start..<index], as: UTF8.self).trimmingSpaces()
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        let digits = text.replacingUnderscores()
        if let value = Self.integer(digits) { return .integer(value) }
        if let value = Double(digits), digits.contains(where: { "0123456789".contains($0) }) { return .float(value) }
        switch digits {
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        throw TOMLSyntaxError(line: line, message: "cannot read value \"\(text)\" (strings need quotes)")
    }

    static func integer(_ text: String) -> Int64? {
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where text.hasPrefix(prefix) {
            return Int64(text.dropFirst(2), radix: radix)
        }
        return Int64(text)
    }

    mutating func readString() throws(TOMLSyntaxError) -> String {
        let quote = bytes[index]
        let literal = quote == UInt8(ascii: "'")
        let multiline = peek(1) == quote && peek(2) == quote
        advance()
        if multiline {
            advance(); advance()
            // A newline right after the opening delimiter is trimmed.
            if peek() == UInt8(ascii: "\r") { advance() }
            if peek() == UInt8(ascii: "\n") { advance() }
        }
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw TOMLSyntaxError(line: line, message: "unterminated string") }
            if c == quote {
                if !multiline { advance(); break }
                if peek(1) == quote && peek(2) == quote { advance(); advance(); advance(); break }
            }
            if c == UInt8(ascii: "\n") && !multiline { throw TOMLSyntaxError(line: line, message: "unterminated string") }
            if c == UInt8(ascii: "\\") && !literal {
                advance()
                try readEscape(into: &out)
                continue
            }
            out.append(c)
            advance()
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func readEscape(into out: inout [UInt8]) throws(TOMLSyntaxError) {
        guard let e = peek() else { throw TOMLSyntaxError(line: line, message: "unterminated string") }
        advance()
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            guard index + count <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else {
                throw TOMLSyntaxError(line: line, message: "invalid unicode escape")
            }
            for _ in 0..<count { advance() }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        case UInt8(ascii: "\n"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
            // Line-ending backslash in a multi-line string: drop the following whitespace.
            while let c = peek(), c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { advance() }
        default:
            throw TOMLSyntaxError(line: line, message: "invalid escape \"\\\(Character(Unicode.Scalar(e)))\" in string")
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }

    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
