import AsyncHTTPClient
import Foundation
import Logging
import OTLP
import VigilService

/// The running shape of `service.pipelines`: for each receiver and signal, the heads of the
/// pipelines it feeds; each pipeline a chain of processors ending in a fan-out to its
/// exporters' sending queues. An exporter used by several pipelines of one signal has one
/// queue; processors are per pipeline, as in otelcol.
final class PipelineGraph: Sendable {
    let queues: [any QueueControl]
    let memoryWatches: [MemoryWatch]
    let usedReceivers: Set<ComponentID>
    private let heads: [Signal: [ComponentID: [any Sendable]]]
    private let batchProcessors: [any BatchFlushing]
    private let senderShutdowns: [@Sendable () async -> Void]
    private let telemetry: CollectorTelemetry

    struct BuildError: Error, CustomStringConvertible {
        var description: String
    }

    init(config: CollectorConfig, telemetry: CollectorTelemetry, httpClient: HTTPClient, logger: Logger) throws {
        var builder = Builder(config: config, telemetry: telemetry, httpClient: httpClient, logger: logger)
        var heads: [Signal: [ComponentID: [any Sendable]]] = [:]
        heads[.traces] = try builder.build(ExportTraceServiceRequest.self)
        heads[.metrics] = try builder.build(ExportMetricsServiceRequest.self)
        heads[.logs] = try builder.build(ExportLogsServiceRequest.self)
        self.heads = heads
        self.queues = builder.queues
        self.memoryWatches = builder.memoryWatches
        self.batchProcessors = builder.batchProcessors
        self.senderShutdowns = builder.senderShutdowns
        self.usedReceivers = Set(config.service.pipelines.values.flatMap(\.receivers))
        self.telemetry = telemetry
    }

    /// What a receiver hands the given signal to, or nil when it feeds no such pipeline.
    func intake<Batch: SignalBatch & ItemValidating>(for receiver: ComponentID, transport: String) -> ReceiverIntake<Batch>? {
        guard let consumers = heads[Batch.signal]?[receiver] as? [any BatchConsumer<Batch>], !consumers.isEmpty else { return nil }
        return ReceiverIntake(consumers: consumers, counters: telemetry.receiver(receiver, transport: transport, signal: Batch.signal))
    }

    func recoverQueues() async throws {
        for queue in queues { try await queue.recover() }
    }

    func flushBatches() async {
        for processor in batchProcessors { await processor.shutdown() }
    }

    func shutdownSenders() async {
        for shutdown in senderShutdowns { await shutdown() }
    }

    private struct Builder {
        let config: CollectorConfig
        let telemetry: CollectorTelemetry
        let httpClient: HTTPClient
        let logger: Logger
        var queues: [any QueueControl] = []
        var memoryWatches: [MemoryWatch] = []
        var batchProcessors: [any BatchFlushing] = []
        var senderShutdowns: [@Sendable () async -> Void] = []
        var memoryWatchByID: [ComponentID: MemoryWatch] = [:]

        mutating func build<Batch: SignalBatch>(_ type: Batch.Type) throws -> [ComponentID: [any Sendable]] {
            var queueByExporter: [ComponentID: SendingQueue<Batch>] = [:]
            var headsByReceiver: [ComponentID: [any BatchConsumer<Batch>]] = [:]
            let pipelines = config.service.pipelines.filter { $0.value.signal == Batch.signal }.sorted { $0.key < $1.key }
            for (pipelineID, pipeline) in pipelines {
                var exporterQueues: [SendingQueue<Batch>] = []
                for exporterID in pipeline.exporters {
                    if let queue = queueByExporter[exporterID] {
                        exporterQueues.append(queue)
                        continue
                    }
                    let queue = try makeQueue(Batch.self, exporterID: exporterID)
                    queueByExporter[exporterID] = queue
                    queues.append(queue)
                    exporterQueues.append(queue)
                }
                var head: any BatchConsumer<Batch> = ExporterFanout(queues: exporterQueues)
                for processorID in pipeline.processors.reversed() {
                    switch config.processors[processorID]! {
                    case .batch(let settings):
                        let processor = BatchProcessor(config: settings, next: head,
                                                       triggers: telemetry.batchTriggers(processorID, pipeline: pipelineID), logger: logger)
                        batchProcessors.append(processor)
                        head = processor
                    case .memoryLimiter(let settings):
                        let watch = memoryWatchByID[processorID] ?? MemoryWatch(config: settings)
                        if memoryWatchByID[processorID] == nil {
                            memoryWatchByID[processorID] = watch
                            memoryWatches.append(watch)
                        }
                        head = MemoryLimiter(next: head, limited: watch.limited)
                    }
                }
                for receiverID in pipeline.receivers { headsByReceiver[receiverID, default: []].append(head) }
            }
            return headsByReceiver.mapValues { $0 as [any Sendable] }
        }

        mutating func makeQueue<Batch: SignalBatch>(_ type: Batch.Type, exporterID: ComponentID) throws -> SendingQueue<Batch> {
            let exporter = config.exporters[exporterID]!
            let sender = try makeSender(Batch.self, id: exporterID, exporter: exporter)
            senderShutdowns.append { await sender.shutdown() }
            var settings = exporter.queue
            if !settings.enabled {
                // Without a queue otelcol sends inline; one slot per consumer is the closest
                // bounded equivalent.
                settings.queueSize = max(1, settings.numConsumers)
            }
            var store: PersistentQueueStore?
            if let storageID = settings.storage, case .fileStorage(let directory)? = config.extensions[storageID] {
                let folder = URL(fileURLWithPath: directory)
                    .appendingPathComponent("exporter_\(exporterID.type)_\(exporterID.name)_\(Batch.signal.rawValue)")
                store = try PersistentQueueStore(directory: folder)
            }
            return SendingQueue(exporterID: exporterID, settings: settings, retry: exporter.retry, sender: sender, store: store,
                                counters: telemetry.exporter(exporterID, signal: Batch.signal), logger: logger)
        }

        func makeSender<Batch: SignalBatch>(_ type: Batch.Type, id: ComponentID, exporter: ExporterConfig) throws -> any BatchSender<Batch> {
            switch exporter.kind {
            case .otlpGRPC(let endpoint, let compression):
                return try OTLPGRPCSender<Batch>(endpoint: endpoint, compression: compression, headers: exporter.headers, timeout: exporter.timeout)
            case .otlpHTTP(let endpoints, let compression, let encoding):
                guard let url = endpoints.url(for: Batch.signal) else {
                    throw BuildError(description: "exporter \(id) has no endpoint for \(Batch.signal.rawValue)")
                }
                return OTLPHTTPSender<Batch>(url: url, compression: compression, encoding: encoding, headers: exporter.headers,
                                             timeout: exporter.timeout, client: httpClient)
            case .remoteWrite(let settings):
                guard let sender = RemoteWriteSender(settings: settings, headers: exporter.headers, timeout: exporter.timeout,
                                                     client: httpClient) as? any BatchSender<Batch> else {
                    throw BuildError(description: "exporter \(id) only exports metrics")
                }
                return sender
            case .debug(let verbosity):
                return DebugSender<Batch>(id: id, verbosity: verbosity)
            }
        }
    }
}

/// What the graph needs of a sending queue, whatever its signal.
protocol QueueControl: Sendable {
    var isDurable: Bool { get }
    /// Nothing queued and nothing being delivered.
    var isIdle: Bool { get async }
    func run() async
    func stop() async
    func waitUntilEmpty() async
    func recover() async throws
}

extension SendingQueue: QueueControl {}

protocol BatchFlushing: Sendable {
    func shutdown() async
}

extension BatchProcessor: BatchFlushing {}
