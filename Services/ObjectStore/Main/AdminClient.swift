import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ObjectStore

/// The CLI's client for the admin HTTP API: address and bearer token come from the same
/// configuration file the node runs with.
struct AdminClient {
    let baseURL: String
    let token: String

    init(config: ObjectStoreConfig) throws {
        guard let token = config.adminToken else {
            throw CLIError("\(config.adminBindAddr): admin_token is not set in the [admin] section; the CLI needs it to reach the node")
        }
        var host = config.adminBindAddr
        var port = "3903"
        if let colon = host.lastIndex(of: ":") {
            port = String(host[host.index(after: colon)...])
            host = String(host[..<colon])
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host.isEmpty || host == "::" || host == "0.0.0.0" { host = "127.0.0.1" }
        if host.contains(":") { host = "[\(host)]" }
        baseURL = "http://\(host):\(port)"
        self.token = token
    }

    /// Sends a request and decodes the JSON answer; an error answer becomes a `CLIError`
    /// carrying the server's message.
    func call<T: Decodable>(_ method: String, _ path: String, query: [String: String] = [:], body: (some Encodable)? = Optional<String>.none,
                            as type: T.Type) async throws -> T {
        var components = URLComponents(string: baseURL + path)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONEncoder().encode(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CLIError("cannot reach the admin API at \(baseURL): \(error.localizedDescription) (is the node running?)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            if let failure = try? JSONDecoder().decode(AdminModels.ErrorBody.self, from: data) {
                throw CLIError("\(failure.message) (\(failure.code))")
            }
            throw CLIError("admin API answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(type, from: data)
    }

    func key(_ pattern: String, showSecret: Bool = false) async throws -> AdminModels.KeyInfo {
        try await call("GET", "/v1/key", query: ["search": pattern, "showSecretKey": showSecret ? "true" : "false"], as: AdminModels.KeyInfo.self)
    }

    func bucket(_ name: String) async throws -> AdminModels.BucketInfo {
        try await call("GET", "/v1/bucket", query: ["globalAlias": name], as: AdminModels.BucketInfo.self)
    }
}

/// A CLI failure: printed as the message alone, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
