import Foundation
import VigilService

/// prometheus.yml, as far as the metrics-store implements it: `global`,
/// `scrape_configs`, `rule_files` and `alerting`. Unknown keys are rejected, naming the
/// key, as Prometheus does.
///
/// `remote_write` and `remote_read` are accepted so an existing prometheus.yml loads
/// unchanged, but ignored: remote write/read belong to later work.
///
/// Invariant after decoding: every scrape config has its interval and timeout resolved
/// from `global` (timeout <= interval), job names are unique, and the scheme is `http`.
/// See https://prometheus.io/docs/prometheus/latest/configuration/configuration/
public struct PrometheusConfig: Decodable, Sendable {
    public var global: GlobalConfig
    public var scrapeConfigs: [ScrapeConfig]
    /// Glob patterns as written; `RuleFileGlob.resolve` finds the files relative to the
    /// configuration file's directory.
    public var ruleFiles: [String] = []
    public var alerting = AlertingConfig()

    enum CodingKeys: String, CodingKey {
        case global
        case scrapeConfigs = "scrape_configs"
        case ruleFiles = "rule_files", alerting
        // Accepted and ignored; see the type's comment.
        case remoteWrite = "remote_write", remoteRead = "remote_read"
        case scrapeConfigFiles = "scrape_config_files"
    }

    public init(global: GlobalConfig = GlobalConfig(), scrapeConfigs: [ScrapeConfig] = []) {
        self.global = global
        self.scrapeConfigs = scrapeConfigs
    }

    /// The configuration Prometheus runs with when the file is empty.
    public static let empty = PrometheusConfig()

    public init(from decoder: any Decoder) throws {
        if decoder.isNull() { self.init(); return }
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        let global = try container.decodeIfPresent(GlobalConfig.self, forKey: .global) ?? GlobalConfig()
        if global.scrapeTimeout > global.scrapeInterval {
            throw container.invalid(.global, "global scrape timeout greater than scrape interval")
        }
        var raw = try container.decodeIfPresent([ScrapeConfig?].self, forKey: .scrapeConfigs) ?? []
        var seen = Set<String>()
        for index in raw.indices {
            guard var config = raw[index] else {
                throw container.invalid(.scrapeConfigs, "empty or null scrape config section")
            }
            guard seen.insert(config.jobName).inserted else {
                throw container.invalid(.scrapeConfigs, "found multiple scrape configs with job name \"\(config.jobName)\"")
            }
            do {
                try config.resolveDefaults(global)
            } catch {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: container.codingPath + [CodingKeys.scrapeConfigs, AnyCodingKey(intValue: index)!, AnyCodingKey("scrape_timeout")],
                    debugDescription: error.message, underlyingError: error))
            }
            raw[index] = config
        }
        self.init(global: global, scrapeConfigs: raw.compactMap { $0 })
        ruleFiles = try container.decodeIfPresent([String].self, forKey: .ruleFiles) ?? []
        if let problem = RuleFileGlob.validate(ruleFiles) { throw container.invalid(.ruleFiles, problem) }
        alerting = try container.decodeIfPresent(AlertingConfig.self, forKey: .alerting) ?? AlertingConfig()
    }

    /// Reads and validates a prometheus.yml; errors name the file and the key.
    public static func load(path: String) throws(ConfigError) -> (config: PrometheusConfig, yaml: String) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, keyPath: "", message: "cannot read file: \(error.localizedDescription)")
        }
        if text.allSatisfy(\.isWhitespace) { return (.empty, text) }
        return (try ConfigFile.parse(PrometheusConfig.self, yaml: text, file: path), text)
    }
}

/// The `global` section: defaults for every scrape config and labels for the outside world.
public struct GlobalConfig: Decodable, Sendable {
    public var scrapeInterval = PrometheusDuration.seconds(60)
    public var scrapeTimeout = PrometheusDuration.seconds(10)
    public var evaluationInterval = PrometheusDuration.seconds(60)
    /// Added to alerts sent to Alertmanager and visible to alert templates as
    /// `$externalLabels`; also for series leaving this server (remote write, federation).
    public var externalLabels: [String: String] = [:]
    /// How far back rule groups without their own `query_offset` evaluate.
    public var ruleQueryOffset = PrometheusDuration(milliseconds: 0)

    enum CodingKeys: String, CodingKey {
        case scrapeInterval = "scrape_interval", scrapeTimeout = "scrape_timeout"
        case evaluationInterval = "evaluation_interval", externalLabels = "external_labels"
        case ruleQueryOffset = "rule_query_offset"
        // Accepted and ignored (Prometheus 2.x/3.x options this store does not implement).
        case queryLogFile = "query_log_file", scrapeProtocols = "scrape_protocols"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        guard !decoder.isNull() else { return }
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        // As Prometheus: a written block starts from zero values, and zero (absent or
        // written as 0) takes the default; an unset timeout is capped at the interval, so
        // `scrape_interval: 5s` alone is valid with a 5s timeout.
        let zero = PrometheusDuration(milliseconds: 0)
        let interval = try c.decodeIfPresent(PrometheusDuration.self, forKey: .scrapeInterval) ?? zero
        if interval != zero { scrapeInterval = interval }
        let timeout = try c.decodeIfPresent(PrometheusDuration.self, forKey: .scrapeTimeout) ?? zero
        scrapeTimeout = timeout != zero ? timeout : min(scrapeTimeout, scrapeInterval)
        let evaluation = try c.decodeIfPresent(PrometheusDuration.self, forKey: .evaluationInterval) ?? zero
        if evaluation != zero { evaluationInterval = evaluation }
        externalLabels = try c.decodeIfPresent([String: String].self, forKey: .externalLabels) ?? [:]
        ruleQueryOffset = try c.decodeIfPresent(PrometheusDuration.self, forKey: .ruleQueryOffset) ?? ruleQueryOffset
    }
}
