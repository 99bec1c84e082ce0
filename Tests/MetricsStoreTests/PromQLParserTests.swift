import Foundation
import XCTest

@testable import MetricsStore

/// The PromQL lexer, parser, type checker and printer, checked against facts from
/// Prometheus's own parser tests (promql/parser/parse_test.go, printer_test.go) and
/// against every expression of the upstream conformance scripts in shared/conformance/promql.
final class PromQLParserTests: XCTestCase {
    private let experimental = PromQLParser(options: .init(experimentalFunctions: true))

    private func parse(_ q: String, file: StaticString = #filePath, line: UInt = #line) -> PromQLExpr? {
        do {
            return try experimental.parse(q)
        } catch {
            XCTFail("\(q): \(error)", file: file, line: line)
            return nil
        }
    }

    private func assertError(_ q: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let e = try experimental.parse(q)
            XCTFail("\(q) parsed as \(e), expected error \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.description, expected, "query: \(q)", file: file, line: line)
        }
    }

    private func assertPrints(_ q: String, _ expected: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        guard let e = parse(q, file: file, line: line) else { return }
        let printed = String(describing: e)
        XCTAssertEqual(printed, expected ?? q, "query: \(q)", file: file, line: line)
        // Canonical text parses back to the same text.
        if let again = try? experimental.parse(printed) {
            XCTAssertEqual(String(describing: again), printed, "re-parse of \(printed)", file: file, line: line)
        } else {
            XCTFail("printed form does not parse: \(printed)", file: file, line: line)
        }
    }

    // MARK: Literals

    func testNumberLiteralsFollowGoNumberSyntax() {
        let cases: [(String, Double)] = [
            ("1", 1), ("+Inf", .infinity), ("-Inf", -.infinity), (".5", 0.5), ("5.", 5), ("123.4567", 123.4567),
            ("5e-3", 0.005), ("5e3", 5000), ("0xc", 12), ("0755", 493), ("+5.5e-3", 0.0055), ("-0755", -493),
            ("1_000", 1000), ("1e1_0", 1e10), ("0x_1F", 31), ("inf", .infinity), ("InF", .infinity),
        ]
        for (q, v) in cases {
            guard case .number(let n)? = parse(q) else { XCTFail("\(q) is not a number"); continue }
            XCTAssertEqual(n.value, v, q)
        }
        guard case .number(let nan)? = parse("NaN") else { return XCTFail("NaN") }
        XCTAssertTrue(nan.value.isNaN)
    }

    func testDurationsAreNumbersOfSeconds() {
        let cases: [(String, Double, String)] = [
            ("1h30m", 5400, "1h30m"), ("90m", 5400, "1h30m"), ("1d", 86400, "1d"), ("1w", 604_800, "1w"),
            ("1y", 31_536_000, "1y"), ("500ms", 0.5, "500ms"), ("-5m", -300, "-5m"), ("2h5s", 7205, "2h5s"),
        ]
        for (q, seconds, printed) in cases {
            guard case .number(let n)? = parse(q) else { XCTFail("\(q) is not a number"); continue }
            XCTAssertEqual(n.value, seconds, q)
            XCTAssertTrue(n.isDuration, q)
            XCTAssertEqual(String(describing: PromQLExpr.number(n)), printed)
        }
    }

    func testStringLiteralsUnescapeLikeGo() {
        let cases: [(String, String)] = [
            (#""double-quoted string \" with escaped quote""#, #"double-quoted string " with escaped quote"#),
            (#"'single-quoted string \' with escaped quote'"#, "single-quoted string ' with escaped quote"),
            ("`backtick-quoted string`", "backtick-quoted string"),
            (#""\a\b\f\n\r\t\v\\\" - \xFF\377\u1234\U00010111\U0001011111☺""#, "\u{07}\u{08}\u{0C}\n\r\t\u{0B}\\\" - \u{FFFD}\u{FFFD}\u{1234}\u{10111}\u{10111}11☺"),
            ("`\\a\\b`", "\\a\\b"),
            ("'a\"b'", "a\"b"),
        ]
        for (q, v) in cases {
            guard case .string(let s)? = parse(q) else { XCTFail("\(q) is not a string"); continue }
            XCTAssertEqual(s.value, v, q)
        }
    }

    // MARK: Precedence and associativity

    func testOperatorPrecedenceMatchesPrometheus() {
        // Parenthesised form shows the grouping the parser chose.
        func shape(_ e: PromQLExpr) -> String {
            switch e {
            case .binary(let b): return "(\(shape(b.lhs)) \(b.op.rawValue) \(shape(b.rhs)))"
            case .unary(let u): return "\(u.op.rawValue)\(shape(u.expr))"
            case .paren(let p): return shape(p.expr)
            default: return e.description
            }
        }
        let cases: [(String, String)] = [
            ("1 + 2 * 3", "(1 + (2 * 3))"),
            ("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"),
            ("1 - 2 - 3", "((1 - 2) - 3)"),
            ("-a ^ 2", "-(a ^ 2)"),
            ("-a * 2", "(-a * 2)"),
            ("a or b and c", "(a or (b and c))"),
            ("a and b unless c", "((a and b) unless c)"),
            ("a > bool 1 + 2", "(a > (1 + 2))"),
            ("a atan2 b * c", "((a atan2 b) * c)"),
            ("a % b / c", "((a % b) / c)"),
            ("2 ^ -3 * 4", "((2 ^ -3) * 4)"),
            ("a == b or c != d", "((a == b) or (c != d))"),
            ("h </ 5 + 1", "(h </ (5 + 1))"),
        ]
        for (q, want) in cases {
            guard let e = parse(q) else { continue }
            XCTAssertEqual(shape(e), want, q)
        }
        guard case .number(let n)? = parse("-1 ^ 2") else { return }
        XCTFail("-1 ^ 2 must be a unary expression over 1 ^ 2, got \(n)")
    }

    func testUnaryMinusOnNumberFoldsIntoLiteral() {
        guard case .number(let n)? = parse("-5") else { return XCTFail("not folded") }
        XCTAssertEqual(n.value, -5)
        guard case .unary(let u)? = parse("-some_metric") else { return XCTFail("not unary") }
        XCTAssertEqual(u.op, .sub)
    }

    // MARK: Selectors

    func testVectorSelectorAppendsNameMatcher() {
        guard case .vectorSelector(let vs)? = parse(#"foo:bar{a="bc", d!~"e.*"}"#) else { return XCTFail() }
        XCTAssertEqual(vs.name, "foo:bar")
        XCTAssertEqual(vs.matchers.map(\.description), [#"a="bc""#, #"d!~"e.*""#, #"__name__="foo:bar""#])
    }

    func testQuotedUTF8MetricAndLabelNames() {
        guard case .vectorSelector(let vs)? = parse(#"{"a.b", "c.d"="x"}"#) else { return XCTFail() }
        XCTAssertEqual(vs.name, "")
        XCTAssertEqual(vs.matchers.map(\.description), [#"__name__="a.b""#, #""c.d"="x""#])
        assertPrints(#"{"a.b", "c.d"="x"}"#, #"{"c.d"="x",__name__="a.b"}"#)
    }

    func testKeywordsMayNameMetrics() {
        for q in ["offset", "by", "without", "sum", "avg", "and", "start", "end", "step", "range", "fill", "min_of"] {
            guard case .vectorSelector(let vs)? = parse(q) else { XCTFail("\(q) is not a selector"); continue }
            XCTAssertEqual(vs.name, q)
        }
    }

    func testRangeOffsetAndAtModifiers() {
        guard case .matrixSelector(let m)? = parse("foo[5m] offset -1h @ 100") else { return XCTFail() }
        XCTAssertEqual(m.range, 300_000)
        XCTAssertEqual(m.selector?.offset, -3_600_000)
        XCTAssertEqual(m.selector?.timestamp, 100_000)
        guard case .vectorSelector(let vs)? = parse("foo @ start() offset 5m") else { return XCTFail() }
        XCTAssertEqual(vs.atPreprocessor, .start)
        XCTAssertEqual(vs.offset, 300_000)
        guard case .subquery(let s)? = parse("rate(foo[1m])[5m:] @ end()") else { return XCTFail() }
        XCTAssertEqual(s.range, 300_000)
        XCTAssertEqual(s.step, 0)
        XCTAssertEqual(s.atPreprocessor, .end)
    }

    func testVectorMatchingAndSetOperators() {
        guard case .binary(let b)? = parse("a * on(x, y) group_left(z) b") else { return XCTFail() }
        XCTAssertEqual(b.vectorMatching, PromQLVectorMatching(cardinality: .manyToOne, matchingLabels: ["x", "y"], on: true, include: ["z"]))
        guard case .binary(let set)? = parse("a and b") else { return XCTFail() }
        XCTAssertEqual(set.vectorMatching?.cardinality, .manyToMany)
        guard case .binary(let scalar)? = parse("a + 1") else { return XCTFail() }
        XCTAssertNil(scalar.vectorMatching)
        guard case .binary(let cmp)? = parse("a > bool 1") else { return XCTFail() }
        XCTAssertTrue(cmp.returnBool)
    }

    func testAggregationModifiersBeforeOrAfterBody() {
        for q in ["sum by (a, b) (x)", "sum(x) by (a, b)", "sum by (a, b,) (x)"] {
            guard case .aggregate(let a)? = parse(q) else { XCTFail(q); continue }
            XCTAssertEqual(a.op, .sum)
            XCTAssertEqual(a.grouping, ["a", "b"])
            XCTAssertFalse(a.without)
        }
        guard case .aggregate(let t)? = parse("topk(5, x) without (instance)") else { return XCTFail() }
        XCTAssertEqual(t.parameter?.description, "5")
        XCTAssertTrue(t.without)
    }

    func testFunctionTableCoversStandardFunctions() {
        let names = ["abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
                     "clamp_min", "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month",
                     "delta", "deriv", "exp", "floor", "histogram_quantile", "histogram_count", "histogram_sum",
                     "histogram_avg", "histogram_fraction", "histogram_stddev", "histogram_stdvar",
                     "double_exponential_smoothing", "hour", "idelta", "increase", "irate", "label_join",
                     "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time", "max_over_time",
                     "min_over_time", "minute", "month", "predict_linear", "present_over_time", "quantile_over_time",
                     "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label",
                     "sort_by_label_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "time",
                     "timestamp", "vector", "year", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh",
                     "sin", "sinh", "tan", "tanh", "deg", "rad", "pi", "info"]
        for n in names { XCTAssertNotNil(PromQLFunction.named(n), n) }
        XCTAssertEqual(PromQLFunction.named("scalar")?.returnType, .scalar)
        XCTAssertEqual(PromQLFunction.named("label_join")?.variadic, -1)
    }

    func testExperimentalFunctionsNeedTheOption() {
        XCTAssertThrowsError(try PromQLParser.parse(#"sort_by_label(x, "a")"#)) { e in
            XCTAssertEqual("\(e)", #"1:1: parse error: function "sort_by_label" is not enabled"#)
        }
        XCTAssertThrowsError(try PromQLParser.parse("limitk(2, x)")) { e in
            XCTAssertEqual("\(e)", "1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions")
        }
        XCTAssertNoThrow(try PromQLParser.parse("rate(x[5m])"))
    }

    // MARK: Printer (printer_test.go facts)

    func testPrinterWritesCanonicalForm() {
        let cases: [(String, String?)] = [
            (#"sum by() (task:errors:rate10s{job="s"})"#, #"sum(task:errors:rate10s{job="s"})"#),
            (#"sum by(code) (task:errors:rate10s{job="s"})"#, #"sum by (code) (task:errors:rate10s{job="s"})"#),
            (#"sum without() (task:errors:rate10s{job="s"})"#, #"sum without () (task:errors:rate10s{job="s"})"#),
            (#"sum without(instance) (task:errors:rate10s{job="s"})"#, #"sum without (instance) (task:errors:rate10s{job="s"})"#),
            (#"sum by("foo.bar") (task:errors:rate10s{job="s"})"#, #"sum by ("foo.bar") (task:errors:rate10s{job="s"})"#),
            (#"topk(5, task:errors:rate10s{job="s"})"#, nil),
            (#"count_values("value", task:errors:rate10s{job="s"})"#, nil),
            ("a - on() c", "a - on () c"),
            ("a - on(b) c", "a - on (b) c"),
            ("a - on(b) group_left(x, y) c", "a - on (b) group_left (x, y) c"),
            ("a - on(b) group_left c", "a - on (b) group_left () c"),
            ("a - on(b) group_left() (c)", "a - on (b) group_left () (c)"),
            ("a - ignoring(b) c", "a - ignoring (b) c"),
            ("a - ignoring() c", "a - c"),
            ("a - ignoring() group_left c", "a - ignoring () group_left () c"),
            ("up > bool 0", nil),
            ("a offset 1m", nil),
            ("a offset -7m", nil),
            (#"a{c="d"}[5m] offset 1m"#, nil),
            ("a[12m] offset -3m", nil),
            ("a[1h:5m] offset 1m", nil),
            (#"{__name__="a"}"#, nil),
            (#"a{b!~"c"}[1m]"#, nil),
            ("a @ 10", "a @ 10.000"),
            ("a[1m] @ 10", "a[1m] @ 10.000"),
            ("a @ start()", nil),
            ("a[1m] @ end()", nil),
            (#"{__name__="",a="x"}"#, nil),
            (#"{"a.b"="c"}"#, nil),
            (#"{"_0"="1"}"#, #"{_0="1"}"#),
            ("{``=\"0\"}", #"{""="0"}"#),
            ("1048576", nil),
            ("predict_linear(foo[1h], 3000)", nil),
            (#"sum by("üüü") (foo)"#, #"sum by ("üüü") (foo)"#),
            (#"foo{b="2", a="1"}"#, #"foo{a="1",b="2"}"#),
            ("1e20", "100000000000000000000"),
            ("0.000001", "0.000001"),
            ("-(1 + 2)", nil),
            ("foo[90m:1m30s] @ 1.5", "foo[1h30m:1m30s] @ 1.500"),
            (#"label_replace(up, "a", "$1", "b", "(.*)")"#, nil),
        ]
        for (q, want) in cases { assertPrints(q, want) }
    }

    // MARK: Errors (parse_test.go facts: query, position, message)

    func testErrorsMatchPrometheusMessagesAndPositions() {
        let cases: [(String, String)] = [
            ("", "1:1: parse error: no expression found in input"),
            ("# just a comment\n\n", "1:1: parse error: no expression found in input"),
            ("1+", "1:3: parse error: unexpected end of input"),
            (".", "1:1: parse error: unexpected character: '.'"),
            ("2.5.", #"1:1: parse error: bad number or duration syntax: "2.5.""#),
            ("100..4", #"1:1: parse error: bad number or duration syntax: "100..""#),
            ("0deadbeef", #"1:1: parse error: bad number or duration syntax: "0de""#),
            ("1 /", "1:4: parse error: unexpected end of input"),
            ("*1", "1:1: parse error: unexpected <op:*>"),
            ("(1))", "1:5: parse error: unexpected right parenthesis ')'"),
            ("((1)", "1:5: parse error: unclosed left parenthesis"),
            ("(", "1:2: parse error: unclosed left parenthesis"),
            ("1 and 1", #"1:1: parse error: set operator "and" not allowed in binary scalar expression"#),
            ("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
            ("1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"),
            ("1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"),
            (#"-"string""#, #"1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string""#),
            ("-test[5m]", #"1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector""#),
            ("@@", "1:1: parse error: unexpected <op:@>"),
            ("1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
            ("foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"),
            ("a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"),
            ("foo and 1", #"1:1: parse error: set operator "and" not allowed in binary scalar expression"#),
            ("1 unless foo", #"1:1: parse error: set operator "unless" not allowed in binary scalar expression"#),
            ("1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors"),
            ("foo == on(bar) 10", "1:1: parse error: vector matching only allowed between instant vectors"),
            ("foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"),
            ("foo and on(bar) group_left(baz) bar", #"1:1: parse error: no grouping allowed for "and" operation"#),
            ("foo or on(bar) group_right(baz) bar", #"1:1: parse error: no grouping allowed for "or" operation"#),
            (#"http_requests{group="production"} + on(instance) group_left(job,instance) cpu_count{type="smp"}"#,
             #"1:35: parse error: label "instance" must not occur in ON and GROUP clause at once"#),
            ("foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"),
            ("foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"),
            ("foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
            ("foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"),
            ("{", "1:2: parse error: unexpected end of input inside braces"),
            ("}", "1:1: parse error: unexpected character: '}'"),
            ("some}", "1:5: parse error: unexpected character: '}'"),
            ("some_metric{a=b}", #"1:15: parse error: unexpected identifier "b" in label matching, expected string"#),
            (#"some_metric{a:b="b"}"#, "1:14: parse error: unexpected character inside braces: ':'"),
            (#"foo{a*"b"}"#, "1:6: parse error: unexpected character inside braces: '*'"),
            ("some_metric{a=\"\u{FFFD}\"}", "1:15: parse error: invalid UTF-8 rune"),
            ("foo{gibberish}", #"1:14: parse error: unexpected "}" in label matching, expected label matching operator"#),
            ("foo{1}", "1:5: parse error: unexpected character inside braces: '1'"),
            ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
            (#"{x=~".*"}"#, "1:1: parse error: vector selector must contain at least one non-empty matcher"),
            (#"{x!="a"}"#, "1:1: parse error: vector selector must contain at least one non-empty matcher"),
            (#"foo{__name__="bar"}"#, #"1:1: parse error: metric name must not be set twice: "foo" or "bar""#),
            ("foo{__name__= =}", #"1:15: parse error: unexpected "=" in label matching, expected string"#),
            ("foo{,}", #"1:5: parse error: unexpected "," in label matching, expected identifier or "}""#),
            (#"foo{__name__="bar" lol}"#, #"1:20: parse error: unexpected identifier "lol" in label matching, expected "," or "}""#),
            (#"foo{"a"=}"#, #"1:9: parse error: unexpected "}" in label matching, expected string"#),
            ("foo[5mm]", #"1:5: parse error: bad number or duration syntax: "5mm""#),
            ("foo[5m1]", #"1:5: parse error: bad number or duration syntax: "5m1""#),
            ("foo[5m:1m1]", #"1:8: parse error: bad number or duration syntax: "1m1""#),
            ("foo[5y1hs]", #"1:5: parse error: unknown unit "hs" in duration "5y1hs""#),
            ("foo[5m1h]", #"1:5: parse error: not a valid duration string: "5m1h""#),
            ("foo[0m]", "1:5: parse error: duration must be greater than 0"),
            ("foo[]", #"1:5: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()"#),
            ("foo[-1]", "1:5: parse error: duration must be greater than 0"),
            ("some_metric[5m] OFFSET 1mm", #"1:24: parse error: bad number or duration syntax: "1mm""#),
            ("some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected number, duration, step(), or range()"),
            ("some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"),
            ("some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"),
            ("some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"),
            ("some_metric @ end()[5m]", "1:20: parse error: no @ modifiers allowed before range"),
            ("(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"),
            (#"sum by ("foo)(some_metric{})"#, "1:9: parse error: unterminated quoted string"),
            ("sum without(==)(some_metric)", "1:13: parse error: unexpected <op:==> in grouping opts, expected label"),
            ("sum without(,)(some_metric)", #"1:13: parse error: unexpected "," in grouping opts, expected label"#),
            ("sum without(foo,,)(some_metric)", #"1:17: parse error: unexpected "," in grouping opts, expected label"#),
            ("sum some_metric by (test)", #"1:5: parse error: unexpected identifier "some_metric""#),
            ("sum (some_metric) by test", #"1:22: parse error: unexpected identifier "test" in grouping opts, expected "(""#),
            ("sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"),
            ("MIN keep_common (some_metric)", #"1:5: parse error: unexpected identifier "keep_common""#),
            ("sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"),
            ("topk(some_metric)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
            ("topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"),
            ("topk(some_metric, other_metric)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"),
            ("count_values(5, other_metric)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
            ("rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
            ("floor()", #"1:1: parse error: expected 1 argument(s) in call to "floor", got 0"#),
            ("floor(some_metric, 1)", #"1:1: parse error: expected 1 argument(s) in call to "floor", got 2"#),
            ("floor(1)", #"1:7: parse error: expected type instant vector in call to function "floor", got scalar"#),
            ("hour(some_metric, some_metric, some_metric)", #"1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3"#),
            ("time(some_metric)", #"1:1: parse error: expected 0 argument(s) in call to "time", got 1"#),
            ("non_existent_function_far_bar()", #"1:1: parse error: unknown function with name "non_existent_function_far_bar""#),
            ("rate(some_metric)", #"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#),
            ("-=", #"1:2: parse error: unexpected "=""#),
            ("++-++-+-+-<", "1:11: parse error: unexpected <op:<>"),
            ("e-+=/(0)", #"1:4: parse error: unexpected "=""#),
            ("a>b()", #"1:3: parse error: unknown function with name "b""#),
            ("rate(avg)", #"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#),
            ("`\\``", "1:4: parse error: unterminated raw string"),
            (#""\"#, "1:1: parse error: escape sequence not terminated"),
            (#""\c""#, "1:1: parse error: unknown escape sequence U+0063 'c'"),
            (#""\x.""#, "1:1: parse error: illegal character U+002E '.' in escape sequence"),
            (#"foo{bar="baz"}["#, "1:16: parse error: unexpected end of input in duration expression"),
            ("test[5d] OFFSET 10s [10m:5s]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
            (#"(foo + bar{nm="val"})[5m:][10m:5s]"#, "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
            ("rate(food[1m])[1h] offset 1h", "1:15: parse error: ranges only allowed for vector selectors"),
            (#"info(rate(http_request_counter_total{}[5m]), target_info{foo="bar"})"#, "1:46: parse error: expected label selectors only, got vector selector instead"),
            (#"info(http_request_counter_total{namespace="zzz"}, {foo="bar"} == 1)"#, "1:51: parse error: expected label selectors only"),
            ("foo[step]", #"1:9: parse error: unexpected "]" in subquery or range selector, expected number, duration, step(), or range()"#),
            ("foo offset 9.5e10", "1:12: parse error: duration out of range"),
            ("foo[9.5e10]", "1:5: parse error: duration out of range"),
            ("sum(", "1:5: parse error: unclosed left parenthesis"),
            ("sum(rate(", "1:10: parse error: unclosed left parenthesis"),
            ("foo[5s x 5s]", "1:8: parse error: unexpected character: 'x', expected ':'"),
            ("foo[5s s 5s]", "1:8: parse error: unexpected character: 's', expected ':'"),
            ("foo\n+ bool 1", "2:1: parse error: bool modifier can only be used on comparison operators"),
            (#"foo{a=~"(b"}"#, "1:5: parse error: error parsing regexp: missing closing ): `(b`"),
        ]
        for (q, want) in cases { assertError(q, want) }
        // A subquery is a range vector, so rate() over one is fine.
        XCTAssertNotNil(parse("rate(x[5m:])"))
    }

    // MARK: Conformance sweep

    private static let experimentalFiles: Set<String> = [
        "native_histograms.test", "start_timestamps.test", "extended_vectors.test", "fill-modifier.test",
        "duration_expression.test", "info.test", "limit.test", "type_and_unit.test",
    ]

    /// One `eval` command of a promqltest script.
    private struct EvalCommand {
        var line: Int
        var expr: String
        /// `eval_fail` or an `expect fail` line: the query may legitimately not parse.
        var mayFail: Bool
    }

    private static func evalCommands(in text: String) -> [EvalCommand] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out: [EvalCommand] = []
        for (i, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("eval") else { continue }
            var words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            let command = words.removeFirst()
            let skip: Int
            switch words.first {
            case "instant": skip = 3 // instant at <time>
            case "range": skip = 7 // range from <s> to <e> step <d>
            default: continue
            }
            // Drop the prefix words while keeping the expression's own spacing.
            var rest = Substring(line.dropFirst(command.count))
            for _ in 0..<skip {
                rest = rest.drop { $0 == " " || $0 == "\t" }
                rest = rest.drop { $0 != " " && $0 != "\t" }
            }
            let expr = rest.trimmingCharacters(in: .whitespaces)
            var mayFail = command == "eval_fail"
            var j = i + 1
            while j < lines.count {
                let l = lines[j].trimmingCharacters(in: .whitespaces)
                if l.isEmpty || l.hasPrefix("eval") || l.hasPrefix("load") || l == "clear" { break }
                if l.hasPrefix("expect fail") || l.hasPrefix("expected_fail") { mayFail = true }
                j += 1
            }
            out.append(EvalCommand(line: i + 1, expr: expr, mayFail: mayFail))
        }
        return out
    }

    func testConformanceSweepParsesEveryCoreExpression() throws {
        // <repo>/Tests/MetricsStoreTests/this.swift → <repo>/../shared/conformance/promql
        let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance/promql")
        let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".test") }.sorted()
        guard let files, !files.isEmpty else {
            return XCTFail("PromQL conformance scripts not found at \(dir.path) (expected shared/ beside the repository root)")
        }
        var totalParsed = 0, totalFailed = 0
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            let core = !Self.experimentalFiles.contains(file)
            var parsed = 0
            var failures: [String] = []
            for cmd in Self.evalCommands(in: text) {
                do {
                    _ = try experimental.parse(cmd.expr)
                    parsed += 1
                } catch {
                    failures.append("  \(file):\(cmd.line)\(cmd.mayFail ? " (expected to fail)" : ""): \(cmd.expr)\n    → \(error)")
                    if core && !cmd.mayFail {
                        XCTFail("\(file):\(cmd.line): core expression does not parse: \(cmd.expr): \(error)")
                    }
                }
            }
            totalParsed += parsed
            totalFailed += failures.count
            print("PromQL conformance \(file) [\(core ? "core" : "experimental")]: parsed \(parsed), failed \(failures.count)")
            for f in failures { print(f) }
        }
        print("PromQL conformance total: parsed \(totalParsed), failed \(totalFailed)")
    }
}
