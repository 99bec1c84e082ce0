import Foundation
import VigilService

/// A configured exporter: `otlp` (gRPC), `otlphttp`, `prometheusremotewrite` or `debug`.
public struct ExporterConfig: Sendable {
    public enum Kind: Sendable {
        case otlpGRPC(endpoint: HostPort, compression: Compression)
        case otlpHTTP(OTLPHTTPEndpoints, compression: Compression, encoding: OTLPHTTPEncoding)
        case remoteWrite(RemoteWriteSettings)
        case debug(verbosity: String)
    }

    public enum Compression: String, Sendable { case none, gzip }
    public enum OTLPHTTPEncoding: String, Sendable { case proto, json }

    public var kind: Kind
    public var headers: [String: String] = [:]
    public var timeout = GoDuration.seconds(5)
    public var queue = QueueSettings()
    public var retry = RetrySettings()

    static let types = ["otlp", "otlphttp", "prometheusremotewrite", "debug"]

    public func supports(_ signal: Signal) -> Bool {
        if case .remoteWrite = kind { return signal == .metrics }
        return true
    }

    enum Keys: String, CodingKey {
        case endpoint, tls, headers, timeout, compression, sending_queue, retry_on_failure
        case balancer_name, auth, keepalive, read_buffer_size, write_buffer_size, wait_for_ready
        case traces_endpoint, metrics_endpoint, logs_endpoint, encoding
        case namespace, external_labels, resource_to_telemetry_conversion, add_metric_suffixes, send_metadata
        case target_info, export_created_metric, remote_write_queue, max_batch_size_bytes
        case verbosity, sampling_initial, sampling_thereafter, use_internal_logger
    }
    enum TLSKeys: String, CodingKey { case insecure, insecure_skip_verify, ca_file, cert_file, key_file, server_name_override }
    enum EnabledKeys: String, CodingKey { case enabled }

    /// Keys each exporter type accepts, as in the upstream component's config struct.
    static let allowedKeys: [String: Set<Keys>] = [
        "otlp": [.endpoint, .tls, .headers, .timeout, .compression, .sending_queue, .retry_on_failure,
                 .balancer_name, .auth, .keepalive, .read_buffer_size, .write_buffer_size, .wait_for_ready],
        "otlphttp": [.endpoint, .tls, .headers, .timeout, .compression, .sending_queue, .retry_on_failure,
                     .traces_endpoint, .metrics_endpoint, .logs_endpoint, .encoding, .auth, .read_buffer_size, .write_buffer_size],
        "prometheusremotewrite": [.endpoint, .tls, .headers, .timeout, .compression, .retry_on_failure, .namespace,
                                  .external_labels, .resource_to_telemetry_conversion, .add_metric_suffixes, .send_metadata,
                                  .target_info, .export_created_metric, .remote_write_queue, .max_batch_size_bytes, .auth],
        "debug": [.verbosity, .sampling_initial, .sampling_thereafter, .use_internal_logger],
    ]

    init(id: ComponentID, from parent: KeyedDecodingContainer<AnyCodingKey>, key: AnyCodingKey) throws {
        let decoder = try parent.superDecoder(forKey: key)
        if decoder.isNull() {
            guard id.type == "debug" else { throw parent.invalid(key, "exporter \"\(id)\" needs an endpoint") }
            self.kind = .debug(verbosity: "basic")
            return
        }
        let c = try decoder.strictContainer(keyedBy: Keys.self)
        let allowed = Self.allowedKeys[id.type] ?? []
        for k in c.allKeys where !allowed.contains(k) {
            throw c.invalid(k, "unknown key \"\(k.stringValue)\" for exporter type \(id.type)")
        }
        headers = try c.decode(.headers, default: [:])
        timeout = try c.decode(.timeout, default: timeout)
        retry = try c.decode(.retry_on_failure, default: RetrySettings())
        let insecure = try c.strictSection(.tls, keyedBy: TLSKeys.self).map { try $0.decode(.insecure, default: false) } ?? false
        let compression: Compression
        switch try c.decodeIfPresent(String.self, forKey: .compression) ?? (id.type == "debug" ? "none" : "gzip") {
        case "gzip": compression = .gzip
        case "none", "": compression = .none
        case let other: throw c.invalid(.compression, "unsupported compression \"\(other)\" (supported: gzip, none)")
        }

        switch id.type {
        case "otlp":
            guard let text = try c.decodeIfPresent(String.self, forKey: .endpoint) else {
                throw c.invalid(.endpoint, "requires a non-empty \"endpoint\"")
            }
            if text.hasPrefix("https://") || (!insecure && !text.hasPrefix("http://")) {
                throw c.invalid(.tls, "TLS is not supported yet; set tls.insecure: true or use an http:// endpoint")
            }
            kind = .otlpGRPC(endpoint: try c.decodeHostPort(forKey: .endpoint, default: HostPort(host: "", port: 0)), compression: compression)
            queue = try c.decode(.sending_queue, default: QueueSettings())
        case "otlphttp":
            let base = try c.decodeIfPresent(String.self, forKey: .endpoint)
            let endpoints = OTLPHTTPEndpoints(
                traces: try Self.url(c, .traces_endpoint, base: base, path: "v1/traces"),
                metrics: try Self.url(c, .metrics_endpoint, base: base, path: "v1/metrics"),
                logs: try Self.url(c, .logs_endpoint, base: base, path: "v1/logs"))
            let encodingText = try c.decode(.encoding, default: "proto")
            guard let encoding = OTLPHTTPEncoding(rawValue: encodingText) else {
                throw c.invalid(.encoding, "invalid encoding \"\(encodingText)\" (valid values: proto, json)")
            }
            kind = .otlpHTTP(endpoints, compression: compression, encoding: encoding)
            queue = try c.decode(.sending_queue, default: QueueSettings())
        case "prometheusremotewrite":
            var settings = try RemoteWriteSettings(c)
            settings.compressionIsSnappy = true
            kind = .remoteWrite(settings)
            queue = settings.queue
        default:
            let verbosity = try c.decode(.verbosity, default: "basic")
            guard ["basic", "normal", "detailed"].contains(verbosity) else {
                throw c.invalid(.verbosity, "invalid verbosity \"\(verbosity)\" (valid values: basic, normal, detailed)")
            }
            kind = .debug(verbosity: verbosity)
            queue.enabled = false
        }
    }

    static func url(_ c: KeyedDecodingContainer<Keys>, _ key: Keys, base: String?, path: String) throws -> URL? {
        let text: String
        if let explicit = try c.decodeIfPresent(String.self, forKey: key) {
            text = explicit
        } else if let base {
            text = base.hasSuffix("/") ? base + path : base + "/" + path
        } else {
            return nil
        }
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw c.invalid(key, "invalid endpoint URL \"\(text)\"")
        }
        return url
    }
}

public struct OTLPHTTPEndpoints: Sendable {
    public var traces: URL?
    public var metrics: URL?
    public var logs: URL?

    public func url(for signal: Signal) -> URL? {
        switch signal {
        case .traces: return traces
        case .metrics: return metrics
        case .logs: return logs
        }
    }
}

/// `prometheusremotewrite` settings beyond the common ones.
public struct RemoteWriteSettings: Sendable {
    public var endpoint: URL
    public var namespace: String?
    public var externalLabels: [String: String] = [:]
    public var resourceToTelemetry = false
    public var addMetricSuffixes = true
    public var sendMetadata = false
    public var targetInfo = true
    public var exportCreatedMetric = false
    public var maxBatchSizeBytes = 3_000_000
    public var queue = QueueSettings(numConsumers: 5, queueSize: 10_000)
    var compressionIsSnappy = true

    enum QueueKeys: String, CodingKey { case enabled, queue_size, num_consumers, storage }

    init(_ c: KeyedDecodingContainer<ExporterConfig.Keys>) throws {
        guard let text = try c.decodeIfPresent(String.self, forKey: .endpoint),
              let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw c.invalid(.endpoint, "requires a valid http(s) \"endpoint\" URL")
        }
        endpoint = url
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        externalLabels = try c.decode(.external_labels, default: [:])
        for (name, value) in externalLabels where value.isEmpty {
            throw c.invalid(.external_labels, "external label \"\(name)\" has an empty value")
        }
        resourceToTelemetry = try Self.enabled(c, .resource_to_telemetry_conversion, default: false)
        targetInfo = try Self.enabled(c, .target_info, default: true)
        exportCreatedMetric = try Self.enabled(c, .export_created_metric, default: false)
        addMetricSuffixes = try c.decode(.add_metric_suffixes, default: true)
        sendMetadata = try c.decode(.send_metadata, default: false)
        maxBatchSizeBytes = try c.decode(.max_batch_size_bytes, default: maxBatchSizeBytes)
        if let q = try c.strictSection(.remote_write_queue, keyedBy: QueueKeys.self) {
            queue.enabled = try q.decode(.enabled, default: true)
            queue.queueSize = try q.decode(.queue_size, default: queue.queueSize)
            queue.numConsumers = try q.decode(.num_consumers, default: queue.numConsumers)
            // Vigil extension: otelcol's remote-write queue has no persistent storage.
            if let storage = try q.decodeIfPresent(String.self, forKey: .storage) {
                queue.storage = try ComponentID(parsing: storage)
            }
            if queue.queueSize < 1 { throw q.invalid(.queue_size, "queue_size must be positive") }
        }
    }

    static func enabled(_ c: KeyedDecodingContainer<ExporterConfig.Keys>, _ key: ExporterConfig.Keys, default fallback: Bool) throws -> Bool {
        guard let section = try c.strictSection(key, keyedBy: ExporterConfig.EnabledKeys.self) else { return fallback }
        return try section.decode(.enabled, default: fallback)
    }
}

/// `sending_queue`: a bounded queue of batches in front of the exporter, optionally kept
/// on disk by a `file_storage` extension so that restarts and outages lose nothing.
public struct QueueSettings: Decodable, Sendable {
    public var enabled = true
    public var numConsumers = 10
    public var queueSize = 1000
    public var storage: ComponentID?

    public init(enabled: Bool = true, numConsumers: Int = 10, queueSize: Int = 1000, storage: ComponentID? = nil) {
        self.enabled = enabled
        self.numConsumers = numConsumers
        self.queueSize = queueSize
        self.storage = storage
    }

    enum CodingKeys: String, CodingKey { case enabled, num_consumers, queue_size, storage, blocking, sizer }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        enabled = try c.decode(.enabled, default: true)
        numConsumers = try c.decode(.num_consumers, default: numConsumers)
        queueSize = try c.decode(.queue_size, default: queueSize)
        if let text = try c.decodeIfPresent(String.self, forKey: .storage) {
            storage = try ComponentID(parsing: text)
        }
        if let sizer = try c.decodeIfPresent(String.self, forKey: .sizer), sizer != "requests" {
            throw c.invalid(.sizer, "only the \"requests\" sizer is supported")
        }
        if try c.decode(.blocking, default: false) {
            throw c.invalid(.blocking, "blocking queues are not supported: a full queue refuses data with 429")
        }
        if queueSize < 1 { throw c.invalid(.queue_size, "queue_size must be positive") }
        if numConsumers < 1 { throw c.invalid(.num_consumers, "num_consumers must be positive") }
    }
}

/// `retry_on_failure`: exponential backoff with otelcol's defaults.
public struct RetrySettings: Decodable, Sendable {
    public var enabled = true
    public var initialInterval = GoDuration.seconds(5)
    public var randomizationFactor = 0.5
    public var multiplier = 1.5
    public var maxInterval = GoDuration.seconds(30)
    /// 0 means retry forever.
    public var maxElapsedTime = GoDuration.seconds(300)

    public init() {}

    enum CodingKeys: String, CodingKey { case enabled, initial_interval, randomization_factor, multiplier, max_interval, max_elapsed_time }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        enabled = try c.decode(.enabled, default: true)
        initialInterval = try c.decode(.initial_interval, default: initialInterval)
        randomizationFactor = try c.decode(.randomization_factor, default: randomizationFactor)
        multiplier = try c.decode(.multiplier, default: multiplier)
        maxInterval = try c.decode(.max_interval, default: maxInterval)
        maxElapsedTime = try c.decode(.max_elapsed_time, default: maxElapsedTime)
        if multiplier < 1 { throw c.invalid(.multiplier, "multiplier must be at least 1") }
    }
}
