/// Limits and defaults of the PromQL engine (Prometheus's `--query.*` flags).
public struct PromQLEngineOptions: Sendable {
    /// How far back an instant selector looks for a sample, in milliseconds.
    public var lookbackDelta: Int64
    /// Most samples a query may hold in memory at once (`--query.max-samples`).
    public var maxSamples: Int
    /// Wall-clock limit of one query (`--query.timeout`).
    public var timeout: Duration
    /// Step of subqueries written without one (`x[5m:]`), in milliseconds; Prometheus
    /// uses the global evaluation interval.
    public var defaultSubqueryStep: Int64
    /// Allow the functions and aggregations upstream puts behind
    /// `--enable-feature=promql-experimental-functions`.
    public var experimentalFunctions: Bool

    public init(lookbackDelta: Int64 = 300_000, maxSamples: Int = 50_000_000, timeout: Duration = .seconds(120),
                defaultSubqueryStep: Int64 = 60_000, experimentalFunctions: Bool = false) {
        self.lookbackDelta = lookbackDelta
        self.maxSamples = maxSamples
        self.timeout = timeout
        self.defaultSubqueryStep = defaultSubqueryStep
        self.experimentalFunctions = experimentalFunctions
    }
}
