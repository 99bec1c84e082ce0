import Prometheus
import XCTest

@testable import MetricsStore

/// The rule manager over time: `for` state restoration after a restart, reloads,
/// output stored in the TSDB, and scheduling on an injected clock.
final class RuleLifecycleTests: RuleManagerTestCase {
    // MARK: Restoring `for` state

    func testForStateIsRestoredAfterRestartLessTheOutage() async throws {
        let yaml = """
        groups:
          - name: g
            rules:
              - alert: Slow
                expr: latency > 1
                for: 30m
                labels: {team: db}
        """
        let m = try await manager(yaml, restoring: true)
        let key = "/rules/test.yml;g"
        let labels: Labels = ["alertname": "Slow", "instance": "a", "team": "db"]
        querier.answer("latency > 1", [(["__name__": "latency", "instance": "a"], 2)])
        // Before the restart the alert became active at t0 - 20m; the server went down at t0 - 5m.
        let activeAt = t0 - 20 * minute
        let downAt = t0 - 5 * minute
        querier.answer("last_over_time(ALERTS_FOR_STATE{alertname=\"Slow\",team=\"db\"}[1h])", [(labels, Double(activeAt / 1000))])
        querier.answer("max_over_time(timestamp(ALERTS_FOR_STATE{alertname=\"Slow\",team=\"db\"})[1h:1m])", [(labels, Double(downAt) / 1000)])

        await m.evaluate(groupKey: key, at: t0)
        XCTAssertTrue(appender.samples(named: "ALERTS").isEmpty, "nothing is written until state is restored")
        await m.restoreForState(groupKey: key, at: t0)
        XCTAssertTrue(querier.asked.contains { $0.expr.hasPrefix("last_over_time(ALERTS_FOR_STATE") && $0.time == t0 })

        await m.evaluate(groupKey: key, at: t0 + minute)
        let restoredAlerts = RulesAPI.alerts(await m.snapshot()).alerts
        let alert = try XCTUnwrap(restoredAlerts.first)
        // 15m were spent pending before the outage; the 5m outage does not count.
        let restored = activeAt + (t0 - downAt)
        XCTAssertEqual(alert.activeAt, RulesAPI.goTime(restored))
        XCTAssertEqual(alert.state, "pending")
        XCTAssertEqual(appender.samples(named: "ALERTS_FOR_STATE", at: t0 + minute).map(\.sample.value), [Double(restored / 1000)])
        // Fires when 30m of pending have accumulated: 15m before the outage, 15m after.
        await m.evaluate(groupKey: key, at: t0 + 15 * minute)
        await withAlerts(m) { XCTAssertEqual($0.first?.state, "firing") }
    }

    func testRestoredAlertsKeepAtLeastTheGracePeriod() {
        // 29m of a 30m `for` were spent before the outage: 10m grace from the restart.
        let now: Int64 = 10_000_000
        let restored = RuleManager.restoredActiveAt(activeAt: now - 40 * minute, downAt: now - 11 * minute, now: now,
                                                    holdDuration: 30 * minute, gracePeriod: 10 * minute)
        XCTAssertEqual(restored, now + 10 * minute - 30 * minute)
        // Already past its `for` before the outage: activeAt unchanged.
        XCTAssertEqual(RuleManager.restoredActiveAt(activeAt: 0, downAt: 31 * minute, now: now,
                                                    holdDuration: 30 * minute, gracePeriod: 10 * minute), 0)
    }

    // MARK: Reloads

    func testReloadKeepsStateOfUnchangedRulesAndMarksRemovedSeriesStale() async throws {
        let before = """
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
              - record: r
                expr: vector(1)
        """
        let m = try await manager(before)
        let key = "/rules/test.yml;g"
        querier.answer("up == 0", [(["instance": "a"], 0)])
        querier.answer("vector(1)", [([:], 1)])
        await m.evaluate(groupKey: key, at: t0)
        let activeAt = RulesAPI.alerts(await m.snapshot()).alerts.first?.activeAt

        // Same file again: the group is kept as it is.
        await m.update(ruleFiles: [try RuleFile.parsing(before)], options: RuleManager.Options())
        await withAlerts(m) { XCTAssertEqual($0.first?.activeAt, activeAt) }

        // The recording rule is removed and an alert added: A keeps its alert, r's series go stale.
        appender.clear()
        await m.update(ruleFiles: [try RuleFile.parsing("""
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
              - alert: B
                expr: vector(0)
        """)], options: RuleManager.Options())
        await withAlerts(m) { XCTAssertEqual($0.first?.activeAt, activeAt) }
        await m.evaluate(groupKey: key, at: t0 + minute)
        let stale = appender.samples(named: "r")
        XCTAssertEqual(stale.count, 1)
        XCTAssertEqual(stale.first?.sample.value.bitPattern, Self.staleNaN.bitPattern)
        await withAlerts(m) { XCTAssertEqual($0.first?.activeAt, activeAt) }

        // Removing the file's groups marks their series stale at once.
        appender.clear()
        await m.update(ruleFiles: [], options: RuleManager.Options())
        XCTAssertEqual(Set(appender.all.map { $0.labels[Labels.metricName]! }), ["ALERTS", "ALERTS_FOR_STATE"])
        XCTAssertTrue(appender.all.allSatisfy { $0.sample.value.bitPattern == Self.staleNaN.bitPattern })
        let keys = await m.groupKeys
        XCTAssertTrue(keys.isEmpty)
    }

    func testUpdateFromFilesRefusesInvalidFilesAndKeepsTheRunningGroups() async throws {
        let directory = try RuleFileTests.temporaryDirectory()
        let good = directory.appendingPathComponent("good.yml").path
        let bad = directory.appendingPathComponent("bad.yml").path
        try "groups: [{name: g, rules: [{record: r, expr: vector(1)}]}]".write(toFile: good, atomically: true, encoding: .utf8)
        try "groups: [{name: g, rules: [{record: r, expr: 'vector('}]}]".write(toFile: bad, atomically: true, encoding: .utf8)
        let m = RuleManager(querier: querier, appender: appender, clock: ManualRuleClock(now: t0))
        try await m.update(files: [good], options: RuleManager.Options())
        do {
            try await m.update(files: [good, bad], options: RuleManager.Options())
            XCTFail("a bad file must be refused")
        } catch {
            XCTAssertTrue(error.description.hasPrefix(bad + ": "), error.description)
            XCTAssertTrue(error.description.contains("group \"g\", rule 1, \"r\": could not parse expression"), error.description)
        }
        let keys = await m.groupKeys
        XCTAssertEqual(keys, [good + ";g"])
    }

    // MARK: Storage

    func testRuleOutputIsStoredInTheTSDBAndSurvivesReopening() async throws {
        let directory = try RuleFileTests.temporaryDirectory()
        let tsdb = try TSDB.open(directory: directory)
        let m = RuleManager(querier: querier, appender: tsdb, clock: ManualRuleClock(now: t0))
        await m.update(ruleFiles: [], options: RuleManager.Options())
        await m.update(ruleFiles: [try RuleFile.parsing("""
        groups:
          - name: g
            rules:
              - record: r
                expr: vector(1)
              - alert: A
                expr: up == 0
                for: 1m
        """)], options: RuleManager.Options())
        querier.answer("vector(1)", [([:], 1)])
        querier.answer("up == 0", [(["instance": "a"], 0)])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        querier.answer("up == 0", [])
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0 + minute)
        let rules = await m.snapshot()[0].rules
        XCTAssertEqual(rules.map(\.status.health), [.ok, .ok], rules.map(\.status.lastError).joined())
        tsdb.close()

        let reopened = try TSDB.open(directory: directory)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.select([.equal("__name__", "r")], mint: .min, maxt: .max).first?.samples,
                       [Head.Sample(t0, 1), Head.Sample(t0 + minute, 1)])
        let forState = try XCTUnwrap(try reopened.select([.equal("__name__", "ALERTS_FOR_STATE")], mint: .min, maxt: .max).first)
        XCTAssertEqual(forState.labels, ["__name__": "ALERTS_FOR_STATE", "alertname": "A", "instance": "a"])
        XCTAssertEqual(forState.samples.map(\.timestamp), [t0, t0 + minute])
        XCTAssertEqual(forState.samples.first?.value, Double(t0 / 1000))
        XCTAssertEqual(forState.samples.last?.value.bitPattern, Self.staleNaN.bitPattern)
    }

    // MARK: Self-metrics

    func testGroupsExportPrometheusRuleMetricsUntilRemoved() async throws {
        let registry = PrometheusCollectorRegistry()
        let m = RuleManager(querier: querier, appender: appender, clock: ManualRuleClock(now: t0), registry: registry)
        await m.update(ruleFiles: [try RuleFile.parsing("""
        groups:
          - name: g
            interval: 15s
            rules:
              - record: r
                expr: up
              - record: s
                expr: vector(1)
        """)], options: RuleManager.Options())
        querier.answer("up", [(["instance": "a"], 1), (["instance": "b"], 1)])
        querier.fail("vector(1)", "boom")
        await m.evaluate(groupKey: "/rules/test.yml;g", at: t0)
        let text = registry.emitToString()
        let group = #"{rule_group="/rules/test.yml;g"}"#
        for expected in ["prometheus_rule_evaluations_total\(group) 2", "prometheus_rule_evaluation_failures_total\(group) 1",
                         "prometheus_rule_group_iterations_total\(group) 1", "prometheus_rule_group_interval_seconds\(group) 15",
                         "prometheus_rule_group_rules\(group) 2", "prometheus_rule_group_last_evaluation_samples\(group) 2",
                         "prometheus_rule_group_last_evaluation_timestamp_seconds\(group) 1700000000"] {
            XCTAssertTrue(text.contains(expected), "missing \(expected) in\n\(text)")
        }
        await m.update(ruleFiles: [], options: RuleManager.Options())
        XCTAssertFalse(registry.emitToString().contains("rule_group=\"/rules/test.yml;g\""))
    }

    // MARK: Scheduling

    func testGroupsAreEvaluatedOnTheirScheduleWithAnInjectedClock() async throws {
        let clock = ManualRuleClock(now: t0)
        let m = RuleManager(querier: querier, appender: appender, clock: clock)
        await m.update(ruleFiles: [], options: RuleManager.Options())
        await m.update(ruleFiles: [try RuleFile.parsing("groups: [{name: g, interval: 10s, rules: [{record: r, expr: vector(1)}]}]")],
                       options: RuleManager.Options())
        querier.answer("vector(1)", [([:], 1)])
        await m.start()
        try await waitUntil { clock.sleeperCount == 1 }
        clock.advance(to: t0 + 10_000)
        try await waitUntil { self.appender.samples(named: "r").count == 1 }
        let first = try XCTUnwrap(appender.samples(named: "r").first?.sample.timestamp)
        XCTAssertGreaterThan(first, t0)
        XCTAssertLessThanOrEqual(first, t0 + 10_000)
        XCTAssertEqual(first % 10_000, RuleGroup.stableHash("/rules/test.yml;g").remainder(10_000))
        try await waitUntil { clock.sleeperCount == 1 }
        clock.advance(to: t0 + 20_000)
        try await waitUntil { self.appender.samples(named: "r").count == 2 }
        XCTAssertEqual(appender.samples(named: "r").last?.sample.timestamp, first + 10_000)
        await m.stop()
    }

    func waitUntil(_ condition: @escaping () -> Bool) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTFail("condition not met in time")
    }
}
