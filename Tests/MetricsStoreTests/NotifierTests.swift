import AsyncHTTPClient
import Foundation
import Hummingbird
import Prometheus
import HummingbirdTesting
import Synchronization
import VigilTestSupport
import XCTest

@testable import MetricsStore
import VigilService

/// The notifier's queue and batching against a recording HTTP server, and delivery to a
/// real Alertmanager 0.25 (Debian's prometheus-alertmanager), read back through its API
/// and through amtool.
final class NotifierTests: XCTestCase {
    static let alertmanagerBinary = "/usr/bin/prometheus-alertmanager"
    static let amtool = "/usr/bin/amtool"

    func alert(_ name: String, _ index: Int = 0, startsAt: Int64? = 1_700_000_000_000, endsAt: Int64? = nil) -> NotifierAlert {
        Self.alert(name, index, startsAt: startsAt, endsAt: endsAt)
    }

    static func alert(_ name: String, _ index: Int = 0, startsAt: Int64? = 1_700_000_000_000, endsAt: Int64? = nil) -> NotifierAlert {
        NotifierAlert(labels: ["alertname": name, "index": String(index)], annotations: ["summary": "alert \(index)"],
                      startsAt: startsAt, endsAt: endsAt, generatorURL: "http://localhost:9090/graph?g0.expr=up&g0.tab=1")
    }

    func testFullQueueDropsTheOldestAlertsAndCountsThem() async {
        var options = Notifier.Options()
        options.queueCapacity = 3
        let registry = PrometheusCollectorRegistry()
        let notifier = Notifier(options: options, registry: registry)
        await notifier.send((0..<2).map { alert("A", $0) })
        await notifier.send((2..<5).map { alert("A", $0) })
        let queued = await notifier.queue.map { $0.labels["index"]! }
        XCTAssertEqual(queued, ["2", "3", "4"])
        let counters = await notifier.counters
        XCTAssertEqual(counters.dropped, 2)
        let exposition = registry.emitToString()
        XCTAssertTrue(exposition.contains("prometheus_notifications_dropped_total 2\n"), exposition)
        XCTAssertTrue(exposition.contains("prometheus_notifications_queue_length 3.0\n") || exposition.contains("prometheus_notifications_queue_length 3\n"), exposition)
        XCTAssertTrue(exposition.contains("prometheus_notifications_queue_capacity 3"), exposition)
    }

    func testExternalLabelsAreAddedWithoutOverridingAlertLabels() async {
        var options = Notifier.Options()
        options.externalLabels = ["cluster": "eu1", "index": "external"]
        let notifier = Notifier(options: options)
        await notifier.send([alert("A", 7)])
        let labels = await notifier.queue.first?.labels
        XCTAssertEqual(labels, ["alertname": "A", "index": "7", "cluster": "eu1"])
    }

    func testAlertRelabelConfigsRewriteAndDropAlerts() async throws {
        let config = try ConfigFile.parse(PrometheusConfig.self, yaml: """
        global: {external_labels: {replica: r1}}
        alerting:
          alert_relabel_configs:
            - {action: labeldrop, regex: replica}
            - {source_labels: [index], regex: '1', action: drop}
            - {target_label: team, replacement: db}
        """)
        let notifier = Notifier()
        await notifier.apply(config)
        await notifier.send([alert("A", 0), alert("A", 1)])
        let queued = await notifier.queue.map(\.labels)
        XCTAssertEqual(queued, [["alertname": "A", "index": "0", "team": "db"]])
        XCTAssertThrowsError(try ConfigFile.parse(PrometheusConfig.self, yaml: "alerting: {alert_relabel_configs: [{action: nonsense}]}")) { error in
            XCTAssertTrue("\(error)".contains("alerting.alert_relabel_configs[0]"), "\(error)")
        }
    }

    func testPayloadIsAlertmanagersPostableAlertJSON() throws {
        let data = try JSONEncoder().encode([alert("A", 1, startsAt: 1_700_000_000_123, endsAt: 1_700_000_240_000)])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertEqual(json[0]["startsAt"] as? String, "2023-11-14T22:13:20.123Z")
        XCTAssertEqual(json[0]["endsAt"] as? String, "2023-11-14T22:17:20.000Z")
        XCTAssertEqual(json[0]["labels"] as? [String: String], ["alertname": "A", "index": "1"])
        XCTAssertEqual(json[0]["annotations"] as? [String: String], ["summary": "alert 1"])
        XCTAssertEqual(json[0]["generatorURL"] as? String, "http://localhost:9090/graph?g0.expr=up&g0.tab=1")
        XCTAssertEqual(Set(json[0].keys), ["labels", "annotations", "startsAt", "endsAt", "generatorURL"])
    }

    func testAlertsLeaveInBatchesOfAtMost64ToEveryAlertmanagerWithItsPathPrefix() async throws {
        let received = Received()
        let router = Router()
        router.post("/prefix/api/v2/alerts") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            let alerts = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [Any]
            received.requests.withLock { $0.append((request.uri.path, alerts?.count ?? -1)) }
            return .ok
        }
        let app = Application(router: router)
        try await app.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let registry = PrometheusCollectorRegistry()
            let notifier = Notifier(registry: registry)
            await notifier.apply(AlertingConfig(alertmanagers: [
                AlertmanagerConfig(targets: ["127.0.0.1:\(port)"], pathPrefix: "/prefix/"),
            ]), externalLabels: [:])
            await notifier.send((0..<150).map { Self.alert("Batch", $0) })
            await notifier.flush()
            XCTAssertEqual(received.requests.withLock { $0.map(\.count) }, [64, 64, 22])
            XCTAssertEqual(received.requests.withLock { Set($0.map(\.path)) }, ["/prefix/api/v2/alerts"])
            let counters = await notifier.counters
            XCTAssertEqual(counters, Notifier.Counters(dropped: 0, sent: 150, errors: 0))
            let exposition = registry.emitToString()
            XCTAssertTrue(exposition.contains("prometheus_notifications_sent_total{alertmanager=\"http://127.0.0.1:\(port)/prefix/api/v2/alerts\"} 150"), exposition)
        }
    }

    func testUnreachableAlertmanagerCountsAnErrorAndDropsTheBatch() async throws {
        let notifier = Notifier()
        await notifier.apply(AlertingConfig(alertmanagers: [
            AlertmanagerConfig(targets: ["127.0.0.1:\(try freeLoopbackPort())"], timeout: .seconds(2)),
        ]), externalLabels: [:])
        await notifier.send([alert("A")])
        await notifier.flush()
        let counters = await notifier.counters
        XCTAssertEqual(counters, Notifier.Counters(dropped: 1, sent: 0, errors: 1))
    }

    // MARK: Real Alertmanager

    func testFiringAndResolvedAlertsReachARealAlertmanager() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.alertmanagerBinary) else {
            throw XCTSkip("Alertmanager is not installed at \(Self.alertmanagerBinary) (Debian package prometheus-alertmanager; scripts/install-test-deps.sh)")
        }
        let alertmanager = try RealAlertmanager.start(binary: Self.alertmanagerBinary)
        defer { alertmanager.stop() }
        try await alertmanager.waitUntilReady()

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let notifier = Notifier()
        await notifier.apply(AlertingConfig(alertmanagers: [AlertmanagerConfig(targets: ["127.0.0.1:\(alertmanager.port)"])]),
                             externalLabels: ["cluster": "test"])
        let firing = NotifierAlert(labels: ["alertname": "VigilFiring", "severity": "page"],
                                   annotations: ["summary": "disk full on a"], startsAt: now - 60_000, endsAt: now + 240_000,
                                   generatorURL: "http://localhost:9090/graph?g0.expr=up&g0.tab=1")
        var toResolve = firing
        toResolve.labels["alertname"] = "VigilResolved"
        await notifier.send([firing, toResolve])
        await notifier.flush()
        var resolved = toResolve
        resolved.endsAt = now
        await notifier.send([resolved])
        await notifier.flush()
        let counters = await notifier.counters
        XCTAssertEqual(counters.errors, 0)

        // Alertmanager's own view: the firing alert is active, the resolved one gone.
        var alerts: [[String: Any]] = []
        for _ in 0..<50 {
            alerts = try await alertmanager.alerts()
            if alerts.count == 1, (alerts[0]["status"] as? [String: Any])?["state"] as? String == "active" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(alerts.count, 1)
        let received = try XCTUnwrap(alerts.first)
        XCTAssertEqual(received["labels"] as? [String: String], ["alertname": "VigilFiring", "severity": "page", "cluster": "test"])
        XCTAssertEqual(received["annotations"] as? [String: String], ["summary": "disk full on a"])
        XCTAssertEqual((received["status"] as? [String: Any])?["state"] as? String, "active")
        XCTAssertEqual(received["generatorURL"] as? String, "http://localhost:9090/graph?g0.expr=up&g0.tab=1")

        // amtool sees the same alert.
        guard FileManager.default.isExecutableFile(atPath: Self.amtool) else {
            throw XCTSkip("amtool is not installed at \(Self.amtool) (Debian package prometheus-alertmanager)")
        }
        let (status, output) = try RuleFileTests.run(Self.amtool, ["--alertmanager.url=http://127.0.0.1:\(alertmanager.port)", "alert", "query", "-o", "json"])
        XCTAssertEqual(status, 0, output)
        let listed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
        XCTAssertEqual(listed.compactMap { ($0["labels"] as? [String: String])?["alertname"] }, ["VigilFiring"])
    }

    func testRuleManagerAlertsReachAlertmanagerThroughTheNotifierLoop() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.alertmanagerBinary) else {
            throw XCTSkip("Alertmanager is not installed at \(Self.alertmanagerBinary) (Debian package prometheus-alertmanager; scripts/install-test-deps.sh)")
        }
        let alertmanager = try RealAlertmanager.start(binary: Self.alertmanagerBinary)
        defer { alertmanager.stop() }
        try await alertmanager.waitUntilReady()

        let notifier = Notifier()
        await notifier.apply(AlertingConfig(alertmanagers: [AlertmanagerConfig(targets: ["127.0.0.1:\(alertmanager.port)"])]),
                             externalLabels: ["cluster": "test"])
        let loop = Task { await notifier.run() }
        let querier = CannedRuleQuerier()
        // Evaluations two and one minutes ago, so the resolution's endsAt is in the past.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let manager = RuleManager(querier: querier, appender: RecordingAppender(), sender: notifier, clock: ManualRuleClock(now: now))
        await manager.update(ruleFiles: [], options: RuleManager.Options())
        await manager.update(ruleFiles: [try RuleFile.parsing("""
        groups:
          - name: disks
            rules:
              - alert: DiskAlmostFull
                expr: disk_free_ratio < 0.1
                labels: {severity: page}
                annotations:
                  summary: "{{ $labels.instance }} has {{ $value | humanizePercentage }} free"
        """)], options: RuleManager.Options())
        querier.answer("disk_free_ratio < 0.1", [(["__name__": "disk_free_ratio", "instance": "db1"], 0.05)])
        await manager.evaluate(groupKey: "/rules/test.yml;disks", at: now - 120_000)

        var alerts: [[String: Any]] = []
        for _ in 0..<50 {
            alerts = try await alertmanager.alerts()
            if !alerts.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(alerts.count, 1)
        XCTAssertEqual(alerts.first?["labels"] as? [String: String],
                       ["alertname": "DiskAlmostFull", "instance": "db1", "severity": "page", "cluster": "test"])
        XCTAssertEqual(alerts.first?["annotations"] as? [String: String], ["summary": "db1 has 5% free"])
        XCTAssertEqual(alerts.first?["generatorURL"] as? String, "http://localhost:9090/graph?g0.expr=disk_free_ratio+%3C+0.1&g0.tab=1")

        querier.answer("disk_free_ratio < 0.1", [])
        await manager.evaluate(groupKey: "/rules/test.yml;disks", at: now - 60_000)
        for _ in 0..<50 {
            alerts = try await alertmanager.alerts()
            if alerts.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertTrue(alerts.isEmpty, "the resolution reached Alertmanager: \(alerts)")
        await notifier.shutdown()
        await loop.value
        let counters = await notifier.counters
        XCTAssertEqual(counters, Notifier.Counters(dropped: 0, sent: 2, errors: 0))
    }
}

/// What the recording Alertmanager stand-in received: path and alert count per request.
final class Received: Sendable {
    let requests = Mutex<[(path: String, count: Int)]>([])
}

/// A real Alertmanager process on a free loopback port with a throwaway config and
/// storage directory.
final class RealAlertmanager {
    let process: Process
    let port: Int
    let directory: URL

    init(process: Process, port: Int, directory: URL) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    static func start(binary: String) throws -> RealAlertmanager {
        let directory = try RuleFileTests.temporaryDirectory()
        let config = directory.appendingPathComponent("alertmanager.yml")
        try """
        route:
          receiver: blackhole
          group_wait: 1s
        receivers:
          - name: blackhole
        """.write(to: config, atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config.file=\(config.path)", "--storage.path=\(directory.path)",
                             "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address="]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return RealAlertmanager(process: process, port: port, directory: directory)
    }

    func get(_ path: String) async throws -> (Int, Data) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }

    func waitUntilReady() async throws {
        for _ in 0..<100 {
            if let (status, _) = try? await get("/-/ready"), status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "Alertmanager did not become ready"])
    }

    func alerts() async throws -> [[String: Any]] {
        let (_, data) = try await get("/api/v2/alerts")
        return try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
