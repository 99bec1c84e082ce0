import VigilService

/// A configured receiver. The collector has one receiver type, `otlp`.
public enum ReceiverConfig: Sendable {
    case otlp(OTLPReceiverConfig)

    static let types = ["otlp"]

    init(id: ComponentID, from c: KeyedDecodingContainer<AnyCodingKey>, key: AnyCodingKey) throws {
        if try c.decodeNil(forKey: key) { self = .otlp(OTLPReceiverConfig()); return }
        self = .otlp(try c.decode(OTLPReceiverConfig.self, forKey: key))
    }
}

/// `otlp` receiver: `protocols.grpc` and `protocols.http`, each enabled by being present.
public struct OTLPReceiverConfig: Decodable, Sendable {
    public var grpc: GRPCServerSettings?
    public var http: HTTPServerSettings?

    public init(grpc: GRPCServerSettings? = nil, http: HTTPServerSettings? = nil) {
        self.grpc = grpc
        self.http = http
    }

    enum CodingKeys: String, CodingKey { case protocols }
    enum ProtocolKeys: String, CodingKey { case grpc, http }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        guard let protocols = try c.strictSection(.protocols, keyedBy: ProtocolKeys.self) else {
            throw c.invalid(.protocols, "must specify at least one protocol when using the OTLP receiver")
        }
        grpc = try protocols.decodeSection(GRPCServerSettings.self, forKey: .grpc) { GRPCServerSettings() }
        http = try protocols.decodeSection(HTTPServerSettings.self, forKey: .http) { HTTPServerSettings() }
        if grpc == nil, http == nil {
            throw c.invalid(.protocols, "must specify at least one protocol when using the OTLP receiver")
        }
    }
}

public struct GRPCServerSettings: Decodable, Sendable {
    public var endpoint = HostPort(host: "0.0.0.0", port: 4317)
    public var maxReceiveMessageSizeMiB = 4

    public init(endpoint: HostPort = HostPort(host: "0.0.0.0", port: 4317)) { self.endpoint = endpoint }

    enum CodingKeys: String, CodingKey {
        case endpoint, transport, max_recv_msg_size_mib, max_concurrent_streams, read_buffer_size, write_buffer_size, keepalive, include_metadata
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        endpoint = try c.decodeHostPort(forKey: .endpoint, default: endpoint)
        maxReceiveMessageSizeMiB = try c.decode(.max_recv_msg_size_mib, default: maxReceiveMessageSizeMiB)
        if let transport = try c.decodeIfPresent(String.self, forKey: .transport), transport != "tcp" {
            throw c.invalid(.transport, "only the tcp transport is supported")
        }
    }
}

public struct HTTPServerSettings: Decodable, Sendable {
    public var endpoint = HostPort(host: "0.0.0.0", port: 4318)
    /// Largest accepted body, before and after gzip; otelcol's confighttp default is 20 MiB.
    public var maxRequestBodySize = 20 << 20
    public var tracesPath = "/v1/traces"
    public var metricsPath = "/v1/metrics"
    public var logsPath = "/v1/logs"
    public var corsAllowedOrigins: [String] = []

    public init(endpoint: HostPort = HostPort(host: "0.0.0.0", port: 4318)) { self.endpoint = endpoint }

    enum CodingKeys: String, CodingKey {
        case endpoint, max_request_body_size, traces_url_path, metrics_url_path, logs_url_path, cors, include_metadata
    }
    enum CORSKeys: String, CodingKey { case allowed_origins, allowed_headers, max_age }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        endpoint = try c.decodeHostPort(forKey: .endpoint, default: endpoint)
        maxRequestBodySize = try c.decode(.max_request_body_size, default: maxRequestBodySize)
        tracesPath = try c.decode(.traces_url_path, default: tracesPath)
        metricsPath = try c.decode(.metrics_url_path, default: metricsPath)
        logsPath = try c.decode(.logs_url_path, default: logsPath)
        if let cors = try c.strictSection(.cors, keyedBy: CORSKeys.self) {
            corsAllowedOrigins = try cors.decode(.allowed_origins, default: [])
        }
        for (key, path) in [(CodingKeys.traces_url_path, tracesPath), (.metrics_url_path, metricsPath), (.logs_url_path, logsPath)] where !path.hasPrefix("/") {
            throw c.invalid(key, "URL path \"\(path)\" must start with \"/\"")
        }
    }
}
