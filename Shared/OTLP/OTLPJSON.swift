import Foundation
import SwiftProtobuf

/// OTLP/JSON, which differs from the standard protobuf JSON mapping in one way that
/// matters: trace and span ids are hex strings, not base64 (OTLP spec, "JSON Protobuf
/// Encoding"). Enums are written as integers; both camelCase and the original field
/// names are accepted on input, and unknown fields are ignored as the spec requires.
///
/// Decoding rewrites the id values from hex to base64 in one pass over the bytes and then
/// hands the text to swift-protobuf; encoding does the reverse.
public enum OTLPJSON {
    public enum Error: Swift.Error, CustomStringConvertible {
        case invalidJSON(String)
        case invalidID(field: String, value: String)

        public var description: String {
            switch self {
            case .invalidJSON(let detail): return "invalid OTLP/JSON: \(detail)"
            case .invalidID(let field, let value):
                return "invalid OTLP/JSON: \(field) \"\(value)\" is not a hex-encoded id"
            }
        }
    }

    static let idFields: Set<String> = ["traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"]

    public static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from bytes: [UInt8]) throws(Error) -> M {
        let rewritten = try rewriteIDs(bytes, convert: hexToBase64)
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        do {
            return try M(jsonUTF8Bytes: rewritten, options: options)
        } catch {
            throw .invalidJSON("\(error)")
        }
    }

    public static func encode<M: SwiftProtobuf.Message>(_ message: M) -> [UInt8] {
        var options = JSONEncodingOptions()
        options.alwaysPrintEnumsAsInts = true
        guard let bytes: [UInt8] = try? message.jsonUTF8Bytes(options: options) else { return Array("{}".utf8) }
        return (try? rewriteIDs(bytes, convert: base64ToHex)) ?? bytes
    }

    // MARK: - Id rewriting

    /// Walks the JSON text, tracking string tokens, and passes the string value that
    /// follows any id key through `convert`. Everything else is copied unchanged.
    static func rewriteIDs(_ input: [UInt8], convert: (String, String) throws(Error) -> String) throws(Error) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 8)
        var index = 0
        var pendingIDKey: String?   // set after an id key and its colon were seen
        var lastString: String?     // the most recent string token, candidate key
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                let end = try endOfString(input, from: index)
                let content = input[(index + 1)..<end]
                if let key = pendingIDKey {
                    pendingIDKey = nil
                    let value = String(decoding: content, as: UTF8.self)
                    output.append(UInt8(ascii: "\""))
                    output.append(contentsOf: Array(try convert(key, value).utf8))
                    output.append(UInt8(ascii: "\""))
                    lastString = nil
                } else {
                    output.append(contentsOf: input[index...end])
                    lastString = content.count <= 16 ? String(decoding: content, as: UTF8.self) : nil
                }
                index = end + 1
                continue
            }
            if byte == UInt8(ascii: ":"), let key = lastString, idFields.contains(key) {
                pendingIDKey = key
            } else if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\n"), byte != UInt8(ascii: "\t"), byte != UInt8(ascii: "\r") {
                if byte != UInt8(ascii: ":") { pendingIDKey = nil }
                lastString = nil
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    private static func endOfString(_ input: [UInt8], from start: Int) throws(Error) -> Int {
        var index = start + 1
        while index < input.count {
            switch input[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index
            default: index += 1
            }
        }
        throw .invalidJSON("unterminated string starting at byte \(start)")
    }

    static func hexToBase64(field: String, value: String) throws(Error) -> String {
        if value.isEmpty { return "" }
        guard value.count % 2 == 0 else { throw .invalidID(field: field, value: value) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count / 2)
        var high: UInt8?
        for char in value.utf8 {
            guard let nibble = hexValue(char) else { throw .invalidID(field: field, value: value) }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return Data(bytes).base64EncodedString()
    }

    static func base64ToHex(field: String, value: String) throws(Error) -> String {
        guard let data = Data(base64Encoded: value) else { throw .invalidID(field: field, value: value) }
        return hexString(data)
    }

    private static func hexValue(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Lowercase hex, the text form of OTLP trace and span ids everywhere (JSON, Prometheus
/// exemplar labels, Loki and Tempo APIs).
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}
