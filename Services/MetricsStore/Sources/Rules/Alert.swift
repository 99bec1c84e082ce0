/// One alert of an alerting rule: a label set the rule's expression returned, with its
/// lifecycle. Times are Unix milliseconds.
///
/// Lifecycle (Prometheus's): pending when the expression first returns the label set,
/// firing once it has kept returning it for the rule's `for`, inactive (resolved) when
/// it stops, unless `keep_firing_for` holds a firing alert a while longer. Resolved
/// alerts are kept 15 minutes so the resolution reaches Alertmanager.
public struct Alert: Sendable, Equatable {
    public enum State: Int, Sendable, Comparable, CustomStringConvertible {
        case inactive = 1, pending, firing

        public static func < (a: State, b: State) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .inactive: return "inactive"
            case .pending: return "pending"
            case .firing: return "firing"
            }
        }
    }

    public var state: State
    public var labels: Labels
    public var annotations: Labels
    public var value: Double
    public var activeAt: Int64
    public var firedAt: Int64?
    public var resolvedAt: Int64?
    public var lastSentAt: Int64?
    public var validUntil: Int64?
    public var keepFiringSince: Int64?

    public init(state: State, labels: Labels, annotations: Labels, value: Double, activeAt: Int64) {
        self.state = state
        self.labels = labels
        self.annotations = annotations
        self.value = value
        self.activeAt = activeAt
    }

    /// Pending alerts are never sent; a resolution is sent once; firing alerts are
    /// re-sent every `resendDelay` so Alertmanager does not time them out.
    func needsSending(at time: Int64, resendDelay: Int64) -> Bool {
        if state == .pending { return false }
        if let resolvedAt, resolvedAt > (lastSentAt ?? Int64.min) { return true }
        guard let lastSentAt else { return true }
        return lastSentAt + resendDelay < time
    }
}
