import S3
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
    let signer: S3Client

    public init(client: HTTPClient, endpoint: String, key: AccessKey) {
        self.client = client
        self.endpoint = endpoint
        self.key = key
        signer = S3Client(endpoint: URL(string: endpoint)!, region: "garage",
                          credentials: .init(accessKeyID: key.id, secretAccessKey: key.secret),
                          httpClient: client, unsignedPayload: true)
    }

    public func signed(_ method: String, _ objectKey: String) -> HTTPClientRequest {
        signer.signedRequest(method, bucket: "bench", key: objectKey)
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
