import Foundation
import Logging
import VigilService

/// Owns the scrape loops: turns a `PrometheusConfig` into targets (static, file SD and
/// Kubernetes SD), starts a `ScrapeLoop` per active target and, on each `apply` (reload),
/// file SD refresh or Kubernetes change, starts loops for new targets and stops (with
/// staleness markers) the ones that went away. A target whose job settings changed is restarted.
public actor ScrapeManager {
    private let tsdb: TSDB
    private let logger: Logger
    private(set) var config = PrometheusConfig.empty
    private var loops: [LoopKey: ScrapeLoop] = [:]
    private var dropped: [String: [Labels]] = [:]
    private var refreshTask: Task<Void, Never>?
    private var kubernetes = KubernetesDiscoveries()
    private var kubernetesSyncQueued = false
    /// Counts `sync` calls: one that was overtaken while suspended leaves the rest to the newer one.
    private var syncGeneration = 0

    /// A loop is identified by its job, its labels, and the job's settings as written.
    struct LoopKey: Hashable {
        var job: String
        var labels: Labels
        var settings: String
    }

    public init(tsdb: TSDB, logger: Logger) {
        self.tsdb = tsdb
        self.logger = logger
    }

    /// Makes the running loops match `config`.
    public func apply(_ config: PrometheusConfig) async {
        self.config = config
        kubernetes.update(config, logger: logger) { [weak self] in
            Task { await self?.kubernetesChanged() }
        }
        await sync()
        restartRefresh()
    }

    /// Stops every loop (each marks its series stale).
    public func stop() async {
        refreshTask?.cancel()
        refreshTask = nil
        kubernetes.stopAll()
        for loop in loops.values { await loop.stop() }
        loops = [:]
    }

    private func sync() async {
        syncGeneration += 1
        let generation = syncGeneration
        var wanted: [LoopKey: (ScrapeTarget, ScrapeConfig)] = [:]
        var newDropped: [String: [Labels]] = [:]
        for job in config.scrapeConfigs {
            let (fileGroups, errors) = FileDiscovery.groups(job.fileSDConfigs)
            for error in errors { logger.error("file discovery failed", metadata: ["job": "\(job.jobName)", "error": "\(error)"]) }
            // A group's source names a file for `ScrapeTarget` (`__meta_filepath`), so the
            // Kubernetes groups go in without theirs.
            let kubernetesGroups = await kubernetes.groups(job: job.jobName).map { TargetGroup(targets: $0.targets, labels: $0.labels) }
            let settings = String(reflecting: job)
            for outcome in ScrapeTarget.discover(job, fileGroups: fileGroups + kubernetesGroups) {
                switch outcome {
                case .active(let target):
                    wanted[LoopKey(job: job.jobName, labels: target.internalLabels, settings: settings)] = (target, job)
                case .dropped(let labels):
                    newDropped[job.jobName, default: []].append(labels)
                }
            }
        }
        guard generation == syncGeneration else { return }
        dropped = newDropped
        for (key, loop) in loops where wanted[key] == nil {
            guard generation == syncGeneration else { return }
            loops[key] = nil
            await loop.stop()
        }
        guard generation == syncGeneration else { return }
        for (key, (target, job)) in wanted where loops[key] == nil {
            let loop = ScrapeLoop(target: target, config: job, tsdb: tsdb, logger: logger)
            loops[key] = loop
            loop.start()
        }
        logger.debug("scrape targets synced", metadata: ["active": "\(loops.count)"])
    }

    /// Kubernetes discoveries report every object change; changes within 200 ms are applied
    /// in one sync (Prometheus batches discovery updates too, every 5 s).
    private func kubernetesChanged() async {
        guard !kubernetesSyncQueued else { return }
        kubernetesSyncQueued = true
        try? await Task.sleep(for: .milliseconds(200))
        kubernetesSyncQueued = false
        await sync()
    }

    /// Re-reads file SD files at the shortest `refresh_interval` of the config.
    private func restartRefresh() {
        refreshTask?.cancel()
        let intervals = config.scrapeConfigs.flatMap(\.fileSDConfigs).map(\.refreshInterval.milliseconds).filter { $0 > 0 }
        guard let shortest = intervals.min() else { refreshTask = nil; return }
        refreshTask = Task { [weak self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: .milliseconds(shortest)) } catch { return }
                await self?.sync()
            }
        }
    }

    // MARK: Status

    /// What /api/v1/targets shows.
    public struct Snapshot: Sendable {
        public struct Active: Sendable {
            public var target: ScrapeTarget
            public var interval: PrometheusDuration
            public var timeout: PrometheusDuration
            public var health: String
            public var lastError: String
            public var lastScrape: Date?
            public var lastDuration: Double
        }
        public var active: [Active]
        public var dropped: [String: [Labels]]
    }

    public func snapshot() -> Snapshot {
        let active = loops.values.map { loop in
            let status = loop.currentStatus
            return Snapshot.Active(target: loop.target, interval: loop.interval, timeout: loop.timeout, health: status.health,
                                   lastError: status.lastError, lastScrape: status.lastScrape, lastDuration: status.lastDuration)
        }.sorted { ($0.target.job, $0.target.url) < ($1.target.job, $1.target.url) }
        return Snapshot(active: active, dropped: dropped)
    }
}
