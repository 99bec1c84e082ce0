import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ObjectStore
import ObjectStoreBenchSupport

/// One node of the benchmark cluster, started as a child process with its own directories
/// and ports; `admin` calls its admin API.
final class ClusterNode: @unchecked Sendable {
    let node: BenchNodeProcess
    let s3Port: Int
    let rpcPort: Int

    init(executable: String, directory: String, basePort: Int, secret: String, replicationFactor: Int) throws {
        s3Port = basePort
        rpcPort = basePort + 1
        node = try BenchNodeProcess(executable: executable, directory: directory, config: """
            metadata_dir = "\(directory)/meta"
            data_dir = "\(directory)/data"
            replication_factor = \(replicationFactor)
            rpc_bind_addr = "127.0.0.1:\(basePort + 1)"
            rpc_public_addr = "127.0.0.1:\(basePort + 1)"
            rpc_secret = "\(secret)"

            [s3_api]
            s3_region = "garage"
            api_bind_addr = "127.0.0.1:\(basePort)"
            """, adminPort: basePort + 3)
    }

    func stop() { node.stop() }
    func cpuSeconds() -> Double { node.cpuSeconds() }
    func waitUntilReady() async throws { try await node.waitUntilReady() }
    func admin(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> Any {
        try await node.admin(method, path, body: body)
    }

    func status() async throws -> [String: Any] { try await admin(.GET, "/v1/status") as? [String: Any] ?? [:] }
}

/// Until `condition` holds (polled every 100 ms, at most `seconds`).
func waitFor(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw BenchError("timed out waiting for \(what)")
}

/// Connects the nodes, gives each a role in its own zone, applies the layout, and makes a
/// key with read and write on bucket "bench" (through the first node).
func formCluster(_ nodes: [ClusterNode]) async throws -> AccessKey {
    var ids: [String] = []
    for node in nodes { ids.append(try await node.status()["node"] as! String) }
    let first = nodes[0]
    if nodes.count > 1 {
        let peers = zip(ids, nodes).dropFirst().map { "\"\($0.0)@127.0.0.1:\($0.1.rpcPort)\"" }.joined(separator: ",")
        _ = try await first.admin(.POST, "/v1/connect", body: "[\(peers)]")
        try await waitFor("every node to see every other") {
            for node in nodes {
                let known = try await node.status()["knownNodes"] as? [[String: Any]] ?? []
                if known.filter({ $0["isUp"] as? Bool == true }).count != nodes.count { return false }
            }
            return true
        }
    }
    let roles = ids.enumerated().map { #"{"id":"\#($0.element)","zone":"dc\#($0.offset + 1)","capacity":1000000000,"tags":[]}"# }
    _ = try await first.admin(.POST, "/v1/layout", body: "[\(roles.joined(separator: ","))]")
    _ = try await first.admin(.POST, "/v1/layout/apply", body: #"{"version":1}"#)
    let key = try await first.admin(.POST, "/v1/key", body: #"{"name":"bench"}"#) as! [String: Any]
    let bucket = try await first.admin(.POST, "/v1/bucket", body: #"{"globalAlias":"bench"}"#) as! [String: Any]
    let id = key["accessKeyId"] as! String, secret = key["secretAccessKey"] as! String, bucketID = bucket["id"] as! String
    _ = try await first.admin(.POST, "/v1/bucket/allow",
                              body: #"{"bucketId":"\#(bucketID)","accessKeyId":"\#(id)","permissions":{"read":true,"write":true}}"#)
    try await waitFor("the layout and the bucket grant on every node") {
        for node in nodes {
            guard try await node.status()["layoutVersion"] as? Int == 1,
                  let info = try await node.admin(.GET, "/v1/bucket?globalAlias=bench") as? [String: Any],
                  (info["keys"] as? [Any])?.isEmpty == false else { return false }
        }
        return true
    }
    return AccessKey(id: id, secret: secret, name: "bench")
}
