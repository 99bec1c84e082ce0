import VigilTestSupport
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import XCTest

@testable import MetricsStore
import VigilService

/// Differential test against the real Prometheus (Debian's 2.42): the same rule file is
/// evaluated by Prometheus and by metrics-store's rule manager (whose querier answers
/// the rule expressions with the vectors Prometheus computes for them), and the
/// expanded labels and annotations, alert values and API shapes must agree.
final class RulePrometheusComparisonTests: XCTestCase {
    static let prometheusBinary = "/usr/bin/prometheus"

    /// Alert name → (instance label, value) the expression yields.
    static let alerts: [(name: String, instance: String, value: Double)] = [
        ("Big", "host-a:9100", 1_234_567.5),
        ("Tiny", "b.example.com:80", 0.0000125),
        ("Long", "c", 86_461.5),
        ("Round", "d", 100),
    ]

    static let annotations: [(String, String)] = [
        ("value", "{{ $value }}"),
        ("dot_value", "{{ .Value }}"),
        ("humanize", "{{ $value | humanize }}"),
        ("humanize1024", "{{ humanize1024 $value }}"),
        ("duration", "{{ humanizeDuration $value }}"),
        ("percentage", "{{ humanizePercentage $value }}"),
        ("timestamp", "{{ humanizeTimestamp $value }}"),
        ("printf", #"{{ printf "%.2f|%v|%s" $value $value $labels.instance }}"#),
        ("strings", "{{ $labels.instance | title }} {{ $labels.instance | toUpper }} {{ stripPort $labels.instance }} {{ stripDomain $labels.instance }}"),
        ("replace", #"{{ reReplaceAll "(.*):(\\d+)" "$2 on $1" $labels.instance }}"#),
        ("branch", #"{{ if gt $value 1000.0 }}large{{ else if lt $value 1.0 }}small{{ else }}medium{{ end }}"#),
        ("context", "{{ $externalLabels.cluster }} {{ $externalURL }} {{ .Labels.alertname }} {{ $labels.missing }}"),
        ("range", "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        ("links", "{{ graphLink \"up == 0\" }} {{ pathPrefix }}"),
    ]

    static var ruleFile: String {
        var yaml = "groups:\n  - name: compare\n    interval: 1s\n    rules:\n      - record: compare:one\n        expr: vector(1)\n"
        for alert in alerts {
            yaml += "      - alert: \(alert.name)\n"
            yaml += "        expr: \(expr(alert))\n"
            yaml += "        labels:\n          size: '{{ if gt $value 1000.0 }}big{{ else }}small{{ end }}'\n"
            yaml += "        annotations:\n"
            for (key, text) in annotations { yaml += "          \(key): '\(text.replacingOccurrences(of: "'", with: "''"))'\n" }
        }
        return yaml
    }

    static func expr(_ alert: (name: String, instance: String, value: Double)) -> String {
        "label_replace(vector(\(alert.value)), \"instance\", \"\(alert.instance)\", \"\", \"\")"
    }

    func testAlertTemplatesAndAPIShapesMatchPrometheus() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prometheusBinary) else {
            throw XCTSkip("Prometheus is not installed at \(Self.prometheusBinary) (Debian package prometheus; scripts/install-test-deps.sh)")
        }
        let directory = try RuleFileTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rulesPath = directory.appendingPathComponent("rules.yml").path
        try Self.ruleFile.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        try """
        global:
          evaluation_interval: 1s
          external_labels: {cluster: eu1}
        rule_files: [rules.yml]
        """.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let port = try freeLoopbackPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.prometheusBinary)
        process.arguments = ["--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/data",
                             "--web.listen-address=127.0.0.1:\(port)", "--web.external-url=http://prom.test:9090/sub"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }

        // Prometheus's view, once every alert has been evaluated.
        var upstreamAlerts: [[String: Any]] = []
        var upstreamRules: [String: Any] = [:]
        for _ in 0..<150 {
            if let data = try? await Self.get("http://127.0.0.1:\(port)/sub/api/v1/alerts"),
               let alerts = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]).flatMap({ ($0["data"] as? [String: Any])?["alerts"] as? [[String: Any]] }),
               alerts.count == Self.alerts.count {
                upstreamAlerts = alerts
                let rules = try await Self.get("http://127.0.0.1:\(port)/sub/api/v1/rules")
                upstreamRules = try XCTUnwrap(JSONSerialization.jsonObject(with: rules) as? [String: Any])
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(upstreamAlerts.count, Self.alerts.count, "Prometheus did not evaluate the rules in time")

        // metrics-store's view of the same file.
        let querier = CannedRuleQuerier()
        querier.answer("vector(1)", [([:], 1)])
        for alert in Self.alerts { querier.answer(Self.expr(alert), [(["instance": alert.instance], alert.value)]) }
        var options = RuleManager.Options()
        options.externalLabels = ["cluster": "eu1"]
        options.externalURL = "http://prom.test:9090/sub"
        let appender = RecordingAppender()
        let manager = RuleManager(querier: querier, appender: appender, clock: ManualRuleClock(now: 1_700_000_000_000))
        try await manager.update(files: [rulesPath], options: options)
        // As Prometheus: evaluate, restore `for` state after the second evaluation, go on.
        await manager.evaluate(groupKey: rulesPath + ";compare", at: 1_700_000_000_000)
        await manager.evaluate(groupKey: rulesPath + ";compare", at: 1_700_000_001_000)
        await manager.restoreForState(groupKey: rulesPath + ";compare", at: 1_700_000_001_000)
        await manager.evaluate(groupKey: rulesPath + ";compare", at: 1_700_000_002_000)
        let ours = try JSONSerialization.jsonObject(with: JSONEncoder().encode(RulesAPI.alerts(await manager.snapshot()))) as? [String: Any]
        let ourAlerts = try XCTUnwrap(ours?["alerts"] as? [[String: Any]])

        func byName(_ alerts: [[String: Any]]) -> [String: [String: Any]] {
            Dictionary(uniqueKeysWithValues: alerts.map { (($0["labels"] as? [String: String])?["alertname"] ?? "", $0) })
        }
        let upstreamByName = byName(upstreamAlerts)
        for (name, alert) in byName(ourAlerts) {
            let upstream = try XCTUnwrap(upstreamByName[name], name)
            XCTAssertEqual(alert["labels"] as? [String: String], upstream["labels"] as? [String: String], name)
            XCTAssertEqual(alert["value"] as? String, upstream["value"] as? String, name)
            XCTAssertEqual(alert["state"] as? String, upstream["state"] as? String, name)
            let ourAnnotations = alert["annotations"] as? [String: String] ?? [:]
            let upstreamAnnotations = upstream["annotations"] as? [String: String] ?? [:]
            for (key, _) in Self.annotations {
                XCTAssertEqual(ourAnnotations[key], upstreamAnnotations[key], "\(name).\(key)")
            }
            XCTAssertEqual(Set(alert.keys), Set(upstream.keys), name)
        }

        // The series written: ALERTS, ALERTS_FOR_STATE and the recorded series carry
        // the same label sets as Prometheus's.
        for metric in ["ALERTS", "ALERTS_FOR_STATE", "compare:one"] {
            // Prometheus may be mid-evaluation when asked: wait for every rule's output.
            let ourSeries = Set(appender.samples(named: metric).map(\.labels.dictionary))
            var upstreamSeries = Set<[String: String]>()
            for _ in 0..<50 {
                let data = try await Self.get("http://127.0.0.1:\(port)/sub/api/v1/query?query=\(metric)")
                let result = ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["data"] as? [String: Any])?["result"] as? [[String: Any]]
                upstreamSeries = Set((result ?? []).compactMap { $0["metric"] as? [String: String] })
                if upstreamSeries.count >= ourSeries.count { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            XCTAssertEqual(ourSeries, upstreamSeries, metric)
            XCTAssertFalse(ourSeries.isEmpty, metric)
        }

        // The shapes of /api/v1/rules: the same keys for the group and for each kind of rule.
        let ourRules = try JSONSerialization.jsonObject(with: JSONEncoder().encode(RulesAPI.rules(await manager.snapshot()))) as? [String: Any]
        let upstreamGroup = try XCTUnwrap(((upstreamRules["data"] as? [String: Any])?["groups"] as? [[String: Any]])?.first)
        let ourGroup = try XCTUnwrap((ourRules?["groups"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(ourGroup.keys), Set(upstreamGroup.keys))
        XCTAssertEqual(ourGroup["interval"] as? Double, upstreamGroup["interval"] as? Double)
        let upstreamRuleList = try XCTUnwrap(upstreamGroup["rules"] as? [[String: Any]])
        let ourRuleList = try XCTUnwrap(ourGroup["rules"] as? [[String: Any]])
        XCTAssertEqual(ourRuleList.count, upstreamRuleList.count)
        for (ours, upstream) in zip(ourRuleList, upstreamRuleList) {
            XCTAssertEqual(ours["name"] as? String, upstream["name"] as? String)
            XCTAssertEqual(ours["type"] as? String, upstream["type"] as? String)
            // Compared as parsed expressions: Prometheus prints number literals with Go's
            // %v (`1.2345675e+06`), metrics-store's PromQL printer does not (yet).
            let ourQuery = try PromQLParser.parse(ours["query"] as? String ?? "")
            let upstreamQuery = try PromQLParser.parse(upstream["query"] as? String ?? "")
            XCTAssertEqual(ourQuery.description, upstreamQuery.description)
            XCTAssertEqual(ours["health"] as? String, upstream["health"] as? String)
            XCTAssertEqual(ours["state"] as? String, upstream["state"] as? String)
            XCTAssertEqual(ours["labels"] as? [String: String], upstream["labels"] as? [String: String] ?? [:])
            // Prometheus 2.42 leaves out empty labels; 3.x (and metrics-store) always send them.
            var upstreamKeys = Set(upstream.keys)
            if (ours["labels"] as? [String: String])?.isEmpty == true { upstreamKeys.insert("labels") }
            XCTAssertEqual(Set(ours.keys), upstreamKeys, ours["name"] as? String ?? "")
        }
    }

    /// What Prometheus POSTs to an Alertmanager, next to what the notifier POSTs for the
    /// same alert: the same path, content type, keys, labels and generator URL.
    func testNotificationsMatchWhatPrometheusSends() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prometheusBinary) else {
            throw XCTSkip("Prometheus is not installed at \(Self.prometheusBinary) (Debian package prometheus; scripts/install-test-deps.sh)")
        }
        let received = ReceivedPosts()
        let router = Router()
        router.post("/am/api/v2/alerts") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            let alerts = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]] ?? []
            let from = request.headers[.userAgent]?.hasPrefix("Prometheus") == true ? "prometheus" : "vigil"
            received.add(from, contentType: request.headers[.contentType] ?? "", alerts: alerts)
            return .ok
        }
        try await Application(router: router).test(.live) { client in
            let amPort = try XCTUnwrap(client.port)
            let directory = try RuleFileTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let rules = """
            groups:
              - name: notify
                interval: 1s
                rules:
                  - alert: Notify
                    expr: label_replace(vector(3), "instance", "x:1", "", "")
                    labels: {severity: page}
                    annotations: {summary: "{{ $labels.instance }} at {{ $value }}"}
            """
            let rulesPath = directory.appendingPathComponent("rules.yml").path
            try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
            try """
            global:
              evaluation_interval: 1s
              external_labels: {cluster: eu1, severity: ignored}
            rule_files: [rules.yml]
            alerting:
              alertmanagers:
                - path_prefix: /am
                  static_configs: [{targets: ['127.0.0.1:\(amPort)']}]
            """.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.prometheusBinary)
            process.arguments = ["--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/data",
                                 "--web.listen-address=127.0.0.1:\(try freeLoopbackPort())", "--web.external-url=http://prom.test:9090/",
                                 // Prometheus drops the first notification (sent before its Alertmanager
                                 // is discovered) and resends after the delay; 1s keeps the test short.
                                 "--rules.alert.resend-delay=1s"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            for _ in 0..<100 where received.posts(from: "prometheus").isEmpty {
                try await Task.sleep(for: .milliseconds(100))
            }
            let upstream = try XCTUnwrap(received.posts(from: "prometheus").first, "Prometheus sent nothing")

            // The same rule through metrics-store's rule manager and notifier.
            let config = try ConfigFile.parse(PrometheusConfig.self, yaml: String(contentsOf: directory.appendingPathComponent("prometheus.yml"), encoding: .utf8))
            let notifier = Notifier()
            await notifier.apply(config)
            let querier = CannedRuleQuerier()
            querier.answer(#"label_replace(vector(3), "instance", "x:1", "", "")"#, [(["instance": "x:1"], 3)])
            var options = RuleManager.Options()
            options.externalURL = "http://prom.test:9090/"
            options.resendDelay = 1_000
            let manager = RuleManager(querier: querier, appender: RecordingAppender(), sender: notifier, clock: ManualRuleClock(now: 0))
            await manager.update(ruleFiles: [try RuleFileParser.parse(rules, path: rulesPath)], options: options)
            await manager.evaluate(groupKey: rulesPath + ";notify", at: 1_700_000_000_000)
            await notifier.flush()
            let ours = try XCTUnwrap(received.posts(from: "vigil").first)

            XCTAssertEqual(ours.contentType, upstream.contentType)
            XCTAssertEqual(ours.alerts.count, upstream.alerts.count)
            let (a, b) = (try XCTUnwrap(ours.alerts.first), try XCTUnwrap(upstream.alerts.first))
            XCTAssertEqual(Set(a.keys), Set(b.keys))
            XCTAssertEqual(a["labels"] as? [String: String], b["labels"] as? [String: String])
            XCTAssertEqual(a["annotations"] as? [String: String], b["annotations"] as? [String: String])
            XCTAssertEqual(a["generatorURL"] as? String, b["generatorURL"] as? String)
            // endsAt = evaluation + 4 × max(resend delay 1s, interval 1s) on both sides; the
            // first send is at the firing evaluation, so startsAt is that evaluation too.
            XCTAssertEqual(try Self.span(a), 4)
            // Prometheus's delivered notification is a resend: endsAt is 4s after it was sent.
            let upstreamEndsAt = try Self.date(b, "endsAt").timeIntervalSince(upstream.receivedAt)
            XCTAssertEqual(upstreamEndsAt, 4, accuracy: 1)
        }
    }

    static func span(_ alert: [String: Any]) throws -> Double {
        try date(alert, "endsAt").timeIntervalSince(date(alert, "startsAt"))
    }

    static func date(_ alert: [String: Any], _ key: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // Go writes up to nanoseconds; keep milliseconds for the formatter.
        var text = try XCTUnwrap(alert[key] as? String)
        if let dot = text.firstIndex(of: "."), let end = text.firstIndex(where: { $0 == "Z" || $0 == "+" }) {
            let fraction = text[text.index(after: dot)..<end].prefix(3)
            text = String(text[..<dot]) + "." + fraction.padding(toLength: 3, withPad: "0", startingAt: 0) + String(text[end...])
        }
        return try XCTUnwrap(formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text), text)
    }

    static func get(_ url: String) async throws -> Data {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else { throw CocoaError(.fileReadUnknown) }
        return Data(body.readableBytesView)
    }
}

/// Alertmanager requests received by a stand-in, by sender.
final class ReceivedPosts: Sendable {
    struct Post: @unchecked Sendable {
        var from: String
        var contentType: String
        var alerts: [[String: Any]]
        var receivedAt: Date
    }

    private let posts = Mutex<[Post]>([])
    func add(_ from: String, contentType: String, alerts: [[String: Any]]) {
        posts.withLock { $0.append(Post(from: from, contentType: contentType, alerts: alerts, receivedAt: Date())) }
    }
    func posts(from: String) -> [Post] { posts.withLock { $0.filter { $0.from == from } } }
}
