import AsyncHTTPClient
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import OTLP
import Prometheus
import ServiceLifecycle
import VigilService

/// The collector assembled from its configuration: receivers feeding pipelines of
/// processors that end in exporters' sending queues, plus the self-metrics and health
/// endpoints. `run()` serves until SIGTERM/SIGINT (or cancellation), then stops the
/// receivers first, flushes batches into the queues and drains them.
public final class Collector: Sendable {
    public let config: CollectorConfig
    public let telemetry: CollectorTelemetry
    let logger: Logger
    let httpClient: HTTPClient
    let graph: PipelineGraph
    let health = HealthRoutes()

    public init(config: CollectorConfig, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                logger: Logger = Logger(label: "vigil.collector")) throws {
        self.config = config
        self.telemetry = CollectorTelemetry(registry: registry)
        self.logger = logger
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        self.graph = try PipelineGraph(config: config, telemetry: telemetry, httpClient: httpClient, logger: logger)
    }

    /// Serves until a shutdown signal or until the calling task is cancelled.
    public func run(handleSignals: Bool = true) async throws {
        try await graph.recoverQueues()
        health.markReady()
        var services: [any Service] = [ExporterRunner(graph: graph, logger: logger)]
        services.append(contentsOf: try servers())
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) },
                                 gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                 logger: logger))
        do {
            try await withTaskCancellationHandler {
                try await group.run()
            } onCancel: {
                Task { await group.triggerGracefulShutdown() }
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try? await httpClient.shutdown()
    }

    /// The network servers, in start order; ServiceGroup stops them in reverse.
    func servers() throws -> [any Service] {
        var services: [any Service] = []
        let telemetryRouter = Router()
        SelfMetrics(registry: telemetry.registry).addRoutes(to: telemetryRouter)
        health.addRoutes(to: telemetryRouter)
        services.append(Application(router: telemetryRouter, configuration: .init(address: .init(config.service.telemetry.metricsAddress)), logger: logger))

        for (id, ext) in config.extensions where config.service.extensions.contains(id) {
            if case .healthCheck(let endpoint, let path) = ext {
                services.append(HealthCheck.application(endpoint: endpoint, path: path, logger: logger))
            }
        }
        for (id, receiver) in config.receivers.sorted(by: { $0.key < $1.key }) {
            guard case .otlp(let settings) = receiver, graph.usedReceivers.contains(id) else { continue }
            if let grpc = settings.grpc {
                let receiver = OTLPGRPCReceiver(
                    traces: graph.intake(for: id, transport: "grpc"), metrics: graph.intake(for: id, transport: "grpc"),
                    logs: graph.intake(for: id, transport: "grpc"))
                services.append(GRPCServerService(endpoint: grpc.endpoint, maxMessageBytes: grpc.maxReceiveMessageSizeMiB << 20,
                                                  services: receiver.services, logger: logger))
            }
            if let http = settings.http {
                let receiver = OTLPHTTPReceiver(
                    settings: http, traces: graph.intake(for: id, transport: "http"), metrics: graph.intake(for: id, transport: "http"),
                    logs: graph.intake(for: id, transport: "http"))
                let router = Router()
                receiver.addRoutes(to: router)
                services.append(Application(router: router, configuration: .init(address: .init(http.endpoint)), logger: logger))
            }
        }
        return services
    }
}

extension BindAddress {
    init(_ hostPort: HostPort) { self = .hostname(hostPort.host, port: hostPort.port) }
}

/// Runs the exporters' queues; on shutdown flushes the batch processors into them, lets
/// in-memory queues drain for a few seconds, then stops (persistent queues keep the rest).
struct ExporterRunner: Service {
    let graph: PipelineGraph
    let logger: Logger
    var drainTimeout: Duration = .seconds(5)

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for queue in graph.queues { group.addTask { await queue.run() } }
            for watch in graph.memoryWatches { group.addTask { await watch.run() } }
            try? await gracefulShutdown()
            await graph.flushBatches()
            let deadline = ContinuousClock.now + drainTimeout
            for queue in graph.queues where !queue.isDurable {
                while await !queue.isIdle, ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            for queue in graph.queues { await queue.stop() }
            try? await Task.sleep(for: .milliseconds(200))
            group.cancelAll()
        }
        await graph.shutdownSenders()
    }
}
