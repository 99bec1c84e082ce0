import XCTest

@testable import MetricsStore

/// The rule manager evaluating rules: recording rules, the alert lifecycle (pending,
/// firing, keep_firing_for, resolution), limits, ALERTS / ALERTS_FOR_STATE and their
/// stale markers, notifications and templates.
final class RuleManagerTests: RuleManagerTestCase {
    // MARK: Recording rules

    func testRecordingRuleWritesResultUnderItsNameWithItsLabels() async throws {
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - record: job:up:sum
                expr: sum by (job) (up)
                labels: {source: rules}
        """)
        querier.answer("sum by (job) (up)", [(["job": "api"], 3), (["job": "db"], 1)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        let out = appender.samples(named: "job:up:sum")
        XCTAssertEqual(Set(out.map(\.labels)), [["__name__": "job:up:sum", "job": "api", "source": "rules"],
                                                 ["__name__": "job:up:sum", "job": "db", "source": "rules"]])
        XCTAssertEqual(out.map(\.sample.timestamp), [t0, t0])
        XCTAssertEqual(Set(out.map(\.sample.value)), [3, 1])

        // The db series vanishes: a stale marker ends it.
        querier.answer("sum by (job) (up)", [(["job": "api"], 4)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0 + minute)
        let second = appender.samples(named: "job:up:sum", at: t0 + minute)
        XCTAssertEqual(second.count, 2)
        let db = try XCTUnwrap(second.first { $0.labels["job"] == "db" })
        XCTAssertEqual(db.sample.value.bitPattern, Self.staleNaN.bitPattern)
        let snapshot = await m.snapshot()
        XCTAssertEqual(snapshot[0].rules[0].status.health, .ok)
        XCTAssertNotNil(snapshot[0].rules[0].status.lastEvaluation)
    }

    func testQueryOffsetShiftsQueryAndSampleTime() async throws {
        let m = try await manager("""
        groups:
          - name: g
            query_offset: 1m
            rules:
              - record: r
                expr: vector(1)
        """)
        querier.answer("vector(1)", [([:], 1)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        XCTAssertEqual(querier.asked.last?.time, t0 - minute)
        XCTAssertEqual(appender.samples(named: "r").first?.sample.timestamp, t0 - minute)
        XCTAssertEqual(appender.samples(named: "r").first?.labels, ["__name__": "r"])
    }

    func testGlobalRuleQueryOffsetAppliesToGroupsWithoutTheirOwn() async throws {
        var options = RuleManager.Options()
        options.defaultQueryOffset = 30_000
        let m = try await manager("""
        groups:
          - name: g
            rules: [{record: r, expr: vector(1)}]
          - name: own
            query_offset: 0s
            rules: [{record: s, expr: vector(1)}]
        """, options: options)
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        await m.evaluate(groupKey: "/rules/test.yml;own", at: t0)
        XCTAssertEqual(querier.asked.map(\.time), [t0 - 30_000, t0])
    }

    func testDuplicateLabelSetsAndQueryErrorsMarkTheRuleUnhealthy() async throws {
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - record: r
                expr: up
                labels: {instance: same}
              - record: s
                expr: vector(2)
        """)
        querier.answer("up", [(["__name__": "up", "instance": "a"], 1), (["__name__": "up", "instance": "b"], 1)])
        querier.fail("vector(2)", "query timed out in expression evaluation")
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        let rules = await m.snapshot()[0].rules
        XCTAssertEqual(rules[0].status.health, .err)
        XCTAssertEqual(rules[0].status.lastError, "vector contains metrics with the same labelset after applying rule labels")
        XCTAssertEqual(rules[1].status.lastError, "query timed out in expression evaluation")
        XCTAssertTrue(appender.all.isEmpty)
    }

    func testLimitFailsTheRuleAndRecordsNothing() async throws {
        let m = try await manager("""
        groups:
          - name: g
            limit: 1
            rules:
              - record: r
                expr: up
              - alert: Down
                expr: up == 0
        """)
        querier.answer("up", [(["instance": "a"], 1), (["instance": "b"], 1)])
        querier.answer("up == 0", [(["instance": "a"], 0), (["instance": "b"], 0)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        let rules = await m.snapshot()[0].rules
        XCTAssertEqual(rules[0].status.lastError, "exceeded limit of 1 with 2 series")
        XCTAssertEqual(rules[1].status.lastError, "exceeded limit of 1 with 2 alerts")
        XCTAssertTrue(appender.all.isEmpty)
        guard case .alerting(_, _, _, _, let alerts) = rules[1].kind else { return XCTFail() }
        XCTAssertTrue(alerts.isEmpty)
    }

    // MARK: Alerting rules

    func testAlertGoesPendingThenFiringThenResolvesWithSeriesAndNotifications() async throws {
        var options = RuleManager.Options()
        options.externalURL = "http://prom.example:9090/"
        let m = try await manager("""
        groups:
          - name: g
            interval: 1m
            rules:
              - alert: InstanceDown
                expr: up == 0
                for: 2m
                labels: {severity: page}
                annotations:
                  summary: "{{ $labels.instance }} down ({{ $value }})"
        """, options: options)
        let key = "/rules/test.yml;g"
        querier.answer("up == 0", [(["__name__": "up", "instance": "a", "job": "node"], 0)])

        await m.evaluate(groupKey: key, at: t0)
        var alerts = RulesAPI.alerts(await m.snapshot()).alerts
        XCTAssertEqual(alerts.map(\.state), ["pending"])
        XCTAssertEqual(alerts[0].labels, ["alertname": "InstanceDown", "instance": "a", "job": "node", "severity": "page"])
        XCTAssertEqual(alerts[0].annotations, ["summary": "a down (0)"])
        let pendingSeries = appender.samples(named: "ALERTS", at: t0)
        XCTAssertEqual(pendingSeries.map(\.labels), [["__name__": "ALERTS", "alertname": "InstanceDown", "alertstate": "pending",
                                                      "instance": "a", "job": "node", "severity": "page"]])
        let forState = appender.samples(named: "ALERTS_FOR_STATE", at: t0)
        XCTAssertEqual(forState.map(\.sample.value), [Double(t0 / 1000)])
        var sent = await sender.all
        XCTAssertTrue(sent.isEmpty, "pending alerts are not sent")

        await m.evaluate(groupKey: key, at: t0 + minute)
        await withAlerts(m) { XCTAssertEqual($0.map(\.state), ["pending"]) }

        await m.evaluate(groupKey: key, at: t0 + 2 * minute)
        alerts = RulesAPI.alerts(await m.snapshot()).alerts
        XCTAssertEqual(alerts.map(\.state), ["firing"])
        let firing = appender.samples(named: "ALERTS", at: t0 + 2 * minute)
        XCTAssertEqual(firing.count, 2, "firing sample plus stale marker of the pending series")
        XCTAssertEqual(firing.first { $0.labels["alertstate"] == "firing" }?.sample.value, 1)
        XCTAssertEqual(firing.first { $0.labels["alertstate"] == "pending" }?.sample.value.bitPattern, Self.staleNaN.bitPattern)
        sent = await sender.all
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent[0].startsAt, t0 + 2 * minute)
        // endsAt = now + 4 × max(resend delay 1m, interval 1m)
        XCTAssertEqual(sent[0].endsAt, t0 + 2 * minute + 4 * minute)
        XCTAssertEqual(sent[0].generatorURL, "http://prom.example:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1")

        // Not re-sent before the resend delay has passed, re-sent after.
        await sender.clear()
        await m.evaluate(groupKey: key, at: t0 + 3 * minute)
        sent = await sender.all
        XCTAssertTrue(sent.isEmpty)
        await m.evaluate(groupKey: key, at: t0 + 4 * minute)
        sent = await sender.all
        XCTAssertEqual(sent.count, 1)

        // Resolved: sent once with endsAt = resolution time; series marked stale.
        await sender.clear()
        querier.answer("up == 0", [])
        await m.evaluate(groupKey: key, at: t0 + 5 * minute)
        sent = await sender.all
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent[0].endsAt, t0 + 5 * minute)
        await withAlerts(m) { XCTAssertTrue($0.isEmpty) }
        let ended = appender.samples(named: "ALERTS", at: t0 + 5 * minute) + appender.samples(named: "ALERTS_FOR_STATE", at: t0 + 5 * minute)
        XCTAssertEqual(ended.count, 2)
        XCTAssertTrue(ended.allSatisfy { $0.sample.value.bitPattern == Self.staleNaN.bitPattern })
        let rule = await m.snapshot()[0].rules[0]
        guard case .alerting(let state, _, _, _, _) = rule.kind else { return XCTFail() }
        XCTAssertEqual(state, .inactive)
    }

    func testResolvedAlertsAreKeptFifteenMinutesThenForgotten() async throws {
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
        """)
        let key = "/rules/test.yml;g"
        querier.answer("up == 0", [(["instance": "a"], 0)])
        await m.evaluate(groupKey: key, at: t0)
        querier.answer("up == 0", [])
        await m.evaluate(groupKey: key, at: t0 + minute)
        await sender.clear()
        // Still known (inactive) 15 minutes on: the resolution is re-sent while kept.
        await m.evaluate(groupKey: key, at: t0 + 16 * minute)
        var sent = await sender.all
        XCTAssertEqual(sent.count, 1)
        await sender.clear()
        await m.evaluate(groupKey: key, at: t0 + 17 * minute)
        sent = await sender.all
        XCTAssertTrue(sent.isEmpty, "forgotten after 15 minutes")
    }

    func testKeepFiringForHoldsAFiringAlert() async throws {
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                keep_firing_for: 2m
        """)
        let key = "/rules/test.yml;g"
        querier.answer("up == 0", [(["instance": "a"], 0)])
        await m.evaluate(groupKey: key, at: t0)
        await withAlerts(m) { XCTAssertEqual($0.map(\.state), ["firing"]) }
        querier.answer("up == 0", [])
        await m.evaluate(groupKey: key, at: t0 + minute)
        var alerts = RulesAPI.alerts(await m.snapshot()).alerts
        XCTAssertEqual(alerts.map(\.state), ["firing"])
        XCTAssertNotNil(alerts[0].keepFiringSince)
        await m.evaluate(groupKey: key, at: t0 + 2 * minute)
        await withAlerts(m) { XCTAssertEqual($0.map(\.state), ["firing"]) }
        await m.evaluate(groupKey: key, at: t0 + 3 * minute)
        alerts = RulesAPI.alerts(await m.snapshot()).alerts
        XCTAssertTrue(alerts.isEmpty, "resolved once keep_firing_for has passed")
    }

    func testTemplatesSeeExternalLabelsAndRuleLabelsAreExpanded() async throws {
        var options = RuleManager.Options()
        options.externalLabels = ["cluster": "eu1"]
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - alert: Latency
                expr: latency_seconds > 1
                labels:
                  severity: '{{ if gt $value 5.0 }}critical{{ else }}warning{{ end }}'
                annotations:
                  summary: '{{ $labels.instance }} in {{ $externalLabels.cluster }}: {{ humanizeDuration $value }}'
        """, options: options)
        querier.answer("latency_seconds > 1", [(["__name__": "latency_seconds", "instance": "x"], 7.5),
                                               (["__name__": "latency_seconds", "instance": "y"], 2)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        let alerts = RulesAPI.alerts(await m.snapshot()).alerts.sorted { $0.labels["instance"]! < $1.labels["instance"]! }
        XCTAssertEqual(alerts.map { $0.labels["severity"] }, ["critical", "warning"])
        XCTAssertEqual(alerts.map { $0.annotations["summary"] }, ["x in eu1: 7.5s", "y in eu1: 2s"])
        XCTAssertEqual(alerts.map(\.value), ["7.5e+00", "2e+00"])
    }

    func testAnnotationQueriesAreAnsweredByTheRuleQuerierAtEvaluationTime() async throws {
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - alert: MemoryLow
                expr: mem_free < 100
                annotations:
                  summary: >-
                    {{ with printf "mem_total{instance='%s'}" $labels.instance | query }}{{ . | first | value | humanize1024 }}B total{{ end }}
        """)
        querier.answer("mem_free < 100", [(["__name__": "mem_free", "instance": "h1"], 50)])
        querier.answer("mem_total{instance='h1'}", [(["__name__": "mem_total", "instance": "h1"], 8 * 1024 * 1024 * 1024)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        await withAlerts(m) { XCTAssertEqual($0.first?.annotations["summary"], "8GiB total") }
        XCTAssertTrue(querier.asked.contains { $0.expr.hasPrefix("mem_total") && $0.time == t0 })
    }

    func testAlertLabelsCollidingAfterTemplatesFailTheRule() async throws {
        let m = try await manager("""
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                labels: {instance: all}
        """)
        querier.answer("up == 0", [(["instance": "a"], 0), (["instance": "b"], 0)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        let rule = await m.snapshot()[0].rules[0]
        XCTAssertEqual(rule.status.lastError, "vector contains metrics with the same labelset after applying alert labels")
    }
}
