/// A listen or dial address written as "host:port" (also "[::1]:port" and ":port"), the
/// form otelcol, Prometheus and Loki configs use.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String, defaultHost: String = "0.0.0.0") throws(ConfigValueError) {
        var rest = Substring(text)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":") else {
            throw ConfigValueError("endpoint \"\(text)\" has no port; write it as host:port")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigValueError("endpoint \"\(text)\" has an invalid port")
        }
        self.host = host.isEmpty ? defaultHost : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
