/// The `stats` object of /api/v1/query and /api/v1/query_range, in Prometheus's shape
/// (2.42's `util/stats.BuiltinStats`):
///
///     {"timings":{"evalTotalTime":…,"resultSortTime":…,"queryPreparationTime":…,
///                 "innerEvalTime":…,"execQueueTime":…,"execTotalTime":…},
///      "samples":{"totalQueryableSamplesPerStep":[[t,n],…],"totalQueryableSamples":n,
///                 "peakSamples":n}}
///
/// Any non-empty `stats` parameter asks for it; `stats=all` adds the per-step counts
/// (Prometheus only when started with `--enable-feature=promql-per-step-stats`; always
/// here, since it costs nothing extra).
enum QueryStatsJSON {
    /// `seconds`: the query's evaluation time; `queueSeconds`: its wait for a query slot.
    /// Steps are at `start + i * step` (ms).
    static func render(_ stats: PromQLQueryStats, perStep: Bool, start: Int64, step: Int64,
                       seconds: Double, queueSeconds: Double) -> String {
        var out = "{\"timings\":{"
        out += "\"evalTotalTime\":\(number(seconds)),\"resultSortTime\":0,\"queryPreparationTime\":0,"
        out += "\"innerEvalTime\":\(number(seconds)),\"execQueueTime\":\(number(queueSeconds)),"
        out += "\"execTotalTime\":\(number(seconds + queueSeconds))},\"samples\":{"
        if perStep, !stats.totalQueryableSamplesPerStep.isEmpty {
            out += "\"totalQueryableSamplesPerStep\":["
            for (index, count) in stats.totalQueryableSamplesPerStep.enumerated() {
                if index > 0 { out += "," }
                out += "[\(number(Double(start + Int64(index) * step) / 1000)),\(count)]"
            }
            out += "],"
        }
        out += "\"totalQueryableSamples\":\(stats.totalQueryableSamples),\"peakSamples\":\(stats.peakSamples)}}"
        return out
    }

    /// A float as Go's encoding/json writes one: positional between 1e-6 and 1e21,
    /// exponent notation (`1e-7`) outside.
    static func number(_ value: Double) -> String {
        let magnitude = abs(value)
        if value == 0 || (magnitude >= 1e-6 && magnitude < 1e21) { return PrometheusNumber.format(value) }
        return formatGo(value).replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e+")
    }
}
