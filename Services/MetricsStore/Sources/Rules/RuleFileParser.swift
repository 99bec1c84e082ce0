import Foundation
import VigilService
import Yams

/// Reads Prometheus rule files strictly: unknown keys, wrong types and every check of
/// Prometheus's `rulefmt` are reported with line and column, all at once, so one run
/// fixes a file. The YAML is walked as nodes (not `Decodable`) to keep positions.
public enum RuleFileParser {
    public static func load(path: String) throws(RuleLoadError) -> RuleFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RuleLoadError([RuleFileError(file: path, message: "cannot read file: \(error.localizedDescription)")])
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(RuleLoadError) -> RuleFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw RuleLoadError([RuleFileError(file: path, message: "yaml: \(error)")])
        }
        var reader = Reader(path: path)
        let groups = reader.file(root)
        if !reader.errors.isEmpty { throw RuleLoadError(reader.errors) }
        return RuleFile(path: path, groups: groups)
    }

    /// Walks the node tree, collecting errors instead of stopping at the first.
    struct Reader {
        let path: String
        var errors: [RuleFileError] = []

        mutating func fail(_ node: Node?, _ message: String, group: String? = nil, rule: Int? = nil, ruleName: String? = nil) {
            errors.append(RuleFileError(file: path, line: node?.mark?.line, column: node?.mark?.column,
                                        group: group, ruleIndex: rule, ruleName: ruleName, message: message))
        }

        /// The mapping's entries, after rejecting keys not in `known` (yaml's KnownFields).
        mutating func entries(_ node: Node, known: Set<String>, in type: String) -> [String: Node]? {
            guard case .mapping(let mapping) = node else {
                fail(node, "cannot unmarshal \(kind(node)) into \(type)")
                return nil
            }
            var result: [String: Node] = [:]
            for (key, value) in mapping {
                let name = key.string ?? ""
                guard known.contains(name) else {
                    fail(key, "field \(name) not found in type \(type)")
                    continue
                }
                if result[name] != nil { fail(key, "mapping key \"\(name)\" already defined") }
                result[name] = value
            }
            return result
        }

        func kind(_ node: Node) -> String {
            switch node {
            case .scalar: return "!!str `\(node.string ?? "")`"
            case .sequence: return "!!seq"
            case .mapping: return "!!map"
            case .alias: return "alias"
            }
        }

        func isNull(_ node: Node) -> Bool {
            if case .scalar(let s) = node, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return true }
            return false
        }

        mutating func string(_ node: Node?, _ field: String) -> String {
            guard let node, !isNull(node) else { return "" }
            guard case .scalar(let scalar) = node else {
                fail(node, "cannot unmarshal \(kind(node)) into \(field) of type string")
                return ""
            }
            return scalar.string
        }

        mutating func duration(_ node: Node?, _ field: String) -> PrometheusDuration? {
            guard let node, !isNull(node) else { return nil }
            let text = string(node, field)
            do {
                return try PrometheusDuration(parsing: text)
            } catch {
                fail(node, error.message)
                return nil
            }
        }

        mutating func stringMap(_ node: Node?, _ field: String) -> [String: String] {
            guard let node, !isNull(node) else { return [:] }
            guard case .mapping(let mapping) = node else {
                fail(node, "cannot unmarshal \(kind(node)) into \(field) of type map[string]string")
                return [:]
            }
            var result: [String: String] = [:]
            for (key, value) in mapping { result[string(key, field)] = string(value, field) }
            return result
        }

        mutating func file(_ root: Node?) -> [RuleGroupDefinition] {
            guard let root, !isNull(root) else { return [] }
            guard let top = entries(root, known: ["groups"], in: "rulefmt.RuleGroups") else { return [] }
            guard let groupsNode = top["groups"], !isNull(groupsNode) else { return [] }
            guard case .sequence(let sequence) = groupsNode else {
                fail(groupsNode, "cannot unmarshal \(kind(groupsNode)) into groups of type []rulefmt.RuleGroup")
                return []
            }
            var seen = Set<String>()
            var groups: [RuleGroupDefinition] = []
            for node in sequence {
                guard let group = group(node) else { continue }
                if group.name.isEmpty { fail(node, "Groupname must not be empty") }
                if !seen.insert(group.name).inserted {
                    fail(node, "groupname: \"\(group.name)\" is repeated in the same file")
                }
                groups.append(group)
            }
            return groups
        }

        mutating func group(_ node: Node) -> RuleGroupDefinition? {
            let known: Set = ["name", "interval", "query_offset", "limit", "rules", "labels"]
            guard let fields = entries(node, known: known, in: "rulefmt.RuleGroup") else { return nil }
            let name = string(fields["name"], "name")
            var limit = 0
            if let limitNode = fields["limit"], !isNull(limitNode) {
                if let value = Int(string(limitNode, "limit")) { limit = value } else {
                    fail(limitNode, "cannot unmarshal \(kind(limitNode)) into limit of type int")
                }
            }
            let labels = stringMap(fields["labels"], "labels")
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                if !RuleNames.isValidLabelName(key) || key == Labels.metricName { fail(nil, "invalid label name: \(key)") }
                _ = value
            }
            var rules: [RuleDefinition] = []
            if let rulesNode = fields["rules"], !isNull(rulesNode) {
                if case .sequence(let sequence) = rulesNode {
                    for (index, ruleNode) in sequence.enumerated() {
                        if let rule = rule(ruleNode, group: name, index: index + 1) { rules.append(rule) }
                    }
                } else {
                    fail(rulesNode, "cannot unmarshal \(kind(rulesNode)) into rules of type []rulefmt.Rule")
                }
            }
            return RuleGroupDefinition(name: name, interval: duration(fields["interval"], "interval"),
                                       queryOffset: duration(fields["query_offset"], "query_offset"),
                                       limit: limit, labels: labels, rules: rules)
        }

        /// One rule, with every check `rulefmt.Rule.Validate` makes.
        mutating func rule(_ node: Node, group: String, index: Int) -> RuleDefinition? {
            let known: Set = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"]
            guard let fields = entries(node, known: known, in: "rulefmt.Rule") else { return nil }
            let record = string(fields["record"], "record")
            let alert = string(fields["alert"], "alert")
            let exprText = string(fields["expr"], "expr")
            let holdDuration = duration(fields["for"], "for")
            let keepFiringFor = duration(fields["keep_firing_for"], "keep_firing_for")
            let labels = stringMap(fields["labels"], "labels")
            let annotations = stringMap(fields["annotations"], "annotations")
            let ruleName = alert.isEmpty ? record : alert
            let errorCount = errors.count
            func problem(_ at: Node?, _ message: String, _ reader: inout Reader) {
                reader.fail(at, message, group: group, rule: index, ruleName: ruleName)
            }
            let recordNode = fields["record"] ?? fields["alert"] ?? node

            if !record.isEmpty && !alert.isEmpty {
                problem(fields["record"], "only one of 'record' and 'alert' must be set", &self)
                errors[errors.count - 1].alternateLine = fields["alert"]?.mark?.line
                errors[errors.count - 1].alternateColumn = fields["alert"]?.mark?.column
            }
            if record.isEmpty && alert.isEmpty { problem(node, "one of 'record' or 'alert' must be set", &self) }
            var expr: PromQLExpr?
            if exprText.isEmpty {
                problem(fields["expr"] ?? node, "field 'expr' must be set in rule", &self)
            } else {
                do {
                    expr = try PromQLParser.parse(exprText)
                } catch {
                    problem(fields["expr"], "could not parse expression: \(error)", &self)
                }
            }
            if !record.isEmpty {
                if !annotations.isEmpty { problem(recordNode, "invalid field 'annotations' in recording rule", &self) }
                if (holdDuration?.milliseconds ?? 0) != 0 { problem(recordNode, "invalid field 'for' in recording rule", &self) }
                if (keepFiringFor?.milliseconds ?? 0) != 0 {
                    problem(recordNode, "invalid field 'keep_firing_for' in recording rule", &self)
                }
                if !RuleNames.isValidMetricName(record) { problem(recordNode, "invalid recording rule name: \(record)", &self) }
                if record.contains("{") || record.contains("}") {
                    problem(recordNode, "braces present in the recording rule name; should it be in expr?: \(record)", &self)
                }
            }
            for key in labels.keys.sorted() where !RuleNames.isValidLabelName(key) || key == Labels.metricName {
                problem(nil, "invalid label name: \(key)", &self)
            }
            for key in annotations.keys.sorted() where !RuleNames.isValidLabelName(key) {
                problem(nil, "invalid annotation name: \(key)", &self)
            }
            if !alert.isEmpty {
                for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                    if let message = AlertTemplate.syntaxError(value, alertName: alert) { problem(nil, "label \"\(key)\": \(message)", &self) }
                }
                for (key, value) in annotations.sorted(by: { $0.key < $1.key }) {
                    if let message = AlertTemplate.syntaxError(value, alertName: alert) { problem(nil, "annotation \"\(key)\": \(message)", &self) }
                }
            }
            guard errors.count == errorCount, let expr else { return nil }
            let kind: RuleDefinition.Kind = alert.isEmpty
                ? .recording(name: record)
                : .alerting(name: alert, holdDuration: holdDuration ?? .init(milliseconds: 0),
                            keepFiringFor: keepFiringFor ?? .init(milliseconds: 0), annotations: annotations)
            return RuleDefinition(kind: kind, exprText: exprText, expr: expr, labels: labels)
        }
    }
}

/// Name checks under Prometheus 3's UTF-8 validation scheme: any non-empty valid UTF-8
/// (Swift strings always are), label names starting with `__` reserved only by convention.
enum RuleNames {
    static func isValidMetricName(_ name: String) -> Bool { !name.isEmpty }
    static func isValidLabelName(_ name: String) -> Bool { !name.isEmpty }
}
