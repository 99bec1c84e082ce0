/// A parsed and validated Prometheus rule file: groups of recording and alerting rules.
/// See https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/
///
/// Invariant once `RuleFileParser` returns it: group names are unique within the file,
/// every rule is exactly one of recording or alerting, every `expr` parses, and every
/// alerting rule's label and annotation templates parse.
public struct RuleFile: Sendable, Equatable {
    public var path: String
    public var groups: [RuleGroupDefinition]

    public init(path: String, groups: [RuleGroupDefinition]) {
        self.path = path
        self.groups = groups
    }
}

/// One `groups[]` entry.
public struct RuleGroupDefinition: Sendable, Equatable {
    public var name: String
    /// nil: the global `evaluation_interval`.
    public var interval: PrometheusDuration?
    /// nil: the global `rule_query_offset`.
    public var queryOffset: PrometheusDuration?
    /// 0 means no limit on alerts or series per rule.
    public var limit: Int
    /// Labels added to every rule of the group (Prometheus 3); a rule's own labels win.
    public var labels: [String: String]
    public var rules: [RuleDefinition]

    public init(name: String, interval: PrometheusDuration? = nil, queryOffset: PrometheusDuration? = nil,
                limit: Int = 0, labels: [String: String] = [:], rules: [RuleDefinition]) {
        self.name = name
        self.interval = interval
        self.queryOffset = queryOffset
        self.limit = limit
        self.labels = labels
        self.rules = rules
    }
}

/// One `rules[]` entry, recording (`record`) or alerting (`alert`).
public struct RuleDefinition: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case recording(name: String)
        case alerting(name: String, holdDuration: PrometheusDuration, keepFiringFor: PrometheusDuration,
                      annotations: [String: String])
    }

    public var kind: Kind
    /// The expression as written in the file.
    public var exprText: String
    public var expr: PromQLExpr
    public var labels: [String: String]

    public init(kind: Kind, exprText: String, expr: PromQLExpr, labels: [String: String] = [:]) {
        self.kind = kind
        self.exprText = exprText
        self.expr = expr
        self.labels = labels
    }

    public var name: String {
        switch kind {
        case .recording(let name), .alerting(let name, _, _, _): return name
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.kind == b.kind && a.exprText == b.exprText && a.labels == b.labels
    }
}

/// One problem in a rule file, worded as promtool words it:
/// `rules.yml: 7:13: group "example", rule 2, "HighLatency": could not parse expression: …`.
public struct RuleFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// Where in the file, when known (1-based, as YAML parsers count).
    public var line: Int?
    public var column: Int?
    /// A second position, for problems between two keys (`record` and `alert`).
    public var alternateLine: Int?
    public var alternateColumn: Int?
    /// The group and 1-based rule index, for problems inside a rule.
    public var group: String?
    public var ruleIndex: Int?
    public var ruleName: String?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, group: String? = nil,
                ruleIndex: Int? = nil, ruleName: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.group = group
        self.ruleIndex = ruleIndex
        self.ruleName = ruleName
        self.message = message
    }

    public var description: String {
        var text = "\(file): "
        if let line, let column { text += "\(line):\(column): " }
        if let alternateLine, let alternateColumn { text += "\(alternateLine):\(alternateColumn): " }
        if let group, let ruleIndex {
            text += "group \"\(group)\", rule \(ruleIndex), \"\(ruleName ?? "")\": "
        }
        return text + message
    }
}

/// Every problem found while loading rule files; loading stops at the first bad file
/// but reports all of that file's problems, as promtool does.
public struct RuleLoadError: Error, Sendable, CustomStringConvertible {
    public var errors: [RuleFileError]
    public init(_ errors: [RuleFileError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
