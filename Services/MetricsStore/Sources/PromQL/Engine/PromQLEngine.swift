import Synchronization

/// Evaluates PromQL queries against a `PromQLStorage`, as Prometheus 3's engine does
/// (lookback, staleness, `@`, subqueries, delayed `__name__` removal), within the
/// sample, time and cancellation limits of its options.
///
/// Thread-safe: every query gets its own evaluator, which takes the options in force
/// when it starts.
public final class PromQLEngine: Sendable {
    public let storage: any PromQLStorage
    private let settings: Mutex<PromQLEngineOptions>

    public init(storage: any PromQLStorage, options: PromQLEngineOptions = .init()) {
        self.storage = storage
        self.settings = Mutex(options)
    }

    /// The options queries started now run with.
    public var options: PromQLEngineOptions { settings.withLock { $0 } }

    /// Sets the step of subqueries written without one (`x[1h:]`). Prometheus takes it
    /// from `global.evaluation_interval`, so a configuration reload changes it for the
    /// queries that start afterwards.
    public func setDefaultSubqueryStep(_ milliseconds: Int64) {
        precondition(milliseconds > 0, "a subquery step must be positive")
        settings.withLock { $0.defaultSubqueryStep = milliseconds }
    }

    /// Parses with the engine's options (experimental functions only when enabled).
    public func parse(_ query: String) throws(PromQLError) -> PromQLExpr {
        do {
            return try PromQLParser(options: .init(experimentalFunctions: options.experimentalFunctions)).parse(query)
        } catch {
            throw .parse(error)
        }
    }

    /// Evaluates `query` at one time (ms): a vector, scalar, string, or (for range
    /// selectors and subqueries) a matrix.
    public func instantQuery(_ query: String, at time: Int64) async throws(PromQLError) -> PromQLQueryResult {
        try run(try parse(query), text: query, start: time, end: time, step: 0)
    }

    /// Evaluates a parsed expression (rules parse once and evaluate many times).
    public func instantQuery(_ expr: PromQLExpr, at time: Int64) async throws(PromQLError) -> PromQLQueryResult {
        try run(expr, text: expr.description, start: time, end: time, step: 0)
    }

    /// Evaluates `query` at `start`, `start + step`, … `end` (ms); the result is a matrix.
    public func rangeQuery(_ query: String, start: Int64, end: Int64, step: Int64) async throws(PromQLError) -> PromQLQueryResult {
        guard step > 0 else {
            throw .execution("zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        guard end >= start else { throw .execution("end timestamp must not be before start time") }
        let expr = try parse(query)
        switch expr.type {
        case .vector, .scalar: break
        default:
            throw .execution("invalid expression type \"\(expr.type.documentedName)\" for range query, must be Scalar or instant Vector")
        }
        return try run(expr, text: query, start: start, end: end, step: step)
    }

    private func run(_ expr: PromQLExpr, text: String, start: Int64, end: Int64, step: Int64) throws(PromQLError) -> PromQLQueryResult {
        let evaluator = PromQLEvaluator(storage: storage, options: options, query: text, start: start, end: end)
        let isRange = step > 0
        let range = PromQLStepRange(start: start, end: end, interval: isRange ? step : 1)
        evaluator.queryable = PromQLSampleCounter(steps: range.count)
        let value = try evaluator.eval(expr, range)
        let result: PromQLValue
        switch value {
        case .scalar(let values):
            if isRange {
                let points = (0..<range.count).map { Head.Sample(range.time($0), values[$0]) }
                result = .matrix([PromQLSeries(labels: Labels(), points: points)])
            } else {
                result = .scalar(timestamp: start, value: values.first ?? .nan)
            }
        case .string(let s):
            result = .string(timestamp: start, value: s)
        case .vector(let series):
            let cleaned = try Self.droppingNames(series, merge: isRange)
            if isRange {
                result = .matrix(cleaned.map { PromQLSeries(labels: $0.labels, points: $0.points) }.sorted { $0.labels < $1.labels })
            } else {
                result = .vector(cleaned.map { PromQLSample(labels: $0.labels, timestamp: start, value: $0.points[0].value) })
            }
        case .matrix(let series):
            let cleaned = try Self.droppingNames(series, merge: true)
            result = .matrix(cleaned.map { PromQLSeries(labels: $0.labels, points: $0.points) }.sorted { $0.labels < $1.labels })
        }
        return PromQLQueryResult(value: result, warnings: evaluator.annotations.warnings, infos: evaluator.annotations.infos,
                                 stats: evaluator.stats)
    }

    /// Applies the delayed `__name__` removal; series that then share labels are merged
    /// (range results) or rejected (instant results), as upstream does.
    static func droppingNames(_ series: [PromQLEvalSeries], merge: Bool) throws(PromQLError) -> [PromQLEvalSeries] {
        var out = series
        var changed = false
        for i in out.indices where out[i].dropName {
            out[i].labels = out[i].labels.droppingName()
            out[i].dropName = false
            changed = true
        }
        if merge { return try PromQLEvaluator.mergeSameLabels(out) }
        if changed || out.count > 1 {
            var seen: Set<Labels> = []
            for s in out where !seen.insert(s.labels).inserted {
                throw .execution("vector cannot contain metrics with the same labelset")
            }
        }
        return out
    }
}
