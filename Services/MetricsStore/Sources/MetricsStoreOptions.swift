import Foundation

/// The metrics-store's settings, taken from Prometheus's command-line flags so that a
/// deployment can swap one for the other.
public struct MetricsStoreOptions: Sendable {
    public var configFile = "prometheus.yml"
    /// Whether --config.file was given. Prometheus fails when the file is missing; we do
    /// too when it was named, but run without scrape configs when the default is absent.
    public var configFileExplicit = false
    public var storagePath = "data/"
    public var retentionTime = "24h"
    public var retentionSize = "0B"
    /// Vigil's own flag: `decimal` (smaller blocks) or `xor` (blocks Prometheus's tools read).
    public var blockChunkEncoding = BlockChunkEncoding.decimal
    public var listenAddress = "0.0.0.0:9090"
    public var remoteWriteReceiverEnabled = false
    public var lifecycleEnabled = false
    /// Where users reach this server (alerts' generatorURL, `$externalURL` in templates).
    public var externalURL = "http://localhost:9090"
    public var lookbackDelta = "5m"
    public var queryTimeout = "2m"
    public var queryMaxSamples = 50_000_000
    public var queryMaxConcurrency = 20
    /// Largest remote-write body accepted, compressed.
    public var maxRequestBytes = 32 << 20

    public init() {}

    var retentionDescription: String {
        retentionSize == "0B" ? retentionTime : "\(retentionTime) or \(retentionSize)"
    }

    /// The flags as /api/v1/status/flags shows them (all values are strings).
    public var flagValues: [String: String] {
        [
            "config.file": configFile,
            "storage.tsdb.path": storagePath,
            "storage.tsdb.retention.time": retentionTime,
            "storage.tsdb.retention.size": retentionSize,
            "storage.tsdb.block-chunk-encoding": blockChunkEncoding.rawValue,
            "web.listen-address": listenAddress,
            "web.enable-remote-write-receiver": String(remoteWriteReceiverEnabled),
            "web.enable-lifecycle": String(lifecycleEnabled),
            "web.external-url": externalURL,
            "query.lookback-delta": lookbackDelta,
            "query.timeout": queryTimeout,
            "query.max-samples": String(queryMaxSamples),
            "query.max-concurrency": String(queryMaxConcurrency),
        ]
    }
}
