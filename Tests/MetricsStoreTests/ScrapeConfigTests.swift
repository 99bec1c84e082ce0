import Foundation
import VigilService
import XCTest

@testable import MetricsStore

/// prometheus.yml decoding (defaults, validation errors naming the key) and the target
/// label set built from a scrape config, with relabeling.
final class ScrapeConfigTests: XCTestCase {
    private func parse(_ yaml: String) throws -> PrometheusConfig {
        try ConfigFile.parse(PrometheusConfig.self, yaml: yaml, file: "prometheus.yml")
    }

    private func error(_ yaml: String) -> String {
        do {
            _ = try parse(yaml)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testDurationsFollowPrometheusSyntax() throws {
        XCTAssertEqual(try PrometheusDuration(parsing: "1m30s").milliseconds, 90_000)
        XCTAssertEqual(try PrometheusDuration(parsing: "1d").milliseconds, 86_400_000)
        XCTAssertEqual(try PrometheusDuration(parsing: "2w").milliseconds, 14 * 86_400_000)
        XCTAssertEqual(try PrometheusDuration(parsing: "500ms").milliseconds, 500)
        XCTAssertEqual(try PrometheusDuration(parsing: "0").milliseconds, 0)
        XCTAssertThrowsError(try PrometheusDuration(parsing: "1.5s"))
        XCTAssertThrowsError(try PrometheusDuration(parsing: "30s1m"))
        XCTAssertThrowsError(try PrometheusDuration(parsing: ""))
        XCTAssertEqual(PrometheusDuration.seconds(90).description, "1m30s")
    }

    func testDefaultsComeFromGlobal() throws {
        let config = try parse("""
        global:
          scrape_interval: 15s
        scrape_configs:
          - job_name: a
            static_configs: [{targets: ["h:1"]}]
          - job_name: b
            scrape_interval: 5s
        """)
        let a = config.scrapeConfigs[0]
        XCTAssertEqual(a.scrapeInterval, .seconds(15))
        XCTAssertEqual(a.scrapeTimeout, .seconds(10))
        XCTAssertEqual(a.metricsPath, "/metrics")
        XCTAssertEqual(a.scheme, "http")
        XCTAssertTrue(a.honorTimestamps)
        XCTAssertFalse(a.honorLabels)
        // An unset timeout is capped at the job's shorter interval.
        XCTAssertEqual(config.scrapeConfigs[1].scrapeTimeout, .seconds(5))
    }

    /// Prometheus's global defaults: zero means the default, and an unset timeout is capped
    /// at a shorter interval instead of making the file invalid.
    func testGlobalZeroValuesAndShortIntervalTakePrometheusDefaults() throws {
        let short = try parse("global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: a\n")
        XCTAssertEqual(short.global.scrapeTimeout, .seconds(5))
        XCTAssertEqual(short.scrapeConfigs[0].scrapeInterval, .seconds(5))
        XCTAssertEqual(short.scrapeConfigs[0].scrapeTimeout, .seconds(5))
        let zeros = try parse("global:\n  scrape_interval: 0s\n  scrape_timeout: 0s\n  evaluation_interval: 0s\n")
        XCTAssertEqual(zeros.global.scrapeInterval, .seconds(60))
        XCTAssertEqual(zeros.global.scrapeTimeout, .seconds(10))
        XCTAssertEqual(zeros.global.evaluationInterval, .seconds(60))
        XCTAssertEqual(try parse("global:\n  evaluation_interval: 30s\n").global.evaluationInterval, .seconds(30))
    }

    func testEmptyFileHasNoScrapeConfigs() throws {
        XCTAssertEqual(try parse("global:\n  scrape_interval: 1m\n").scrapeConfigs.count, 0)
        XCTAssertEqual(PrometheusConfig.empty.global.scrapeInterval, .seconds(60))
    }

    func testLaterSectionsAreAcceptedAndIgnored() throws {
        let config = try parse("""
        rule_files: [a.yml]
        alerting: {alertmanagers: []}
        remote_write: [{url: "http://x"}]
        remote_read: []
        """)
        XCTAssertTrue(config.scrapeConfigs.isEmpty)
    }

    func testUnknownKeyIsRejectedByName() {
        XCTAssertTrue(error("scrape_configs:\n  - job_name: a\n    scrape_intervall: 1s\n").contains("scrape_intervall"))
    }

    func testJobNameRequiredAndUnique() {
        XCTAssertTrue(error("scrape_configs:\n  - metrics_path: /x\n").contains("job_name"))
        XCTAssertTrue(error("scrape_configs:\n  - job_name: a\n  - job_name: a\n")
            .contains("found multiple scrape configs with job name \"a\""))
    }

    func testTimeoutLongerThanIntervalIsAnError() {
        let message = error("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n")
        XCTAssertTrue(message.contains("scrape timeout greater than scrape interval for scrape config with job name \"a\""), message)
        XCTAssertTrue(message.contains("scrape_timeout"), message)
        XCTAssertTrue(error("global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n").contains("global scrape timeout greater"))
    }

    func testHTTPSIsNotSupportedYet() {
        let message = error("scrape_configs:\n  - job_name: a\n    scheme: https\n")
        XCTAssertTrue(message.contains("scheme") && message.contains("not supported yet"), message)
    }

    func testConflictingCredentialsAreRejected() {
        XCTAssertTrue(error("scrape_configs:\n  - job_name: a\n    bearer_token: x\n    bearer_token_file: y\n")
            .contains("at most one of bearer_token & bearer_token_file"))
        XCTAssertTrue(error("scrape_configs:\n  - job_name: a\n    authorization: {type: Basic, credentials: x}\n")
            .contains("use \"basic_auth\" instead"))
    }

    func testBasicAuthHeader() throws {
        let config = try parse("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p}\n")
        XCTAssertEqual(try config.scrapeConfigs[0].authorization?.headerValue(), "Basic dTpw")
    }

    // MARK: Targets

    private func job(_ yaml: String) throws -> ScrapeConfig {
        try parse(yaml).scrapeConfigs[0]
    }

    func testTargetLabelsHaveJobInstanceAndNoInternalLabels() throws {
        let config = try job("""
        scrape_configs:
          - job_name: node
            scrape_interval: 1s
            params: {module: [cpu]}
            static_configs: [{targets: ["127.0.0.1:9100"], labels: {env: prod}}]
        """)
        guard case .active(let target) = ScrapeTarget.discover(config, fileGroups: []).first else { return XCTFail("dropped") }
        XCTAssertEqual(target.labels, Labels(["job": "node", "instance": "127.0.0.1:9100", "env": "prod"]))
        XCTAssertEqual(target.discoveredLabels["__scrape_interval__"], "1s")
        XCTAssertEqual(target.discoveredLabels["__param_module"], "cpu")
        XCTAssertEqual(target.url, "http://127.0.0.1:9100/metrics?module=cpu")
    }

    func testRelabelingCanDropOrRewriteTargets() throws {
        let config = try job("""
        scrape_configs:
          - job_name: j
            static_configs: [{targets: ["a:1", "b:2"]}]
            relabel_configs:
              - {source_labels: [__address__], regex: "b:.*", action: drop}
              - {target_label: instance, replacement: renamed}
              - {target_label: __metrics_path__, replacement: /other}
        """)
        let outcomes = ScrapeTarget.discover(config, fileGroups: [])
        guard case .active(let kept) = outcomes[0], case .dropped(let gone) = outcomes[1] else { return XCTFail("\(outcomes)") }
        XCTAssertEqual(kept.labels["instance"], "renamed")
        XCTAssertEqual(kept.url, "http://a:1/other")
        XCTAssertEqual(gone["__address__"], "b:2")
    }

    func testFileDiscoveryReadsJSONAndYAML() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sd-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try #"[{"targets": ["x:1"], "labels": {"a": "b"}}]"#.write(to: dir.appendingPathComponent("t.json"), atomically: true, encoding: .utf8)
        try "- targets: [\"y:2\"]\n".write(to: dir.appendingPathComponent("u.yml"), atomically: true, encoding: .utf8)
        let (groups, errors) = FileDiscovery.groups([FileSDConfig(files: [dir.path + "/*.json", dir.path + "/*.yml"])])
        XCTAssertEqual(errors, [])
        XCTAssertEqual(groups.flatMap(\.targets), ["x:1", "y:2"])
        XCTAssertEqual(groups[0].labels, ["a": "b"])
    }

    func testConflictingScrapedLabelsBecomeExported() {
        let scraped = Labels(["__name__": "m", "job": "theirs"])
        let target = Labels(["job": "ours", "instance": "i"])
        XCTAssertEqual(ScrapeLoop.merge(scraped, target: target, honorLabels: false),
                       Labels(["__name__": "m", "job": "ours", "exported_job": "theirs", "instance": "i"]))
        XCTAssertEqual(ScrapeLoop.merge(scraped, target: target, honorLabels: true),
                       Labels(["__name__": "m", "job": "theirs", "instance": "i"]))
    }
}
