/// A rule of a group: recording or alerting.
enum Rule {
    case recording(RecordingRule)
    case alerting(AlertingRule)

    var name: String {
        switch self {
        case .recording(let r): return r.name
        case .alerting(let r): return r.name
        }
    }

    var definition: RuleDefinition {
        switch self {
        case .recording(let r): return r.definition
        case .alerting(let r): return r.definition
        }
    }

    /// Identity across reloads (Prometheus's `nameAndLabels`).
    var identity: String {
        let labels: [String: String]
        switch self {
        case .recording(let r): labels = r.labels
        case .alerting(let r): labels = r.labels
        }
        return name + Labels(labels).description
    }

    var status: RuleStatus {
        get {
            switch self {
            case .recording(let r): return r.status
            case .alerting(let r): return r.status
            }
        }
        nonmutating set {
            switch self {
            case .recording(let r): r.status = newValue
            case .alerting(let r): r.status = newValue
            }
        }
    }
}

/// A rule group of a file: its rules are evaluated in order, every `interval`, at a
/// per-group offset within the interval so groups do not all run at once. Owned and
/// mutated by the rule manager only.
final class RuleGroup {
    let name: String
    let file: String
    let interval: Int64
    let limit: Int
    let queryOffset: Int64
    let definition: RuleGroupDefinition
    let rules: [Rule]
    /// Series each rule wrote last time, to write stale markers for those that vanish.
    var seriesInPreviousEvaluation: [Set<Labels>]
    /// Series of rules removed by a reload, to be marked stale at the next evaluation.
    var staleSeries: [Labels] = []
    var evaluationTime: Double = 0
    var lastEvaluation: Int64?
    /// True when alerts' `for` state must be restored from ALERTS_FOR_STATE (first
    /// load after a start).
    var shouldRestore: Bool
    /// Set by the manager when it has a metrics registry.
    var metrics: RuleGroupMetrics?

    var key: String { Self.key(file: file, name: name) }
    static func key(file: String, name: String) -> String { file + ";" + name }

    init(file: String, definition: RuleGroupDefinition, defaultInterval: Int64, defaultQueryOffset: Int64 = 0,
         externalLabels: [String: String],
         externalURL: String, shouldRestore: Bool) {
        self.name = definition.name
        self.file = file
        self.definition = definition
        self.interval = definition.interval.map(\.milliseconds).flatMap { $0 > 0 ? $0 : nil } ?? defaultInterval
        self.limit = definition.limit
        self.queryOffset = definition.queryOffset?.milliseconds ?? defaultQueryOffset
        self.shouldRestore = shouldRestore
        self.rules = definition.rules.map { rule in
            switch rule.kind {
            case .recording: return .recording(RecordingRule(definition: rule, groupLabels: definition.labels))
            case .alerting:
                return .alerting(AlertingRule(definition: rule, groupLabels: definition.labels, externalLabels: externalLabels,
                                              externalURL: externalURL, restored: !shouldRestore))
            }
        }
        self.seriesInPreviousEvaluation = Array(repeating: [], count: definition.rules.count)
    }

    /// Same file, name, interval, limit, offset and rules: a reload keeps such a group running untouched.
    func hasSameDefinition(as other: RuleGroup) -> Bool {
        file == other.file && definition == other.definition && interval == other.interval && queryOffset == other.queryOffset
    }

    /// Takes over the state of the group this one replaces on reload: alerts and
    /// previous series of rules with the same name and labels; series of rules that
    /// are gone are marked stale at the next evaluation.
    func copyState(from old: RuleGroup) {
        evaluationTime = old.evaluationTime
        lastEvaluation = old.lastEvaluation
        var byIdentity: [String: [Int]] = [:]
        for (index, rule) in old.rules.enumerated() { byIdentity[rule.identity, default: []].append(index) }
        for (index, rule) in rules.enumerated() {
            guard let oldIndex = byIdentity[rule.identity]?.first else { continue }
            byIdentity[rule.identity]!.removeFirst()
            seriesInPreviousEvaluation[index] = old.seriesInPreviousEvaluation[oldIndex]
            if case .alerting(let new) = rule, case .alerting(let previous) = old.rules[oldIndex] {
                new.active.merge(previous.active) { _, old in old }
            }
        }
        staleSeries = old.staleSeries
        for indices in byIdentity.values {
            for index in indices { staleSeries.append(contentsOf: old.seriesInPreviousEvaluation[index]) }
        }
    }

    /// The first evaluation slot after `time`: slots are `interval` apart, shifted by a
    /// stable hash of the group's key so that groups spread over the interval.
    func nextEvaluation(after time: Int64) -> Int64 {
        let offset = Int64(Self.stableHash(key) % UInt64(interval))
        let adjusted = time - offset
        var base = adjusted - adjusted % interval
        if adjusted % interval < 0 { base -= interval }
        return base + offset + interval
    }

    /// FNV-1a; Swift's Hasher is seeded per process and would move slots on restart.
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
