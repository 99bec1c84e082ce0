/// A parsed XML element: name (namespace prefix dropped), text content and children.
/// Enough for the small request documents S3 takes (Delete, CompleteMultipartUpload,
/// CreateBucketConfiguration); attributes are read past and ignored.
public struct XMLNode: Sendable, Equatable {
    public var name: String
    public var text: String
    public var children: [XMLNode]

    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }

    /// Parses a document; any syntax error is a `XMLSyntaxError` with its byte offset.
    public static func parse(_ bytes: [UInt8]) throws(XMLSyntaxError) -> XMLNode {
        var parser = XMLNodeParser(bytes: bytes)
        return try parser.document()
    }
}

public struct XMLSyntaxError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "\(message) at byte \(offset)" }
}

struct XMLNodeParser {
    let bytes: [UInt8]
    var i = 0

    func fail(_ message: String) -> XMLSyntaxError { XMLSyntaxError(offset: i, message: message) }

    func starts(with text: String) -> Bool {
        let t = Array(text.utf8)
        return i + t.count <= bytes.count && Array(bytes[i..<i + t.count]) == t
    }

    mutating func skip(past text: String) throws(XMLSyntaxError) {
        let t = Array(text.utf8)
        while i + t.count <= bytes.count {
            if Array(bytes[i..<i + t.count]) == t { i += t.count; return }
            i += 1
        }
        throw fail("expected \(text)")
    }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    /// Skips the prolog, comments and processing instructions around the root element.
    mutating func skipMisc() throws(XMLSyntaxError) {
        while true {
            skipSpace()
            if starts(with: "<?") { try skip(past: "?>") } else if starts(with: "<!--") { try skip(past: "-->") } else if starts(with: "<!DOCTYPE") {
                throw fail("DOCTYPE is not allowed")
            } else { return }
        }
    }

    mutating func document() throws(XMLSyntaxError) -> XMLNode {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        try skipMisc()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else { throw fail("expected a root element") }
        let root = try element()
        try skipMisc()
        guard i == bytes.count else { throw fail("content after the root element") }
        return root
    }

    mutating func name() throws(XMLSyntaxError) -> String {
        let start = i
        while i < bytes.count, !([0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")].contains(bytes[i])) { i += 1 }
        guard i > start else { throw fail("expected a name") }
        let full = String(decoding: bytes[start..<i], as: UTF8.self)
        if let colon = full.lastIndex(of: ":") { return String(full[full.index(after: colon)...]) }
        return full
    }

    mutating func element() throws(XMLSyntaxError) -> XMLNode {
        i += 1  // <
        let tag = try name()
        // Attributes: name="value" pairs, read past.
        while true {
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated tag <\(tag)>") }
            if bytes[i] == UInt8(ascii: "/") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") else { throw fail("expected />") }
                i += 2
                return XMLNode(name: tag, text: "", children: [])
            }
            if bytes[i] == UInt8(ascii: ">") { i += 1; break }
            _ = try name()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { throw fail("expected = in attribute") }
            i += 1
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") else { throw fail("expected a quoted attribute value") }
            let quote = bytes[i]
            i += 1
            while i < bytes.count, bytes[i] != quote { i += 1 }
            guard i < bytes.count else { throw fail("unterminated attribute value") }
            i += 1
        }
        var node = XMLNode(name: tag, text: "", children: [])
        var text: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("element <\(tag)> is not closed") }
            if bytes[i] == UInt8(ascii: "<") {
                if starts(with: "</") {
                    i += 2
                    let closing = try name()
                    guard closing == tag else { throw fail("</\(closing)> does not close <\(tag)>") }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw fail("expected >") }
                    i += 1
                    node.text = String(decoding: text, as: UTF8.self)
                    return node
                } else if starts(with: "<!--") {
                    try skip(past: "-->")
                } else if starts(with: "<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>")
                    text += bytes[start..<(i - 3)]
                } else {
                    node.children.append(try element())
                }
            } else if bytes[i] == UInt8(ascii: "&") {
                text += try entity()
            } else {
                text.append(bytes[i])
                i += 1
            }
        }
    }

    mutating func entity() throws(XMLSyntaxError) -> [UInt8] {
        let start = i
        while i < bytes.count, bytes[i] != UInt8(ascii: ";") {
            i += 1
            if i - start > 12 { throw fail("unterminated entity") }
        }
        guard i < bytes.count else { throw fail("unterminated entity") }
        let name = String(decoding: bytes[(start + 1)..<i], as: UTF8.self)
        i += 1
        switch name {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            var code: UInt32?
            if name.hasPrefix("#x") { code = UInt32(name.dropFirst(2), radix: 16) } else if name.hasPrefix("#") { code = UInt32(name.dropFirst()) }
            guard let code, let scalar = Unicode.Scalar(code) else { throw fail("unknown entity &\(name);") }
            return Array(String(Character(scalar)).utf8)
        }
    }
}
