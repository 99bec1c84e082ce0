import Foundation
import Hummingbird

/// /api/v1/rules and /api/v1/alerts in Prometheus's JSON shapes, built from the rule
/// manager's snapshot by pure functions so the shapes are testable without HTTP.
/// See https://prometheus.io/docs/prometheus/latest/querying/api/#rules
public enum RulesAPI {
    /// The filters of /api/v1/rules.
    public struct RulesQuery: Sendable, Equatable {
        public enum RuleType: String, Sendable { case alert, record }
        public var type: RuleType?
        public var ruleNames: Set<String> = []
        public var ruleGroups: Set<String> = []
        public var files: Set<String> = []
        public var excludeAlerts = false
        /// `match[]`: a rule is kept when its labels satisfy every matcher of any set.
        public var matcherSets: [[LabelMatcher]] = []

        public init(type: RuleType? = nil, ruleNames: Set<String> = [], ruleGroups: Set<String> = [],
                    files: Set<String> = [], excludeAlerts: Bool = false) {
            self.type = type
            self.ruleNames = ruleNames
            self.ruleGroups = ruleGroups
            self.files = files
            self.excludeAlerts = excludeAlerts
        }

        /// Reads `type`, `rule_name[]`, `rule_group[]`, `file[]`, `match[]` and
        /// `exclude_alerts`; the error text is Prometheus's.
        public static func parse(_ parameters: [(String, String)]) throws(RulesAPIError) -> RulesQuery {
            var query = RulesQuery()
            let all = { (name: String) in Set(parameters.filter { $0.0 == name }.map(\.1)) }
            query.ruleNames = all("rule_name[]")
            query.ruleGroups = all("rule_group[]")
            query.files = all("file[]")
            for selector in parameters.filter({ $0.0 == "match[]" }).map(\.1) {
                do throws(SeriesSelector.ParseError) {
                    query.matcherSets.append(try SeriesSelector.parse(selector))
                } catch {
                    throw RulesAPIError(error.description)
                }
            }
            let type = (parameters.first { $0.0 == "type" }?.1 ?? "").lowercased()
            if !type.isEmpty {
                guard let parsed = RuleType(rawValue: type) else {
                    throw RulesAPIError("invalid parameter \"type\": not supported value \"\(type)\"")
                }
                query.type = parsed
            }
            if let exclude = parameters.first(where: { $0.0 == "exclude_alerts" })?.1, !exclude.isEmpty {
                guard let value = Bool(exclude.lowercased()) ?? (exclude == "1" ? true : exclude == "0" ? false : nil) else {
                    throw RulesAPIError("invalid parameter \"exclude_alerts\": strconv.ParseBool: parsing \"\(exclude)\": invalid syntax")
                }
                query.excludeAlerts = value
            }
            return query
        }
    }

    /// `{"groups": [...]}`: groups with at least one rule left after filtering.
    public static func rules(_ groups: [RuleGroupSnapshot], query: RulesQuery = RulesQuery()) -> RuleDiscovery {
        var result: [RuleGroupJSON] = []
        for group in groups {
            if !query.ruleGroups.isEmpty, !query.ruleGroups.contains(group.name) { continue }
            if !query.files.isEmpty, !query.files.contains(group.file) { continue }
            var rules: [RuleJSON] = []
            for rule in group.rules {
                if !query.ruleNames.isEmpty, !query.ruleNames.contains(rule.name) { continue }
                if !query.matcherSets.isEmpty, !query.matcherSets.contains(where: { set in
                    set.allSatisfy { $0.matches(rule.labels[$0.name] ?? "") }
                }) { continue }
                switch rule.kind {
                case .recording:
                    guard query.type != .alert else { continue }
                    rules.append(RuleJSON(rule, alerts: nil))
                case .alerting(_, _, _, _, let alerts):
                    guard query.type != .record else { continue }
                    rules.append(RuleJSON(rule, alerts: query.excludeAlerts ? nil : alerts.map(AlertJSON.init)))
                }
            }
            guard !rules.isEmpty else { continue }
            result.append(RuleGroupJSON(name: group.name, file: group.file, rules: rules,
                                        interval: Double(group.interval) / 1000, limit: group.limit,
                                        evaluationTime: group.evaluationTime, lastEvaluation: goTime(group.lastEvaluation)))
        }
        return RuleDiscovery(groups: result)
    }

    /// `{"alerts": [...]}`: every pending or firing alert of every alerting rule.
    public static func alerts(_ groups: [RuleGroupSnapshot]) -> AlertDiscovery {
        var alerts: [AlertJSON] = []
        for group in groups {
            for rule in group.rules {
                if case .alerting(_, _, _, _, let active) = rule.kind { alerts += active.map(AlertJSON.init) }
            }
        }
        return AlertDiscovery(alerts: alerts)
    }

    public struct RuleDiscovery: Encodable, Sendable { public var groups: [RuleGroupJSON] }
    public struct AlertDiscovery: Encodable, Sendable { public var alerts: [AlertJSON] }

    public struct RuleGroupJSON: Encodable, Sendable {
        public var name: String
        public var file: String
        public var rules: [RuleJSON]
        /// Seconds.
        public var interval: Double
        public var limit: Int
        public var evaluationTime: Double
        public var lastEvaluation: String
    }

    /// An alerting or recording rule; the fields of the other kind are left out.
    public struct RuleJSON: Encodable, Sendable {
        public var state: String?
        public var name: String
        public var query: String
        public var duration: Double?
        public var keepFiringFor: Double?
        public var labels: [String: String]
        public var annotations: [String: String]?
        public var alerts: [AlertJSON]?
        public var health: String
        public var lastError: String?
        public var evaluationTime: Double
        public var lastEvaluation: String
        public var type: String

        init(_ rule: RuleSnapshot, alerts: [AlertJSON]?) {
            name = rule.name
            query = rule.query
            labels = rule.labels
            health = rule.status.health.rawValue
            lastError = rule.status.lastError.isEmpty ? nil : rule.status.lastError
            evaluationTime = rule.status.evaluationTime
            lastEvaluation = RulesAPI.goTime(rule.status.lastEvaluation)
            switch rule.kind {
            case .recording:
                type = "recording"
            case .alerting(let state, let hold, let keepFiring, let annotations, _):
                type = "alerting"
                self.state = state?.description ?? "unknown"
                duration = Double(hold) / 1000
                keepFiringFor = Double(keepFiring) / 1000
                self.annotations = annotations
                // Prometheus sends `null` for excluded alerts; an empty list otherwise.
                self.alerts = alerts
            }
        }

        enum CodingKeys: String, CodingKey {
            case state, name, query, duration, keepFiringFor, labels, annotations, alerts, health, lastError
            case evaluationTime, lastEvaluation, type
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            let alerting = type == "alerting"
            if alerting { try c.encode(state, forKey: .state) }
            try c.encode(name, forKey: .name)
            try c.encode(query, forKey: .query)
            if alerting {
                try c.encode(duration, forKey: .duration)
                try c.encode(keepFiringFor, forKey: .keepFiringFor)
            }
            try c.encode(labels, forKey: .labels)
            if alerting {
                try c.encode(annotations ?? [:], forKey: .annotations)
                try c.encode(alerts, forKey: .alerts)
            }
            try c.encode(health, forKey: .health)
            try c.encodeIfPresent(lastError, forKey: .lastError)
            try c.encode(evaluationTime, forKey: .evaluationTime)
            try c.encode(lastEvaluation, forKey: .lastEvaluation)
            try c.encode(type, forKey: .type)
        }
    }

    public struct AlertJSON: Encodable, Sendable {
        public var labels: [String: String]
        public var annotations: [String: String]
        public var state: String
        public var activeAt: String
        public var keepFiringSince: String?
        /// Go's strconv.FormatFloat(v, 'e', -1, 64), e.g. `1e+00`.
        public var value: String

        init(_ alert: Alert) {
            labels = alert.labels.dictionary
            annotations = alert.annotations.dictionary
            state = alert.state.description
            activeAt = RulesAPI.goTime(alert.activeAt)
            keepFiringSince = alert.keepFiringSince.map { RulesAPI.goTime($0) }
            value = RulesAPI.exponentForm(alert.value)
        }
    }

    /// Go's time.Time JSON (RFC 3339 with the fraction's trailing zeros dropped), in
    /// UTC; nil is Go's zero time, which Prometheus shows before a first evaluation.
    static func goTime(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "0001-01-01T00:00:00Z" }
        let text = PrometheusTemplateFunctions.goTimeString(milliseconds: milliseconds)
        // "2006-01-02 15:04:05.999 +0000 UTC" → "2006-01-02T15:04:05.999Z"
        return text.replacingOccurrences(of: " +0000 UTC", with: "Z").replacingOccurrences(of: " ", with: "T")
    }

    /// strconv.FormatFloat(v, 'e', -1, 64).
    static func exponentForm(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == 0 { return value.sign == .minus ? "-0e+00" : "0e+00" }
        return PromQLShortestDigits(value).scientific
    }
}

public struct RulesAPIError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Registers GET/POST /api/v1/rules and GET /api/v1/alerts, answering from `manager`.
public func addRuleRoutes<Context: RequestContext>(to router: Router<Context>, manager: RuleManager) {
    for method in [HTTPRequest.Method.get, .post] {
        router.on("/api/v1/rules", method: method) { request, _ in
            let parameters = await APIParameters.read(request)
            let query: RulesAPI.RulesQuery
            do throws(RulesAPIError) { query = try RulesAPI.RulesQuery.parse(parameters.values) } catch {
                return APIResponse.error(.init(.badData, error.message))
            }
            return RulesAPIResponse.success(RulesAPI.rules(await manager.snapshot(), query: query))
        }
    }
    router.get("/api/v1/alerts") { _, _ in
        RulesAPIResponse.success(RulesAPI.alerts(await manager.snapshot()))
    }
}

/// The `{"status":"success","data":…}` envelope around an `Encodable` payload.
enum RulesAPIResponse {
    struct Envelope<Payload: Encodable>: Encodable {
        var status = "success"
        var data: Payload
    }

    static func success<Payload: Encodable>(_ data: Payload) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let body = try? encoder.encode(Envelope(data: data)) else {
            return APIResponse.error(.init(.internalError, "encoding the response failed"))
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
