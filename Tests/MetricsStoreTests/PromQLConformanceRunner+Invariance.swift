import Foundation
@testable import MetricsStore

/// The extra runs upstream's runner makes of every instant eval (`runInstantQuery` in
/// promqltest): the query with `@ <eval time>` on every selector, evaluated at other times
/// too (the result must not change), and each of those as a range query over
/// `[t-1m, t+1m]` whose point at `t` must equal the instant result.
extension PromQLConformanceRunner {
    /// Functions whose result depends on the evaluation time even with step-invariant
    /// arguments (upstream's `AtModifierUnsafeFunctions`): such queries get no `@` runs.
    static let atModifierUnsafeFunctions: Set<String> = [
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "end", "hour", "minute", "month", "year",
        "predict_linear", "range", "start", "step", "time", "timestamp",
    ]

    /// (expression, evaluation time) pairs to run: the original, then the `@` variants.
    static func instantVariants(_ expression: PromQLExpr, at time: Int64) -> [(PromQLExpr, Int64)] {
        var variants = [(expression, time)]
        var unsafe = false
        let pinned = pinningSelectors(expression, to: time, unsafe: &unsafe)
        guard !unsafe else { return variants }
        let times: [Int64] = time == 0 ? [-1000, 0, 1000] : [-10 * time, 0, time / 5, time, 10 * time]
        for t in times { variants.append((pinned, t)) }
        return variants
    }

    /// Sets `@ time` on every selector and subquery that has none, leaving the inside of
    /// subqueries alone (as upstream does).
    static func pinningSelectors(_ e: PromQLExpr, to time: Int64, unsafe: inout Bool) -> PromQLExpr {
        switch e {
        case .number, .string:
            return e
        case .vectorSelector(var v):
            if v.timestamp == nil && v.atPreprocessor == nil { v.timestamp = time }
            return .vectorSelector(v)
        case .matrixSelector(var m):
            m.vectorSelector = pinningSelectors(m.vectorSelector, to: time, unsafe: &unsafe)
            return .matrixSelector(m)
        case .subquery(var s):
            if s.timestamp == nil && s.atPreprocessor == nil { s.timestamp = time }
            return .subquery(s)
        case .aggregate(var a):
            a.expr = pinningSelectors(a.expr, to: time, unsafe: &unsafe)
            if let p = a.parameter { a.parameter = pinningSelectors(p, to: time, unsafe: &unsafe) }
            return .aggregate(a)
        case .binary(var b):
            b.lhs = pinningSelectors(b.lhs, to: time, unsafe: &unsafe)
            b.rhs = pinningSelectors(b.rhs, to: time, unsafe: &unsafe)
            return .binary(b)
        case .unary(var u):
            u.expr = pinningSelectors(u.expr, to: time, unsafe: &unsafe)
            return .unary(u)
        case .paren(var p):
            p.expr = pinningSelectors(p.expr, to: time, unsafe: &unsafe)
            return .paren(p)
        case .call(var c):
            if atModifierUnsafeFunctions.contains(c.function.name) { unsafe = true }
            c.args = c.args.map { pinningSelectors($0, to: time, unsafe: &unsafe) }
            return .call(c)
        }
    }

    /// The instant result of `expr` at `time` as read from a range query around it; nil
    /// when it matches `eval`'s expectation, otherwise what differs.
    static func checkRangeMode(_ eval: PromQLTestEval, _ expr: PromQLExpr, at time: Int64, _ engine: PromQLEngine) async -> String? {
        let text = expr.description
        let result: PromQLQueryResult
        do {
            result = try await engine.rangeQuery(text, start: time - 60_000, end: time + 60_000, step: 60_000)
        } catch {
            return "range mode of \(text) at \(time): unexpected error: \(error)"
        }
        guard case .matrix(let series) = result.value else { return "range mode of \(text): not a matrix" }
        if zip(series, series.dropFirst()).contains(where: { !($0.labels < $1.labels) }) {
            return "range mode of \(text): matrix not sorted by labels"
        }
        var vector: [PromQLSample] = []
        for s in series {
            if let point = s.points.first(where: { $0.timestamp == time }) {
                vector.append(PromQLSample(labels: s.labels, timestamp: time, value: point.value))
            }
        }
        let problem: String?
        if case .scalar = eval.expected {
            problem = compare(eval, .scalar(timestamp: time, value: vector.first?.value ?? .nan))
        } else {
            problem = compare(eval, .vector(vector))
        }
        return problem.map { "range mode of \(text) at \(time): \($0)" }
    }
}
