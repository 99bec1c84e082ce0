import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import VigilService

/// A grpc-swift server as a ServiceLifecycle service: serves until graceful shutdown,
/// accepting gzip and deflate request compression as otelcol does.
struct GRPCServerService: Service {
    let endpoint: HostPort
    let maxMessageBytes: Int
    let services: [any RegistrableRPCService]
    let logger: Logger

    func run() async throws {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.compression.enabledAlgorithms = .all
        config.rpc.maxRequestPayloadSize = maxMessageBytes
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, port: endpoint.port),
            transportSecurity: .plaintext, config: config)
        let server = GRPCServer(transport: transport, services: services)
        logger.info("OTLP gRPC receiver listening", metadata: ["endpoint": "\(endpoint)"])
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
