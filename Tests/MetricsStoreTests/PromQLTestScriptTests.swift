import Foundation
import XCTest
@testable import MetricsStore

final class PromQLTestScriptTests: XCTestCase {
    // MARK: Helpers

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> PromQLTestScript {
        do { return try PromQLTestScriptParser.parse(text) } catch {
            XCTFail("unexpected error: \(error)", file: file, line: line)
            throw error
        }
    }

    private func loadedSeries(_ text: String) throws -> (interval: Int64, series: [PromQLTestSeries], nhcb: Bool) {
        let script = try parse(text)
        guard case .load(let interval, let series, let nhcb)? = script.commands.first else {
            XCTFail("no load command"); return (0, [], false)
        }
        return (interval, series, nhcb)
    }

    private func onlyEval(_ text: String) throws -> PromQLTestEval {
        let script = try parse(text)
        guard script.commands.count == 1, case .eval(let eval) = script.commands[0] else {
            XCTFail("expected a single eval, got \(script.commands)")
            throw PromQLTestScriptError(line: 0, message: "no eval")
        }
        return eval
    }

    private func values(_ series: PromQLTestSeries) -> [Double?] { series.samples.map(\.value) }

    // MARK: load and points

    func testExpandsIncrementingNotation() throws {
        let load = try loadedSeries("load 1m\n  m 1+2x3\n")
        XCTAssertEqual(load.interval, 60_000)
        XCTAssertEqual(values(load.series[0]), [1, 3, 5, 7])
        XCTAssertEqual(load.series[0].samples.map(\.timestamp), [0, 60_000, 120_000, 180_000])
    }

    func testExpandsDecrementingAndNegativeNotation() throws {
        let load = try loadedSeries("load 5m\n  m 10-2x2 -1-1x2 -1+1x1 1e3x1\n")
        XCTAssertEqual(values(load.series[0]), [10, 8, 6, -1, -2, -3, -1, 0, 1000, 1000])
    }

    func testRepeatedValueIsNPlusOnePointsAndZeroXIsNotHex() throws {
        let load = try loadedSeries("load 1m\n  m 5x2 0x3\n")
        XCTAssertEqual(values(load.series[0]), [5, 5, 5, 0, 0, 0, 0])
    }

    func testMissingPointsKeepTheirSteps() throws {
        let load = try loadedSeries("load 10s\n  m 1 _ _x2 2\n")
        XCTAssertEqual(values(load.series[0]), [1, nil, nil, nil, 2])
        XCTAssertEqual(load.series[0].samples.last?.timestamp, 40_000)
        XCTAssertTrue(load.series[0].samples[1].isMissing)
    }

    func testStaleIsTheStaleNaNBitPattern() throws {
        let load = try loadedSeries("load 1m\n  m 1 stale NaN\n")
        let samples = load.series[0].samples
        XCTAssertEqual(samples[1].value?.bitPattern, 0x7ff0_0000_0000_0002)
        XCTAssertTrue(samples[1].isStale)
        XCTAssertTrue(samples[2].value!.isNaN)
        XCTAssertFalse(samples[2].isStale)
    }

    func testSpecialFloatsAndLeadingDot() throws {
        let load = try loadedSeries("load 1m\n  m Inf -Inf +Inf inf .8\n")
        XCTAssertEqual(values(load.series[0]), [.infinity, -.infinity, .infinity, .infinity, 0.8])
    }

    func testReadsLabelSetsWithEscapesAndBraces() throws {
        let load = try loadedSeries("""
        load 1m
          http_requests{job="api", instance="0"} 1
          {__name__="x", a="va{l}, \\"q\\""} 2
          {"utf8.metric", "a b"='v',} 3
        """)
        XCTAssertEqual(load.series[0].labels, Labels(["__name__": "http_requests", "job": "api", "instance": "0"]))
        XCTAssertEqual(load.series[1].labels, Labels(["__name__": "x", "a": "va{l}, \"q\""]))
        XCTAssertEqual(load.series[2].labels, Labels(["__name__": "utf8.metric", "a b": "v"]))
        XCTAssertEqual(load.series[2].line, 4)
    }

    func testRejectsNonEqualityMatchersInSeriesLines() {
        XCTAssertThrowsError(try PromQLTestScriptParser.parse("load 1m\n  m{a=~\"x\"} 1\n"))
    }

    func testLoadWithNHCBAndHistogramLiteralsAreRecorded() throws {
        let script = try parse("load_with_nhcb 5m\n  h {{schema:0 sum:1 count:1 buckets:[1]}} {{schema:0 sum:1 count:1}}x2 _\n")
        guard case .load(_, let series, let nhcb) = script.commands[0] else { return XCTFail() }
        XCTAssertTrue(nhcb)
        XCTAssertEqual(series[0].samples.count, 5)
        XCTAssertEqual(series[0].samples[0].histogram, "{{schema:0 sum:1 count:1 buckets:[1]}}")
        XCTAssertTrue(series[0].samples[4].isMissing)
        XCTAssertEqual(script.unsupported, [PromQLTestUnsupported(construct: .nativeHistogramLiteral, line: 2)])
    }

    func testStartTimestampLinesAreSkippedAsUnsupported() throws {
        let script = try parse("load 1m\n  m@st _ -30s-1mx2\n  m 1 2\n")
        guard case .load(_, let series, _) = script.commands[0] else { return XCTFail() }
        XCTAssertEqual(series.count, 1)
        XCTAssertEqual(script.unsupported.map(\.construct), [.startTimestampLine])
    }

    // MARK: durations and layout

    func testDurations() throws {
        for (text, ms) in [("0", Int64(0)), ("10s", 10_000), ("5m", 300_000), ("1h", 3_600_000), ("1m30s", 90_000), ("10s53ms", 10_053), ("100", 100_000)] {
            XCTAssertEqual(try PromQLTestScriptParser.duration(Substring(text), line: 1), ms, text)
        }
        XCTAssertThrowsError(try PromQLTestScriptParser.duration("5q", line: 1))
    }

    func testCommentsAndBlankLinesAndClear() throws {
        let script = try parse("""
        # header
        load 1m
          a 1

        clear
        load 1m
          b 1
        # a comment ends a block, as a blank line does
        eval instant at 1m a
          {} 1
        # another
        eval instant at 1m b
        """)
        XCTAssertEqual(script.commands.count, 5)
        guard case .clear = script.commands[1], case .eval(let last) = script.commands[4] else { return XCTFail() }
        XCTAssertEqual(last.line, 12)
    }

    func testIgnoreAndResumeSkipCommands() throws {
        let script = try parse("ignore\n\neval instant at 0 1\n  1\n\nresume\n\nclear\n")
        XCTAssertEqual(script.commands.count, 1)
    }

    func testUnknownCommandIsAnErrorWithItsLine() {
        XCTAssertThrowsError(try PromQLTestScriptParser.parse("\nfrobnicate 1\n")) { error in
            XCTAssertEqual((error as? PromQLTestScriptError)?.line, 2)
        }
    }

    // MARK: eval

    func testInstantEvalWithSeriesResults() throws {
        let eval = try onlyEval("eval instant at 50m sum by (job) (http_requests)\n  {job=\"api\"} 300\n  {job=\"db\"}  stale\n")
        XCTAssertEqual(eval.expression, "sum by (job) (http_requests)")
        XCTAssertEqual(eval.line, 1)
        XCTAssertEqual(eval.timing, .instant(at: 3_000_000))
        guard case .series(let series) = eval.expected else { return XCTFail() }
        XCTAssertEqual(series.map(\.labels), [Labels(["job": "api"]), Labels(["job": "db"])])
        XCTAssertEqual(series[0].samples, [PromQLTestSample(timestamp: 3_000_000, value: 300)])
        XCTAssertTrue(series[1].samples[0].isStale)
    }

    func testInstantEvalWithoutResultsExpectsEmpty() throws {
        XCTAssertEqual(try onlyEval("eval instant at 0 nothing").expected, .series([]))
    }

    func testInstantResultTakesOneValue() {
        XCTAssertThrowsError(try PromQLTestScriptParser.parse("eval instant at 0 m\n  {} 1 2\n"))
    }

    func testScalarAndStringResults() throws {
        XCTAssertEqual(try onlyEval("eval instant at 50m 1 / 0\n\t+Inf\n").expected, .scalar(.infinity))
        XCTAssertEqual(try onlyEval("eval instant at 50m -0.2e-6\n\t-0.0000002\n").expected, .scalar(-0.0000002))
        XCTAssertEqual(try onlyEval("eval instant at 50m (\"Foo\")\n\texpect string `Foo`\n").expected, .string("Foo"))
        XCTAssertEqual(try onlyEval("eval instant at 50m \" Foo \"\n  expect string \" Foo \"\n").expected, .string(" Foo "))
    }

    func testRangeEvalExpandsOverSteps() throws {
        let eval = try onlyEval("eval range from 0 to 2m step 1m rate(x[1m])\n  {a=\"b\"} 1+1x2\n  {a=\"c\"} _ 5 _\n")
        XCTAssertEqual(eval.timing, .range(PromQLTestRange(start: 0, end: 120_000, step: 60_000)))
        XCTAssertEqual(eval.expression, "rate(x[1m])")
        guard case .series(let series) = eval.expected else { return XCTFail() }
        XCTAssertEqual(series[0].samples.map(\.timestamp), [0, 60_000, 120_000])
        XCTAssertEqual(values(series[0]), [1, 2, 3])
        XCTAssertEqual(values(series[1]), [nil, 5, nil])
    }

    func testExpectRangeVector() throws {
        let eval = try onlyEval("eval instant at 1m m[1m]\n  expect range vector from 10s to 30s step 10s\n  m{} 1 2 3\n")
        XCTAssertEqual(eval.rangeVector, PromQLTestRange(start: 10_000, end: 30_000, step: 10_000))
        guard case .series(let series) = eval.expected else { return XCTFail() }
        XCTAssertEqual(series[0].samples.map(\.timestamp), [10_000, 20_000, 30_000])
    }

    func testExpectLines() throws {
        let eval = try onlyEval("""
        eval instant at 0 foo
          expect fail msg: vector cannot contain metrics with the same labelset
          expect warn regex: PromQL warning: .*
          expect info
          expect ordered
        """)
        XCTAssertEqual(eval.expectations.fail, .exact("vector cannot contain metrics with the same labelset"))
        XCTAssertEqual(eval.expectations.warnings, [.regex("PromQL warning: .*")])
        XCTAssertEqual(eval.expectations.infos, [.any])
        XCTAssertTrue(eval.expectations.ordered)

        let quiet = try onlyEval("eval range from 0 to 1m step 30s foo\n  expect no_warn\n  expect no_info\n")
        XCTAssertTrue(quiet.expectations.noWarnings)
        XCTAssertTrue(quiet.expectations.noInfos)
        XCTAssertNil(quiet.expectations.fail)
    }

    func testRejectsUnknownAndContradictoryExpectations() {
        XCTAssertThrowsError(try PromQLTestScriptParser.parse("eval instant at 0 foo\n  expect maybe\n"))
        XCTAssertThrowsError(try PromQLTestScriptParser.parse("eval instant at 0 foo\n  expect warn\n  expect no_warn\n"))
        XCTAssertThrowsError(try PromQLTestScriptParser.parse("eval range from 0 to 1m step 1m foo\n  expect ordered\n"))
    }

    func testDeprecatedEvalModifiers() throws {
        XCTAssertEqual(try onlyEval("eval_fail instant at 0 -{job=\"api\"}").expectations.fail, .any)
        XCTAssertEqual(try onlyEval("eval_warn instant at 0 x").expectations.warnings, [.any])
        XCTAssertEqual(try onlyEval("eval_info range from 0 to 1m step 1m x").expectations.infos, [.any])
        XCTAssertTrue(try onlyEval("eval_ordered instant at 0 sort(x)").expectations.ordered)
        let legacy = try onlyEval("eval_fail instant at 0 x\n  expected_fail_regexp bad.*thing\n")
        XCTAssertEqual(legacy.expectations.fail, .regex("bad.*thing"))
    }

    func testEvalTimesMayBeAnyDurationForm() throws {
        XCTAssertEqual(try onlyEval("eval instant at 1m30s x").timing, .instant(at: 90_000))
        XCTAssertEqual(try onlyEval("eval instant at 20s500ms x").timing, .instant(at: 20_500))
        XCTAssertEqual(try onlyEval("eval range from 0s to 9s step 3s m @ start()").expression, "m @ start()")
    }

    // MARK: upstream conformance scripts

    /// Files the shared README lists as experimental or native-histogram heavy; all others are core.
    private static let nonCore: Set<String> = [
        "duration_expression.test", "extended_vectors.test", "fill-modifier.test", "info.test", "limit.test",
        "native_histograms.test", "start_timestamps.test", "type_and_unit.test",
    ]

    func testSweepParsesEveryUpstreamScript() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.deletingLastPathComponent().appendingPathComponent("shared/conformance/promql")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter { $0.hasSuffix(".test") }.sorted() ?? []
        guard !names.isEmpty else {
            return XCTFail("no .test files in \(folder.path): the shared conformance folder is missing")
        }
        var totals = (load: 0, eval: 0, clear: 0, errors: 0)
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            let (script, errors) = PromQLTestScriptParser.parseCollectingErrors(text)
            var counts = (load: 0, eval: 0, clear: 0)
            for command in script.commands {
                switch command {
                case .load: counts.load += 1
                case .eval: counts.eval += 1
                case .clear: counts.clear += 1
                }
            }
            var unsupported: [PromQLTestUnsupported.Construct: Int] = [:]
            for u in script.unsupported { unsupported[u.construct, default: 0] += 1 }
            let unsupportedText = unsupported.isEmpty ? "none"
                : unsupported.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue): \($0.value) lines" }.joined(separator: ", ")
            let core = !Self.nonCore.contains(name)
            print("[promql-script] \(name)\(core ? "" : " (experimental)"): load \(counts.load), eval \(counts.eval), clear \(counts.clear), errors \(errors.count); unsupported: \(unsupportedText)")
            for error in errors { print("[promql-script]   \(name) \(error)") }
            if core {
                XCTAssertTrue(errors.isEmpty, "\(name): \(errors.map(\.description))")
            }
            totals.load += counts.load; totals.eval += counts.eval; totals.clear += counts.clear; totals.errors += errors.count
        }
        print("[promql-script] total: \(names.count) files, load \(totals.load), eval \(totals.eval), clear \(totals.clear), errors \(totals.errors)")
    }
}
