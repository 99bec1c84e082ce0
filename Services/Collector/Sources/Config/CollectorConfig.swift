import VigilService

/// The collector's configuration, in the OpenTelemetry Collector's YAML layout:
/// receivers, processors, exporters, extensions and service.pipelines. Decoding refuses
/// unknown keys and component types; `validate()` checks the references between sections.
public struct CollectorConfig: Decodable, Sendable {
    public var receivers: [ComponentID: ReceiverConfig]
    public var processors: [ComponentID: ProcessorConfig]
    public var exporters: [ComponentID: ExporterConfig]
    public var extensions: [ComponentID: ExtensionConfig]
    public var service: ServiceConfig

    enum CodingKeys: String, CodingKey { case receivers, processors, exporters, extensions, service, connectors }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        if c.contains(.connectors), try !c.decodeNil(forKey: .connectors) {
            throw DecodingError.dataCorruptedError(forKey: .connectors, in: c, debugDescription: "connectors are not supported by this collector")
        }
        receivers = try Self.section(c, .receivers) { c, id, key in
            try ReceiverConfig(id: id, from: c, key: key)
        }
        processors = try Self.section(c, .processors) { c, id, key in
            try ProcessorConfig(id: id, from: c, key: key)
        }
        exporters = try Self.section(c, .exporters) { c, id, key in
            try ExporterConfig(id: id, from: c, key: key)
        }
        extensions = try Self.section(c, .extensions) { c, id, key in
            try ExtensionConfig(id: id, from: c, key: key)
        }
        service = try c.decode(ServiceConfig.self, forKey: .service)
    }

    private static func section<T>(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys,
        _ decodeOne: (KeyedDecodingContainer<AnyCodingKey>, ComponentID, AnyCodingKey) throws -> T
    ) throws -> [ComponentID: T] {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return [:] }
        let nested = try c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
        let kind = String(key.stringValue.dropLast())
        let known: [String]
        switch key {
        case .receivers: known = ReceiverConfig.types
        case .processors: known = ProcessorConfig.types
        case .exporters: known = ExporterConfig.types
        default: known = ExtensionConfig.types
        }
        return try nested.decodeComponents(kind: kind, knownTypes: known) { id, k in try decodeOne(nested, id, k) }
    }

    public static func load(path: String) throws(ConfigError) -> CollectorConfig {
        let config = try ConfigFile.load(CollectorConfig.self, path: path)
        do { try config.validate() } catch { throw ConfigError(file: path, keyPath: error.keyPath, message: error.message) }
        return config
    }

    public static func parse(yaml: String, file: String = "<config>") throws(ConfigError) -> CollectorConfig {
        let config = try ConfigFile.parse(CollectorConfig.self, yaml: yaml, file: file)
        do { try config.validate() } catch { throw ConfigError(file: file, keyPath: error.keyPath, message: error.message) }
        return config
    }

    public struct ValidationError: Error {
        public var keyPath: String
        public var message: String
    }

    /// Cross-references: every pipeline names components that exist and fit its signal.
    public func validate() throws(ValidationError) {
        guard !service.pipelines.isEmpty else {
            throw ValidationError(keyPath: "service.pipelines", message: "service must have at least one pipeline")
        }
        for (pipelineID, pipeline) in service.pipelines.sorted(by: { $0.key < $1.key }) {
            let path = "service.pipelines.\(pipelineID)"
            if pipeline.receivers.isEmpty { throw ValidationError(keyPath: path, message: "must have at least one receiver") }
            if pipeline.exporters.isEmpty { throw ValidationError(keyPath: path, message: "must have at least one exporter") }
            for id in pipeline.receivers where receivers[id] == nil {
                throw ValidationError(keyPath: "\(path).receivers", message: "references receiver \"\(id)\" which is not configured")
            }
            for id in pipeline.processors where processors[id] == nil {
                throw ValidationError(keyPath: "\(path).processors", message: "references processor \"\(id)\" which is not configured")
            }
            for id in pipeline.exporters {
                guard let exporter = exporters[id] else {
                    throw ValidationError(keyPath: "\(path).exporters", message: "references exporter \"\(id)\" which is not configured")
                }
                if !exporter.supports(pipeline.signal) {
                    throw ValidationError(keyPath: "\(path).exporters", message: "exporter \"\(id)\" does not support \(pipeline.signal.rawValue)")
                }
                if let storage = exporter.queue.storage, extensions[storage] == nil {
                    throw ValidationError(keyPath: "exporters.\(id)", message: "sending queue storage \"\(storage)\" is not a configured extension")
                }
            }
            if Set(pipeline.processors).count != pipeline.processors.count {
                throw ValidationError(keyPath: "\(path).processors", message: "a processor is listed twice")
            }
        }
        for id in service.extensions where extensions[id] == nil {
            throw ValidationError(keyPath: "service.extensions", message: "references extension \"\(id)\" which is not configured")
        }
    }
}

/// The three kinds of telemetry; a pipeline carries exactly one.
public enum Signal: String, Sendable, Hashable, CaseIterable {
    case traces, metrics, logs

    /// What otelcol calls one item of this signal in its metric names.
    public var itemName: String {
        switch self {
        case .traces: return "spans"
        case .metrics: return "metric_points"
        case .logs: return "log_records"
        }
    }
}

public struct ServiceConfig: Decodable, Sendable {
    public var extensions: [ComponentID]
    public var pipelines: [ComponentID: PipelineConfig]
    public var telemetry: TelemetryConfig

    enum CodingKeys: String, CodingKey { case extensions, pipelines, telemetry }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        extensions = try (c.decodeIfPresent([String].self, forKey: .extensions) ?? []).map { try ComponentID(parsing: $0) }
        var pipelines: [ComponentID: PipelineConfig] = [:]
        if c.contains(.pipelines), try !c.decodeNil(forKey: .pipelines) {
            let nested = try c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .pipelines)
            for key in nested.allKeys {
                let id = try ComponentID(parsing: key.stringValue)
                guard let signal = Signal(rawValue: id.type) else {
                    let message = "unknown pipeline type \"\(id.type)\" (valid values: traces, metrics, logs)"
                    throw nested.invalid(key, message)
                }
                var pipeline = try nested.decode(PipelineConfig.self, forKey: key)
                pipeline.signal = signal
                pipelines[id] = pipeline
            }
        }
        self.pipelines = pipelines
        telemetry = try c.decodeIfPresent(TelemetryConfig.self, forKey: .telemetry) ?? TelemetryConfig()
    }
}

public struct PipelineConfig: Decodable, Sendable {
    public var signal: Signal = .traces
    public var receivers: [ComponentID]
    public var processors: [ComponentID]
    public var exporters: [ComponentID]

    enum CodingKeys: String, CodingKey { case receivers, processors, exporters }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        receivers = try (c.decodeIfPresent([String].self, forKey: .receivers) ?? []).map { try ComponentID(parsing: $0) }
        processors = try (c.decodeIfPresent([String].self, forKey: .processors) ?? []).map { try ComponentID(parsing: $0) }
        exporters = try (c.decodeIfPresent([String].self, forKey: .exporters) ?? []).map { try ComponentID(parsing: $0) }
    }
}

/// service.telemetry: the collector's own logs and metrics.
public struct TelemetryConfig: Decodable, Sendable {
    public var logLevel = "info"
    public var metricsAddress = HostPort(host: "0.0.0.0", port: 8888)
    public var metricsLevel = "normal"

    public init() {}

    enum CodingKeys: String, CodingKey { case logs, metrics, resource, traces }
    enum LogsKeys: String, CodingKey { case level, encoding, development, output_paths, error_output_paths }
    enum MetricsKeys: String, CodingKey { case address, level, readers }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        if c.contains(.logs), try !c.decodeNil(forKey: .logs) {
            let logs = try c.superDecoder(forKey: .logs).strictContainer(keyedBy: LogsKeys.self)
            logLevel = try logs.decodeIfPresent(String.self, forKey: .level) ?? logLevel
        }
        if c.contains(.metrics), try !c.decodeNil(forKey: .metrics) {
            let metrics = try c.superDecoder(forKey: .metrics).strictContainer(keyedBy: MetricsKeys.self)
            if let address = try metrics.decodeIfPresent(String.self, forKey: .address) {
                metricsAddress = try HostPort(parsing: address)
            }
            metricsLevel = try metrics.decodeIfPresent(String.self, forKey: .level) ?? metricsLevel
            if metrics.contains(.readers) {
                throw DecodingError.dataCorruptedError(forKey: .readers, in: metrics, debugDescription: "telemetry metrics readers are not supported; use address")
            }
        }
    }
}
