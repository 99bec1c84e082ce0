import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import VigilService

/// The metrics-store assembled: storage opened (WAL replayed) and the HTTP API served on
/// `--web.listen-address` until SIGTERM/SIGINT or cancellation.
public final class MetricsStore: Sendable {
    public let options: MetricsStoreOptions
    public let tsdb: TSDB
    let metrics: SelfMetrics
    let logger: Logger

    public init(options: MetricsStoreOptions, metrics: SelfMetrics = SelfMetrics(),
                logger: Logger = Logger(label: "vigil.metrics-store")) throws {
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.tsdb = try TSDB.open(directory: URL(fileURLWithPath: options.storagePath), logger: logger)
    }

    public func run(handleSignals: Bool = true) async throws {
        let address = try HostPort(parsing: options.listenAddress)
        let router = Router()
        MetricsStoreRoutes(tsdb: tsdb, options: options).add(to: router)
        metrics.addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname(address.host, port: address.port)), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)],
                                                      gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger))
        try await group.run()
        tsdb.close()
    }
}
