import Logging

/// The running `KubernetesDiscovery` of every `kubernetes_sd_configs` entry of a
/// configuration, for the scrape manager. `update` keeps discoveries whose job and settings
/// are unchanged (so a reload does not re-list the cluster) and cancels the others.
struct KubernetesDiscoveries {
    private struct Running {
        var job: String
        var discovery: KubernetesDiscovery
        var task: Task<Void, Never>
    }

    /// Keyed by job name, position in the job's list and the entry's settings as written.
    private var running: [String: Running] = [:]

    /// Starts and stops discoveries to match `config`; `onChange` is called whenever one of
    /// them has new groups.
    mutating func update(_ config: PrometheusConfig, logger: Logger, onChange: @escaping @Sendable () -> Void) {
        var wanted: [String: (job: String, config: KubernetesSDConfig)] = [:]
        for job in config.scrapeConfigs {
            for (index, sd) in job.kubernetesSDConfigs.enumerated() {
                wanted["\(job.jobName)\u{0}\(index)\u{0}\(String(reflecting: sd))"] = (job.jobName, sd)
            }
        }
        for (key, entry) in running where wanted[key] == nil {
            entry.task.cancel()
            running[key] = nil
        }
        for (key, entry) in wanted where running[key] == nil {
            var jobLogger = logger
            jobLogger[metadataKey: "discovery"] = "kubernetes"
            jobLogger[metadataKey: "config"] = "\(entry.job)"
            let discovery = KubernetesDiscovery(config: entry.config, logger: jobLogger, onChange: onChange)
            running[key] = Running(job: entry.job, discovery: discovery, task: Task { await discovery.run() })
        }
    }

    /// The current groups of every discovery of `job`.
    func groups(job: String) async -> [TargetGroup] {
        var groups: [TargetGroup] = []
        for key in running.keys.sorted() where running[key]!.job == job {
            groups += await running[key]!.discovery.groups
        }
        return groups
    }

    mutating func stopAll() {
        for entry in running.values { entry.task.cancel() }
        running = [:]
    }
}
