import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import ObjectStore

/// `object-store-bench`: PUT and GET throughput for small (4 KiB) and large (16 MiB)
/// objects at concurrency 1 and 16 against a fresh object-store node (started from the
/// given executable in a temporary directory, fsync on), and in the same run the disk's
/// raw sequential write bandwidth from `dd … conv=fdatasync` in that directory, so the
/// large-object PUT rate can be read as a fraction of what the disk can do.
///
/// Requests are signed with SigV4 and UNSIGNED-PAYLOAD (no SHA-256 of the body on either
/// side); the server still computes the MD5 ETag and the block CRCs of every byte.
@main
struct ObjectStoreThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "object-store-bench")

    @Option(help: "Path to the object-store executable.") var objectStore = ".build/release/object-store"
    @Option(help: "Directory for the node's data and the dd test file (default: a new temporary directory).") var directory: String?
    @Option(help: "Small-object requests per concurrency level.") var smallRequests = 6_000
    @Option(help: "Large-object requests per concurrency level.") var largeRequests = 48
    @Option(help: "Bytes written by dd for the disk bandwidth.") var ddMegabytes = 1_024
    @Option(help: "S3 port of the node under test.") var port = 39900

    func run() async throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("object-store-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }

        let disk = try DiskBandwidth.measure(directory: dir, megabytes: ddMegabytes)
        say(String(format: "dd bs=1M count=%d conv=fdatasync: %.1f MB/s", ddMegabytes, disk / 1e6))
        // Small PUTs are bounded by how many commits (fsyncs) the disk does per second; show it.
        let syncs = try DiskBandwidth.syncedWritesPerSecond(directory: dir, count: 500)
        say(String(format: "dd bs=4k count=500 oflag=dsync: %.0f synced writes/s", syncs))

        let node = try BenchNode(executable: objectStore, directory: dir + "/node", port: port)
        defer { node.stop() }
        try await node.waitUntilReady()
        let credentials = try await node.bootstrap()
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)))
        let s3 = BenchS3(client: client, endpoint: "http://127.0.0.1:\(port)", key: credentials)
        do {
            try await measureAll(s3: s3, node: node, disk: disk)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func measureAll(s3: BenchS3, node: BenchNode, disk: Double) async throws {

        var largePut16 = 0.0
        for (label, size, requests) in [("4 KiB", 4 << 10, smallRequests), ("16 MiB", 16 << 20, largeRequests)] {
            let body = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
            for concurrency in [1, 16] {
                let count = concurrency == 1 ? max(requests / 4, 8) : requests
                let prefix = "\(label.replacingOccurrences(of: " ", with: ""))-c\(concurrency)"
                let cpuBefore = node.cpuSeconds()
                let put = try await Load.run(count: count, concurrency: concurrency) { i in
                    try await s3.put(key: "\(prefix)/\(i)", body: body)
                }
                let putCPU = node.cpuSeconds() - cpuBefore
                let get = try await Load.run(count: count, concurrency: concurrency) { i in
                    let got = try await s3.get(key: "\(prefix)/\(i)")
                    guard got == size else { throw BenchError("GET \(prefix)/\(i) returned \(got) bytes, expected \(size)") }
                }
                let putMBs = Double(count * size) / put / 1e6, getMBs = Double(count * size) / get / 1e6
                if size > 1 << 20, concurrency == 16 { largePut16 = putMBs }
                say(label.padding(toLength: 6, withPad: " ", startingAt: 0) + String(format: " c=%-2d  PUT %8.0f req/s %8.1f MB/s (server CPU %.2f s/1000 req)   GET %8.0f req/s %8.1f MB/s",
                           concurrency, Double(count) / put, putMBs, putCPU / Double(count) * 1000,
                           Double(count) / get, getMBs))
                if size > 1 << 20 {
                    say(String(format: "        large PUT at c=%d: %.0f%% of the dd bandwidth", concurrency, putMBs / (disk / 1e6) * 100))
                }
            }
        }
        say(String(format: "summary: 16 MiB PUT c=16 %.0f%% of disk; see the 4 KiB PUT c=16 line for small PUTs/s", largePut16 / (disk / 1e6) * 100))
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Runs `count` operations with `concurrency` workers and returns the elapsed seconds.
enum Load {
    static func run(count: Int, concurrency: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
        let next = Counter()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let i = next.take(below: count) { try await operation(i) }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// `dd if=/dev/zero of=DIR/dd-test bs=1M count=N conv=fdatasync`, in bytes per second.
enum DiskBandwidth {
    /// `dd … bs=4k oflag=dsync`: each 4 KiB write waits for the disk, as a commit does.
    static func syncedWritesPerSecond(directory: String, count: Int) throws -> Double {
        let seconds = try run(["if=/dev/zero", "of=\(directory)/dd-sync-test", "bs=4k", "count=\(count)", "oflag=dsync"])
        try? FileManager.default.removeItem(atPath: directory + "/dd-sync-test")
        return Double(count) / seconds
    }

    static func run(_ arguments: [String]) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/dd")
        process.arguments = arguments
        let stderr = Pipe()
        process.standardError = stderr
        let start = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        guard process.terminationStatus == 0 else {
            throw BenchError("dd failed: \(String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func measure(directory: String, megabytes: Int) throws -> Double {
        let target = directory + "/dd-test"
        defer { try? FileManager.default.removeItem(atPath: target) }
        let seconds = try run(["if=/dev/zero", "of=\(target)", "bs=1M", "count=\(megabytes)", "conv=fdatasync"])
        return Double(megabytes << 20) / seconds
    }
}
