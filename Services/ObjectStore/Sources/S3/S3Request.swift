import S3
import Hummingbird

/// An S3 request decoded from HTTP: which bucket and key it addresses (path-style
/// `/bucket/key` or virtual-host style `bucket.<root_domain>/key`), its query and headers.
public struct S3Request: Sendable {
    public var method: String
    public var bucket: String?
    public var key: String?
    public var query: [(String, String)]
    public var headers: [String: String]
    public var rawPath: String

    public func has(_ parameter: String) -> Bool { query.contains { $0.0 == parameter } }
    public func query(_ parameter: String) -> String? { query.first { $0.0 == parameter }?.1 }
    public func header(_ name: String) -> String? { headers[name] }

    /// The resource named in error bodies: "/bucket/key".
    public var resource: String {
        var text = "/"
        if let bucket { text += bucket }
        if let key { text += "/" + key }
        return text
    }

    public var signed: SignedRequest { SignedRequest(method: method, rawPath: rawPath, query: query, headers: headers) }

    /// Decodes a query string into name/value pairs ("a=b&c" → [("a","b"), ("c","")]).
    public static func parseQuery(_ text: String?) -> [(String, String)] {
        guard let text, !text.isEmpty else { return [] }
        return text.split(separator: "&").map { item in
            if let eq = item.firstIndex(of: "=") {
                return (SigV4.percentDecode(item[..<eq]), SigV4.percentDecode(item[item.index(after: eq)...]))
            }
            return (SigV4.percentDecode(item), "")
        }
    }

    public init(method: String, rawPath: String, rawQuery: String?, headers: [String: String], rootDomain: String?) {
        self.method = method
        self.rawPath = rawPath
        self.query = Self.parseQuery(rawQuery)
        self.headers = headers
        let path = rawPath.hasPrefix("/") ? rawPath.dropFirst() : Substring(rawPath)
        if let host = headers["host"].map(Self.hostWithoutPort), let rootDomain, let bucket = Self.bucket(fromHost: host, rootDomain: rootDomain) {
            self.bucket = bucket
            self.key = path.isEmpty ? nil : SigV4.percentDecode(path)
        } else if let slash = path.firstIndex(of: "/") {
            bucket = SigV4.percentDecode(path[..<slash])
            let rest = path[path.index(after: slash)...]
            key = rest.isEmpty ? nil : SigV4.percentDecode(rest)
        } else {
            bucket = path.isEmpty ? nil : SigV4.percentDecode(path)
            key = nil
        }
    }

    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("[") { return host }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// "photos.s3.example.com" with root domain ".s3.example.com" (Garage writes it with a
    /// leading dot; without one is accepted too) → "photos".
    static func bucket(fromHost host: String, rootDomain: String) -> String? {
        let suffix = rootDomain.hasPrefix(".") ? rootDomain : "." + rootDomain
        let lowered = host.lowercased()
        guard lowered.hasSuffix(suffix.lowercased()), lowered.count > suffix.count else { return nil }
        return String(host.dropLast(suffix.count))
    }

    /// Lower-case header names; repeated headers joined with ',' as SigV4 canonicalises them.
    public static func headerDictionary(_ fields: HTTPFields) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields {
            let name = field.name.canonicalName
            if let existing = headers[name] {
                headers[name] = existing + "," + field.value
            } else {
                headers[name] = field.value
            }
        }
        return headers
    }
}
