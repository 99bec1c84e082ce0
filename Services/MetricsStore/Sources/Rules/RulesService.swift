import ServiceLifecycle

/// Rule evaluation and alert delivery as one service of the metrics-store's
/// ServiceGroup: starts the rule manager's loops and the notifier's delivery, and on
/// graceful shutdown stops evaluating and sends what is already queued.
///
/// Wiring (in MetricsStore): create it with the PromQL engine's `RuleQuerier` and the
/// TSDB, pass `configApplier` to `ConfigReloader` so prometheus.yml's `rule_files`,
/// `alerting` and `global` apply on every (re)load, add it to the ServiceGroup, and
/// register `addRuleRoutes(to:manager:)`.
public struct RulesService: Service {
    public let manager: RuleManager
    public let notifier: Notifier
    /// Command-line settings (`--web.external-url`, `--rules.alert.*`); prometheus.yml
    /// supplies the evaluation interval and external labels on each load.
    public let baseOptions: RuleManager.Options

    public init(manager: RuleManager, notifier: Notifier, baseOptions: RuleManager.Options = RuleManager.Options()) {
        self.manager = manager
        self.notifier = notifier
        self.baseOptions = baseOptions
    }

    /// For `ConfigReloader(appliers:)`: loads the rule files (a bad one fails the
    /// reload and keeps the running rules) and points the notifier at `alerting`.
    public var configApplier: ConfigReloader.Applier {
        { [manager, notifier, baseOptions] config, path in
            try await manager.apply(config, configFile: path, base: baseOptions)
            await notifier.apply(config)
        }
    }

    public func run() async throws {
        await manager.start()
        let delivery = Task { [notifier] in await notifier.run() }
        // Returns on graceful shutdown, throws on cancellation; both end the service.
        try? await gracefulShutdown()
        await manager.stop()
        await notifier.shutdown()
        await delivery.value
    }
}
