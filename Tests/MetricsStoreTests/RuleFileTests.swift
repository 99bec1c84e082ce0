import Foundation
import XCTest

@testable import MetricsStore
import VigilService

/// Rule file loading: the repository's example file loads (and promtool accepts it),
/// and invalid files are refused with promtool's wording — by metrics-store and, when
/// promtool is installed, by promtool too.
final class RuleFileTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let exampleFile = repositoryRoot.appendingPathComponent("docs/examples/rules/vigil-example-rules.yml").path
    static let promtool = "/usr/bin/promtool"

    func testExampleRuleFileLoads() throws {
        let file = try RuleFileParser.load(path: Self.exampleFile)
        XCTAssertEqual(file.groups.map(\.name), ["vigil-node", "vigil-availability"])
        XCTAssertEqual(file.groups[0].interval, .seconds(30))
        XCTAssertEqual(file.groups[1].limit, 100)
        XCTAssertEqual(file.groups.flatMap(\.rules).count, 6)
        let highCPU = file.groups[0].rules[2]
        guard case .alerting(let name, let hold, let keepFiring, let annotations) = highCPU.kind else {
            return XCTFail("HighCPU should be an alerting rule")
        }
        XCTAssertEqual(name, "HighCPU")
        XCTAssertEqual(hold, PrometheusDuration(milliseconds: 600_000))
        XCTAssertEqual(keepFiring, PrometheusDuration(milliseconds: 300_000))
        XCTAssertEqual(highCPU.labels, ["severity": "warning"])
        XCTAssertEqual(annotations.keys.sorted(), ["description", "summary"])
        XCTAssertEqual(file.groups[0].rules[1].kind, .recording(name: "job:up:sum"))
    }

    func testPromtoolAcceptsExampleRuleFile() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            throw XCTSkip("promtool is not installed at \(Self.promtool) (Debian package prometheus; scripts/install-test-deps.sh)")
        }
        let (status, output) = try Self.run(Self.promtool, ["check", "rules", Self.exampleFile])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("SUCCESS: 6 rules found"), output)
    }

    /// Invalid rule files with the message metrics-store gives for each.
    static let invalidFiles: [(name: String, yaml: String, expected: String)] = [
        ("bad-expr", """
        groups:
          - name: g
            rules:
              - record: a:b
                expr: sum(rate(x[5m])
        """, "5:15: group \"g\", rule 1, \"a:b\": could not parse expression: 1:16: parse error: unclosed left parenthesis"),
        ("record-and-alert", """
        groups:
          - name: g
            rules:
              - record: a:b
                alert: AB
                expr: up
        """, "4:17: 5:16: group \"g\", rule 1, \"AB\": only one of 'record' and 'alert' must be set"),
        ("bad-record-name", """
        groups:
          - name: g
            rules:
              - record: "job:up{x}"
                expr: up
        """, "4:17: group \"g\", rule 1, \"job:up{x}\": braces present in the recording rule name; should it be in expr?: job:up{x}"),
        ("duplicate-group", """
        groups:
          - name: g
            rules:
              - record: a
                expr: up
          - name: g
            rules:
              - record: b
                expr: up
        """, "6:5: groupname: \"g\" is repeated in the same file"),
        ("unclosed-template", """
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                annotations:
                  summary: "{{ $labels.instance"
        """, "group \"g\", rule 1, \"A\": annotation \"summary\": template: __alert_A:1: unclosed action"),
        ("unknown-field", """
        groups:
          - name: g
            rules:
              - alert: A
                exprr: up == 0
        """, "5:9: field exprr not found in type rulefmt.Rule"),
        ("annotations-on-recording-rule", """
        groups:
          - name: g
            rules:
              - record: a
                expr: up
                annotations:
                  x: y
        """, "4:17: group \"g\", rule 1, \"a\": invalid field 'annotations' in recording rule"),
        ("undefined-template-function", """
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                labels:
                  severity: "{{ humanise $value }}"
        """, "group \"g\", rule 1, \"A\": label \"severity\": template: __alert_A:1: function \"humanise\" not defined"),
        ("bad-duration", """
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                for: 5 minutes
        """, "not a valid duration string: \"5 minutes\""),
        ("undefined-template-variable", """
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                annotations:
                  summary: "{{ $foo }}"
        """, "template: __alert_A:1: undefined variable \"$foo\""),
        ("unterminated-if", """
        groups:
          - name: g
            rules:
              - alert: A
                expr: up == 0
                annotations:
                  summary: "{{ if gt $value 1.0 }}big"
        """, "template: __alert_A:1: unexpected EOF"),
        ("missing-expr", """
        groups:
          - name: g
            rules:
              - alert: A
        """, "group \"g\", rule 1, \"A\": field 'expr' must be set in rule"),
    ]

    func testInvalidRuleFilesAreRefusedWithPromtoolsWording() throws {
        let directory = try Self.temporaryDirectory()
        for (name, yaml, expected) in Self.invalidFiles {
            let path = directory.appendingPathComponent("\(name).yml").path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                let file = try RuleFileParser.load(path: path)
                XCTFail("\(name): loaded \(file.groups.count) groups, expected an error")
            } catch {
                XCTAssertTrue(error.description.hasPrefix(path + ": "), "\(name): \(error)")
                XCTAssertTrue(error.description.contains(expected), "\(name): \(error.description)\nexpected: \(expected)")
            }
        }
    }

    func testPromtoolRefusesTheSameInvalidFiles() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            throw XCTSkip("promtool is not installed at \(Self.promtool) (Debian package prometheus; scripts/install-test-deps.sh)")
        }
        let directory = try Self.temporaryDirectory()
        for (name, yaml, _) in Self.invalidFiles {
            let path = directory.appendingPathComponent("\(name).yml").path
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let (status, output) = try Self.run(Self.promtool, ["check", "rules", path])
            XCTAssertNotEqual(status, 0, "promtool accepted \(name): \(output)")
            XCTAssertTrue(output.contains("FAILED"), "\(name): \(output)")
            XCTAssertThrowsError(try RuleFileParser.load(path: path), "metrics-store accepted \(name)")
        }
    }

    /// Template constructs promtool accepts must load here too (and the other way round
    /// for the refusals above): a stricter parser would refuse working rule files.
    static let acceptedTemplates = [
        #"{{ $labels.instance | reReplaceAll ":.*" "" }}"#,
        #"{{- if and (eq $labels.job "x") (gt $value 1.0) -}} y {{- end -}}"#,
        #"{{ with $labels.job }}{{ . | toUpper }}{{ else }}none{{ end }}"#,
        #"{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}"#,
        #"{{/* comment */}}{{ printf "%.2f%%" (humanizePercentage $value) }}"#,
        #"{{ $x := 1 }}{{ if eq $x 1 }}one{{ end }}"#,
        #"{{ query "up" | first | value | humanize }}"#,
        #"{{ define "x" }}y{{ end }}{{ template "x" . }}"#,
        #"{{ index $labels "job" }} {{ len $labels }} {{ not true }} {{ html "<a>" }} {{ js "a" }} {{ urlquery "a b" }}"#,
        #"{{ slice "abc" 1 2 }} {{ print 1 2 }} {{ println "x" }}"#,
        #"{{ range $i, $e := (query "up") }}{{ $i }}{{ break }}{{ end }}"#,
        #"{{ .ExternalURL }} {{ .ExternalLabels.cluster }} {{ $externalURL }}"#,
        #"{{ $value | printf "%.1f" }} {{ 0x10 }} {{ 1e3 }} {{ -1 }} {{ 'a' }}"#,
        #"{{ block "b" . }}x{{ end }}"#,
        #"{{ if eq 1 1 2 }}x{{ else if lt 1 2 }}y{{ else }}z{{ end }}"#,
        #"{{ toTime 1 }} {{ title "x" }} {{ stripPort "a:1" }} {{ safeHtml "x" }} {{ args 1 }} {{ externalURL }} {{ pathPrefix }}"#,
        #"{{ humanize1024 $value }} {{ humanizeDuration $value }} {{ humanizeTimestamp $value }} {{ $value | humanize }}"#,
    ]

    func testTemplatesPromtoolAcceptsParseHere() throws {
        for text in Self.acceptedTemplates {
            XCTAssertNil(AlertTemplate.syntaxError(text, alertName: "A"), text)
        }
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            throw XCTSkip("promtool is not installed at \(Self.promtool) (Debian package prometheus; scripts/install-test-deps.sh)")
        }
        var yaml = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        annotations:\n"
        for (index, text) in Self.acceptedTemplates.enumerated() {
            yaml += "          a\(index): '\(text.replacingOccurrences(of: "'", with: "''"))'\n"
        }
        let path = try Self.temporaryDirectory().appendingPathComponent("templates.yml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try Self.run(Self.promtool, ["check", "rules", path])
        XCTAssertEqual(status, 0, output)
        XCTAssertNoThrow(try RuleFileParser.load(path: path))
    }

    func testReportsEveryProblemOfAFile() {
        let yaml = """
        groups:
          - name: g
            rules:
              - record: a
                expr: up(
              - alert: B
                expr: up
                labels:
                  x: "{{ nope }}"
        """
        XCTAssertThrowsError(try RuleFileParser.parse(yaml, path: "r.yml")) { error in
            let errors = (error as! RuleLoadError).errors
            XCTAssertEqual(errors.count, 2)
            XCTAssertEqual(errors.map(\.ruleIndex), [1, 2])
        }
    }

    func testEmptyFileHasNoGroupsAndGroupLabelsApply() throws {
        XCTAssertEqual(try RuleFileParser.parse("", path: "e.yml").groups.count, 0)
        let file = try RuleFileParser.parse("""
        groups:
          - name: g
            query_offset: 1m
            labels: {team: db}
            rules:
              - record: r
                expr: vector(1)
        """, path: "g.yml")
        XCTAssertEqual(file.groups[0].labels, ["team": "db"])
        XCTAssertEqual(file.groups[0].queryOffset, .seconds(60))
    }

    func testRuleFileGlobsResolveRelativeToTheConfigFile() throws {
        let directory = try Self.temporaryDirectory()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("rules"), withIntermediateDirectories: true)
        for name in ["b.yml", "a.yml", "c.txt"] {
            try "groups: []".write(to: directory.appendingPathComponent("rules/\(name)"), atomically: true, encoding: .utf8)
        }
        let config = directory.appendingPathComponent("prometheus.yml").path
        let files = RuleFileGlob.resolve(["rules/*.yml", directory.path + "/rules/a.yml"], configFile: config)
        XCTAssertEqual(files, [directory.path + "/rules/a.yml", directory.path + "/rules/b.yml"])
    }

    func testPrometheusConfigReadsRuleFilesAndAlerting() throws {
        let config = try ConfigFile.parse(PrometheusConfig.self, yaml: """
        global:
          evaluation_interval: 15s
          rule_query_offset: 30s
          external_labels: {cluster: eu1}
        rule_files: [rules/*.yml]
        alerting:
          alertmanagers:
            - scheme: http
              path_prefix: /am/
              timeout: 5s
              api_version: v2
              static_configs:
                - targets: ['127.0.0.1:9093', 'am2:9093']
        """)
        XCTAssertEqual(config.ruleFiles, ["rules/*.yml"])
        XCTAssertEqual(config.global.evaluationInterval, PrometheusDuration.seconds(15))
        XCTAssertEqual(config.global.externalLabels, ["cluster": "eu1"])
        XCTAssertEqual(config.global.ruleQueryOffset, PrometheusDuration.seconds(30))
        XCTAssertEqual(config.alerting.alertmanagers[0].timeout, PrometheusDuration.seconds(5))
        XCTAssertEqual(config.alerting.alertmanagers[0].alertsURLs,
                       ["http://127.0.0.1:9093/am/api/v2/alerts", "http://am2:9093/am/api/v2/alerts"])
        XCTAssertThrowsError(try ConfigFile.parse(PrometheusConfig.self, yaml: "alerting: {alertmanagers: [{api_version: v1}]}")) { error in
            XCTAssertTrue("\(error)".contains("alerting.alertmanagers[0].api_version"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigFile.parse(PrometheusConfig.self, yaml: "alerting: {alertmanagers: [{sheme: http}]}")) { error in
            XCTAssertTrue("\(error)".contains("unknown key \"sheme\""), "\(error)")
        }
    }

    // MARK: Helpers

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
