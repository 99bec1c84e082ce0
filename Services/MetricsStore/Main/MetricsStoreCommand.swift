import ArgumentParser
import Foundation
import MetricsStore
import VigilService

/// `metrics-store`: takes Prometheus's flags (`--config.file`, `--storage.tsdb.path`, …) so
/// a deployment can swap Prometheus for it without changing its command line.
@main
struct MetricsStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics-store",
        abstract: "Vigil metrics store: a Prometheus-compatible time-series database.")

    @Option(name: .customLong("config.file"), help: "Prometheus configuration file path.")
    var configFile: String?
    @Option(name: .customLong("storage.tsdb.path"), help: "Base path for metrics storage.")
    var storagePath = "data/"
    @Option(name: .customLong("storage.tsdb.retention.time"), help: "How long to retain samples in storage.")
    var retentionTime = "24h"
    @Option(name: .customLong("storage.tsdb.retention.size"), help: "Maximum number of bytes of storage blocks to keep (0B: no limit).")
    var retentionSize = "0B"
    @Option(name: .customLong("storage.tsdb.block-chunk-encoding"),
            help: "How blocks store samples: decimal (about half the size for typical exporter data; read by Vigil only) or xor (Prometheus's format, read by promtool and Prometheus).")
    var blockChunkEncoding = BlockChunkEncoding.decimal
    @Option(name: .customLong("web.listen-address"), help: "Address to listen on for the API.")
    var listenAddress = "0.0.0.0:9090"
    @Flag(name: .customLong("web.enable-remote-write-receiver"), help: "Accept remote write requests at /api/v1/write.")
    var remoteWriteReceiver = false
    @Flag(name: .customLong("web.enable-lifecycle"), help: "Enable shutdown and reload via HTTP request.")
    var lifecycle = false
    @Option(name: .customLong("web.external-url"), help: "The URL under which this server is reached (alerts link to it).")
    var externalURL = "http://localhost:9090"
    @Option(name: .customLong("query.lookback-delta"), help: "Lookback for instant vector selectors.")
    var lookbackDelta = "5m"
    @Option(name: .customLong("query.timeout"), help: "Maximum time a query may take before being aborted.")
    var queryTimeout = "2m"
    @Option(name: .customLong("query.max-samples"), help: "Maximum number of samples a single query can load into memory.")
    var queryMaxSamples = 50_000_000
    @Option(name: .customLong("query.max-concurrency"), help: "Maximum number of queries executed concurrently.")
    var queryMaxConcurrency = 20
    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above.")
    var logLevel = "info"

    func run() async throws {
        LoggingSetup.bootstrap(level: logLevel)
        let metrics = SelfMetrics()
        metrics.bootstrapMetricsSystem()
        var options = MetricsStoreOptions()
        options.configFile = configFile ?? "prometheus.yml"
        options.configFileExplicit = configFile != nil
        options.storagePath = storagePath
        options.retentionTime = retentionTime
        options.retentionSize = retentionSize
        options.blockChunkEncoding = blockChunkEncoding
        options.listenAddress = listenAddress
        options.remoteWriteReceiverEnabled = remoteWriteReceiver
        options.lifecycleEnabled = lifecycle
        options.externalURL = externalURL
        options.lookbackDelta = lookbackDelta
        options.queryTimeout = queryTimeout
        options.queryMaxSamples = queryMaxSamples
        options.queryMaxConcurrency = queryMaxConcurrency
        let store = try MetricsStore(options: options, metrics: metrics)
        try await store.run()
    }
}

extension BlockChunkEncoding: ExpressibleByArgument {}
