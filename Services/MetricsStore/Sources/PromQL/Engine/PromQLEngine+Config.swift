/// What prometheus.yml sets in the engine.
extension PromQLEngine {
    /// Applies `global.evaluation_interval` as the step of subqueries written without one,
    /// as Prometheus does on every (re)load. Zero means the default (1m), as in
    /// Prometheus's configuration loader.
    public var configApplier: ConfigReloader.Applier {
        { [self] config, _ in
            let interval = config.global.evaluationInterval.milliseconds
            setDefaultSubqueryStep(interval > 0 ? interval : GlobalConfig().evaluationInterval.milliseconds)
        }
    }
}
