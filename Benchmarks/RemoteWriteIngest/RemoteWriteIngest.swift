import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import PrometheusRemoteWrite
import Snappy
import SwiftProtobuf
import Synchronization
import VigilService

/// `metrics-store-bench`: the same remote-write load against metrics-store and against a
/// real Prometheus (Debian's 2.42) in one run. Each server starts fresh in a temporary
/// directory; `senders` concurrent clients each own a disjoint share of the series and
/// send pre-encoded requests (so the client's encoding cost is not measured). Reports
/// samples/s, the server's peak RSS and its WAL bytes per sample, and the ratios. With
/// `--wait-for-blocks` (and more than 3 h of samples per series) it then waits until each
/// server has cut its head into blocks and reports block bytes per sample from the blocks'
/// meta.json (both write Prometheus's block format).
@main
struct RemoteWriteIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics-store-bench")

    @Option(help: "Path to the metrics-store executable.") var metricsStore = ".build/release/metrics-store"
    @Option(help: "Path to the Prometheus executable (empty skips it).") var prometheus = "/usr/bin/prometheus"
    @Option(help: "Number of series.") var series = 10_000
    @Option(help: "Samples per series.") var samplesPerSeries = 120
    @Option(help: "Samples per request.") var samplesPerRequest = 2_000
    @Option(help: "Concurrent senders.") var senders = 4
    @Option(help: "Port for the server under test.") var port = 29090
    @Option(help: "Seconds to wait for blocks after ingest (0: don't; needs > 720 samples per series).") var waitForBlocks = 0
    @Option(help: "Sample values: exporter (modelled on node_exporter's series) or random-floats (the worst case).")
    var workload: Workload = .exporter
    @Option(help: "HTTP client of the senders: raw (a write and a read per request on a keep-alive socket) or async-http-client.")
    var client: SenderClient = .raw
    @Flag(help: "Keep each server's data directory (its path is printed) for inspection, e.g. promtool tsdb analyze.")
    var keepData = false

    func run() async throws {
        let requests = makeRequests()
        let total = series * samplesPerSeries
        say("load: \(series) series × \(samplesPerSeries) samples = \(total) samples, \(samplesPerRequest) per request, \(senders) senders, \(workload.rawValue) workload")
        var results: [(String, Result)] = []
        results.append(("metrics-store", try await measure(name: "metrics-store", requests: requests, total: total) { dir in
            [metricsStore, "--web.listen-address=127.0.0.1:\(port)", "--storage.tsdb.path=\(dir)", "--web.enable-remote-write-receiver", "--log.level=error"]
        }))
        if !prometheus.isEmpty {
            results.append(("prometheus", try await measure(name: "prometheus 2.42", requests: requests, total: total) { dir in
                let config = dir + "/prometheus.yml"
                try? "global:\n  scrape_interval: 1h\n".write(toFile: config, atomically: true, encoding: .utf8)
                return [prometheus, "--config.file=\(config)", "--storage.tsdb.path=\(dir)/data", "--web.listen-address=127.0.0.1:\(port)",
                        "--web.enable-remote-write-receiver", "--log.level=error"]
            }))
        }
        if results.count == 2 {
            let (ours, theirs) = (results[0].1, results[1].1)
            say(String(format: "ratio metrics-store / prometheus: ingest %.2f×, peak RSS %.2f×, WAL bytes %.2f×",
                       ours.samplesPerSecond / theirs.samplesPerSecond, Double(ours.peakRSS) / Double(theirs.peakRSS),
                       Double(ours.walBytes) / Double(max(1, theirs.walBytes))))
            if let a = ours.blockBytesPerSample, let b = theirs.blockBytesPerSample {
                say(String(format: "ratio metrics-store / prometheus: block bytes per sample %.2f×", a / b))
            }
        }
    }

    struct Result {
        var samplesPerSecond: Double
        var peakRSS: Int
        var walBytes: Int
        var blockBytesPerSample: Double?
    }

    func measure(name: String, requests: [[ByteBuffer]], total: Int, command: (String) -> [String]) async throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rw-bench-\(getpid())-\(name.hashValue & 0xffff)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer {
            if keepData { say("\(name): data kept in \(dir)") } else { try? FileManager.default.removeItem(atPath: dir) }
        }
        let argv = command(dir)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            return try await drive(name: name, process: process, http: client, requests: requests, total: total, dir: dir)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func drive(name: String, process: Process, http: HTTPClient, requests: [[ByteBuffer]], total: Int, dir: String) async throws -> Result {
        defer {
            // The next server takes the same port: wait until this one has let go.
            process.terminate()
            process.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(port)/api/v1/write"
        try await waitReady(client: http, url: "http://127.0.0.1:\(port)/-/ready")

        let rendered = client == .raw ? requests.map { $0.map { RawHTTPSender.render(body: Array($0.readableBytesView), host: "127.0.0.1", port: port) } } : []
        let clientCPUBefore = ProcessMemory.cpuSeconds(pid: getpid()) ?? 0
        let cpuBefore = ProcessMemory.cpuSeconds(pid: process.processIdentifier) ?? 0
        let start = ContinuousClock.now
        switch client {
        case .raw: try await sendRaw(name: name, shares: rendered)
        case .asyncHTTPClient: try await sendAsync(name: name, client: http, url: url, shares: requests)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let peak = ProcessMemory.peakResidentBytes(pid: process.processIdentifier) ?? 0
        let cpu = (ProcessMemory.cpuSeconds(pid: process.processIdentifier) ?? 0) - cpuBefore
        let clientCPU = (ProcessMemory.cpuSeconds(pid: getpid()) ?? 0) - clientCPUBefore
        let wal = Self.directorySize(dir)
        var result = Result(samplesPerSecond: Double(total) / seconds, peakRSS: peak, walBytes: wal)
        say(String(format: "%@: %.0f samples/s (%.2f s, server CPU %.2f s = %.0f samples per CPU-second, client CPU %.2f s), peak RSS %.1f MiB, on disk %.2f bytes/sample (WAL, before blocks)",
                   name, result.samplesPerSecond, seconds, cpu, Double(total) / max(cpu, 0.001), clientCPU, Double(peak) / 1_048_576, Double(wal) / Double(total)))
        if waitForBlocks > 0, let blocks = try await Self.waitForBlocks(in: dir, seconds: waitForBlocks) {
            result.blockBytesPerSample = Double(blocks.bytes) / Double(max(1, blocks.samples))
            say(String(format: "%@: %d blocks hold %d samples in %d bytes: %.3f bytes/sample (index included); peak RSS now %.1f MiB, RSS %.1f MiB",
                       name, blocks.count, blocks.samples, blocks.bytes, result.blockBytesPerSample!,
                       Double(ProcessMemory.peakResidentBytes(pid: process.processIdentifier) ?? 0) / 1_048_576,
                       Double(ProcessMemory.residentBytes(pid: process.processIdentifier) ?? 0) / 1_048_576))
        }
        try await http.shutdown()
        return result
    }

    /// Each sender on its own thread and connection (`RawHTTPSender`).
    func sendRaw(name: String, shares: [[[UInt8]]]) async throws {
        let barrier = ThreadBarrier(parties: shares.count)
        let failure = Mutex<BenchError?>(nil)
        let port = port
        let (rounds, roundsPerBarrier) = (rounds, roundsPerBarrier)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let group = DispatchGroup()
            for share in shares {
                group.enter()
                // Senders meet as in `sendAsync`.
                let every = share.count / rounds * roundsPerBarrier
                Thread {
                    defer { group.leave() }
                    do {
                        let sender = try RawHTTPSender(host: "127.0.0.1", port: port)
                        for (index, request) in share.enumerated() {
                            if index > 0, every > 0, index % every == 0 { barrier.arrive() }
                            let (status, body) = try sender.send(request)
                            guard (200..<300).contains(status) else { throw BenchError(message: "\(name) answered \(status): \(body)") }
                        }
                    } catch {
                        failure.withLock { $0 = $0 ?? (error as? BenchError) ?? BenchError(message: "\(error)") }
                        barrier.breakBarrier()
                    }
                }.start()
            }
            group.notify(queue: .global()) { done.resume() }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Each sender a task sharing one AsyncHTTPClient (the benchmark's earlier client).
    func sendAsync(name: String, client: HTTPClient, url: String, shares requests: [[ByteBuffer]]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let barrier = RoundBarrier(parties: requests.count)
            for share in requests {
                let perBarrier = share.count / rounds * roundsPerBarrier
                group.addTask {
                    for (index, body) in share.enumerated() {
                        // Senders meet every `roundsPerBarrier` rounds so that none runs
                        // more than ~30 min of sample time ahead: Prometheus refuses
                        // samples over an hour older than its head's newest.
                        if index > 0, perBarrier > 0, index % perBarrier == 0 { await barrier.arrive() }
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Encoding", value: "snappy")
                        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
                        request.headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
                        request.body = .bytes(body)
                        let response = try await client.execute(request, timeout: .seconds(60))
                        guard (200..<300).contains(response.status.code) else {
                            let text = try await response.body.collect(upTo: 4096)
                            throw BenchError(message: "\(name) answered \(response.status.code): \(String(buffer: text))")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Polls for block directories (any folder under `dir` with a meta.json) until their
    /// number has not changed for 20 s; nil if none appeared in time.
    static func waitForBlocks(in dir: String, seconds: Int) async throws -> (count: Int, samples: Int, bytes: Int)? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last: (count: Int, samples: Int, bytes: Int)?
        var stableSince = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let found = blockStats(dir)
            if found.count != last?.count { stableSince = ContinuousClock.now }
            last = found
            if found.count > 0, ContinuousClock.now - stableSince >= .seconds(20) { return found }
            try await Task.sleep(for: .seconds(1))
        }
        return (last?.count ?? 0) > 0 ? last : nil
    }

    static func blockStats(_ dir: String) -> (count: Int, samples: Int, bytes: Int) {
        var result = (count: 0, samples: 0, bytes: 0)
        guard let enumerator = FileManager.default.enumerator(atPath: dir) else { return result }
        for case let file as String in enumerator where file.hasSuffix("/meta.json") {
            let blockDir = dir + "/" + String(file.dropLast("/meta.json".count))
            guard let data = FileManager.default.contents(atPath: dir + "/" + file),
                  let meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let stats = meta["stats"] as? [String: Any], let samples = stats["numSamples"] as? Int else { continue }
            result.count += 1
            result.samples += samples
            result.bytes += directorySize(blockDir)
        }
        return result
    }

    /// Rounds per sender (one round: up to 10 samples of each series it owns).
    var rounds: Int {
        let perRound = max(1, min(samplesPerSeries, 10))
        return (samplesPerSeries + perRound - 1) / perRound
    }

    /// 12 rounds of 10 samples at 15 s: 30 minutes of sample time.
    let roundsPerBarrier = 12

    func waitReady(client: HTTPClient, url: String) async throws {
        for _ in 0..<300 {
            if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(1)), response.status.code == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError(message: "server at \(url) did not become ready")
    }

    /// Per sender, its requests in time order: sender k owns series k, k+senders, ….
    func makeRequests() -> [[ByteBuffer]] {
        let base = Int64(Date().timeIntervalSince1970 * 1000) - Int64(samplesPerSeries) * 15_000
        let samplesPerSeriesPerRequest = max(1, min(samplesPerSeries, 10))
        let seriesPerRequest = max(1, samplesPerRequest / samplesPerSeriesPerRequest)
        var shares: [[ByteBuffer]] = Array(repeating: [], count: senders)
        var values = (0..<series).map { workload.makeSeries(id: $0) }
        for sender in 0..<senders {
            let owned = Array(stride(from: sender, to: series, by: senders))
            var round = 0
            while round * samplesPerSeriesPerRequest < samplesPerSeries {
                let first = round * samplesPerSeriesPerRequest
                let count = min(samplesPerSeriesPerRequest, samplesPerSeries - first)
                for chunkStart in stride(from: 0, to: owned.count, by: seriesPerRequest) {
                    var request = WriteRequest()
                    for id in owned[chunkStart..<min(chunkStart + seriesPerRequest, owned.count)] {
                        var ts = TimeSeries()
                        ts.labels = [
                            .with { $0.name = "__name__"; $0.value = "bench_metric_\(id % 100)" },
                            .with { $0.name = "instance"; $0.value = "host-\(id / 100):9100" },
                            .with { $0.name = "job"; $0.value = "node" },
                        ]
                        ts.samples = (first..<first + count).map { i in
                            .with { $0.timestamp = base + Int64(i) * 15_000; $0.value = values[id].next() }
                        }
                        request.timeseries.append(ts)
                    }
                    let bytes: [UInt8] = (try? request.serializedBytes()) ?? []
                    shares[sender].append(ByteBuffer(bytes: Snappy.compress(bytes)))
                }
                round += 1
            }
        }
        return shares
    }

    static func directorySize(_ path: String) -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        for case let file as String in enumerator {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + file)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }
}

/// The senders' HTTP client.
enum SenderClient: String, ExpressibleByArgument {
    case raw
    case asyncHTTPClient = "async-http-client"
}

/// Lets `parties` tasks wait for each other, any number of times.
actor RoundBarrier {
    let parties: Int
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(parties: Int) { self.parties = parties }

    func arrive() async {
        arrived += 1
        if arrived == parties {
            arrived = 0
            let released = waiting
            waiting = []
            for continuation in released { continuation.resume() }
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
