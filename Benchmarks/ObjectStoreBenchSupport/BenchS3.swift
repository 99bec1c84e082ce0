import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ObjectStore

/// PUT and GET on bucket "bench", signed with SigV4 and UNSIGNED-PAYLOAD.
public struct BenchS3: Sendable {
    public let client: HTTPClient
    public let endpoint: String
    public let key: AccessKey

    public init(client: HTTPClient, endpoint: String, key: AccessKey) {
        self.client = client
        self.endpoint = endpoint
        self.key = key
    }

    public func signed(_ method: String, _ objectKey: String) -> HTTPClientRequest {
        let path = "/bench/" + objectKey
        let host = String(endpoint.dropFirst("http://".count))
        let amzDate = SigV4.formatAmzDate(Date())
        let scope = SigV4.Scope(date: String(amzDate.prefix(8)), region: "garage", service: "s3")
        let headers = ["host": host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amzDate]
        let signedHeaders = headers.keys.sorted()
        let canonical = SigV4.canonicalRequest(method: method, canonicalURI: path, canonicalQuery: "", headers: headers,
                                               signedHeaders: signedHeaders, payloadHash: "UNSIGNED-PAYLOAD")
        let signature = SigV4.signature(key: SigV4.signingKey(secret: key.secret, scope: scope),
                                        stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, hashedPayload: SigV4.sha256Hex(canonical)))
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "x-amz-content-sha256", value: "UNSIGNED-PAYLOAD")
        request.headers.add(name: "x-amz-date", value: amzDate)
        request.headers.add(name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=\(key.id)/\(scope.string), SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)")
        return request
    }

    public func put(key objectKey: String, body: ByteBuffer) async throws {
        var request = signed("PUT", objectKey)
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .seconds(120))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("PUT \(objectKey): \(response.status)") }
    }

    /// Returns the number of body bytes received.
    public func get(key objectKey: String) async throws -> Int {
        let response = try await client.execute(signed("GET", objectKey), timeout: .seconds(120))
        guard response.status == .ok else { throw BenchError("GET \(objectKey): \(response.status)") }
        var total = 0
        for try await buffer in response.body { total += buffer.readableBytes }
        return total
    }
}
