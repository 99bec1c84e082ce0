import AsyncHTTPClient
import Foundation
import XCTest

@testable import MetricsStore

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
        let port = try NotifierTests.freePort()
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
            var upstreamSeries = Set<[String: String]>()
            for _ in 0..<50 {
                let data = try await Self.get("http://127.0.0.1:\(port)/sub/api/v1/query?query=\(metric)")
                let result = ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["data"] as? [String: Any])?["result"] as? [[String: Any]]
                upstreamSeries = Set((result ?? []).compactMap { $0["metric"] as? [String: String] })
                if !upstreamSeries.isEmpty { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let ourSeries = Set(appender.samples(named: metric).map(\.labels.dictionary))
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

    static func get(_ url: String) async throws -> Data {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status == .ok else { throw CocoaError(.fileReadUnknown) }
        return Data(body.readableBytesView)
    }
}
