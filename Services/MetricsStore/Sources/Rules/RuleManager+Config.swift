/// Applying prometheus.yml to the rule manager and notifier: `rule_files` globs are
/// resolved against the configuration file's directory; `global.evaluation_interval`,
/// `global.rule_query_offset` and `global.external_labels` become rule manager options.
extension RuleManager {
    /// Loads the rule files `config` names; on error the running rules stay.
    /// `base` carries the command-line settings (external URL, resend delay, …).
    public func apply(_ config: PrometheusConfig, configFile: String, base: Options) async throws(RuleLoadError) {
        var options = base
        options.evaluationInterval = config.global.evaluationInterval.milliseconds
        options.defaultQueryOffset = config.global.ruleQueryOffset.milliseconds
        options.externalLabels = config.global.externalLabels
        try await update(files: RuleFileGlob.resolve(config.ruleFiles, configFile: configFile), options: options)
    }

    /// Settings in force, so callers can start from them on reload.
    public var currentOptions: Options { options }
}

extension Notifier {
    /// Applies `alerting` and `global.external_labels`.
    public func apply(_ config: PrometheusConfig) {
        apply(config.alerting, externalLabels: config.global.externalLabels)
    }
}
