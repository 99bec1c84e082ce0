import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import OTLP
import VigilService

/// `otlp` exporter: calls the OTLP Export RPC of the signal over gRPC (plaintext HTTP/2),
/// optionally gzip-compressed.
public final class OTLPGRPCSender<Batch: SignalBatch>: BatchSender {
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let runTask: Task<Void, Never>
    private let options: CallOptions
    private let metadata: Metadata
    private let endpoint: String

    public init(endpoint: HostPort, compression: ExporterConfig.Compression, headers: [String: String], timeout: GoDuration) throws {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.compression = .init(algorithm: compression == .gzip ? .gzip : .none, enabledAlgorithms: .all)
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: endpoint.host, port: endpoint.port), transportSecurity: .plaintext, config: config)
        let client = GRPCClient(transport: transport)
        self.client = client
        self.runTask = Task { try? await client.runConnections() }
        var options = CallOptions.defaults
        options.timeout = .nanoseconds(timeout.nanoseconds)
        options.compression = compression == .gzip ? .gzip : CompressionAlgorithm.none
        self.options = options
        var metadata = Metadata()
        for (name, value) in headers { metadata.addString(value, forKey: name.lowercased()) }
        self.metadata = metadata
        self.endpoint = endpoint.description
    }

    public func send(_ batch: Batch) async throws(ExportError) {
        do {
            switch batch {
            case let traces as ExportTraceServiceRequest:
                _ = try await TraceService.Client(wrapping: client).export(request: ClientRequest(message: traces, metadata: metadata), options: options) { try $0.message }
            case let metrics as ExportMetricsServiceRequest:
                _ = try await MetricsService.Client(wrapping: client).export(request: ClientRequest(message: metrics, metadata: metadata), options: options) { try $0.message }
            case let logs as ExportLogsServiceRequest:
                _ = try await LogsService.Client(wrapping: client).export(request: ClientRequest(message: logs, metadata: metadata), options: options) { try $0.message }
            default:
                throw ExportError.permanent("unsupported batch type \(Batch.self)")
            }
        } catch let error as ExportError {
            throw error
        } catch let error as RPCError {
            throw Self.classify(error, endpoint: endpoint)
        } catch {
            throw .retryable("cannot reach \(endpoint): \(error)")
        }
    }

    /// The gRPC codes otelcol retries: the backend may succeed later.
    static func classify(_ error: RPCError, endpoint: String) -> ExportError {
        let message = "\(endpoint): \(error.code) \(error.message)"
        switch error.code {
        case .unavailable, .resourceExhausted, .deadlineExceeded, .aborted, .cancelled, .outOfRange, .dataLoss:
            return .retryable(message)
        default:
            return .permanent(message)
        }
    }

    public func shutdown() async {
        client.beginGracefulShutdown()
        await runTask.value
    }
}
