import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import VigilService

/// The metrics-store assembled: storage opened (WAL replayed), prometheus.yml loaded and
/// its targets scraped, and the HTTP API served on `--web.listen-address` until
/// SIGTERM/SIGINT or cancellation. SIGHUP reloads the configuration.
public final class MetricsStore: Sendable {
    public let options: MetricsStoreOptions
    public let tsdb: TSDB
    let metrics: SelfMetrics
    let logger: Logger
    let scrapeManager: ScrapeManager
    let reloader: ConfigReloader
    let queryEngine: PromQLEngine
    let rules: RulesService

    public init(options: MetricsStoreOptions, metrics: SelfMetrics = SelfMetrics(),
                logger: Logger = Logger(label: "vigil.metrics-store")) throws {
        self.options = options
        self.metrics = metrics
        self.logger = logger
        let retention = try PrometheusDuration(parsing: options.retentionTime).milliseconds
        let retentionSize = try ByteSize.parse(options.retentionSize)
        self.tsdb = try TSDB.open(directory: URL(fileURLWithPath: options.storagePath), retention: retention,
                                  retentionSize: retentionSize, blockChunkEncoding: options.blockChunkEncoding, logger: logger)
        self.scrapeManager = ScrapeManager(tsdb: tsdb, logger: logger)
        self.queryEngine = PromQLEngine(storage: tsdb, options: PromQLEngineOptions(
            lookbackDelta: try PrometheusDuration(parsing: options.lookbackDelta).milliseconds,
            maxSamples: options.queryMaxSamples,
            timeout: .milliseconds(try PrometheusDuration(parsing: options.queryTimeout).milliseconds)))
        var ruleOptions = RuleManager.Options()
        ruleOptions.externalURL = options.externalURL
        let notifier = Notifier(registry: metrics.registry, logger: logger)
        self.rules = RulesService(
            manager: RuleManager(querier: EngineRuleQuerier(engine: queryEngine), appender: tsdb, sender: notifier,
                                 registry: metrics.registry, logger: logger),
            notifier: notifier, baseOptions: ruleOptions)
        self.reloader = ConfigReloader(path: options.configFile, required: options.configFileExplicit,
                                       manager: scrapeManager, logger: logger,
                                       // The engine's applier cannot fail, so it goes last: a reload
                                       // refused by the rules leaves the engine as it was.
                                       appliers: [rules.configApplier, queryEngine.configApplier])
    }

    public func run(handleSignals: Bool = true) async throws {
        let address = try HostPort(parsing: options.listenAddress)
        // As Prometheus, a configuration that cannot be loaded at start-up is fatal.
        try await reloader.reload()
        let hangups = handleSignals ? Task { await reloader.reloadOnHangup() } : nil
        let compaction = Task { [tsdb, logger] in
            while !Task.isCancelled {
                do {
                    if try await !tsdb.compact().isEmpty { ProcessMemory.returnFreedMemory() }
                } catch {
                    logger.error("block cut failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(60))
            }
        }
        defer { compaction.cancel() }
        let router = Router()
        MetricsStoreRoutes(tsdb: tsdb, options: options, reloader: reloader, scrapeManager: scrapeManager,
                           queryEngine: queryEngine, queryGate: QueryGate(limit: options.queryMaxConcurrency)).add(to: router)
        addRuleRoutes(to: router, manager: rules.manager)
        metrics.addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname(address.host, port: address.port)), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app), .init(service: rules)],
                                                      gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger))
        do {
            try await group.run()
        } catch {
            await shutDownScraping(hangups)
            throw error
        }
        await shutDownScraping(hangups)
    }

    private func shutDownScraping(_ hangups: Task<Void, Never>?) async {
        hangups?.cancel()
        await scrapeManager.stop()
        tsdb.close()
    }
}
