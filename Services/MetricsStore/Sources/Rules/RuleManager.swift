import Logging
import Prometheus

/// Loads rule groups, evaluates each every interval, writes recorded series and
/// ALERTS / ALERTS_FOR_STATE through a `RuleAppender`, and hands alerts that need
/// sending to an `AlertSender`. Prometheus's rules.Manager, as an actor.
///
/// Evaluation can be driven by hand (`evaluate(groupKey:at:)`), which is how the
/// tests run it; `start()` runs one loop per group on the injected clock.
public actor RuleManager {
    /// Settings from prometheus.yml's `global` section and Prometheus's `--rules.*` flags.
    public struct Options: Sendable, Equatable {
        /// `global.evaluation_interval`, for groups without their own `interval`.
        public var evaluationInterval: Int64 = 60_000
        /// `global.rule_query_offset`, for groups without their own `query_offset`.
        public var defaultQueryOffset: Int64 = 0
        public var externalLabels: [String: String] = [:]
        /// `--web.external-url`, for `$externalURL` and alerts' generatorURL.
        public var externalURL = "http://localhost:9090"
        /// `--rules.alert.resend-delay`.
        public var resendDelay: Int64 = 60_000
        /// `--rules.alert.for-outage-tolerance`.
        public var outageTolerance: Int64 = 3_600_000
        /// `--rules.alert.for-grace-period`.
        public var forGracePeriod: Int64 = 600_000

        public init() {}
    }

    let querier: any RuleQuerier
    let appender: any RuleAppender
    let sender: (any AlertSender)?
    let clock: any RuleClock
    let logger: Logger
    let registry: PrometheusCollectorRegistry?
    var options = Options()
    var groups: [String: RuleGroup] = [:]
    /// Group keys in file order, then group order within a file.
    var order: [String] = []
    /// Set after the first successful update: later loads do not restore `for` state.
    var hasLoaded = false
    var loops: [String: Task<Void, Never>] = [:]
    var running = false

    /// `registry`, when given, receives Prometheus's `prometheus_rule_*` metrics per group.
    public init(querier: any RuleQuerier, appender: any RuleAppender, sender: (any AlertSender)? = nil,
                clock: any RuleClock = SystemRuleClock(), registry: PrometheusCollectorRegistry? = nil,
                logger: Logger = Logger(label: "vigil.metrics-store.rules")) {
        self.querier = querier
        self.appender = appender
        self.sender = sender
        self.clock = clock
        self.registry = registry
        self.logger = logger
    }

    /// Loads `paths` and replaces the running groups; on any error the running groups
    /// stay as they are. Groups whose definition did not change keep running
    /// untouched; changed groups take over their predecessor's alerts.
    public func update(files paths: [String], options: Options) async throws(RuleLoadError) {
        var files: [RuleFile] = []
        for path in paths { files.append(try RuleFileParser.load(path: path)) }
        await update(ruleFiles: files, options: options)
    }

    public func update(ruleFiles: [RuleFile], options: Options) async {
        let shouldRestore = !hasLoaded
        hasLoaded = true
        let optionsChanged = options != self.options
        self.options = options
        var next: [String: RuleGroup] = [:]
        var nextOrder: [String] = []
        for file in ruleFiles {
            for definition in file.groups {
                let group = RuleGroup(file: file.path, definition: definition, defaultInterval: options.evaluationInterval,
                                      defaultQueryOffset: options.defaultQueryOffset,
                                      externalLabels: options.externalLabels, externalURL: options.externalURL,
                                      shouldRestore: shouldRestore)
                if let old = groups[group.key], !optionsChanged, old.hasSameDefinition(as: group) {
                    next[group.key] = old
                } else {
                    if let old = groups[group.key] {
                        stopLoop(group.key)
                        group.copyState(from: old)
                    }
                    group.metrics = registry.map {
                        RuleGroupMetrics(registry: $0, groupKey: group.key, interval: group.interval, ruleCount: group.rules.count)
                    }
                    next[group.key] = group
                }
                nextOrder.append(group.key)
            }
        }
        // Prometheus waits two intervals before marking a removed group's series stale,
        // so that a rule moved to another group writes first; here they are marked at
        // once, which at worst shows a moved rule's series with one interval's gap.
        var removedSeries: [Labels] = []
        for (key, old) in groups where next[key] == nil {
            stopLoop(key)
            old.metrics?.remove()
            removedSeries += old.staleSeries + old.seriesInPreviousEvaluation.flatMap { $0 }
        }
        groups = next
        order = nextOrder
        if !removedSeries.isEmpty { await markStale(removedSeries, at: clock.now()) }
        if running {
            for key in order where loops[key] == nil { startLoop(key) }
        }
        logger.info("rule groups loaded", metadata: ["groups": "\(order.count)"])
    }

    /// Starts evaluating every group on its schedule.
    public func start() {
        running = true
        for key in order where loops[key] == nil { startLoop(key) }
    }

    /// Stops all evaluation loops.
    public func stop() {
        running = false
        for key in Array(loops.keys) { stopLoop(key) }
    }

    /// The keys of the loaded groups (`file;name`), in file and group order.
    public var groupKeys: [String] { order }

    func startLoop(_ key: String) {
        guard let group = groups[key] else { return }
        let id = ObjectIdentifier(group)
        loops[key] = Task { await self.runLoop(key: key, id: id) }
    }

    func stopLoop(_ key: String) {
        loops.removeValue(forKey: key)?.cancel()
    }

    /// Evaluates `group` at its slots until cancelled or replaced; restores `for`
    /// state after the second evaluation, when recording rules have had a chance to
    /// produce what alerts depend on (as Prometheus).
    func runLoop(key: String, id: ObjectIdentifier) async {
        guard let group = groups[key], ObjectIdentifier(group) == id else { return }
        var next = group.nextEvaluation(after: clock.now())
        var evaluations = 0
        while !Task.isCancelled {
            do { try await clock.sleep(until: next) } catch { return }
            guard groups[group.key] === group, !Task.isCancelled else { return }
            let now = clock.now()
            if now - next >= group.interval {
                let missed = (now - next) / group.interval
                group.metrics?.iterationsMissed.increment(by: missed)
                group.metrics?.iterations.increment(by: missed)
                logger.warning("rule group evaluation missed iterations", metadata: ["group": "\(group.name)", "missed": "\(missed)"])
                next += missed * group.interval
            }
            await evaluate(group, at: next)
            evaluations += 1
            if group.shouldRestore, evaluations >= 2 { await restoreForState(group, at: clock.now()) }
            next += group.interval
        }
    }

    /// Evaluates one group at `time` (Unix ms). For tests and tools that drive time.
    public func evaluate(groupKey: String, at time: Int64) async {
        guard let group = groups[groupKey] else { return }
        await evaluate(group, at: time)
    }

    /// Restores `for` state of one group's alerts at `time` from ALERTS_FOR_STATE.
    public func restoreForState(groupKey: String, at time: Int64) async {
        guard let group = groups[groupKey] else { return }
        await restoreForState(group, at: time)
    }

    /// A consistent copy of every group and rule, for the HTTP API.
    public func snapshot() -> [RuleGroupSnapshot] {
        order.compactMap { groups[$0].map(RuleGroupSnapshot.init) }
    }
}
