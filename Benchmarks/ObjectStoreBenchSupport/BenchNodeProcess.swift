import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An object-store node started as a child process from a garage.toml written into its
/// directory; the object-store benchmarks drive it through its admin API.
public final class BenchNodeProcess: @unchecked Sendable {
    public let process = Process()
    public let adminPort: Int
    public let token: String

    /// `config` is the TOML without its `[admin]` table, which is added here.
    public init(executable: String, directory: String, config: String, adminPort: Int, token: String = "bench-admin-token") throws {
        self.adminPort = adminPort
        self.token = token
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/garage.toml"
        try """
            \(config)

            [admin]
            api_bind_addr = "127.0.0.1:\(adminPort)"
            admin_token = "\(token)"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-c", path, "server", "--log.level", "error"]
        try process.run()
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// User plus system CPU seconds of the node so far (from /proc/PID/stat).
    public func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// User plus system CPU seconds of this (client) process so far.
    public static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// Calls the admin API and returns the decoded JSON answer.
    public func admin(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> Any {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw BenchError("admin \(path): \(response.status) \(String(buffer: data))") }
        return try JSONSerialization.jsonObject(with: Data(data.readableBytesView))
    }

    public func waitUntilReady() async throws {
        for _ in 0..<200 {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)/health"), timeout: .seconds(1)),
               response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the node with admin port \(adminPort) did not start")
    }
}
