import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import OTLP
import Synchronization
import VigilService

/// `collector-bench`: measures the collector end to end. It hosts an OTLP gRPC sink,
/// starts the collector binary with an otlp receiver → batch → otlp exporter pipeline
/// pointed at that sink, pushes spans at it from several concurrent clients, and reports
/// spans/s delivered to the sink and the collector's peak RSS. A second phase makes the
/// sink refuse everything and keeps pushing, sampling RSS to show it stays flat while the
/// collector answers RESOURCE_EXHAUSTED.
@main
struct CollectorThroughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "collector-bench")

    @Option(help: "Path to the collector executable.") var collector: String = ".build/release/collector"
    @Option(help: "Seconds of load in the throughput phase.") var seconds: Double = 10
    @Option(help: "Seconds of load in the overload phase (0 skips it).") var overloadSeconds: Double = 10
    @Option(help: "Concurrent client connections.") var clients: Int = 4
    @Option(help: "Spans per export request.") var spansPerRequest: Int = 500
    @Option(help: "First of the three loopback ports used.") var basePort: Int = 24317

    func run() async throws {
        let sink = SpanSink()
        let sinkPort = basePort + 2
        let sinkServer = GRPCServer(
            transport: HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: sinkPort), transportSecurity: .plaintext,
                                                  config: .defaults { $0.rpc.maxRequestPayloadSize = 64 << 20 }),
            services: [sink])
        let sinkTask = Task { try await sinkServer.serve() }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("collector-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let configPath = directory.appendingPathComponent("collector.yaml").path
        try """
        receivers:
          otlp:
            protocols:
              grpc:
                endpoint: 127.0.0.1:\(basePort)
        processors:
          batch:
            send_batch_size: 8192
            send_batch_max_size: 16384
        exporters:
          otlp:
            endpoint: 127.0.0.1:\(sinkPort)
            tls: {insecure: true}
            compression: none
            sending_queue: {queue_size: 10, num_consumers: 4}
            retry_on_failure: {initial_interval: 100ms, max_interval: 1s}
        service:
          telemetry:
            logs: {level: error}
            metrics: {address: 127.0.0.1:\(basePort + 1)}
          pipelines:
            traces: {receivers: [otlp], processors: [batch], exporters: [otlp]}
        """.write(toFile: configPath, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: collector)
        process.arguments = ["--config=\(configPath)"]
        try process.run()
        defer { process.terminate() }
        try await Task.sleep(for: .seconds(2))

        let request = Self.makeRequest(spans: spansPerRequest)
        say("collector-bench: \(clients) clients, \(spansPerRequest) spans/request, \(seconds)s")

        // Throughput phase.
        let sentBefore = sink.count
        let cpuBefore = ProcessMemory.cpuSeconds(pid: process.processIdentifier) ?? 0
        let start = ContinuousClock.now
        let (sent, refused) = try await push(request, port: basePort, for: seconds)
        // Let the last batches reach the sink.
        try await Task.sleep(for: .seconds(1))
        let elapsed = (ContinuousClock.now - start)
        let delivered = sink.count - sentBefore
        let rate = Double(delivered) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let peak = ProcessMemory.peakResidentBytes(pid: process.processIdentifier) ?? 0
        let cpu = (ProcessMemory.cpuSeconds(pid: process.processIdentifier) ?? 0) - cpuBefore
        say(String(format: "throughput: %.0f spans/s delivered (%d accepted, %d refused requests), peak RSS %.1f MiB",
                     rate, sent, refused, Double(peak) / 1_048_576))
        say(String(format: "collector CPU: %.1f s for %d spans = %.0f spans per CPU-second",
                     cpu, delivered, cpu > 0 ? Double(delivered) / cpu : 0))

        if overloadSeconds > 0 {
            sink.refuse.store(true, ordering: .relaxed)
            let pid = process.processIdentifier
            let sampler = Task { () -> [Double] in
                var samples: [Double] = []
                while !Task.isCancelled {
                    if let rss = ProcessMemory.residentBytes(pid: pid) { samples.append(Double(rss) / 1_048_576) }
                    try? await Task.sleep(for: .milliseconds(500))
                }
                return samples
            }
            let (accepted, refusedOverload) = try await push(request, port: basePort, for: overloadSeconds)
            sampler.cancel()
            let samples = await sampler.value
            let firstHalf = samples.prefix(samples.count / 2).max() ?? 0
            let secondHalf = samples.suffix(samples.count / 2).max() ?? 0
            say(String(format: "overload: %d requests accepted, %d refused with RESOURCE_EXHAUSTED; RSS max first half %.1f MiB, second half %.1f MiB",
                         accepted, refusedOverload, firstHalf, secondHalf))
        }
        process.terminate()
        let stopStart = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - stopStart < .seconds(10) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let stopTime = ContinuousClock.now - stopStart
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            say("collector did not stop within 10 s of SIGTERM; killed")
        } else {
            say("collector stopped \(stopTime) after SIGTERM")
        }
        sinkServer.beginGracefulShutdown()
        _ = await sinkTask.result
        try? FileManager.default.removeItem(at: directory)
    }

    /// Pushes the same request from `clients` connections for `seconds`; returns accepted
    /// and refused request counts.
    func push(_ request: ExportTraceServiceRequest, port: Int, for seconds: Double) async throws -> (Int, Int) {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        return try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<clients {
                group.addTask {
                    let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
                    let client = GRPCClient(transport: transport)
                    let runner = Task { try? await client.runConnections() }
                    let service = TraceService.Client(wrapping: client)
                    var ok = 0, refused = 0
                    while ContinuousClock.now < deadline {
                        do {
                            var options = CallOptions.defaults
                            options.timeout = .seconds(5)
                            _ = try await service.export(request, options: options)
                            ok += 1
                        } catch {
                            refused += 1
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    client.beginGracefulShutdown()
                    _ = await runner.result
                    return (ok, refused)
                }
            }
            var total = (0, 0)
            for try await (ok, refused) in group { total.0 += ok; total.1 += refused }
            return total
        }
    }

    static func makeRequest(spans: Int) -> ExportTraceServiceRequest {
        var scope = ScopeSpans()
        scope.scope.name = "bench"
        for i in 0..<spans {
            scope.spans.append(.with {
                $0.traceID = Data((0..<16).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) | 1 })
                $0.spanID = Data((0..<8).map { UInt8(truncatingIfNeeded: $0 &* 3 &+ i) | 1 })
                $0.name = "GET /api/items/\(i % 50)"
                $0.kind = .server
                $0.startTimeUnixNano = 1_700_000_000_000_000_000 + UInt64(i) * 1000
                $0.endTimeUnixNano = 1_700_000_000_000_000_000 + UInt64(i) * 1000 + 250_000
                $0.attributes = [
                    .with { $0.key = "http.method"; $0.value.stringValue = "GET" },
                    .with { $0.key = "http.status_code"; $0.value.intValue = 200 },
                    .with { $0.key = "http.route"; $0.value.stringValue = "/api/items/{id}" },
                ]
            })
        }
        var resource = ResourceSpans()
        resource.resource.attributes = [.with { $0.key = "service.name"; $0.value.stringValue = "bench" }]
        resource.scopeSpans = [scope]
        return .with { $0.resourceSpans = [resource] }
    }

}

/// The benchmark's backend: counts spans, or refuses everything while `refuse` is set.
final class SpanSink: TraceService.SimpleServiceProtocol {
    let received = Atomic<Int>(0)
    let refuse = Atomic<Bool>(false)
    var count: Int { received.load(ordering: .relaxed) }

    func export(request: ExportTraceServiceRequest, context: ServerContext) async throws -> ExportTraceServiceResponse {
        if refuse.load(ordering: .relaxed) { throw RPCError(code: .unavailable, message: "sink paused") }
        var spans = 0
        for rs in request.resourceSpans { for ss in rs.scopeSpans { spans += ss.spans.count } }
        received.add(spans, ordering: .relaxed)
        return ExportTraceServiceResponse()
    }
}

/// Prints a line at once (stdout may be a pipe that would buffer it).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
