import Crypto
import Foundation

/// The pieces of AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
/// as S3 uses them: canonical request, string to sign, signing key and signature. Pure
/// functions, so they can be checked against AWS's published examples.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The scope "20130524/us-east-1/s3/aws4_request".
    public struct Scope: Sendable, Equatable {
        public var date: String
        public var region: String
        public var service: String

        public init(date: String, region: String, service: String) {
            self.date = date
            self.region = region
            self.service = service
        }

        public var string: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    /// Percent-encodes everything but the unreserved characters (A-Z a-z 0-9 - . _ ~), and
    /// '/' too unless `keepSlash` (paths keep it, query components do not).
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// Undoes percent-encoding ('+' is left alone: S3 paths and SigV4 queries use %20).
    public static func percentDecode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
               let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The canonical query string: names and values encoded, sorted by name then value.
    public static func canonicalQuery(_ parameters: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = parameters.map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
        let sorted = encoded.sorted { (a, b) -> Bool in
            a.name == b.name ? a.value < b.value : a.name < b.name
        }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// A header value in canonical form: trimmed, runs of spaces collapsed to one.
    public static func canonicalHeaderValue(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for ch in value.trimmingCharacters(in: .whitespaces) {
            if ch == " " || ch == "\t" {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(ch)
                lastWasSpace = false
            }
        }
        return out
    }

    /// The canonical request. `headers` maps lower-case names to their values (several
    /// values of one header are joined with ',').
    public static func canonicalRequest(method: String, canonicalURI: String, canonicalQuery: String,
                                        headers: [String: String], signedHeaders: [String], payloadHash: String) -> String {
        var text = "\(method)\n\(canonicalURI)\n\(canonicalQuery)\n"
        for name in signedHeaders {
            text += "\(name):\(canonicalHeaderValue(headers[name] ?? ""))\n"
        }
        text += "\n\(signedHeaders.joined(separator: ";"))\n\(payloadHash)"
        return text
    }

    public static func stringToSign(algorithm: String = algorithm, amzDate: String, scope: Scope, hashedPayload: String) -> String {
        "\(algorithm)\n\(amzDate)\n\(scope.string)\n\(hashedPayload)"
    }

    public static func signingKey(secret: String, scope: Scope) -> SymmetricKey {
        let kDate = HMAC<SHA256>.authenticationCode(for: Data(scope.date.utf8), using: SymmetricKey(data: Data("AWS4\(secret)".utf8)))
        let kRegion = HMAC<SHA256>.authenticationCode(for: Data(scope.region.utf8), using: SymmetricKey(data: Data(kDate)))
        let kService = HMAC<SHA256>.authenticationCode(for: Data(scope.service.utf8), using: SymmetricKey(data: Data(kRegion)))
        let kSigning = HMAC<SHA256>.authenticationCode(for: Data("aws4_request".utf8), using: SymmetricKey(data: Data(kService)))
        return SymmetricKey(data: Data(kSigning))
    }

    public static func signature(key: SymmetricKey, stringToSign: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    public static func sha256Hex(_ text: String) -> String { hex(SHA256.hash(data: Data(text.utf8))) }

    /// Lower-case hex digits of `bytes`, as SigV4 writes hashes and signatures.
    public static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares two signatures in time independent of where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// Parses "20130524T000000Z".
    public static func parseAmzDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let y = number(0..<4), let mo = number(4..<6), let d = number(6..<8),
              let h = number(9..<11), let mi = number(11..<13), let s = number(13..<15) else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour, components.minute, components.second) = (y, mo, d, h, mi, s)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }

    public static func formatAmzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}
