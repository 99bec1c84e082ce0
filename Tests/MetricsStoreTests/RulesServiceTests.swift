import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import XCTest

@testable import MetricsStore
import VigilService

/// The rules service as the metrics-store runs it: prometheus.yml applied through the
/// config reloader's hook, groups evaluated on the (injected) clock, alerts delivered,
/// graceful shutdown, and a bad rule file refusing the reload.
final class RulesServiceTests: XCTestCase {
    func testConfigDrivenEvaluationAndDeliveryUntilGracefulShutdown() async throws {
        let received = ReceivedPosts()
        let router = Router()
        router.post("/api/v2/alerts") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            let alerts = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]] ?? []
            received.add("vigil", contentType: request.headers[.contentType] ?? "", alerts: alerts)
            return .ok
        }
        try await Application(router: router).test(.live) { client in
            let directory = try RuleFileTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("rules"), withIntermediateDirectories: true)
            let rulePath = directory.appendingPathComponent("rules/node.yml").path
            try "groups: [{name: node, rules: [{alert: Always, expr: vector(1), labels: {team: '{{ $externalLabels.dc }}'}}]}]"
                .write(toFile: rulePath, atomically: true, encoding: .utf8)
            let configPath = directory.appendingPathComponent("prometheus.yml").path
            try """
            global:
              evaluation_interval: 10s
              external_labels: {dc: fra}
            rule_files: [rules/*.yml]
            alerting:
              alertmanagers: [{static_configs: [{targets: ['127.0.0.1:\(try XCTUnwrap(client.port))']}]}]
            """.write(toFile: configPath, atomically: true, encoding: .utf8)

            let t0: Int64 = 1_700_000_000_000
            let clock = ManualRuleClock(now: t0)
            let querier = CannedRuleQuerier()
            querier.answer("vector(1)", [([:], 1)])
            let appender = RecordingAppender()
            let notifier = Notifier()
            let manager = RuleManager(querier: querier, appender: appender, sender: notifier, clock: clock)
            let service = RulesService(manager: manager, notifier: notifier)
            let (config, _) = try PrometheusConfig.load(path: configPath)
            try await service.configApplier(config, configPath)
            let keys = await manager.groupKeys
            XCTAssertEqual(keys, [rulePath + ";node"])

            let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: Logger(label: "test")))
            let running = Task { try await group.run() }
            try await Self.waitUntil { clock.sleeperCount == 1 }
            clock.advance(to: t0 + 10_000)
            try await Self.waitUntil { !received.posts(from: "vigil").isEmpty }
            let alert = try XCTUnwrap(received.posts(from: "vigil").first?.alerts.first)
            XCTAssertEqual(alert["labels"] as? [String: String], ["alertname": "Always", "team": "fra", "dc": "fra"])
            let snapshot = await manager.snapshot()
            XCTAssertEqual(snapshot.first?.interval, 10_000, "global.evaluation_interval applies")

            // A bad rule file refuses the reload and keeps the running rules.
            try "groups: [{name: node, rules: [{alert: Always, expr: 'vector('}]}]".write(toFile: rulePath, atomically: true, encoding: .utf8)
            do {
                try await service.configApplier(config, configPath)
                XCTFail("a bad rule file must fail the reload")
            } catch {
                XCTAssertTrue("\(error)".contains("could not parse expression"), "\(error)")
            }
            let afterFailure = await manager.groupKeys
            XCTAssertEqual(afterFailure, [rulePath + ";node"])

            await group.triggerGracefulShutdown()
            try await running.value
        }
    }

    static func waitUntil(_ condition: @escaping () -> Bool) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("condition not met in time")
    }
}
