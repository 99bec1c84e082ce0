/// A copy of a rule group's state at one moment, safe to hand out of the manager
/// (for /api/v1/rules and /api/v1/alerts).
public struct RuleGroupSnapshot: Sendable {
    public var name: String
    public var file: String
    /// Milliseconds.
    public var interval: Int64
    public var limit: Int
    /// Seconds the last evaluation took.
    public var evaluationTime: Double
    public var lastEvaluation: Int64?
    public var rules: [RuleSnapshot]

    init(_ group: RuleGroup) {
        name = group.name
        file = group.file
        interval = group.interval
        limit = group.limit
        evaluationTime = group.evaluationTime
        lastEvaluation = group.lastEvaluation
        rules = group.rules.map(RuleSnapshot.init)
    }
}

public struct RuleSnapshot: Sendable {
    public enum Kind: Sendable {
        case recording
        /// `state` is nil before the first evaluation; alerts exclude resolved ones.
        case alerting(state: Alert.State?, holdDuration: Int64, keepFiringFor: Int64,
                      annotations: [String: String], alerts: [Alert])
    }

    public var name: String
    /// The expression as Prometheus prints it back.
    public var query: String
    public var labels: [String: String]
    public var status: RuleStatus
    public var kind: Kind

    init(_ rule: Rule) {
        name = rule.name
        query = rule.definition.expr.description
        status = rule.status
        switch rule {
        case .recording(let r):
            labels = r.labels
            kind = .recording
        case .alerting(let r):
            labels = r.labels
            let alerts = r.active.values.filter { $0.resolvedAt == nil }.sorted { $0.labels < $1.labels }
            kind = .alerting(state: r.state, holdDuration: r.holdDuration, keepFiringFor: r.keepFiringFor,
                             annotations: r.annotations, alerts: alerts)
        }
    }
}
