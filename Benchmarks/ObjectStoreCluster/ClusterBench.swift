import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ObjectStore
import ObjectStoreBenchSupport

/// `object-store-cluster-bench`: what replication costs. In one run it starts a single node
/// (the fast path) and a three-node cluster with replication factor 3 (one zone per node,
/// all on this machine), and measures PUT and GET of 4 KiB and 16 MiB objects through the
/// first node of each at concurrency 16, printing the cluster/single ratios. Every cluster
/// PUT is committed (data fsynced, metadata committed) on two of the three nodes before it
/// is acknowledged, and on the third shortly after.
@main
struct ClusterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "object-store-cluster-bench")

    @Option(help: "Path to the object-store executable.") var objectStore = ".build/release/object-store"
    @Option(help: "Small-object requests.") var smallRequests = 3_000
    @Option(help: "Large-object requests.") var largeRequests = 24
    @Option(help: "Concurrent requests.") var concurrency = 16
    @Option(help: "First port; each node takes four from here.") var port = 41900

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("object-store-cluster-bench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        var results: [String: [Double]] = [:]
        for (label, count) in [("single", 1), ("rf3", 3)] {
            let nodes = try (0..<count).map {
                try ClusterNode(executable: objectStore, directory: "\(dir)/\(label)/node\($0)", basePort: port + ($0 + (label == "rf3" ? 1 : 0) * 4) * 4,
                                secret: secret, replicationFactor: count)
            }
            defer { nodes.forEach { $0.stop() } }
            for node in nodes { try await node.waitUntilReady() }
            let key = try await formCluster(nodes)
            say("\(label): \(count) node(s) ready")
            results[label] = try await measure(nodes: nodes, key: key, label: label)
        }
        let single = results["single"]!, rf3 = results["rf3"]!
        let names = ["4 KiB PUT req/s", "4 KiB GET req/s", "16 MiB PUT MB/s", "16 MiB GET MB/s"]
        for (index, name) in names.enumerated() {
            say(name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: "  single %8.1f   rf3 %8.1f   ratio %.2f", single[index], rf3[index], rf3[index] / single[index]))
        }
    }

    /// [4 KiB PUT/s, 4 KiB GET/s, 16 MiB PUT MB/s, 16 MiB GET MB/s] through the first node.
    func measure(nodes: [ClusterNode], key: AccessKey, label: String) async throws -> [Double] {
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)))
        let s3 = BenchS3(client: client, endpoint: "http://127.0.0.1:\(nodes[0].s3Port)", key: key)
        do {
            let figures = try await measure(s3: s3, nodes: nodes, label: label)
            try await client.shutdown()
            return figures
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func measure(s3: BenchS3, nodes: [ClusterNode], label: String) async throws -> [Double] {
        var figures: [Double] = []
        for (name, size, count) in [("4KiB", 4 << 10, smallRequests), ("16MiB", 16 << 20, largeRequests)] {
            let body = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
            let cpuBefore = nodes.map { $0.cpuSeconds() }
            let put = try await Load.run(count: count, concurrency: concurrency) { i in try await s3.put(key: "\(name)/\(i)", body: body) }
            let cpu = zip(nodes, cpuBefore).map { $0.cpuSeconds() - $1 }.reduce(0, +)
            let get = try await Load.run(count: count, concurrency: concurrency) { i in
                let got = try await s3.get(key: "\(name)/\(i)")
                guard got == size else { throw BenchError("GET \(name)/\(i) returned \(got) bytes, expected \(size)") }
            }
            let scale = size > 1 << 20 ? Double(size) / 1e6 : 1
            figures += [Double(count) / put * scale, Double(count) / get * scale]
            say(String(format: "%@ %@ c=%d: PUT %.1f %@, GET %.1f %@, server CPU (all nodes) %.2f ms per PUT",
                       label, name, concurrency, Double(count) / put * scale, scale == 1 ? "req/s" : "MB/s",
                       Double(count) / get * scale, scale == 1 ? "req/s" : "MB/s", cpu / Double(count) * 1000))
        }
        return figures
    }
}
