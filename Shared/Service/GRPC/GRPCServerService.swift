import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// A grpc-swift server (HTTP/2, plaintext) as a ServiceLifecycle service: serves until
/// graceful shutdown, accepting gzip and deflate request compression.
public struct GRPCServerService: Service {
    let endpoint: HostPort
    let maxMessageBytes: Int
    let services: [any RegistrableRPCService]
    let logger: Logger

    public init(endpoint: HostPort, maxMessageBytes: Int, services: [any RegistrableRPCService], logger: Logger) {
        self.endpoint = endpoint
        self.maxMessageBytes = maxMessageBytes
        self.services = services
        self.logger = logger
    }

    public func run() async throws {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.compression.enabledAlgorithms = .all
        config.rpc.maxRequestPayloadSize = maxMessageBytes
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, port: endpoint.port),
            transportSecurity: .plaintext, config: config)
        let server = GRPCServer(transport: transport, services: services)
        logger.info("gRPC server listening", metadata: ["endpoint": "\(endpoint)"])
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
