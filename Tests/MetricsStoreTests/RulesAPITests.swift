import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

@testable import MetricsStore

/// /api/v1/rules and /api/v1/alerts: Prometheus's JSON shapes and filters.
final class RulesAPITests: XCTestCase {
    let t0: Int64 = 1_700_000_000_000
    let yaml = """
    groups:
      - name: node
        interval: 30s
        rules:
          - record: job:up:sum
            expr: sum by (job) (up)
          - alert: InstanceDown
            expr: up == 0
            for: 5m
            keep_firing_for: 1m
            labels: {severity: page}
            annotations: {summary: "{{ $labels.instance }} is down"}
      - name: other
        rules:
          - record: other:vector
            expr: vector(1)
    """

    func loadedManager() async throws -> RuleManager {
        let querier = CannedRuleQuerier()
        querier.answer("sum by (job) (up)", [(["job": "node"], 2)])
        querier.answer("up == 0", [(["__name__": "up", "instance": "a", "job": "node"], 0)])
        let manager = RuleManager(querier: querier, appender: RecordingAppender(), clock: ManualRuleClock(now: t0))
        await manager.update(ruleFiles: [try RuleFile.parsing(yaml, path: "/etc/rules/node.yml")], options: RuleManager.Options())
        await manager.evaluate(groupKey: "/etc/rules/node.yml;node", at: t0)
        return manager
    }

    func json(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testRulesHaveAlertingAndRecordingShapes() async throws {
        let manager = try await loadedManager()
        let body = try json(RulesAPI.rules(await manager.snapshot()))
        let groups = try XCTUnwrap(body["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.map { $0["name"] as? String }, ["node", "other"])
        XCTAssertEqual(groups[0]["file"] as? String, "/etc/rules/node.yml")
        XCTAssertEqual(groups[0]["interval"] as? Double, 30)
        XCTAssertEqual(groups[1]["interval"] as? Double, 60)
        XCTAssertEqual(groups[0]["limit"] as? Int, 0)
        XCTAssertEqual(groups[1]["lastEvaluation"] as? String, "0001-01-01T00:00:00Z")

        let rules = try XCTUnwrap(groups[0]["rules"] as? [[String: Any]])
        let recording = rules[0]
        XCTAssertEqual(Set(recording.keys), ["name", "query", "labels", "health", "evaluationTime", "lastEvaluation", "type"])
        XCTAssertEqual(recording["type"] as? String, "recording")
        XCTAssertEqual(recording["query"] as? String, "sum by (job) (up)")
        XCTAssertEqual(recording["health"] as? String, "ok")
        XCTAssertEqual(recording["lastEvaluation"] as? String, "2023-11-14T22:13:20Z")

        let alerting = rules[1]
        XCTAssertEqual(Set(alerting.keys), ["state", "name", "query", "duration", "keepFiringFor", "labels", "annotations",
                                            "alerts", "health", "evaluationTime", "lastEvaluation", "type"])
        XCTAssertEqual(alerting["state"] as? String, "pending")
        XCTAssertEqual(alerting["duration"] as? Double, 300)
        XCTAssertEqual(alerting["keepFiringFor"] as? Double, 60)
        XCTAssertEqual(alerting["labels"] as? [String: String], ["severity": "page"])
        XCTAssertEqual(alerting["annotations"] as? [String: String], ["summary": "{{ $labels.instance }} is down"])
        let alerts = try XCTUnwrap(alerting["alerts"] as? [[String: Any]])
        XCTAssertEqual(alerts.count, 1)
        XCTAssertEqual(alerts[0]["value"] as? String, "0e+00")
        XCTAssertEqual(alerts[0]["state"] as? String, "pending")
        XCTAssertEqual(alerts[0]["activeAt"] as? String, "2023-11-14T22:13:20Z")
        XCTAssertEqual(alerts[0]["annotations"] as? [String: String], ["summary": "a is down"])

        // Before its first evaluation an alerting rule's state is "unknown" and health "unknown".
        let other = try XCTUnwrap((groups[1]["rules"] as? [[String: Any]])?.first)
        XCTAssertEqual(other["health"] as? String, "unknown")
    }

    func testFiltersByTypeNameGroupAndFile() async throws {
        let snapshot = try await loadedManager().snapshot()
        func names(_ parameters: [(String, String)]) throws -> [String] {
            let query = try RulesAPI.RulesQuery.parse(parameters)
            return RulesAPI.rules(snapshot, query: query).groups.flatMap { $0.rules.map(\.name) }
        }
        XCTAssertEqual(try names([("type", "alert")]), ["InstanceDown"])
        XCTAssertEqual(try names([("type", "record")]), ["job:up:sum", "other:vector"])
        XCTAssertEqual(try names([("rule_name[]", "other:vector"), ("rule_name[]", "InstanceDown")]), ["InstanceDown", "other:vector"])
        XCTAssertEqual(try names([("rule_group[]", "other")]), ["other:vector"])
        XCTAssertEqual(try names([("file[]", "/nowhere.yml")]), [])
        XCTAssertEqual(try names([("match[]", "{severity=\"page\"}")]), ["InstanceDown"])
        XCTAssertEqual(try names([("match[]", "{severity=~\"x.*\"}"), ("match[]", "{severity=~\"p.*\"}")]), ["InstanceDown"])
        XCTAssertEqual(try names([("match[]", "{team=\"db\"}")]), [])
        XCTAssertThrowsError(try RulesAPI.RulesQuery.parse([("match[]", "{severity=")]))
        XCTAssertThrowsError(try RulesAPI.RulesQuery.parse([("match[]", "{severity=\"\"}")])) { error in
            XCTAssertEqual("\(error)", "1:1: parse error: vector selector must contain at least one non-empty matcher")
        }
        XCTAssertThrowsError(try RulesAPI.RulesQuery.parse([("type", "bogus")])) { error in
            XCTAssertEqual((error as? RulesAPIError)?.message, "invalid parameter \"type\": not supported value \"bogus\"")
        }
        let excluded = RulesAPI.rules(snapshot, query: try RulesAPI.RulesQuery.parse([("exclude_alerts", "true"), ("type", "alert")]))
        let body = try json(excluded)
        let rule = try XCTUnwrap(((body["groups"] as? [[String: Any]])?.first?["rules"] as? [[String: Any]])?.first)
        XCTAssertTrue(rule["alerts"] is NSNull, "excluded alerts are null, as in Prometheus")
    }

    func testExponentFormMatchesGo() {
        XCTAssertEqual(RulesAPI.exponentForm(1), "1e+00")
        XCTAssertEqual(RulesAPI.exponentForm(1234.5), "1.2345e+03")
        XCTAssertEqual(RulesAPI.exponentForm(0.000123), "1.23e-04")
        XCTAssertEqual(RulesAPI.exponentForm(-2e100), "-2e+100")
        XCTAssertEqual(RulesAPI.exponentForm(.nan), "NaN")
        XCTAssertEqual(RulesAPI.exponentForm(-.infinity), "-Inf")
    }

    func testRoutesAnswerWithThePrometheusEnvelope() async throws {
        let manager = try await loadedManager()
        let router = Router()
        addRuleRoutes(to: router, manager: manager)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/api/v1/alerts", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                XCTAssertEqual(body["status"] as? String, "success")
                let alerts = (body["data"] as? [String: Any])?["alerts"] as? [[String: Any]]
                XCTAssertEqual(alerts?.count, 1)
            }
            try await client.execute(uri: "/api/v1/rules?type=record&rule_group[]=node", method: .get) { response in
                let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                let groups = (body["data"] as? [String: Any])?["groups"] as? [[String: Any]]
                XCTAssertEqual(groups?.count, 1)
                XCTAssertEqual((groups?.first?["rules"] as? [[String: Any]])?.count, 1)
            }
            try await client.execute(uri: "/api/v1/rules?type=x", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest)
                let body = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                XCTAssertEqual(body["errorType"] as? String, "bad_data")
            }
        }
    }
}
