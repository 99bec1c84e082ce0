/// How a rule's last evaluation went, as /api/v1/rules reports it.
public struct RuleStatus: Sendable, Equatable {
    public enum Health: String, Sendable {
        case unknown, ok, err
    }

    public var health: Health = .unknown
    /// Empty when the last evaluation succeeded.
    public var lastError = ""
    /// Seconds the last evaluation took.
    public var evaluationTime: Double = 0
    /// Unix milliseconds of the last evaluation's start; nil before the first.
    public var lastEvaluation: Int64?

    public init() {}
}

/// Why a rule's evaluation failed; the text is Prometheus's.
public struct RuleEvaluationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static let duplicateAlertLabels = RuleEvaluationError("vector contains metrics with the same labelset after applying alert labels")
    static let duplicateRecordingLabels = RuleEvaluationError("vector contains metrics with the same labelset after applying rule labels")
}
