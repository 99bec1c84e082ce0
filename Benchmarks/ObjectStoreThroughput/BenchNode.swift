import Foundation
import ObjectStore
import ObjectStoreBenchSupport

/// The node under test: a single node (replication factor 1) in its own directory.
final class BenchNode {
    let node: BenchNodeProcess

    init(executable: String, directory: String, port: Int) throws {
        node = try BenchNodeProcess(executable: executable, directory: directory, config: """
            metadata_dir = "\(directory)/meta"
            data_dir = "\(directory)/data"
            replication_factor = 1

            [s3_api]
            s3_region = "garage"
            api_bind_addr = "127.0.0.1:\(port)"
            """, adminPort: port + 3)
    }

    func stop() { node.stop() }
    func cpuSeconds() -> Double { node.cpuSeconds() }
    func waitUntilReady() async throws { try await node.waitUntilReady() }

    /// A key with read and write on bucket "bench".
    func bootstrap() async throws -> AccessKey {
        let key = try await node.admin(.POST, "/v1/key", body: #"{"name":"bench"}"#) as? [String: Any] ?? [:]
        let bucket = try await node.admin(.POST, "/v1/bucket", body: #"{"globalAlias":"bench"}"#) as? [String: Any] ?? [:]
        guard let id = key["accessKeyId"] as? String, let secret = key["secretAccessKey"] as? String,
              let bucketID = bucket["id"] as? String else { throw BenchError("the admin API returned no key or bucket") }
        _ = try await node.admin(.POST, "/v1/bucket/allow",
                                 body: #"{"bucketId":"\#(bucketID)","accessKeyId":"\#(id)","permissions":{"read":true,"write":true}}"#)
        return AccessKey(id: id, secret: secret, name: "bench")
    }
}
