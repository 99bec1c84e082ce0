/// One evaluation of a group: its rules in order, each queried at the evaluation time
/// minus the group's query offset, results appended, vanished series marked stale.
extension RuleManager {
    /// Prometheus's staleness marker.
    static let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)

    func evaluate(_ group: RuleGroup, at time: Int64) async {
        let groupStart = ContinuousClock.now
        group.lastEvaluation = clock.now()
        let queryTime = time - group.queryOffset
        var samples = 0
        for (index, rule) in group.rules.enumerated() {
            group.metrics?.evaluations.increment()
            let ruleStart = ContinuousClock.now
            var status = rule.status
            status.lastEvaluation = clock.now()
            do {
                let result = try await querier.instantVector(rule.definition.expr, at: queryTime)
                let output: [(Labels, Double)]
                switch rule {
                case .recording(let recording):
                    output = try recording.output(for: result, limit: group.limit)
                case .alerting(let alerting):
                    alerting.status.lastEvaluation = status.lastEvaluation
                    let current = try await alerting.templates.alerts(for: result, at: time, query: templateQuery)
                    output = try alerting.evaluate(current: current, at: time, limit: group.limit)
                    await send(alerting.alertsToSend(at: time, resendDelay: options.resendDelay, interval: group.interval), of: alerting)
                }
                status.health = .ok
                status.lastError = ""
                samples += output.count
                let (written, failure) = await write(output, previous: group.seriesInPreviousEvaluation[index], at: queryTime)
                group.seriesInPreviousEvaluation[index] = written
                if let failure {
                    status.health = .err
                    status.lastError = failure
                    group.metrics?.failures.increment()
                }
            } catch {
                group.metrics?.failures.increment()
                status.health = .err
                status.lastError = "\(error)"
                logger.warning("evaluating rule failed", metadata: ["group": "\(group.name)", "rule": "\(rule.name)", "error": "\(error)"])
            }
            status.evaluationTime = Self.seconds(ContinuousClock.now - ruleStart)
            rule.status = status
        }
        if !group.staleSeries.isEmpty {
            await markStale(group.staleSeries, at: queryTime)
            group.staleSeries = []
        }
        group.evaluationTime = Self.seconds(ContinuousClock.now - groupStart)
        if let metrics = group.metrics {
            metrics.iterations.increment()
            metrics.lastDuration.set(group.evaluationTime)
            metrics.lastEvaluation.set(Double(group.lastEvaluation ?? 0) / 1000)
            metrics.lastSamples.set(Double(samples))
        }
    }

    /// `query "…"` in alert templates, answered by the rule querier.
    var templateQuery: AlertTemplate.Query {
        { [querier] expr, time in try await querier.instantVector(try PromQLParser.parse(expr), at: time) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Appends one rule's output plus stale markers for the series it wrote last time
    /// but not now; returns the series written and the error text when storing failed.
    /// Samples the storage refuses one by one (out of order, say) do not stop the others.
    func write(_ output: [(Labels, Double)], previous: Set<Labels>, at time: Int64) async -> (Set<Labels>, String?) {
        var request: [(labels: Labels, samples: [Head.Sample])] = output.map { ($0.0, [Head.Sample(time, $0.1)]) }
        let returned = Set(output.map(\.0))
        for series in previous where !returned.contains(series) {
            request.append((series, [Head.Sample(time, Self.staleNaN)]))
        }
        guard !request.isEmpty else { return (returned, nil) }
        do {
            try await appender.appendRuleOutput(request)
            return (returned, nil)
        } catch {
            var firstError: String?
            for entry in request {
                do { try await appender.appendRuleOutput([entry]) } catch { firstError = firstError ?? "\(error)" }
            }
            if let firstError { logger.warning("rule output discarded", metadata: ["error": "\(firstError)"]) }
            return (returned, firstError)
        }
    }

    func markStale(_ series: [Labels], at time: Int64) async {
        let request = series.map { (labels: $0, samples: [Head.Sample(time, Self.staleNaN)]) }
        do { try await appender.appendRuleOutput(request) } catch {
            for entry in request { try? await appender.appendRuleOutput([entry]) }
        }
    }

    func send(_ alerts: [Alert], of rule: AlertingRule) async {
        guard let sender, !alerts.isEmpty else { return }
        let generatorURL = Self.trimmedURL(options.externalURL) + PrometheusLinks.table(rule.expr.description)
        let payload = alerts.map { alert in
            NotifierAlert(labels: alert.labels.dictionary, annotations: alert.annotations.dictionary,
                          startsAt: alert.firedAt, endsAt: alert.resolvedAt ?? alert.validUntil, generatorURL: generatorURL)
        }
        await sender.send(payload)
    }

    static func trimmedURL(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
