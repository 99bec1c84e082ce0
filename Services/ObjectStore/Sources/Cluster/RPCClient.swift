import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A failed call to another node: unreachable, or an error answer.
public struct RPCError: Error, CustomStringConvertible {
    public var node: String
    public var message: String
    public var description: String { "RPC to \(node): \(message)" }
}

/// Calls other nodes' RPC API (`RPCServer`) over HTTP, signing every request
/// (`RPCAuthentication`).
public final class RPCClient: Sendable {
    let http: HTTPClient
    let auth: RPCAuthentication

    public init(secret: String) {
        auth = RPCAuthentication(secret: secret)
        // A stopped peer on a reachable host refuses at once; the connect timeout bounds
        // how long an unreachable one can hold a write or a read.
        http = HTTPClient(eventLoopGroupProvider: .singleton,
                          configuration: .init(timeout: .init(connect: .seconds(2), read: .seconds(30))))
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// Query strings are built with only unreserved characters left as they are, so the
    /// text signed here is the text the receiving node sees.
    static func encodeQuery(_ query: [String: String]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return query.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    /// Sends a request and returns the response once its status is 2xx (its body unread).
    public func send(to address: String, _ method: HTTPMethod, _ path: String, query: [String: String] = [:],
                     headers: [(String, String)] = [], body: HTTPClientRequest.Body? = nil,
                     timeout: TimeAmount = .seconds(30)) async throws -> HTTPClientResponse {
        let queryString = Self.encodeQuery(query)
        var request = HTTPClientRequest(url: "http://\(address)\(path)" + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = method
        for (name, value) in auth.headers(method: method.rawValue, path: path, query: queryString) + headers {
            request.headers.add(name: name, value: value)
        }
        request.body = body
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw RPCError(node: address, message: "\(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            let text = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            throw RPCError(node: address, message: "\(response.status.code) \(text)")
        }
        return response
    }

    /// A JSON call: `body` encoded, the answer decoded as `T`.
    public func call<T: Decodable>(_ address: String, _ method: HTTPMethod, _ path: String, query: [String: String] = [:],
                                   json body: (some Encodable)? = Optional<String>.none, as type: T.Type,
                                   timeout: TimeAmount = .seconds(30)) async throws -> T {
        var requestBody: HTTPClientRequest.Body?
        var headers: [(String, String)] = []
        if let body {
            requestBody = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
            headers.append(("content-type", "application/json"))
        }
        let response = try await send(to: address, method, path, query: query, headers: headers, body: requestBody, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 256 << 20)
        do {
            return try JSONDecoder().decode(type, from: Data(bytes.readableBytesView))
        } catch {
            throw RPCError(node: address, message: "cannot decode the answer to \(path) as \(type): \(error)")
        }
    }
}
