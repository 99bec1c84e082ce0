/// An alerting rule and its alerts, keyed by label set. Mutated only by the rule
/// manager (an actor), one evaluation at a time.
final class AlertingRule {
    /// How long resolved alerts are kept so the resolution is sent (Prometheus's
    /// `resolvedRetention`).
    static let resolvedRetention: Int64 = 15 * 60_000

    let name: String
    let expr: PromQLExpr
    let holdDuration: Int64
    let keepFiringFor: Int64
    /// Group labels merged with the rule's own, unexpanded.
    let labels: [String: String]
    let annotations: [String: String]
    let externalLabels: [String: String]
    let externalURL: String
    let definition: RuleDefinition
    var status = RuleStatus()
    var active: [Labels: Alert] = [:]
    /// False until `for` state has been restored after a start; ALERTS and
    /// ALERTS_FOR_STATE are written only once it is true.
    var restored: Bool

    init(definition: RuleDefinition, groupLabels: [String: String], externalLabels: [String: String],
         externalURL: String, restored: Bool) {
        guard case .alerting(let name, let hold, let keepFiring, let annotations) = definition.kind else {
            preconditionFailure("AlertingRule needs an alerting rule definition")
        }
        self.definition = definition
        self.name = name
        self.expr = definition.expr
        self.holdDuration = hold.milliseconds
        self.keepFiringFor = keepFiring.milliseconds
        self.labels = groupLabels.merging(definition.labels) { _, rule in rule }
        self.annotations = annotations
        self.externalLabels = externalLabels
        self.externalURL = externalURL
        self.restored = restored
    }

    /// The rule's state: the highest state among its alerts; nil before the first evaluation.
    var state: Alert.State? {
        guard status.lastEvaluation != nil else { return nil }
        return active.values.map(\.state).max() ?? .inactive
    }

    /// What expanding the rule's templates needs, as a value that can leave the manager.
    var templates: AlertTemplates {
        AlertTemplates(name: name, labels: labels, annotations: annotations, externalLabels: externalLabels, externalURL: externalURL)
    }

    /// Advances every alert's state for one evaluation at `time`, given the alerts
    /// the expression returned (`AlertTemplates.alerts`), and returns the ALERTS and
    /// ALERTS_FOR_STATE samples to write.
    func evaluate(current: [Labels: Alert], at time: Int64, limit: Int) throws(RuleEvaluationError) -> [(Labels, Double)] {
        for (key, alert) in current {
            if var existing = active[key], existing.state != .inactive {
                existing.value = alert.value
                existing.annotations = alert.annotations
                active[key] = existing
            } else {
                active[key] = alert
            }
        }

        var output: [(Labels, Double)] = []
        var activeCount = 0
        for key in Array(active.keys) {
            guard var alert = active[key] else { continue }
            if current[key] == nil {
                var keepFiring = false
                if alert.state == .firing, keepFiringFor > 0 {
                    if alert.keepFiringSince == nil { alert.keepFiringSince = time }
                    keepFiring = time - alert.keepFiringSince! < keepFiringFor
                }
                if alert.state == .pending || (alert.resolvedAt.map { time - $0 > Self.resolvedRetention } ?? false) {
                    active[key] = nil
                    continue
                }
                if alert.state != .inactive, !keepFiring {
                    alert.state = .inactive
                    alert.resolvedAt = time
                }
                active[key] = alert
                if !keepFiring { continue }
            } else {
                alert.keepFiringSince = nil
            }
            activeCount += 1
            if alert.state == .pending, time - alert.activeAt >= holdDuration {
                alert.state = .firing
                alert.firedAt = time
            }
            // A restored activeAt can put a firing alert back within its `for`.
            if alert.state == .firing, time - alert.activeAt < holdDuration {
                alert.state = .pending
                alert.firedAt = nil
                alert.lastSentAt = nil
                alert.keepFiringSince = nil
            }
            active[key] = alert
            if restored {
                output.append((alertsSeries(alert), 1))
                output.append((forStateSeries(alert.labels), Double(alert.activeAt / 1000)))
            }
        }
        if limit > 0, activeCount > limit {
            active = [:]
            throw RuleEvaluationError("exceeded limit of \(limit) with \(activeCount) alerts")
        }
        return output
    }

    /// `ALERTS{alertname, alertstate, <rule labels>, <alert labels>}`.
    func alertsSeries(_ alert: Alert) -> Labels {
        var dict = labels
        for label in alert.labels { dict[label.name] = label.value }
        dict[Labels.metricName] = "ALERTS"
        dict["alertname"] = name
        dict["alertstate"] = alert.state.description
        return Labels(dict.filter { !$0.value.isEmpty })
    }

    /// `ALERTS_FOR_STATE{alertname, <rule labels>, <alert labels>}`, whose value is
    /// the alert's activeAt in Unix seconds.
    func forStateSeries(_ alertLabels: Labels) -> Labels {
        var dict = labels
        for label in alertLabels { dict[label.name] = label.value }
        dict[Labels.metricName] = "ALERTS_FOR_STATE"
        dict["alertname"] = name
        return Labels(dict.filter { !$0.value.isEmpty })
    }

    /// Alerts to hand to the notifier at `time`, marking them sent.
    func alertsToSend(at time: Int64, resendDelay: Int64, interval: Int64) -> [Alert] {
        var sent: [Alert] = []
        for key in active.keys.sorted() {
            guard var alert = active[key], alert.needsSending(at: time, resendDelay: resendDelay) else { continue }
            alert.lastSentAt = time
            alert.validUntil = time + 4 * max(interval, resendDelay)
            active[key] = alert
            sent.append(alert)
        }
        return sent
    }
}

/// An alerting rule's labels and annotations with what their templates see; turns one
/// evaluation's query result into new (pending) alerts keyed by their label sets.
struct AlertTemplates: Sendable {
    var name: String
    var labels: [String: String]
    var annotations: [String: String]
    var externalLabels: [String: String]
    var externalURL: String

    func alerts(for result: [(labels: Labels, value: Double)], at time: Int64,
                query: AlertTemplate.Query?) async throws(RuleEvaluationError) -> [Labels: Alert] {
        var current: [Labels: Alert] = [:]
        for sample in result {
            var alertLabels = sample.labels.dictionary
            let data = AlertTemplateData(labels: alertLabels, externalLabels: externalLabels,
                                         externalURL: externalURL, value: sample.value)
            alertLabels[Labels.metricName] = nil
            for (key, value) in labels {
                alertLabels[key] = await AlertTemplate.expand(value, alertName: name, data: data, time: time, query: query)
            }
            alertLabels["alertname"] = name
            var alertAnnotations: [String: String] = [:]
            for (key, value) in annotations {
                alertAnnotations[key] = await AlertTemplate.expand(value, alertName: name, data: data, time: time, query: query)
            }
            let key = Labels(alertLabels.filter { !$0.value.isEmpty })
            guard current[key] == nil else { throw RuleEvaluationError.duplicateAlertLabels }
            current[key] = Alert(state: .pending, labels: key, annotations: Labels(alertAnnotations),
                                 value: sample.value, activeAt: time)
        }
        return current
    }
}
