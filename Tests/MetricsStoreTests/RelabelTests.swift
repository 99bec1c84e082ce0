import Dispatch
import Foundation
import VigilService
import XCTest

@testable import MetricsStore

/// Relabeling: `RelabelConfig` decoding and validation, and `Relabeler.process`.
///
/// The `upstream…` tests carry the inputs and expected outputs of Prometheus's
/// `model/relabel/relabel_test.go` (`TestRelabel`, `TestRelabelValidate`,
/// `TestTargetLabelLegacyValidity`, and the configurations of `BenchmarkRelabel`), which
/// validates with the UTF-8 name scheme as this store does by default.
final class RelabelTests: XCTestCase {
    // MARK: Fixtures

    private func rule(
        _ action: RelabelConfig.Action = .replace,
        source: [String] = [],
        regex: String? = nil,
        target: String = "",
        replacement: String = RelabelConfig.defaultReplacement,
        separator: String = RelabelConfig.defaultSeparator,
        modulus: UInt64 = 0,
        scheme: RelabelConfig.NameValidationScheme = .utf8
    ) throws -> RelabelConfig {
        let compiled = try regex.map { pattern throws(RegexParseError) in try RelabelRegex(pattern) } ?? .default
        return try RelabelConfig(
            sourceLabels: source, separator: separator, regex: compiled, modulus: modulus,
            targetLabel: target, replacement: replacement, action: action, nameValidationScheme: scheme)
    }

    private func assertRelabel(
        _ input: Labels, _ rules: [RelabelConfig], _ expected: Labels?,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let output = Relabeler.process(input, rules)
        XCTAssertEqual(output, expected, "got \(output.map(\.description) ?? "dropped")", file: file, line: line)
        XCTAssertNoThrow(try output?.validate(), "result is not a well-formed label set", file: file, line: line)
    }

    private func decode(_ yaml: String) throws -> [RelabelConfig] {
        try ConfigFile.parse([RelabelConfig].self, yaml: yaml, file: "prometheus.yml")
    }

    private func assertConfigError(
        _ yaml: String, keyPath: String, message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try decode(yaml), file: file, line: line) { error in
            guard let error = error as? ConfigError else {
                return XCTFail("not a ConfigError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.file, "prometheus.yml", file: file, line: line)
            XCTAssertEqual(error.keyPath, keyPath, file: file, line: line)
            XCTAssertEqual(error.message, message, file: file, line: line)
        }
    }

    private func assertInvalid(
        _ make: @autoclosure () throws -> RelabelConfig, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try make(), file: file, line: line) { error in
            XCTAssertEqual("\(error)", message, file: file, line: line)
        }
    }

    // MARK: Upstream TestRelabel: replace

    func testUpstreamReplaceExpandsBracedGroupTwice() throws {
        assertRelabel(
            ["a": "foo", "b": "bar", "c": "baz"],
            [try rule(source: ["a"], regex: "f(.*)", target: "d", replacement: "ch${1}-ch${1}")],
            ["a": "foo", "b": "bar", "c": "baz", "d": "choo-choo"])
    }

    func testUpstreamReplaceSeesEarlierRulesResult() throws {
        assertRelabel(
            ["a": "foo", "b": "bar", "c": "baz"],
            [
                try rule(source: ["a", "b"], regex: "f(.*);(.*)r", target: "a", replacement: "b${1}${2}m"),
                try rule(source: ["c", "a"], regex: "(b).*b(.*)ba(.*)", target: "d", replacement: "$1$2$2$3"),
            ],
            ["a": "boobam", "b": "bar", "c": "baz", "d": "boooom"])
    }

    func testUpstreamReplaceWithGroupInsideValue() throws {
        assertRelabel(
            ["a": "abc"],
            [try rule(source: ["a"], regex: ".*(b).*", target: "d")],
            ["a": "abc", "d": "b"])
    }

    func testUpstreamReplaceWithoutMatchChangesNothing() throws {
        assertRelabel(
            ["a": "boo"],
            [try rule(source: ["a"], regex: "f", target: "b", replacement: "bar")],
            ["a": "boo"])
    }

    func testUpstreamEmptyReplacementDeletesTarget() throws {
        assertRelabel(
            ["a": "foo", "f": "baz"],
            [try rule(source: ["a"], regex: "(f).*", target: "$1", replacement: "$2")],
            ["a": "foo"])
    }

    func testUpstreamTargetLabelFromGroup() throws {
        assertRelabel(
            ["a": "some-name-value"],
            [try rule(source: ["a"], regex: "some-([^-]+)-([^,]+)", target: "${1}", replacement: "${2}")],
            ["a": "some-name-value", "name": "value"])
    }

    func testUpstreamReplacementFromMissingGroupAddsNothing() throws {
        assertRelabel(
            ["a": "some-name-value"],
            [try rule(source: ["a"], regex: "some-([^-]+)-([^,]+)", target: "${1}", replacement: "${3}")],
            ["a": "some-name-value"])
    }

    func testUpstreamTargetFromMissingGroupIsSkipped() throws {
        assertRelabel(
            ["a": "some-name-0"],
            [
                try rule(source: ["a"], regex: "some-([^-]+)-([^,]+)", target: "${3}", replacement: "${1}"),
                try rule(source: ["a"], regex: "some-([^-]+)-([^,]+)", target: "${3}", replacement: "${1}"),
                try rule(source: ["a"], regex: "some-([^-]+)(-[^,]+)", target: "${3}", replacement: "${1}"),
            ],
            ["a": "some-name-0"])
    }

    func testUpstreamServiceDiscoveryTagsPipeline() throws {
        let tags = "path:/secret,job:some-job,label:foo=bar"
        assertRelabel(
            ["__meta_sd_tags": tags],
            [
                try rule(source: ["__meta_sd_tags"], regex: "(?:.+,|^)path:(/[^,]+).*", target: "__metrics_path__", replacement: "${1}"),
                try rule(source: ["__meta_sd_tags"], regex: "(?:.+,|^)job:([^,]+).*", target: "job", replacement: "${1}"),
                try rule(source: ["__meta_sd_tags"], regex: "(?:.+,|^)label:([^=]+)=([^,]+).*", target: "${1}", replacement: "${2}"),
            ],
            ["__meta_sd_tags": tags, "__metrics_path__": "/secret", "job": "some-job", "foo": "bar"])
    }

    func testUpstreamDotMatchesNewline() throws {
        assertRelabel(
            ["a": "line1\nline2", "b": "bar", "c": "baz"],
            [try rule(source: ["a"], regex: "line1.*line2", target: "d", replacement: "match${1}")],
            ["a": "line1\nline2", "b": "bar", "c": "baz", "d": "match"])
    }

    func testUpstreamUTF8SourceLabel() throws {
        assertRelabel(
            ["utf-8.label": "line1\nline2", "b": "bar", "c": "baz"],
            [try rule(source: ["utf-8.label"], regex: "line1.*line2", target: "d", replacement: "match${1}")],
            ["utf-8.label": "line1\nline2", "b": "bar", "c": "baz", "d": "match"])
    }

    func testUpstreamUTF8TargetLabel() throws {
        assertRelabel(
            ["a": "line1\nline2", "b": "bar", "c": "baz"],
            [try rule(source: ["a"], regex: "line1.*line2", target: "utf-8.label", replacement: "match${1}")],
            ["a": "line1\nline2", "b": "bar", "c": "baz", "utf-8.label": "match"])
    }

    func testUpstreamUTF8TargetLabelWithReference() throws {
        assertRelabel(
            ["a": "line1\nline2", "b": "bar", "c": "baz"],
            [try rule(source: ["a"], regex: "line1.*line2", target: "utf-8.label${1}", replacement: "match${1}")],
            ["a": "line1\nline2", "b": "bar", "c": "baz", "utf-8.label": "match"])
    }

    func testUpstreamNamedAndNumberedReferencesInBothForms() throws {
        assertRelabel(
            ["a": "line1\nline2", "b": "bar", "c": "baz"],
            [
                try rule(source: ["a"], regex: "(line1).*(?<second>line2)", target: "label1_${1}", replacement: "val_${second}"),
                try rule(source: ["a"], regex: "(line1).*(?<second>line2)", target: "label2_$1", replacement: "val_$second"),
            ],
            ["a": "line1\nline2", "b": "bar", "c": "baz", "label1_line1": "val_line2", "label2_line1": "val_line2"])
    }

    func testUpstreamTypeAndUnitMetadataLabels() throws {
        assertRelabel(
            ["__name__": "http_requests_total"],
            [try rule(source: ["__name__"], regex: ".*_total$", target: "__type__", replacement: "counter")],
            ["__name__": "http_requests_total", "__type__": "counter"])
        assertRelabel(
            ["__name__": "disk_usage_bytes"],
            [try rule(source: ["__name__"], regex: ".*_bytes$", target: "__unit__", replacement: "bytes")],
            ["__name__": "disk_usage_bytes", "__unit__": "bytes"])
    }

    // MARK: Upstream TestRelabel: keep, drop, keepequal, dropequal

    func testUpstreamDropStopsLaterRules() throws {
        assertRelabel(
            ["a": "foo"],
            [
                try rule(.drop, source: ["a"], regex: ".*o.*"),
                try rule(source: ["a"], regex: "f(.*)", target: "d", replacement: "ch$1-ch$1"),
            ],
            nil)
    }

    func testUpstreamDropOnMatch() throws {
        assertRelabel(["a": "foo", "b": "bar"], [try rule(.drop, source: ["a"], regex: ".*o.*")], nil)
    }

    func testUpstreamDropWithoutMatchKeeps() throws {
        assertRelabel(["a": "foo"], [try rule(.drop, source: ["a"], regex: "no-match")], ["a": "foo"])
    }

    func testUpstreamRegexIsAnchored() throws {
        assertRelabel(["a": "foo"], [try rule(.drop, source: ["a"], regex: "f|o")], ["a": "foo"])
    }

    func testUpstreamKeepWithoutMatchDrops() throws {
        assertRelabel(["a": "foo"], [try rule(.keep, source: ["a"], regex: "no-match")], nil)
    }

    func testUpstreamKeepOnMatch() throws {
        assertRelabel(["a": "foo"], [try rule(.keep, source: ["a"], regex: "f.*")], ["a": "foo"])
    }

    func testUpstreamKeepEqualAndDropEqual() throws {
        let ports: Labels = ["__tmp_port": "1234", "__port1": "1234", "__port2": "5678"]
        assertRelabel(ports, [try rule(.keepEqual, source: ["__tmp_port"], target: "__port1")], ports)
        assertRelabel(ports, [try rule(.dropEqual, source: ["__tmp_port"], target: "__port1")], nil)
        assertRelabel(ports, [try rule(.dropEqual, source: ["__tmp_port"], target: "__port2")], ports)
        assertRelabel(ports, [try rule(.keepEqual, source: ["__tmp_port"], target: "__port2")], nil)
    }

    func testUpstreamIssue12283DropThenRecreateThenKeep() throws {
        assertRelabel(
            ["__meta_kubernetes_pod_container_port_name": "foo", "__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091"],
            [
                try rule(.labeldrop, regex: "^__meta_kubernetes_pod_container_port_name$"),
                try rule(source: ["__meta_kubernetes_pod_annotation_XXX_metrics_port"], regex: "(.+)",
                         target: "__meta_kubernetes_pod_container_port_name", replacement: "metrics"),
                try rule(.keep, source: ["__meta_kubernetes_pod_container_port_name"], regex: "^metrics$"),
            ],
            ["__meta_kubernetes_pod_annotation_XXX_metrics_port": "9091", "__meta_kubernetes_pod_container_port_name": "metrics"])
    }

    // MARK: Upstream TestRelabel: hashmod, labelmap, labelkeep, labeldrop, case

    func testUpstreamHashmod() throws {
        assertRelabel(
            ["a": "foo", "b": "bar", "c": "baz"],
            [try rule(.hashmod, source: ["c"], target: "d", modulus: 1000)],
            ["a": "foo", "b": "bar", "c": "baz", "d": "976"])
        assertRelabel(
            ["a": "foo\nbar"],
            [try rule(.hashmod, source: ["a"], target: "b", modulus: 1000)],
            ["a": "foo\nbar", "b": "734"])
    }

    func testUpstreamLabelmapWithPrefix() throws {
        assertRelabel(
            ["a": "foo", "b1": "bar", "b2": "baz"],
            [try rule(.labelmap, regex: "(b.*)", replacement: "bar_${1}")],
            ["a": "foo", "b1": "bar", "b2": "baz", "bar_b1": "bar", "bar_b2": "baz"])
    }

    func testUpstreamLabelmapStripsMetaPrefix() throws {
        assertRelabel(
            ["a": "foo", "__meta_my_bar": "aaa", "__meta_my_baz": "bbb", "__meta_other": "ccc"],
            [try rule(.labelmap, regex: "__meta_(my.*)", replacement: "${1}")],
            ["a": "foo", "__meta_my_bar": "aaa", "__meta_my_baz": "bbb", "__meta_other": "ccc", "my_bar": "aaa", "my_baz": "bbb"])
    }

    func testUpstreamLabelkeepAndLabeldrop() throws {
        let input: Labels = ["a": "foo", "b1": "bar", "b2": "baz"]
        assertRelabel(input, [try rule(.labelkeep, regex: "(b.*)")], ["b1": "bar", "b2": "baz"])
        assertRelabel(input, [try rule(.labeldrop, regex: "(b.*)")], ["a": "foo"])
    }

    func testUpstreamUppercaseAndLowercase() throws {
        assertRelabel(
            ["foo": "bAr123Foo"],
            [
                try rule(.uppercase, source: ["foo"], target: "foo_uppercase"),
                try rule(.lowercase, source: ["foo"], target: "foo_lowercase"),
            ],
            ["foo": "bAr123Foo", "foo_lowercase": "bar123foo", "foo_uppercase": "BAR123FOO"])
    }

    // MARK: Upstream BenchmarkRelabel configurations, decoded from YAML

    func testUpstreamExampleConfiguration() throws {
        let rules = try decode("""
            - source_labels: [job, __meta_dns_name]
              regex: "(.*)some-[regex]"
              target_label: job
              replacement: foo-${1}
              # action defaults to 'replace'
            - source_labels: [abc]
              target_label: cde
            - replacement: static
              target_label: abc
            - regex:
              replacement: static
              target_label: abc
            """)
        assertRelabel(
            ["__meta_dns_name": "example-some-x.com", "abc": "def", "job": "foo"], rules,
            ["__meta_dns_name": "example-some-x.com", "abc": "static", "cde": "def", "job": "foo"])
    }

    func testUpstreamStaticLabelPairConfiguration() throws {
        let rules = try decode("""
            - replacement: wwwwww
              target_label: wwwwww
            - replacement: yyyyyyyyyyyy
              target_label: xxxxxxxxx
            - replacement: xxxxxxxxx
              target_label: yyyyyyyyyyyy
            - source_labels: ["something"]
              target_label: with_source_labels
              replacement: value
            - replacement: dropped
              target_label: ${0}
            - replacement: ${0}
              target_label: dropped
            """)
        var input: [String: String] = ["job": "foo"]
        for index in 1...8 { input["abcdefg0\(index)"] = "hijklmn\(index)" }
        var expected = input
        expected["wwwwww"] = "wwwwww"
        expected["xxxxxxxxx"] = "yyyyyyyyyyyy"
        expected["yyyyyyyyyyyy"] = "xxxxxxxxx"
        expected["with_source_labels"] = "value"
        assertRelabel(Labels(input), rules, Labels(expected))
    }

    private static let kubernetesRules = """
        - source_labels:
            - __meta_kubernetes_pod_container_port_name
          regex: .*-metrics
          action: keep
        - source_labels:
            - __meta_kubernetes_pod_label_name
          action: drop
          regex: ""
        - source_labels:
            - __meta_kubernetes_pod_phase
          regex: Succeeded|Failed
          action: drop
        - source_labels:
            - __meta_kubernetes_pod_annotation_prometheus_io_scrape
          regex: "false"
          action: drop
        - source_labels:
            - __meta_kubernetes_pod_annotation_prometheus_io_scheme
          target_label: __scheme__
          regex: (https?)
          replacement: $1
          action: replace
        - source_labels:
            - __meta_kubernetes_pod_annotation_prometheus_io_path
          target_label: __metrics_path__
          regex: (.+)
          replacement: $1
          action: replace
        - source_labels:
            - __address__
            - __meta_kubernetes_pod_annotation_prometheus_io_port
          target_label: __address__
          regex: (.+?)(\\:\\d+)?;(\\d+)
          replacement: $1:$3
          action: replace
        - regex: __meta_kubernetes_pod_annotation_prometheus_io_param_(.+)
          replacement: __param_$1
          action: labelmap
        - regex: __meta_kubernetes_pod_label_prometheus_io_label_(.+)
          action: labelmap
        - regex: __meta_kubernetes_pod_annotation_prometheus_io_label_(.+)
          action: labelmap
        - source_labels:
            - __meta_kubernetes_namespace
            - __meta_kubernetes_pod_label_name
          separator: /
          target_label: job
          replacement: $1
          action: replace
        - source_labels:
          - __meta_kubernetes_namespace
          target_label: namespace
          action: replace
        - source_labels:
            - __meta_kubernetes_pod_name
          target_label: pod
          action: replace
        - source_labels:
            - __meta_kubernetes_pod_container_name
          target_label: container
          action: replace
        - source_labels:
            - __meta_kubernetes_pod_name
            - __meta_kubernetes_pod_container_name
            - __meta_kubernetes_pod_container_port_name
          separator: ':'
          target_label: instance
          action: replace
        - target_label: cluster
          replacement: dev-us-central-0
        - source_labels:
            - __meta_kubernetes_namespace
          regex: hosted-grafana
          action: drop
        - source_labels:
            - __address__
          target_label: __tmp_hash
          modulus: 3
          action: hashmod
        - source_labels:
            - __tmp_hash
          regex: ^0$
          action: keep
        - regex: __tmp_hash
          action: labeldrop
        """

    private static let kubernetesTarget: [String: String] = [
        "__address__": "10.132.183.40:80",
        "__meta_kubernetes_namespace": "loki-boltdb-shipper",
        "__meta_kubernetes_pod_annotation_promtail_loki_boltdb_shipper_hash": "50523b9759094a144adcec2eae0aa4ad",
        "__meta_kubernetes_pod_annotationpresent_promtail_loki_boltdb_shipper_hash": "true",
        "__meta_kubernetes_pod_container_init": "false",
        "__meta_kubernetes_pod_container_name": "promtail",
        "__meta_kubernetes_pod_container_port_name": "http-metrics",
        "__meta_kubernetes_pod_container_port_number": "80",
        "__meta_kubernetes_pod_container_port_protocol": "TCP",
        "__meta_kubernetes_pod_controller_kind": "DaemonSet",
        "__meta_kubernetes_pod_controller_name": "promtail-loki-boltdb-shipper",
        "__meta_kubernetes_pod_host_ip": "10.128.0.178",
        "__meta_kubernetes_pod_ip": "10.132.183.40",
        "__meta_kubernetes_pod_label_controller_revision_hash": "555b77cd7d",
        "__meta_kubernetes_pod_label_name": "promtail-loki-boltdb-shipper",
        "__meta_kubernetes_pod_label_pod_template_generation": "45",
        "__meta_kubernetes_pod_labelpresent_controller_revision_hash": "true",
        "__meta_kubernetes_pod_labelpresent_name": "true",
        "__meta_kubernetes_pod_labelpresent_pod_template_generation": "true",
        "__meta_kubernetes_pod_name": "promtail-loki-boltdb-shipper-jgtr7",
        "__meta_kubernetes_pod_node_name": "gke-dev-us-central-0-main-n2s8-2-14d53341-9hkr",
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_ready": "true",
        "__meta_kubernetes_pod_uid": "4c586419-7f6c-448d-aeec-ca4fa5b05e60",
        "__metrics_path__": "/metrics",
        "__scheme__": "http",
        "__scrape_interval__": "15s",
        "__scrape_timeout__": "10s",
        "job": "kubernetes-pods",
    ]

    /// MD5("10.132.183.40:80") mod 3 is 1, so the `keep ^0$` shard filter drops the target.
    func testUpstreamKubernetesConfigurationShardsTargetAway() throws {
        assertRelabel(Labels(Self.kubernetesTarget), try decode(Self.kubernetesRules), nil)
    }

    func testKubernetesConfigurationOnItsOwnShard() throws {
        let rules = try decode(Self.kubernetesRules.replacingOccurrences(of: "regex: ^0$", with: "regex: ^1$"))
        var expected = Self.kubernetesTarget
        expected["job"] = "loki-boltdb-shipper/promtail-loki-boltdb-shipper"
        expected["namespace"] = "loki-boltdb-shipper"
        expected["pod"] = "promtail-loki-boltdb-shipper-jgtr7"
        expected["container"] = "promtail"
        expected["instance"] = "promtail-loki-boltdb-shipper-jgtr7:promtail:http-metrics"
        expected["cluster"] = "dev-us-central-0"
        assertRelabel(Labels(Self.kubernetesTarget), rules, Labels(expected))
    }

    // MARK: Upstream TestRelabelValidate and TestTargetLabelLegacyValidity

    func testUpstreamValidationMessages() throws {
        assertInvalid(try rule(.replace), "relabel configuration for replace action requires 'target_label' value")
        assertInvalid(try rule(.lowercase), "relabel configuration for lowercase action requires 'target_label' value")
        assertInvalid(try rule(.lowercase, target: "${3}", scheme: .legacy), "\"${3}\" is invalid 'target_label' for lowercase action")
    }

    func testUpstreamRulesValidUnderUTF8Names() throws {
        XCTAssertNoThrow(try rule(.lowercase, target: "${3}"))
        for target in ["${3}", "0${3}", "-${3}"] {
            XCTAssertNoThrow(try rule(source: ["a"], regex: "some-([^-]+)-([^,]+)", target: target, replacement: "${1}"), target)
        }
    }

    func testUpstreamLabelmapReplacementsValidUnderLegacyNames() throws {
        XCTAssertNoThrow(try rule(.labelmap, regex: "__meta_kubernetes_pod_label_(strimzi_io_.+)", replacement: "$1", scheme: .legacy))
        XCTAssertNoThrow(try rule(.labelmap, regex: "__meta_(.+)", replacement: "${1}", scheme: .legacy))
    }

    func testUpstreamLegacyTargetTemplates() {
        let cases: [(String, Bool)] = [
            ("-label", false), ("label", true), ("label${1}", true), ("${1}label", true), ("${1}", true),
            ("${", false), ("$", false), ("${}", false), ("foo${", false), ("$1", true), ("asd$2asd", true),
            ("-foo${1}bar-", false), ("bar.foo${1}bar", false), ("_${1}_", true), ("foo${bar}foo", true),
        ]
        for (template, valid) in cases {
            let result = Result { try rule(.labelmap, replacement: template, scheme: .legacy) }
            XCTAssertEqual((try? result.get()) != nil, valid, template)
        }
    }

    // MARK: Validation (the rest of Prometheus's Validate)

    func testHashmodNeedsModulus() {
        assertInvalid(try rule(.hashmod, source: ["a"], target: "b"), "relabel configuration for hashmod requires non-zero modulus")
    }

    func testHashmodNeedsValidTarget() {
        assertInvalid(try rule(.hashmod, target: "1x", modulus: 2, scheme: .legacy), "\"1x\" is invalid 'target_label' for hashmod action")
    }

    func testReplaceTargetMustBeLegacyNameUnderLegacyScheme() {
        assertInvalid(try rule(target: "utf-8.label", scheme: .legacy), "\"utf-8.label\" is invalid 'target_label' for replace action")
        assertInvalid(try rule(target: "a-$1", scheme: .legacy), "\"a-$1\" is invalid 'target_label' for replace action")
    }

    func testCaseActionsRefuseReplacement() {
        assertInvalid(try rule(.uppercase, target: "a", replacement: "x"), "'replacement' can not be set for uppercase action")
    }

    func testEqualityActionsRefuseOtherFields() throws {
        let message = "keepequal action requires only 'source_labels' and `target_label`, and no other fields"
        assertInvalid(try rule(.keepEqual, target: "a", separator: ","), message)
        assertInvalid(try rule(.keepEqual, target: "a", modulus: 3), message)
        // Prometheus compares with the default regex by identity: even `(.*)` written out is refused.
        assertInvalid(try rule(.keepEqual, regex: "(.*)", target: "a"), message)
        assertInvalid(try rule(.dropEqual, target: "a", replacement: "x"), "'replacement' can not be set for dropequal action")
    }

    func testLabelDropAndKeepRefuseOtherFields() {
        assertInvalid(try rule(.labeldrop, source: ["a"], regex: "a"), "labeldrop action requires only 'regex', and no other fields")
        assertInvalid(try rule(.labelkeep, regex: "a", target: "b"), "labelkeep action requires only 'regex', and no other fields")
        assertInvalid(try rule(.labelkeep, regex: "a", replacement: "b"), "labelkeep action requires only 'regex', and no other fields")
    }

    func testRevalidationWithLegacySchemeRejectsUTF8Target() throws {
        var config = try rule(.lowercase, source: ["a"], target: "b.c")
        XCTAssertThrowsError(try config.validate(nameValidationScheme: .legacy)) { error in
            XCTAssertEqual(error as? RelabelConfigError, .invalidTargetLabel("b.c", .lowercase))
        }
    }

    // MARK: YAML decoding

    func testDecodingAppliesDefaults() throws {
        let config = try XCTUnwrap(try decode("- target_label: foo").first)
        XCTAssertEqual(config.sourceLabels, [])
        XCTAssertEqual(config.separator, ";")
        XCTAssertEqual(config.regex.pattern, "(.*)")
        XCTAssertTrue(config.regex.isDefault)
        XCTAssertEqual(config.modulus, 0)
        XCTAssertEqual(config.targetLabel, "foo")
        XCTAssertEqual(config.replacement, "$1")
        XCTAssertEqual(config.action, .replace)
        XCTAssertEqual(config.nameValidationScheme, .utf8)
    }

    func testDecodingReadsEveryField() throws {
        let config = try XCTUnwrap(try decode("""
            - source_labels: [__address__, port]
              separator: ":"
              regex: (.+)
              modulus: 8
              target_label: __tmp_shard
              replacement: $1
              action: HashMod
            """).first)
        XCTAssertEqual(config.sourceLabels, ["__address__", "port"])
        XCTAssertEqual(config.separator, ":")
        XCTAssertEqual(config.regex.pattern, "(.+)")
        XCTAssertFalse(config.regex.isDefault)
        XCTAssertEqual(config.modulus, 8)
        XCTAssertEqual(config.targetLabel, "__tmp_shard")
        XCTAssertEqual(config.action, .hashmod)
    }

    /// Prometheus issue 18652: explicit empty strings are not the defaults.
    func testExplicitEmptyValuesAreKept() throws {
        let config = try XCTUnwrap(try decode("""
            - source_labels: [namespace, k8s_app]
              separator: ""
              regex: ""
              target_label: target_cluster
              replacement: ""
              action: replace
            """).first)
        XCTAssertEqual(config.separator, "")
        XCTAssertEqual(config.regex.pattern, "")
        XCTAssertEqual(config.replacement, "")
        assertRelabel(["target_cluster": "x"], [config], [:])
        assertRelabel(["namespace": "a", "target_cluster": "x"], [config], ["namespace": "a", "target_cluster": "x"])
    }

    func testKeyWithoutValueIsTheEmptyValue() throws {
        let config = try XCTUnwrap(try decode("""
            - source_labels: [a, b]
              separator:
              target_label: ab
            """).first)
        XCTAssertEqual(config.separator, "")
        assertRelabel(["a": "x", "b": "y"], [config], ["a": "x", "ab": "xy", "b": "y"])
    }

    func testKeepEqualDecodesWithoutRegex() throws {
        XCTAssertEqual(try decode("""
            - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port]
              separator: ;
              target_label: __meta_kubernetes_pod_container_port_number
              replacement: $1
              action: keepequal
            """).first?.action, .keepEqual)
    }

    func testUnknownKeyIsNamed() {
        assertConfigError("- target_label: a\n- target_label: b\n  regexp: x", keyPath: "[1].regexp", message: "unknown key \"regexp\"")
    }

    func testUnknownActionIsNamed() {
        assertConfigError("- action: Rename", keyPath: "[0].action", message: "unknown relabel action \"Rename\"")
    }

    func testNullActionIsEmpty() {
        assertConfigError("- action:\n  target_label: a", keyPath: "[0].action", message: "relabel action cannot be empty")
    }

    func testInvalidRegexReportsGoMessage() {
        assertConfigError("- regex: (foo\n  action: drop", keyPath: "[0].regex",
                          message: "error parsing regexp: missing closing ): `^(?s:(foo)$`")
        assertConfigError("- regex: a**\n  action: drop", keyPath: "[0].regex",
                          message: "error parsing regexp: invalid nested repetition operator: `**`")
    }

    func testEmptySourceLabelNameIsRejected() {
        assertConfigError("- source_labels: [a, \"\"]\n  target_label: b", keyPath: "[0].source_labels",
                          message: "\"\" is not a valid label name")
    }

    func testValidationErrorNamesTheRule() {
        assertConfigError("- target_label: a\n- action: replace", keyPath: "[1]",
                          message: "relabel configuration for replace action requires 'target_label' value")
        assertConfigError("- action: labeldrop\n  regex: a\n  source_labels: []", keyPath: "[0]",
                          message: "labeldrop action requires only 'regex', and no other fields")
    }

    func testNegativeModulusIsRejected() {
        XCTAssertThrowsError(try decode("- action: hashmod\n  modulus: -1\n  target_label: a"))
    }

    // MARK: Template expansion (Go's Regexp.Expand)

    private func expand(_ template: String, _ regex: String, _ value: String) throws -> String {
        let compiled = try RelabelRegex(regex)
        XCTAssertTrue(compiled.matches(value), "\(regex) should match \(value)")
        return Relabeler.expand(template, compiled.submatches(of: value))
    }

    func testDollarNameTakesTheLongestName() throws {
        XCTAssertEqual(try expand("$1x", "(a)(b)", "ab"), "")
        XCTAssertEqual(try expand("${1}x", "(a)(b)", "ab"), "ax")
        XCTAssertEqual(try expand("$1-$2", "(a)(b)", "ab"), "a-b")
    }

    func testDollarEscapesAndMalformedReferences() throws {
        XCTAssertEqual(try expand("$$1", "(a)", "a"), "$1")
        XCTAssertEqual(try expand("cost: $", "(a)", "a"), "cost: $")
        XCTAssertEqual(try expand("${1", "(a)", "a"), "${1")
        XCTAssertEqual(try expand("$-1", "(a)", "a"), "$-1")
        XCTAssertEqual(try expand("${}", "(a)", "a"), "${}")
    }

    func testGroupNumbers() throws {
        XCTAssertEqual(try expand("$0", "(a)b", "ab"), "ab")
        XCTAssertEqual(try expand("${01}", "(a)b", "ab"), "")
        XCTAssertEqual(try expand("$10", "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)", "abcdefghij"), "j")
        XCTAssertEqual(try expand("$9", "(a)", "a"), "")
    }

    func testNamedGroups() throws {
        XCTAssertEqual(try expand("$host:${port}", "(?P<host>[^:]+):(?<port>\\d+)", "example:80"), "example:80")
        XCTAssertEqual(try expand("[$missing]", "(?P<host>.*)", "x"), "[]")
    }

    func testUnmatchedGroupIsEmpty() throws {
        XCTAssertEqual(try expand("<$1|$2>", "(a)|(b)", "b"), "<|b>")
    }

    func testLazyAndGreedyGroupsFollowLeftmostFirst() throws {
        XCTAssertEqual(try expand("$1 $2", "(.+?)(\\:\\d+)?", "10.0.0.1:80"), "10.0.0.1 :80")
        XCTAssertEqual(try expand("$1 $2", "(.+)(\\:\\d+)?", "10.0.0.1:80"), "10.0.0.1:80 ")
        XCTAssertEqual(try expand("$1 $2", "(?U)(a+)(a*)", "aaa"), "a aa")
    }

    // MARK: RE2 syntax through the capture engine

    func testRE2ShorthandsAndClassesCapture() throws {
        XCTAssertEqual(try expand("$1", "(\\pL+)\\d", "héllo1"), "héllo")
        XCTAssertEqual(try expand("$1", "(\\p{^Greek}+)α", "abα"), "ab")
        XCTAssertEqual(try expand("$1", "([[:alpha:]]+)-([[:^alpha:]]+)", "ab-12"), "ab")
        XCTAssertEqual(try expand("$1", "([[:word:]]+)", "a_1"), "a_1")
        XCTAssertEqual(try expand("$1", "(\\101)", "A"), "A")
        XCTAssertEqual(try expand("$1", "(x{,3})", "x{,3}"), "x{,3}")
        XCTAssertEqual(try expand("$1", "([]a]+)", "]a"), "]a")
        XCTAssertEqual(try expand("$1", "([a-c&&x]+)", "a&&x"), "a&&x")
        XCTAssertEqual(try expand("$1", "([[a]+)", "[a"), "[a")
        XCTAssertEqual(try expand("$1", "(\\Q.*\\E)", ".*"), ".*")
        XCTAssertEqual(try expand("$1", "(\\s+)", " \t"), " \t")
    }

    func testAsciiOnlyClassesDoNotMatchOtherScripts() throws {
        XCTAssertFalse(try RelabelRegex("[[:alpha:]]").matches("é"))
        XCTAssertFalse(try RelabelRegex("\\d").matches("١"))
        XCTAssertFalse(try RelabelRegex("\\s").matches("\u{0B}"))
    }

    /// Prometheus compiles `^(?s:` + regex + `)$`, so this is a valid expression there.
    func testRegexTextIsSplicedIntoTheAnchoredGroup() throws {
        XCTAssertEqual(try expand("$1", "a)(b", "ab"), "b")
    }

    /// Known deviation: Swift folds case differently (final sigma); RE2 decides the match,
    /// the groups are then unavailable and only `$0` is filled.
    func testGroupsFallBackToWholeValueWhenCaptureEngineDisagrees() throws {
        XCTAssertEqual(try expand("[$0][$1]", "(?i)(σ)", "ς"), "[ς][]")
    }

    // MARK: Behaviour beyond upstream's table

    func testEmptyInputValuesAreRemoved() throws {
        assertRelabel(["a": "", "b": "x"], [try rule(.keep, source: ["b"], regex: "x")], ["b": "x"])
    }

    func testMissingSourceLabelsJoinAsEmpty() throws {
        assertRelabel(["b": "2"], [try rule(source: ["a", "b", "c"], regex: "(.*)", target: "all")], ["all": ";2;", "b": "2"])
    }

    func testReplaceWithEmptySourceSetsStaticValue() throws {
        assertRelabel(["a": "1"], [try rule(target: "env", replacement: "prod")], ["a": "1", "env": "prod"])
    }

    func testLabelmapLaterLabelWinsOnCollision() throws {
        assertRelabel(
            ["__meta_a_x": "1", "__meta_b_x": "2"],
            [try rule(.labelmap, regex: "__meta_.*_(x)")],
            ["__meta_a_x": "1", "__meta_b_x": "2", "x": "2"])
    }

    func testLabelmapSeesLabelsSetByEarlierRules() throws {
        assertRelabel(
            ["a": "1"],
            [
                try rule(target: "__tmp_z", replacement: "9"),
                try rule(.labelmap, regex: "__tmp_(.*)"),
                try rule(.labeldrop, regex: "__tmp_.*"),
            ],
            ["a": "1", "z": "9"])
    }

    func testLabelmapSkipsEmptyNames() throws {
        assertRelabel(["ab": "1"], [try rule(.labelmap, regex: "(a)(b)?(c)?b", replacement: "$3")], ["ab": "1"])
    }

    func testLabelkeepComparesWholeNames() throws {
        assertRelabel(["job": "a", "jobs": "b"], [try rule(.labelkeep, regex: "job")], ["job": "a"])
    }

    func testRuntimeTargetMustBeLegacyNameUnderLegacyScheme() throws {
        let config = try rule(source: ["a"], regex: "(.*)", target: "${1}", replacement: "v", scheme: .legacy)
        assertRelabel(["a": "bad-name"], [config], ["a": "bad-name"])
        assertRelabel(["a": "good_name"], [config], ["a": "good_name", "good_name": "v"])
    }

    func testUppercaseUsesSimpleCaseMappingsLikeGo() throws {
        assertRelabel(
            ["a": "straße ᾳ ﬀ"],
            [try rule(.uppercase, source: ["a"], target: "up")],
            ["a": "straße ᾳ ﬀ", "up": "STRAßE ᾼ ﬀ"])
        assertRelabel(
            ["a": "İSTANBUL ΣΑΣ"],
            [try rule(.lowercase, source: ["a"], target: "down")],
            ["a": "İSTANBUL ΣΑΣ", "down": "istanbul σασ"])
    }

    func testLowercaseOfEmptyValueDeletesTarget() throws {
        assertRelabel(["t": "x"], [try rule(.lowercase, source: ["a"], target: "t")], [:])
    }

    func testValuesCompareByBytes() throws {
        // "é" precomposed and decomposed are equal Swift strings but different Go strings.
        assertRelabel(
            ["a": "\u{E9}", "b": "e\u{301}"],
            [try rule(.dropEqual, source: ["a"], target: "b")],
            ["a": "\u{E9}", "b": "e\u{301}"])
    }

    /// Rules are shared by every scrape loop; the capture engine must be safe to share.
    func testOneRuleSetUsedFromManyThreads() throws {
        let rules = [
            try rule(source: ["handler"], regex: "/api/v(\\d+)/(?P<endpoint>.+)", target: "endpoint", replacement: "v$1-${endpoint}"),
        ]
        let outputs = UnsafeSendableBox([Labels?](repeating: nil, count: 64))
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let output = Relabeler.process(["handler": "/api/v1/q\(index)"], rules)
            outputs.lock.withLock { outputs.value[index] = output }
        }
        for index in 0..<64 {
            XCTAssertEqual(outputs.value[index], ["handler": "/api/v1/q\(index)", "endpoint": "v1-q\(index)"])
        }
    }

    func testMD5MatchesRFC1321Vectors() {
        func hex(_ text: String) -> String {
            MD5.digest(Array(text.utf8)).map { byte in
                let digits = String(byte, radix: 16)
                return digits.count == 1 ? "0" + digits : digits
            }.joined()
        }
        XCTAssertEqual(hex(""), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(hex("abc"), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0")
        XCTAssertEqual(hex(String(repeating: "1234567890", count: 8)), "57edf4a22be3c955ac49da2e2107b67a")
    }

    func testHashmodUsesLastEightDigestBytes() {
        // MD5("baz") = 73feffa4b7f6bb68e44cf984c85f6e88; 0xe44cf984c85f6e88 % 1000 = 976.
        XCTAssertEqual(Relabeler.hashmod("baz", 1000), 976)
        XCTAssertEqual(Relabeler.hashmod("baz", 1), 0)
    }
}

/// Results collected from `concurrentPerform`, guarded by its lock.
private final class UnsafeSendableBox<Value>: @unchecked Sendable {
    let lock = NSLock()
    var value: Value
    init(_ value: Value) { self.value = value }
}
