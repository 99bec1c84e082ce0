/// A recording rule: stores its expression's result under a new metric name, with the
/// rule's labels overriding the result's.
final class RecordingRule {
    let name: String
    let expr: PromQLExpr
    /// Group labels merged with the rule's own.
    let labels: [String: String]
    let definition: RuleDefinition
    var status = RuleStatus()

    init(definition: RuleDefinition, groupLabels: [String: String]) {
        self.definition = definition
        self.name = definition.name
        self.expr = definition.expr
        self.labels = groupLabels.merging(definition.labels) { _, rule in rule }
    }

    /// The series to record for one evaluation's query result.
    func output(for result: [(labels: Labels, value: Double)], limit: Int) throws(RuleEvaluationError) -> [(Labels, Double)] {
        var seen = Set<Labels>()
        var output: [(Labels, Double)] = []
        output.reserveCapacity(result.count)
        for sample in result {
            var dict = sample.labels.dictionary
            dict[Labels.metricName] = name
            for (key, value) in labels { dict[key] = value }
            let labels = Labels(dict.filter { !$0.value.isEmpty })
            guard seen.insert(labels).inserted else { throw RuleEvaluationError.duplicateRecordingLabels }
            output.append((labels, sample.value))
        }
        if limit > 0, output.count > limit {
            throw RuleEvaluationError("exceeded limit of \(limit) with \(output.count) series")
        }
        return output
    }
}

extension Labels {
    var dictionary: [String: String] {
        var result: [String: String] = [:]
        result.reserveCapacity(count)
        for label in self { result[label.name] = label.value }
        return result
    }
}
