import ArgumentParser
import AsyncHTTPClient
import Foundation
import MetricsStore
import NIOCore

/// `metrics-store-promql-bench`: query latency of the PromQL engine over an in-memory
/// head, side by side with a real Prometheus (Debian's 2.42) over the same samples.
///
/// Data: `series` counters (`http_requests_total`, labels instance/job/pod) plus one
/// classic histogram per 100 series (10 buckets), 6 h at 15 s. Prometheus gets the same
/// samples as TSDB blocks built by `promtool tsdb create-blocks-from openmetrics`, and is
/// timed by its own `execTotalTime` (`stats=all`), so HTTP and JSON costs are left out on
/// both sides. The two sides take turns, run by run; each figure is the best of `runs`,
/// and the first run of each side is shown too (the engine's later runs of an instant
/// query resume chunk decoding where its first run left off, as a rule or a dashboard
/// refresh would). Afterwards the answers of both sides are compared.
@main
struct PromQLQueries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics-store-promql-bench")

    @Option(help: "Number of counter series.") var series = 10_000
    @Option(help: "Hours of samples at 15 s.") var hours = 6
    @Option(help: "Runs per query (the best and the first are reported).") var runs = 3
    @Option(help: "Path to the Prometheus executable (empty skips the comparison).") var prometheus = "/usr/bin/prometheus"
    @Option(help: "Path to promtool.") var promtool = "/usr/bin/promtool"
    @Option(help: "Port for Prometheus.") var port = 29091
    @Option(help: "Which queries to run: all, instant or range (e.g. to profile one kind).") var kind = "all"
    @Flag(help: "Do not compare the answers with Prometheus's.") var skipCheck = false
    @Option(help: "Where the engine reads: head (all in memory), or xor / decimal (a TSDB whose first 4 h are cut into blocks in that chunk encoding; the last 2 h stay in the head).")
    var storage = "head"

    static let interval: Int64 = 15_000
    static let bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]

    struct Query {
        var text: String
        var range: Bool
    }

    static let allQueries = [
        Query(text: "sum by (job) (rate(http_requests_total[5m]))", range: false),
        Query(text: "sum by (job) (rate(http_requests_total[5m]))", range: true),
        Query(text: "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", range: true),
        Query(text: "topk(10, rate(http_requests_total[5m]))", range: false),
        Query(text: "topk(10, rate(http_requests_total[5m]))", range: true),
        Query(text: "sum(rate(http_requests_total{instance=~\"host-1.*\"}[5m]))", range: true),
        Query(text: "sum by (pod) (http_requests_total)", range: true),
        Query(text: "http_requests_total / http_requests_total", range: true),
        Query(text: "http_requests_total / on(job) group_left sum by (job) (http_requests_total)", range: true),
    ]

    var queries: [Query] {
        switch kind {
        case "instant": Self.allQueries.filter { !$0.range }
        case "range": Self.allQueries.filter(\.range)
        default: Self.allQueries
        }
    }

    var samplesPerSeries: Int { hours * 3600 / 15 }
    var end: Int64 { Int64(samplesPerSeries - 1) * Self.interval }
    var start: Int64 { end - Int64(hours) * 3_600_000 + Self.interval }

    /// Every series with its samples, in a fixed order (also the OpenMetrics order).
    func forEachSeries(_ body: (Labels, [Head.Sample]) throws -> Void) rethrows {
        for s in 0..<series {
            let labels = Labels(["__name__": "http_requests_total", "instance": "host-\(s)", "job": "job-\(s % 10)", "pod": "pod-\(s % 100)"])
            var value = 0.0
            try body(labels, (0..<samplesPerSeries).map { i in
                value += Double((s + i) % 7)
                return Head.Sample(Int64(i) * Self.interval, value)
            })
        }
        for h in 0..<(series / 100) {
            for (b, le) in Self.bounds.enumerated() {
                let labels = Labels(["__name__": "http_request_duration_seconds_bucket", "instance": "host-\(h)", "job": "job-\(h % 10)", "le": le])
                var value = 0.0
                try body(labels, (0..<samplesPerSeries).map { i in
                    value += Double(b + 1 + i % 3)
                    return Head.Sample(Int64(i) * Self.interval, value)
                })
            }
        }
    }

    /// Batches of 100 series.
    func batches() -> [[(labels: Labels, samples: [Head.Sample])]] {
        var batches: [[(labels: Labels, samples: [Head.Sample])]] = [[]]
        forEachSeries { labels, samples in
            if batches[batches.count - 1].count == 100 { batches.append([]) }
            batches[batches.count - 1].append((labels, samples))
        }
        return batches
    }

    func loadStorage() async throws -> (any PromQLStorage, cleanup: () -> Void) {
        if storage == "head" {
            let head = Head()
            for batch in batches() { _ = try head.append(batch) }
            print("loaded \(head.seriesCount) series, \(head.sampleCount) samples into the head")
            return (head, {})
        }
        guard let encoding = BlockChunkEncoding(rawValue: storage) else {
            throw ValidationError("--storage must be head, xor or decimal, not \(storage)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("promql-bench-\(UUID().uuidString)")
        let tsdb = try TSDB.open(directory: directory, blockChunkEncoding: encoding)
        for batch in batches() { try await tsdb.append(batch) }
        let blocks = try await tsdb.compact(now: end)
        print("loaded \(tsdb.head.seriesCount) series; \(blocks.count) blocks (\(encoding) chunks, \(tsdb.blocksSize) bytes) hold \(blocks.reduce(0) { $0 + $1.stats.numSamples }) samples, the head \(tsdb.head.sampleCount)")
        return (tsdb, { tsdb.close(); try? FileManager.default.removeItem(at: directory) })
    }

    func run() async throws {
        let (storage, cleanup) = try await loadStorage()
        defer { cleanup() }
        let engine = PromQLEngine(storage: storage)
        let peer = prometheus.isEmpty ? nil : try await startPrometheus()
        defer { peer?.stop() }
        // Both sides run each query in turn, so a change in the machine's load hits both.
        var ours: [[Double]] = []
        var theirs: [[Double]] = []
        for query in queries {
            var mine: [Double] = []
            var peers: [Double] = []
            for _ in 0..<runs {
                let began = ContinuousClock.now
                if query.range {
                    _ = try await engine.rangeQuery(query.text, start: start, end: end, step: Self.interval)
                } else {
                    _ = try await engine.instantQuery(query.text, at: end)
                }
                let elapsed = ContinuousClock.now - began
                mine.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                if let peer, let seconds = try await execTime(peer.client, query) { peers.append(seconds) }
            }
            ours.append(mine)
            theirs.append(peers)
        }

        if let peer, !skipCheck {
            let differences = try await compareAnswers(engine, peer)
            for difference in differences { print("DIFFERENT: \(difference)") }
            if differences.isEmpty { print("answers equal to Prometheus's for every query small enough to compare") }
        }

        print("| query | kind | metrics-store | Prometheus | ratio | first runs |")
        print("|---|---|---:|---:|---:|---:|")
        for (i, query) in queries.enumerated() {
            let mine = ours[i].min() ?? .nan
            let peerBest = theirs[i].min()
            let peerText = peerBest.map { String(format: "%.3f s", $0) } ?? "—"
            let ratio = peerBest.map { String(format: "%.2f×", mine / $0) } ?? "—"
            let first = String(format: "%.3f s", ours[i].first ?? .nan) + (theirs[i].first.map { String(format: " / %.3f s", $0) } ?? "")
            print("| `\(query.text)` | \(query.range ? "range \(hours) h / 15 s" : "instant") | \(String(format: "%.3f s", mine)) | \(peerText) | \(ratio) | \(first) |")
        }
    }

    // MARK: Prometheus

    /// A running Prometheus over blocks of the same samples.
    struct Peer {
        var server: Process
        var directory: URL
        var client: HTTPClient

        func stop() {
            server.terminate()
            server.waitUntilExit()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Builds blocks from the same samples and starts Prometheus on them.
    func startPrometheus() async throws -> Peer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("promql-bench-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openMetrics = directory.appendingPathComponent("data.om")
        try writeOpenMetrics(to: openMetrics)
        try runToCompletion(promtool, ["tsdb", "create-blocks-from", "openmetrics", openMetrics.path, directory.appendingPathComponent("tsdb").path])
        try? FileManager.default.removeItem(at: openMetrics)
        let config = directory.appendingPathComponent("prometheus.yml")
        try "global:\n  scrape_interval: 1h\n".write(to: config, atomically: true, encoding: .utf8)

        let server = Process()
        server.executableURL = URL(fileURLWithPath: prometheus)
        server.arguments = ["--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("tsdb").path)",
                            "--storage.tsdb.retention.time=100y", "--web.listen-address=127.0.0.1:\(port)",
                            "--query.max-samples=50000000"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        let peer = Peer(server: server, directory: directory, client: HTTPClient.shared)
        do {
            try await waitUntilReady(peer.client)
        } catch {
            peer.stop()
            throw error
        }
        return peer
    }

    func writeOpenMetrics(to url: URL) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var buffer = ""
        try forEachSeries { labels, samples in
            let name = labels[Labels.metricName] ?? ""
            let rest = labels.filter { $0.name != Labels.metricName }.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",")
            let prefix = "\(name){\(rest)} "
            for sample in samples {
                buffer += prefix + String(Int64(sample.value)) + " " + String(sample.timestamp / 1000) + "\n"
            }
            if buffer.utf8.count > 1 << 22 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        buffer += "# EOF\n"
        try handle.write(contentsOf: Data(buffer.utf8))
    }

    func runToCompletion(_ path: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("\(path) \(arguments.joined(separator: " ")) failed") }
    }

    func waitUntilReady(_ client: HTTPClient) async throws {
        for _ in 0..<120 {
            if let response = try? await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/-/ready"), timeout: .seconds(2)),
               response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ValidationError("Prometheus did not become ready on port \(port)")
    }

    /// Prometheus's own `execTotalTime` for one run of `query`, in seconds.
    func execTime(_ client: HTTPClient, _ query: Query) async throws -> Double? {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/\(query.range ? "query_range" : "query")")!
        var items = [URLQueryItem(name: "query", value: query.text), URLQueryItem(name: "stats", value: "all")]
        if query.range {
            items += [URLQueryItem(name: "start", value: "\(Double(start) / 1000)"), URLQueryItem(name: "end", value: "\(Double(end) / 1000)"),
                      URLQueryItem(name: "step", value: "15")]
        } else {
            items.append(URLQueryItem(name: "time", value: "\(Double(end) / 1000)"))
        }
        components.queryItems = items
        // `+` must reach Prometheus as a plus sign, not a space.
        let url = components.url!.absoluteString.replacingOccurrences(of: "+", with: "%2B")
        var request = HTTPClientRequest(url: url)
        // Plain JSON: gzip of these repetitive answers trips the client's decompression
        // ratio limit.
        request.headers.add(name: "Accept-Encoding", value: "identity")
        let response = try await client.execute(request, timeout: .seconds(300))
        // Matrices of 10,000 series × 1,441 points run to hundreds of MB of JSON; only
        // the stats at its end are needed, so keep just the tail.
        var tail: [UInt8] = []
        for try await chunk in response.body {
            tail += chunk.readableBytesView
            if tail.count > 1 << 17 { tail.removeFirst(tail.count - (1 << 16)) }
        }
        let text = String(decoding: tail, as: UTF8.self)
        guard let key = text.range(of: "\"execTotalTime\":") else { return nil }
        let number = text[key.upperBound...].prefix { "0123456789.eE+-".contains($0) }
        return Double(number)
    }
}
