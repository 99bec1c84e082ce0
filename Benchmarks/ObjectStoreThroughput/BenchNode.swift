import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ObjectStore

/// The node under test: its own config and directories, started as a child process.
final class BenchNode {
    let process = Process()
    let adminPort: Int
    let token = "bench-admin-token"

    init(executable: String, directory: String, port: Int) throws {
        adminPort = port + 3
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/garage.toml"
        try """
            metadata_dir = "\(directory)/meta"
            data_dir = "\(directory)/data"
            replication_factor = 1

            [s3_api]
            s3_region = "garage"
            api_bind_addr = "127.0.0.1:\(port)"

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

    /// User plus system CPU seconds of this (client) process so far.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    func admin(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("admin \(path): \(response.status) \(String(buffer: data))") }
        return (try JSONSerialization.jsonObject(with: Data(data.readableBytesView)) as? [String: Any]) ?? [:]
    }

    func waitUntilReady() async throws {
        for _ in 0..<200 {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)/health"), timeout: .seconds(1)),
               response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the node did not start")
    }

    /// A key with read and write on bucket "bench".
    func bootstrap() async throws -> AccessKey {
        let key = try await admin(.POST, "/v1/key", body: #"{"name":"bench"}"#)
        let bucket = try await admin(.POST, "/v1/bucket", body: #"{"globalAlias":"bench"}"#)
        let id = key["accessKeyId"] as! String, secret = key["secretAccessKey"] as! String, bucketID = bucket["id"] as! String
        _ = try await admin(.POST, "/v1/bucket/allow",
                            body: #"{"bucketId":"\#(bucketID)","accessKeyId":"\#(id)","permissions":{"read":true,"write":true}}"#)
        return AccessKey(id: id, secret: secret, name: "bench")
    }
}

/// PUT and GET on bucket "bench", signed with SigV4 and UNSIGNED-PAYLOAD.
struct BenchS3: Sendable {
    let client: HTTPClient
    let endpoint: String
    let key: AccessKey

    func signed(_ method: String, _ objectKey: String) -> HTTPClientRequest {
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

    func put(key objectKey: String, body: ByteBuffer) async throws {
        var request = signed("PUT", objectKey)
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .seconds(120))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("PUT \(objectKey): \(response.status)") }
    }

    /// Returns the number of body bytes received.
    func get(key objectKey: String) async throws -> Int {
        let response = try await client.execute(signed("GET", objectKey), timeout: .seconds(120))
        guard response.status == .ok else { throw BenchError("GET \(objectKey): \(response.status)") }
        var total = 0
        for try await buffer in response.body { total += buffer.readableBytes }
        return total
    }
}
