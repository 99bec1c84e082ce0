/// Evaluates an instant query for rules; the lead adapts the PromQL engine to it.
///
/// A scalar result is handed back as one element with empty labels. Rule evaluation
/// asks for `expr` at `time` (Unix milliseconds), already shifted by the group's
/// query offset. Besides rule expressions it is asked for alert templates' `query "…"`
/// and, once after a start, for `last_over_time(ALERTS_FOR_STATE{…}[1h])` and
/// `max_over_time(timestamp(ALERTS_FOR_STATE{…})[1h:1m])` to restore `for` state.
public protocol RuleQuerier: Sendable {
    func instantVector(_ expr: PromQLExpr, at time: Int64) async throws -> [(labels: Labels, value: Double)]
}

/// Where rule output goes: recorded series, ALERTS, ALERTS_FOR_STATE and their stale
/// markers. The TSDB conforms by appending them like any other samples.
public protocol RuleAppender: Sendable {
    func appendRuleOutput(_ request: [(labels: Labels, samples: [Head.Sample])]) async throws
}

extension TSDB: RuleAppender {
    public func appendRuleOutput(_ request: [(labels: Labels, samples: [Head.Sample])]) async throws {
        try await append(request)
    }
}
