import Synchronization
import XCTest

@testable import MetricsStore

/// Alert template expansion, checked against the expected outputs of Prometheus's
/// template/template_test.go (humanize*, number formatting, string functions) and Go's
/// text/template rules for variables, pipelines and control structures.
final class TemplateExpansionTests: XCTestCase {
    private func expand(_ text: String, labels: [String: String] = [:], value: Double = 0,
                        externalLabels: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> String {
        let data = AlertTemplateData(labels: labels, externalLabels: externalLabels, externalURL: "http://testhost:9090/path/prefix", value: value)
        do {
            return try AlertTemplate.expandOrThrow(text, alertName: "Test", data: data, time: 1_353_755_652_000)
        } catch {
            XCTFail("\(text): \(error)", file: file, line: line)
            return ""
        }
    }

    private func assertFails(_ text: String, _ fragment: String, value: Double = 0, file: StaticString = #filePath, line: UInt = #line) {
        let data = AlertTemplateData(labels: [:], value: value)
        do {
            let out = try AlertTemplate.expandOrThrow(text, alertName: "Test", data: data, time: 0)
            XCTFail("\(text) expanded to \(out), expected an error", file: file, line: line)
        } catch {
            XCTAssertTrue(error.message.contains(fragment), "\(error.message) lacks \(fragment)", file: file, line: line)
        }
    }

    /// Applies a function to each input through `$value`-free literal pipelines.
    private func each(_ function: String, _ inputs: [String]) -> String {
        inputs.map { expand("{{ \($0) | \(function) }}") + ":" }.joined()
    }

    func testPlainTextAndLiterals() {
        XCTAssertEqual(expand("plain text"), "plain text")
        XCTAssertEqual(expand("{{ 1 }}"), "1")
        XCTAssertEqual(expand("{{ \"<b>\" }}"), "<b>")
        XCTAssertEqual(expand("{{ `raw\\n` }}"), "raw\\n")
    }

    func testLabelsValueAndExternalLabelsThroughVariablesAndFields() {
        let labels = ["instance": "host:9100", "job": "node"]
        XCTAssertEqual(expand("{{ $labels.instance }} of {{ .Labels.job }}", labels: labels), "host:9100 of node")
        XCTAssertEqual(expand("{{ $externalLabels.cluster }}", externalLabels: ["cluster": "eu1"]), "eu1")
        // Prometheus expands with missingkey=zero.
        XCTAssertEqual(expand("{{ $labels.missing }}|{{ .Labels.missing }}", labels: labels), "|")
        XCTAssertEqual(expand("{{ $value }}/{{ .Value }}", value: 0.5), "0.5/0.5")
        XCTAssertEqual(expand("{{ $externalURL }}"), "http://testhost:9090/path/prefix")
    }

    /// `{{ $value }}` prints as Go's %v: shortest digits, exponent from 1e6 and below 1e-4.
    func testValueUsesGoFloatFormatting() {
        XCTAssertEqual(expand("{{ $value }}", value: 1), "1")
        XCTAssertEqual(expand("{{ $value }}", value: 100_000), "100000")
        XCTAssertEqual(expand("{{ $value }}", value: 1_234_567), "1.234567e+06")
        XCTAssertEqual(expand("{{ $value }}", value: 1e21), "1e+21")
        XCTAssertEqual(expand("{{ $value }}", value: 0.0001), "0.0001")
        XCTAssertEqual(expand("{{ $value }}", value: 0.00001), "1e-05")
        XCTAssertEqual(expand("{{ $value }}", value: -2.5), "-2.5")
        XCTAssertEqual(expand("{{ $value }}", value: .nan), "NaN")
        XCTAssertEqual(expand("{{ $value }}", value: .infinity), "+Inf")
        XCTAssertEqual(expand("{{ $value }}", value: 0.1 + 0.2), "0.30000000000000004")
    }

    func testHumanize() {
        XCTAssertEqual(each("humanize", ["0.0", "1.0", "1234567.0", ".12"]), "0:1:1.235M:120m:")
        XCTAssertEqual(each("humanize", ["\"0.0\"", "\"1.0\"", "\"1234567.0\"", "\".12\""]), "0:1:1.235M:120m:")
        XCTAssertEqual(each("humanize", ["0", "-1", "1", "1234567", "9223372036854775807"]), "0:-1:1:1.235M:9.223E:")
        assertFails("{{ humanize \"one\" }}", "strconv.ParseFloat: parsing \"one\": invalid syntax")
    }

    func testHumanize1024() {
        XCTAssertEqual(each("humanize1024", ["0.0", "1.0", "1048576.0", ".12"]), "0:1:1Mi:0.12:")
        XCTAssertEqual(each("humanize1024", ["0", "-1", "1", "1234567", "9223372036854775807"]), "0:-1:1:1.177Mi:8Ei:")
        assertFails("{{ humanize1024 \"one\" }}", "invalid syntax")
    }

    func testHumanizeDuration() {
        XCTAssertEqual(each("humanizeDuration", ["0.0", "1.0", "60.0", "3600.0", "86400.0", "90000.0", "-183845.0", "899.99"]),
                       "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:")
        XCTAssertEqual(each("humanizeDuration", [".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"]),
                       "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:")
        XCTAssertEqual(each("humanizeDuration", ["0", "-1", "1", "1234567"]), "0s:-1s:1s:14d 6h 56m 7s:")
        XCTAssertEqual(each("humanizeDuration", ["\"60\"", "\"86400\""]), "1m 0s:1d 0h 0m 0s:")
    }

    func testInfinitiesAndNaNPassThroughEveryHumanizer() {
        let text = "{{ humanize $value }}:{{ humanize1024 $value }}:{{ humanizeDuration $value }}:{{ humanizeTimestamp $value }}"
        XCTAssertEqual(expand(text, value: .infinity), "+Inf:+Inf:+Inf:+Inf")
        XCTAssertEqual(expand(text, value: -.infinity), "-Inf:-Inf:-Inf:-Inf")
        XCTAssertEqual(expand(text, value: .nan), "NaN:NaN:NaN:NaN")
        XCTAssertEqual(each("humanize", ["\"+Inf\"", "\"-Inf\"", "\"NaN\""]), "+Inf:-Inf:NaN:")
    }

    func testHumanizePercentage() {
        XCTAssertEqual(expand("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}"),
                       "-22.22%:0%:12.35%:123.5%")
        XCTAssertEqual(each("humanizePercentage", ["0", "-1", "1", "1234567", "9223372036854775807"]),
                       "0%:-100%:100%:1.235e+08%:9.223e+20%:")
        XCTAssertEqual(expand("{{ \"0.1234567\" | humanizePercentage }}"), "12.35%")
    }

    func testHumanizeTimestamp() {
        XCTAssertEqual(each("humanizeTimestamp", ["0", "-1", "1", "1234567", "9223372036"]),
                       "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:")
        XCTAssertEqual(expand("{{ 1435065584.128 | humanizeTimestamp }}"), "2015-06-23 13:19:44.128 +0000 UTC")
        XCTAssertEqual(expand("{{ \"1435065584.128\" | humanizeTimestamp }}"), "2015-06-23 13:19:44.128 +0000 UTC")
        assertFails("{{ 9223372036854775807 | humanizeTimestamp }}", "cannot be represented as a nanoseconds timestamp")
    }

    func testStringFunctions() {
        XCTAssertEqual(expand("{{ \"aa bb CC\" | title }}"), "Aa Bb CC")
        XCTAssertEqual(expand("{{ \"aa bb CC\" | toUpper }}"), "AA BB CC")
        XCTAssertEqual(expand("{{ \"aA bB CC\" | toLower }}"), "aa bb cc")
        XCTAssertEqual(expand("{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}"), "xa")
        XCTAssertEqual(expand("{{ reReplaceAll \"(?P<host>[a-z]+):\\\\d+\" \"${host}\" \"web:80\" }}"), "web")
        XCTAssertEqual(expand("{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}"), "true false")
        XCTAssertEqual(expand("{{ \"foo.example.com:12345\" | stripPort }}"), "foo.example.com")
        XCTAssertEqual(expand("{{ \"[2001:0DB8::1]:12345\" | stripPort }}"), "2001:0DB8::1")
        XCTAssertEqual(expand("{{ \"2001:0DB8::1\" | stripPort }}"), "2001:0DB8::1")
        XCTAssertEqual(expand("{{ \"foo.example.com:12345\" | stripDomain }}"), "foo:12345")
        XCTAssertEqual(expand("{{ \"192.0.2.1:12345\" | stripDomain }}"), "192.0.2.1:12345")
        XCTAssertEqual(expand("{{ graphLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=0")
        XCTAssertEqual(expand("{{ tableLink \"up\" }}"), "/graph?g0.expr=up&g0.tab=1")
        XCTAssertEqual(expand("{{ pathPrefix }}"), "/path/prefix")
        XCTAssertEqual(expand("{{ now }}"), "1.353755652e+09")
    }

    func testPrintf() {
        XCTAssertEqual(expand("{{ printf \"%.2f\" $value }}", value: 3.14159), "3.14")
        XCTAssertEqual(expand("{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}"), "3720.01")
        XCTAssertEqual(expand("{{ printf \"%s=%d\" \"x\" 42 }}"), "x=42")
        XCTAssertEqual(expand("{{ printf \"%v|%5s|%-4s|\" $value \"ab\" \"c\" }}", value: 2), "2|   ab|c   |")
        XCTAssertEqual(expand("{{ printf \"%d\" $value }}", value: 1.5), "%!d(float64=1.5)")
        XCTAssertEqual(expand("{{ printf \"%s %s\" \"a\" }}"), "a %!s(MISSING)")
    }

    func testConditionalsAndComparisons() {
        let text = "{{ if gt $value 10.0 }}high{{ else if gt $value 5.0 }}medium{{ else }}low{{ end }}"
        XCTAssertEqual(expand(text, value: 11), "high")
        XCTAssertEqual(expand(text, value: 7), "medium")
        XCTAssertEqual(expand(text, value: 1), "low")
        XCTAssertEqual(expand("{{ if eq $labels.severity \"critical\" }}page{{ else }}ticket{{ end }}", labels: ["severity": "critical"]), "page")
        XCTAssertEqual(expand("{{ if eq $labels.severity \"critical\" }}page{{ else }}ticket{{ end }}"), "ticket")
        XCTAssertEqual(expand("{{ if ne $labels.job \"a\" }}x{{ end }}", labels: ["job": "b"]), "x")
        XCTAssertEqual(expand("{{ if lt 1 2 }}y{{ end }}{{ if and true false }}n{{ end }}{{ if or false 1 }}o{{ end }}"), "yo")
        XCTAssertEqual(expand("{{ if not false }}t{{ end }}"), "t")
        // Go refuses to compare an int literal with a float64.
        assertFails("{{ if gt $value 10 }}x{{ end }}", "incompatible types for comparison", value: 1)
    }

    func testVariablesRangeWithAndTrimMarkers() {
        XCTAssertEqual(expand("{{ $x := \"a\" }}{{ $x }}{{ $x = \"b\" }}{{ $x }}"), "ab")
        XCTAssertEqual(expand("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", labels: ["b": "2", "a": "1"]), "a=1;b=2;")
        XCTAssertEqual(expand("{{ with $labels.job }}job {{ . }}{{ else }}none{{ end }}", labels: ["job": "api"]), "job api")
        XCTAssertEqual(expand("a  {{- \" b \" -}}  c"), "a b c")
        XCTAssertEqual(expand("x{{/* comment */}}y"), "xy")
        XCTAssertEqual(expand("{{ len $labels }}", labels: ["a": "1"]), "1")
        XCTAssertEqual(expand("{{ index $labels \"a\" }}", labels: ["a": "1"]), "1")
    }

    func testNamedTemplatesAndLoopControl() {
        XCTAssertEqual(expand("{{ define \"sev\" }}[{{ . }}]{{ end }}{{ template \"sev\" $labels.severity }}", labels: ["severity": "page"]), "[page]")
        XCTAssertEqual(expand("{{ block \"b\" $value }}<{{ . }}>{{ end }}", value: 3), "<3>")
        XCTAssertEqual(expand("{{ range $k, $v := $labels }}{{ if eq $k \"b\" }}{{ continue }}{{ end }}{{ if eq $k \"d\" }}{{ break }}{{ end }}{{ $k }}{{ end }}",
                              labels: ["a": "1", "b": "2", "c": "3", "d": "4", "e": "5"]), "ac")
        XCTAssertEqual(expand("{{ slice \"abcdef\" 1 3 }} {{ js \"a'b\" }}"), "bc a\\'b")
        XCTAssertEqual(AlertTemplate.syntaxError("{{ break }}", alertName: "A"), "template: __alert_A:1: {{break}} outside {{range}}")
        assertFails("{{ template \"missing\" }}", "no such template \"missing\"")
    }

    /// `query` runs through the expander's query function at the evaluation time; the
    /// expected outputs follow template_test.go's query cases.
    func testQueryAndItsHelpers() async {
        let asked = QueryLog()
        let query: AlertTemplate.Query = { expr, time in
            asked.add(expr, time)
            switch expr {
            case "metric{instance='a'}": return [(["__name__": "metric", "instance": "a"], 11)]
            case "metric": return [(["instance": "b"], 21), (["instance": "a"], 11)]
            case "1.5": return [([:], 1.5)]
            case "missing": return []
            default: throw CannedRuleQuerier.Failure(description: "1:1: parse error: unexpected character")
            }
        }
        func run(_ text: String, labels: [String: String] = [:]) async -> String {
            await AlertTemplate.expand(text, alertName: "Q", data: AlertTemplateData(labels: labels, value: 0), time: 42_000, query: query)
        }
        let first = await run(#"{{ query "metric{instance='a'}" | first | value }}"#)
        XCTAssertEqual(first, "11")
        let scalar = await run(#"{{ query "1.5" | first | value }}"#)
        XCTAssertEqual(scalar, "1.5")
        let label = await run(#"{{ query "metric{instance='a'}" | first | label "instance" }}"#)
        XCTAssertEqual(label, "a")
        let sorted = await run(#"{{ range query "metric" | sortByLabel "instance" }}{{ .Labels.instance }}:{{ .Value }}: {{ end }}"#)
        XCTAssertEqual(sorted, "a:11: b:21: ")
        let dynamic = await run(#"{{ with printf "metric{instance='%s'}" $labels.instance | query }}{{ . | first | value | humanize }}{{ end }}"#, labels: ["instance": "a"])
        XCTAssertEqual(dynamic, "11")
        let empty = await run(#"{{ query "missing" | first }}"#)
        XCTAssertTrue(empty.contains("first() called on vector with no elements"), empty)
        let failing = await run(#"{{ query "bad(" }}"#)
        XCTAssertTrue(failing.hasPrefix("<error expanding template: ") && failing.contains("parse error"), failing)
        XCTAssertTrue(asked.all.allSatisfy { $0.1 == 42_000 })
        XCTAssertEqual(asked.all.filter { $0.0 == "metric" }.count, 1, "each query runs once per expansion")
    }

    func testParseErrorsAreWordedLikeGo() {
        XCTAssertEqual(AlertTemplate.syntaxError("{{ $labels.instance", alertName: "A"), "template: __alert_A:1: unclosed action")
        XCTAssertEqual(AlertTemplate.syntaxError("{{ humanise $value }}", alertName: "A"), "template: __alert_A:1: function \"humanise\" not defined")
        XCTAssertEqual(AlertTemplate.syntaxError("{{ $foo }}", alertName: "A"), "template: __alert_A:1: undefined variable \"$foo\"")
        XCTAssertEqual(AlertTemplate.syntaxError("{{ if gt $value 1.0 }}big", alertName: "A"), "template: __alert_A:1: unexpected EOF")
        XCTAssertEqual(AlertTemplate.syntaxError("line1\n{{ end }}", alertName: "A"), "template: __alert_A:2: unexpected {{end}}")
        XCTAssertNil(AlertTemplate.syntaxError("{{ $labels.x | humanize }} {{ .Value }}", alertName: "A"))
    }

    func testExpansionFailureBecomesAnErrorText() {
        let out = AlertTemplate.expand("{{ humanize \"one\" }}", alertName: "A", data: AlertTemplateData(labels: [:], value: 0), time: 0)
        XCTAssertTrue(out.hasPrefix("<error expanding template: template: __alert_A:1: executing \"__alert_A\""), out)
        XCTAssertTrue(out.contains("error calling humanize"), out)
    }
}

/// The queries a template ran, in order.
final class QueryLog: Sendable {
    private let entries = Mutex<[(String, Int64)]>([])
    func add(_ expr: String, _ time: Int64) { entries.withLock { $0.append((expr, time)) } }
    var all: [(String, Int64)] { entries.withLock { $0 } }
}
