import Foundation

/// One endpoint to scrape, with the label sets Prometheus keeps for it.
///
/// `discoveredLabels` are the labels before `relabel_configs` (shown in
/// /api/v1/targets); `internalLabels` are after relabeling, still holding the `__`
/// labels that make the URL; `labels` are the ones attached to every scraped series.
public struct ScrapeTarget: Sendable, Hashable {
    public var job: String
    public var discoveredLabels: Labels
    public var internalLabels: Labels
    public var labels: Labels

    /// The URL built from `__scheme__`, `__address__`, `__metrics_path__` and `__param_*`.
    public var url: String {
        let scheme = internalLabels["__scheme__"] ?? "http"
        let address = internalLabels["__address__"] ?? ""
        let path = internalLabels["__metrics_path__"] ?? "/metrics"
        var query: [String] = []
        for label in internalLabels where label.name.hasPrefix("__param_") {
            let name = String(label.name.dropFirst("__param_".count))
            query.append("\(Self.escape(name))=\(Self.escape(label.value))")
        }
        return "\(scheme)://\(address)\(path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// What became of one discovered target.
    public enum Outcome: Sendable {
        case active(ScrapeTarget)
        /// Dropped by relabeling (or left without an address); holds the discovered labels.
        case dropped(Labels)
    }

    /// Prometheus's `PopulateLabels`: the group's labels, the target's address, the job's
    /// defaults for labels not already set, `relabel_configs`, then `instance` defaulting
    /// to the address and the `__` labels removed from the public set.
    public static func build(address: String, group: TargetGroup, config: ScrapeConfig) -> Outcome {
        var pairs = group.labels
        pairs["__address__"] = address
        let defaults: [(String, String)] = [
            ("job", config.jobName),
            ("__scrape_interval__", config.scrapeInterval.description),
            ("__scrape_timeout__", config.scrapeTimeout.description),
            ("__metrics_path__", config.metricsPath),
            ("__scheme__", config.scheme),
        ]
        for (name, value) in defaults where pairs[name] == nil { pairs[name] = value }
        for (name, values) in config.params where pairs["__param_\(name)"] == nil {
            if let first = values.first { pairs["__param_\(name)"] = first }
        }
        if !group.source.isEmpty, pairs["__meta_filepath"] == nil { pairs["__meta_filepath"] = group.source }
        let discovered = Labels(pairs.filter { !$0.value.isEmpty })
        guard let relabeled = Relabeler.process(discovered, config.relabelConfigs),
              let address = relabeled["__address__"], !address.isEmpty else {
            return .dropped(discovered)
        }
        var internalPairs = Dictionary(relabeled.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        if (internalPairs["instance"] ?? "").isEmpty { internalPairs["instance"] = address }
        let internalLabels = Labels(internalPairs.filter { !$0.key.hasPrefix("__meta_") })
        let labels = Labels(internalPairs.filter { !$0.key.hasPrefix("__") && !$0.value.isEmpty })
        return .active(ScrapeTarget(job: config.jobName, discoveredLabels: discovered, internalLabels: internalLabels, labels: labels))
    }

    /// Every target of a job: static groups, then file SD groups.
    public static func discover(_ config: ScrapeConfig, fileGroups: [TargetGroup]) -> [Outcome] {
        (config.staticConfigs + fileGroups).flatMap { group in
            group.targets.map { build(address: $0, group: group, config: config) }
        }
    }

    /// Scrape interval and timeout after relabeling (they may be rewritten by
    /// `__scrape_interval__`/`__scrape_timeout__`); the job's values when unparsable.
    func timing(_ config: ScrapeConfig) -> (interval: PrometheusDuration, timeout: PrometheusDuration) {
        let interval = internalLabels["__scrape_interval__"].flatMap { try? PrometheusDuration(parsing: $0) } ?? config.scrapeInterval
        let timeout = internalLabels["__scrape_timeout__"].flatMap { try? PrometheusDuration(parsing: $0) } ?? config.scrapeTimeout
        return (interval.milliseconds > 0 ? interval : config.scrapeInterval, timeout)
    }
}
