import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ObjectStore

/// One node of the benchmark cluster, started as a child process with its own directories
/// and ports; `admin` calls its admin API.
final class ClusterNode: @unchecked Sendable {
    let process = Process()
    let s3Port: Int
    let adminPort: Int
    let rpcPort: Int
    let token = "bench-admin-token"

    init(executable: String, directory: String, basePort: Int, secret: String, replicationFactor: Int) throws {
        s3Port = basePort
        rpcPort = basePort + 1
        adminPort = basePort + 3
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/garage.toml"
        try """
            metadata_dir = "\(directory)/meta"
            data_dir = "\(directory)/data"
            replication_factor = \(replicationFactor)
            rpc_bind_addr = "127.0.0.1:\(rpcPort)"
            rpc_public_addr = "127.0.0.1:\(rpcPort)"
            rpc_secret = "\(secret)"

            [s3_api]
            s3_region = "garage"
            api_bind_addr = "127.0.0.1:\(s3Port)"

            [admin]
            api_bind_addr = "127.0.0.1:\(adminPort)"
            admin_token = "\(token)"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", config, "server", "--log.level", "error"]
        try process.run()
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// User plus system CPU seconds of the node so far (from /proc/PID/stat).
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func admin(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> Any {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("admin \(path): \(response.status) \(String(buffer: data))") }
        return try JSONSerialization.jsonObject(with: Data(data.readableBytesView))
    }

    func waitUntilReady() async throws {
        for _ in 0..<200 {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)/health"), timeout: .seconds(1)),
               response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("node on port \(s3Port) did not start")
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
