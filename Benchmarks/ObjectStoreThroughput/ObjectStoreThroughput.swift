import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import ObjectStore
import ObjectStoreBenchSupport

/// `object-store-bench`: PUT and GET throughput for small (4 KiB) and large (16 MiB)
/// objects at concurrency 1 and 16 against a fresh object-store node (started from the
/// given executable in a temporary directory, fsync on), and in the same run the disk's
/// raw sequential write bandwidth from `dd … conv=fdatasync` in that directory, so the
/// large-object PUT rate can be read as a fraction of what the disk can do.
///
/// Requests are signed with SigV4 and UNSIGNED-PAYLOAD (no SHA-256 of the body on either
/// side); the server still computes the MD5 ETag and the block CRCs of every byte.
///
/// The disk is noisy on a shared machine, so `dd` runs again right after the 16 MiB PUTs and
/// the ratio is taken against the mean of the two runs. The goal is stated against buffered
/// `dd … conv=fdatasync`; since the node writes data files with direct I/O, the same `dd`
/// with `oflag=direct` (the way the node writes) is measured and reported beside it, and `dd`
/// with 16 parallel streams (same total bytes) is printed as context for concurrency 16.
@main
struct ObjectStoreThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "object-store-bench")

    @Option(help: "Path to the object-store executable.") var objectStore = ".build/release/object-store"
    @Option(help: "Directory for the node's data and the dd test file (default: a new temporary directory).") var directory: String?
    @Option(help: "Small-object requests per concurrency level.") var smallRequests = 6_000
    @Option(help: "Large-object requests per concurrency level.") var largeRequests = 48
    @Option(help: "Bytes written by dd for the disk bandwidth.") var ddMegabytes = 1_024
    @Option(help: "S3 port of the node under test.") var port = 39900
    @Option(help: "Object sizes to run: small, large or both (comma-separated).") var sizes = "small,large"
    @Option(help: "Concurrency levels to run (comma-separated).") var concurrency = "1,16"
    @Flag(help: "Skip the 16-stream dd (context only).") var noParallelDd = false
    @Flag(help: "Only measure the node's hashing in this process (MD5 of one and of 16 bodies, block CRC-32), no node or disk.") var hashingOnly = false

    func run() async throws {
        if hashingOnly { return await HashingThroughput.report() }
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("object-store-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }

        let disk = try DiskBandwidth.measure(directory: dir, megabytes: ddMegabytes)
        say(String(format: "dd bs=1M count=%d conv=fdatasync: %.1f MB/s", ddMegabytes, disk / 1e6))
        let direct = try DiskBandwidth.measure(directory: dir, megabytes: ddMegabytes, direct: true)
        say(String(format: "dd bs=1M count=%d oflag=direct conv=fdatasync: %.1f MB/s", ddMegabytes, direct / 1e6))
        if !noParallelDd {
            let parallel = try DiskBandwidth.measureParallel(directory: dir, megabytes: ddMegabytes, streams: 16)
            say(String(format: "16 x dd bs=1M count=%d conv=fdatasync at once: %.1f MB/s in total (context)", ddMegabytes / 16, parallel / 1e6))
        }
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
            try await measureAll(s3: s3, node: node, disk: (disk, direct), directory: dir)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func measureAll(s3: BenchS3, node: BenchNode, disk: (buffered: Double, direct: Double), directory: String) async throws {
        let wanted = Set(sizes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let phases = [("4 KiB", 4 << 10, smallRequests, "small"), ("16 MiB", 16 << 20, largeRequests, "large")].filter { wanted.contains($0.3) }
        var largePut: [Int: Double] = [:]
        for (label, size, requests, _) in phases {
            let body = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
            for concurrency in levels {
                let count = concurrency == 1 ? max(requests / 4, 8) : requests
                let prefix = "\(label.replacingOccurrences(of: " ", with: ""))-c\(concurrency)"
                let cpuBefore = node.cpuSeconds(), clientBefore = BenchNodeProcess.ownCPUSeconds()
                let put = try await Load.run(count: count, concurrency: concurrency) { i in
                    try await s3.put(key: "\(prefix)/\(i)", body: body)
                }
                let putCPU = node.cpuSeconds() - cpuBefore, clientCPU = BenchNodeProcess.ownCPUSeconds() - clientBefore
                let get = try await Load.run(count: count, concurrency: concurrency) { i in
                    let got = try await s3.get(key: "\(prefix)/\(i)")
                    guard got == size else { throw BenchError("GET \(prefix)/\(i) returned \(got) bytes, expected \(size)") }
                }
                let putMBs = Double(count * size) / put / 1e6, getMBs = Double(count * size) / get / 1e6
                if size > 1 << 20 { largePut[concurrency] = putMBs }
                say(label.padding(toLength: 6, withPad: " ", startingAt: 0) + String(format: " c=%-2d  PUT %8.0f req/s %8.1f MB/s (CPU s/1000 req: server %.2f, client %.2f)   GET %8.0f req/s %8.1f MB/s",
                           concurrency, Double(count) / put, putMBs, putCPU / Double(count) * 1000, clientCPU / Double(count) * 1000,
                           Double(count) / get, getMBs))
            }
        }
        guard !largePut.isEmpty else { return }
        // The disk again, right after the large PUTs: ratios are against the mean of both runs.
        let after = try DiskBandwidth.measure(directory: directory, megabytes: ddMegabytes)
        let afterDirect = try DiskBandwidth.measure(directory: directory, megabytes: ddMegabytes, direct: true)
        let mean = (disk.buffered + after) / 2, meanDirect = (disk.direct + afterDirect) / 2
        say(String(format: "dd again after the 16 MiB PUTs: %.1f MB/s (mean %.1f), oflag=direct %.1f MB/s (mean %.1f)",
                   after / 1e6, mean / 1e6, afterDirect / 1e6, meanDirect / 1e6))
        for (concurrency, putMBs) in largePut.sorted(by: { $0.key < $1.key }) {
            say(String(format: "summary: 16 MiB PUT c=%d %.1f MB/s = %.0f%% of dd conv=fdatasync, %.0f%% of dd oflag=direct (means)",
                       concurrency, putMBs, putMBs / (mean / 1e6) * 100, putMBs / (meanDirect / 1e6) * 100))
        }
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

    /// `streams` dd processes at once, each writing `megabytes / streams` with
    /// conv=fdatasync to its own file; total bytes over the time until the last one ends.
    static func measureParallel(directory: String, megabytes: Int, streams: Int) throws -> Double {
        let each = max(megabytes / streams, 1)
        let targets = (0..<streams).map { "\(directory)/dd-test-\($0)" }
        defer { for target in targets { try? FileManager.default.removeItem(atPath: target) } }
        let start = ContinuousClock.now
        let processes = try targets.map { target in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/dd")
            process.arguments = ["if=/dev/zero", "of=\(target)", "bs=1M", "count=\(each)", "conv=fdatasync"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes {
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw BenchError("parallel dd failed with status \(process.terminationStatus)") }
        }
        let elapsed = ContinuousClock.now - start
        return Double(each * streams << 20) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// `direct` adds oflag=direct: the writes bypass the page cache, as the node's do.
    static func measure(directory: String, megabytes: Int, direct: Bool = false) throws -> Double {
        let target = directory + "/dd-test"
        defer { try? FileManager.default.removeItem(atPath: target) }
        let seconds = try run(["if=/dev/zero", "of=\(target)", "bs=1M", "count=\(megabytes)", "conv=fdatasync"] + (direct ? ["oflag=direct"] : []))
        return Double(megabytes << 20) / seconds
    }
}
