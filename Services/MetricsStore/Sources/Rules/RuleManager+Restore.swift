/// Restoring alerts' `for` state after a restart, from the ALERTS_FOR_STATE series the
/// previous run wrote (Prometheus's `RestoreForState`): an alert that had been pending
/// for part of its `for` keeps that progress, less the outage, and never fires sooner
/// than the grace period after the restart.
extension RuleManager {
    func restoreForState(_ group: RuleGroup, at time: Int64) async {
        defer { group.shouldRestore = false }
        for rule in group.rules {
            guard case .alerting(let alerting) = rule else { continue }
            defer { alerting.restored = true }
            guard alerting.holdDuration >= options.forGracePeriod, !alerting.active.isEmpty else { continue }
            let states: [Labels: (activeAt: Int64, downAt: Int64)]
            do {
                states = try await readForState(alerting, at: time)
            } catch {
                logger.error("failed to restore 'for' state", metadata: ["alertname": "\(alerting.name)", "error": "\(error)"])
                continue
            }
            for (key, var alert) in alerting.active {
                guard let state = states[alert.labels] else { continue }
                alert.activeAt = Self.restoredActiveAt(activeAt: state.activeAt, downAt: state.downAt, now: time,
                                                       holdDuration: alerting.holdDuration, gracePeriod: options.forGracePeriod)
                alerting.active[key] = alert
            }
        }
    }

    /// Prometheus's arithmetic, at its second precision: time spent pending before the
    /// outage counts, the outage itself does not, and at least the grace period remains.
    static func restoredActiveAt(activeAt: Int64, downAt: Int64, now: Int64, holdDuration: Int64, gracePeriod: Int64) -> Int64 {
        let remaining = holdDuration - (downAt - activeAt)
        if remaining <= 0 { return activeAt }
        if remaining < gracePeriod { return now + gracePeriod - holdDuration }
        return activeAt + (now - downAt)
    }

    /// Each alert's last activeAt and the time of its last ALERTS_FOR_STATE sample
    /// within the outage tolerance, both in ms, keyed by the alert's labels.
    ///
    /// The rule querier answers instant queries only, so the two are read with
    /// `last_over_time(…)` and `max_over_time(timestamp(…)[…:1m])`; the latter finds the
    /// last sample's own timestamp because `timestamp()` of a selector returns it.
    /// Unlike Prometheus, which reads the raw series, this cannot see a stale marker
    /// after the last sample: an alert that resolved shortly before the outage and is
    /// active again after it resumes its old progress instead of starting afresh.
    func readForState(_ rule: AlertingRule, at time: Int64) async throws -> [Labels: (activeAt: Int64, downAt: Int64)] {
        let selector = Self.forStateSelector(rule)
        let window = PrometheusDuration(milliseconds: options.outageTolerance).description
        let values = try await querier.instantVector(try PromQLParser.parse("last_over_time(\(selector)[\(window)])"), at: time)
        let times = try await querier.instantVector(
            try PromQLParser.parse("max_over_time(timestamp(\(selector))[\(window):1m])"), at: time)
        var downAt: [Labels: Int64] = [:]
        for sample in times where sample.value.isFinite {
            downAt[Self.withoutName(sample.labels)] = Int64(sample.value) * 1000
        }
        var states: [Labels: (activeAt: Int64, downAt: Int64)] = [:]
        for sample in values where sample.value.isFinite {
            let labels = Self.withoutName(sample.labels)
            guard let down = downAt[labels] else { continue }
            states[labels] = (Int64(sample.value) * 1000, down)
        }
        return states
    }

    static func withoutName(_ labels: Labels) -> Labels {
        guard labels[Labels.metricName] != nil else { return labels }
        var dict = labels.dictionary
        dict[Labels.metricName] = nil
        return Labels(dict)
    }

    /// `ALERTS_FOR_STATE{alertname="…", <rule labels without templates>}`.
    static func forStateSelector(_ rule: AlertingRule) -> String {
        var matchers = [("alertname", rule.name)]
        for (name, value) in rule.labels.sorted(by: { $0.key < $1.key }) where !value.contains("{{") && !value.isEmpty {
            matchers.append((name, value))
        }
        let text = matchers.map { "\(quotedName($0.0))=\(quoted($0.1))" }.joined(separator: ",")
        return "ALERTS_FOR_STATE{\(text)}"
    }

    static func quoted(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func quotedName(_ name: String) -> String {
        let legacy = name.unicodeScalars.enumerated().allSatisfy { index, c in
            c == "_" || (c.isASCII && c.properties.isAlphabetic) || (index > 0 && c.isASCII && c.properties.numericType != nil)
        }
        return legacy && !name.isEmpty ? name : quoted(name)
    }
}
