/// What an alerting rule's label and annotation templates see: `$labels` / `.Labels`,
/// `$externalLabels`, `$externalURL` and `$value` / `.Value`.
public struct AlertTemplateData: Sendable {
    public var labels: [String: String]
    public var externalLabels: [String: String]
    public var externalURL: String
    public var value: Double

    public init(labels: [String: String], externalLabels: [String: String] = [:], externalURL: String = "", value: Double) {
        self.labels = labels
        self.externalLabels = externalLabels
        self.externalURL = externalURL
        self.value = value
    }

    var templateValue: GoTemplateValue {
        .record(typeName: "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }",
                fields: ["Labels": .map(labels), "ExternalLabels": .map(externalLabels),
                         "ExternalURL": .string(externalURL), "Value": .float(value)])
    }
}

/// Expands alert templates as Prometheus does: the text is prefixed with the variable
/// definitions below and named `__alert_<alertname>`, so line numbers and error
/// messages read like Prometheus's; a failed expansion yields
/// `<error expanding template: …>` instead of failing the rule.
public enum AlertTemplate {
    /// Runs a template's `query "…"` at the evaluation time (Unix ms).
    public typealias Query = @Sendable (_ expr: String, _ time: Int64) async throws -> [(labels: Labels, value: Double)]

    static let definitions = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

    /// How many distinct queries one expansion may run.
    static let maxQueries = 16

    static func functions(time: Int64, externalURL: String,
                          answers: [String: PrometheusTemplateFunctions.QueryAnswer] = [:]) -> [String: GoTemplateFunction] {
        GoTemplateBuiltins.functions.merging(
            PrometheusTemplateFunctions.functions(time: time, externalURL: externalURL, answers: answers)) { _, p in p }
    }

    static let functionNames = Set(functions(time: 0, externalURL: "").keys)

    /// nil when `text` parses as an alert template; otherwise Go's parse error.
    public static func syntaxError(_ text: String, alertName: String) -> String? {
        do {
            _ = try GoTemplateParser.parse(definitions + text, name: "__alert_" + alertName, functions: functionNames)
            return nil
        } catch {
            return error.message
        }
    }

    /// Expands `text` for one alert; `time` (Unix ms) is what `now` returns and when
    /// `query` calls are evaluated.
    ///
    /// The executor is synchronous: a `query` whose result it lacks stops execution,
    /// the query runs here, and the template is executed again with the answer.
    /// Execution is deterministic, so each round gets further.
    public static func expand(_ text: String, alertName: String, data: AlertTemplateData, time: Int64, query: Query?) async -> String {
        // Plain text needs no parsing; most label values are plain.
        guard text.contains("{{") else { return text }
        var answers: [String: PrometheusTemplateFunctions.QueryAnswer] = [:]
        while true {
            do {
                return try expandOrThrow(text, alertName: alertName, data: data, time: time, answers: answers)
            } catch {
                guard let missing = error.missingQuery, answers[missing] == nil, answers.count < maxQueries else {
                    return "<error expanding template: \(error.message)>"
                }
                answers[missing] = await run(missing, at: time, with: query)
            }
        }
    }

    static func run(_ expr: String, at time: Int64, with query: Query?) async -> PrometheusTemplateFunctions.QueryAnswer {
        guard let query else { return .failure("no query engine is available to templates") }
        do {
            return .vector(try await query(expr, time))
        } catch {
            return .failure("\(error)")
        }
    }

    /// Expands without running queries (`query` fails unless its answer is given).
    public static func expand(_ text: String, alertName: String, data: AlertTemplateData, time: Int64) -> String {
        guard text.contains("{{") else { return text }
        do {
            return try expandOrThrow(text, alertName: alertName, data: data, time: time)
        } catch {
            return "<error expanding template: \(error.message)>"
        }
    }

    static func expandOrThrow(_ text: String, alertName: String, data: AlertTemplateData, time: Int64,
                              answers: [String: PrometheusTemplateFunctions.QueryAnswer]) throws(GoTemplateError) -> String {
        let name = "__alert_" + alertName
        let table = functions(time: time, externalURL: data.externalURL, answers: answers)
        let template = try GoTemplateParser.parse(definitions + text, name: name, functions: Set(table.keys))
        let root = data.templateValue
        var executor = GoTemplateExecutor(name: name, functions: table, definitions: template.definitions, root: root)
        try executor.run(template.root, dot: root)
        return executor.output
    }

    public static func expandOrThrow(_ text: String, alertName: String, data: AlertTemplateData, time: Int64) throws(GoTemplateError) -> String {
        try expandOrThrow(text, alertName: alertName, data: data, time: time, answers: [:])
    }
}
