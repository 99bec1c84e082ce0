/// The PromQL engine as rules see it: instant queries whose result is a vector (a scalar
/// comes back as one element without labels, as Prometheus's rule manager treats it).
struct EngineRuleQuerier: RuleQuerier {
    let engine: PromQLEngine

    struct UnexpectedResult: Error, CustomStringConvertible {
        var type: String
        var description: String { "rule expression must return a vector or scalar, got \(type)" }
    }

    func instantVector(_ expr: PromQLExpr, at time: Int64) async throws -> [(labels: Labels, value: Double)] {
        let result = try await engine.instantQuery(expr, at: time)
        switch result.value {
        case .vector(let samples): return samples.map { ($0.labels, $0.value) }
        case .scalar(_, let value): return [(Labels(), value)]
        case .matrix: throw UnexpectedResult(type: "range vector")
        case .string: throw UnexpectedResult(type: "string")
        }
    }
}
