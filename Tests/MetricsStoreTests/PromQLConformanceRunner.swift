import Foundation
@testable import MetricsStore

/// Runs Prometheus's PromQL test scripts (`promql/promqltest` language) against
/// `PromQLEngine`, comparing results as upstream's runner does: floats within a relative
/// 1e-6 (`almost.Equal`), sets unless `expect ordered`, exact or regex error texts, and the
/// presence or absence of warnings and infos.
///
/// Every case runs. A failing case is skipped (with its reason) only when it needs native
/// histograms: results written with `{{…}}`, or queries that may read a series with
/// native-histogram samples (including the custom-bucket histograms `load_with_nhcb`
/// derives from classic `_bucket` series), which this engine does not store.
struct PromQLConformanceRunner {
    struct Case: CustomStringConvertible {
        var line: Int
        var expression: String
        var detail: String
        var description: String { "line \(line): \(expression) — \(detail)" }
    }

    struct Outcome {
        var file: String
        var passed = 0
        var failed: [Case] = []
        var skipped: [Case] = []
        var scriptErrors: [String] = []
    }

    static let engineOptions = PromQLEngineOptions(lookbackDelta: 300_000, timeout: .seconds(100),
                                                   defaultSubqueryStep: 60_000, experimentalFunctions: true)

    /// Files upstream runs only with experimental features enabled, or that are about
    /// native histograms; their failures are reported but do not fail the suite.
    static let experimentalFiles: Set<String> = [
        "duration_expression.test", "extended_vectors.test", "fill-modifier.test", "info.test", "limit.test",
        "native_histograms.test", "start_timestamps.test", "type_and_unit.test",
    ]

    static func run(_ url: URL) async throws -> Outcome {
        let text = try String(contentsOf: url, encoding: .utf8)
        var outcome = Outcome(file: url.lastPathComponent)
        let (script, errors) = PromQLTestScriptParser.parseCollectingErrors(text)
        outcome.scriptErrors = errors.map(\.description)
        var storage = PromQLMemoryStorage()
        var histogramNames: Set<String> = []
        for command in script.commands {
            switch command {
            case .clear:
                storage.removeAll()
                histogramNames.removeAll()
            case .load(_, let series, let nativeHistograms):
                for s in series {
                    let name = s.labels[Labels.metricName] ?? ""
                    if s.samples.contains(where: { $0.histogram != nil }) { histogramNames.insert(name) }
                    if nativeHistograms, name.hasSuffix("_bucket") { histogramNames.insert(String(name.dropLast(7))) }
                    let floats = s.samples.compactMap { sample in sample.value.map { Head.Sample(sample.timestamp, $0) } }
                    if !floats.isEmpty { storage.append(s.labels, floats) }
                }
            case .eval(let eval):
                let engine = PromQLEngine(storage: storage, options: engineOptions)
                let failure = await check(eval, engine)
                if failure == nil {
                    outcome.passed += 1
                } else if let reason = skipReason(eval, histogramNames: histogramNames) {
                    // Only cases that involve native histograms may be skipped, and only when they fail.
                    outcome.skipped.append(Case(line: eval.line, expression: eval.expression, detail: reason))
                } else {
                    outcome.failed.append(Case(line: eval.line, expression: eval.expression, detail: failure!))
                }
            }
        }
        return outcome
    }

    // MARK: Skips

    static func skipReason(_ eval: PromQLTestEval, histogramNames: Set<String>) -> String? {
        if case .series(let series) = eval.expected, series.contains(where: { $0.samples.contains { $0.histogram != nil } }) {
            return "native histogram in the expected result"
        }
        let names = identifiers(in: eval.expression)
        if let name = names.first(where: { histogramNames.contains($0) }) {
            return "reads native histogram series \(name)"
        }
        // `{__name__="…"}` and other selectors without a metric name may reach them too.
        if let name = quotedStrings(in: eval.expression).first(where: { histogramNames.contains($0) }) {
            return "reads native histogram series \(name)"
        }
        if !histogramNames.isEmpty, hasNamelessSelector(eval.expression) {
            return "selector without a metric name may match native histogram series (\(histogramNames.sorted().joined(separator: ", ")))"
        }
        return nil
    }

    /// Whether a `{` opens a selector not preceded by a metric name.
    static func hasNamelessSelector(_ expression: String) -> Bool {
        var previous: Character = " "
        for c in expression {
            if c == "{" && !(previous.isLetter || previous.isNumber || previous == "_" || previous == ":") { return true }
            if !c.isWhitespace { previous = c }
        }
        return false
    }

    static func identifiers(in expression: String) -> Set<String> {
        var out: Set<String> = []
        var current = ""
        var inString: Character?
        for c in expression {
            if let quote = inString {
                if c == quote { inString = nil }
                continue
            }
            if c == "\"" || c == "'" || c == "`" {
                inString = c
                if !current.isEmpty { out.insert(current); current = "" }
                continue
            }
            if c.isLetter || c.isNumber || c == "_" || c == ":" {
                current.append(c)
            } else {
                if !current.isEmpty { out.insert(current); current = "" }
            }
        }
        if !current.isEmpty { out.insert(current) }
        return out
    }

    static func quotedStrings(in expression: String) -> [String] {
        expression.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    // MARK: Checking one eval

    /// nil when the eval passes, otherwise what went wrong.
    static func check(_ eval: PromQLTestEval, _ engine: PromQLEngine) async -> String? {
        guard case .instant(let at) = eval.timing else {
            return await checkOnce(eval, engine, run: { () async throws(PromQLError) -> PromQLQueryResult in
                guard case .range(let r) = eval.timing else { throw .execution("not a range eval") }
                return try await engine.rangeQuery(eval.expression, start: r.start, end: r.end, step: r.step)
            })
        }
        let parsed: PromQLExpr
        do {
            parsed = try engine.parse(eval.expression)
        } catch {
            guard let expected = eval.expectations.fail else { return "unexpected error: \(error)" }
            return matches(expected, error.description) ? nil : "error \"\(error.description)\" does not match \(expected)"
        }
        // Upstream also runs the query with `@` pinned selectors and in range mode.
        for (index, (expr, time)) in instantVariants(parsed, at: at).enumerated() {
            let label = index == 0 ? "" : "with @ at \(time): "
            if let problem = await checkOnce(eval, engine, run: { () async throws(PromQLError) -> PromQLQueryResult in
                try await engine.instantQuery(expr, at: time)
            }) {
                return label + problem
            }
            if eval.expectations.fail != nil || eval.expectations.ordered || eval.rangeVector != nil { continue }
            if case .string = eval.expected { continue }
            if eval.expression.contains(try! Regex("(start|end|range|step)\\(\\)")) { continue }
            if let problem = await checkRangeMode(eval, expr, at: time, engine) { return label + problem }
        }
        return nil
    }

    private static func checkOnce(_ eval: PromQLTestEval, _ engine: PromQLEngine,
                                  run: () async throws(PromQLError) -> PromQLQueryResult) async -> String? {
        let result: PromQLQueryResult
        do {
            result = try await run()
        } catch {
            guard let expected = eval.expectations.fail else { return "unexpected error: \(error)" }
            return matches(expected, error.description) ? nil : "error \"\(error.description)\" does not match \(expected)"
        }
        if let fail = eval.expectations.fail { return "expected failure (\(fail)), got \(result.value)" }
        if let problem = checkAnnotations(eval.expectations, result) { return problem }
        return compare(eval, result.value)
    }

    static func matches(_ match: PromQLTestMessageMatch, _ text: String) -> Bool {
        switch match {
        case .any: return true
        case .exact(let s): return s == text
        case .regex(let pattern):
            guard let regex = try? Regex(pattern) else { return false }
            return text.contains(regex)
        }
    }

    static func checkAnnotations(_ e: PromQLTestExpectations, _ result: PromQLQueryResult) -> String? {
        for w in e.warnings where !result.warnings.contains(where: { matches(w, $0) }) {
            return "expected warning \(w), got \(result.warnings)"
        }
        for i in e.infos where !result.infos.contains(where: { matches(i, $0) }) {
            return "expected info \(i), got \(result.infos)"
        }
        if e.noWarnings && !result.warnings.isEmpty { return "expected no warnings, got \(result.warnings)" }
        if e.noInfos && !result.infos.isEmpty { return "expected no infos, got \(result.infos)" }
        return nil
    }

    static func equal(_ a: Double, _ b: Double) -> Bool { PromQLAlmostEqual.equal(a, b, epsilon: 1e-6) }

    static func compare(_ eval: PromQLTestEval, _ value: PromQLValue) -> String? {
        switch (eval.expected, value) {
        case (.string(let expected), .string(_, let actual)):
            return expected == actual ? nil : "expected string \"\(expected)\", got \"\(actual)\""
        case (.scalar(let expected), .scalar(_, let actual)):
            return equal(expected, actual) ? nil : "expected scalar \(expected), got \(actual)"
        case (.series(let expected), .vector(let actual)):
            return compareVector(expected, actual, ordered: eval.expectations.ordered)
        case (.series(let expected), .matrix(let actual)):
            if case .instant = eval.timing, eval.rangeVector == nil, !actual.isEmpty {
                return "expected an instant vector, got a range vector"
            }
            return compareMatrix(expected, actual)
        case (.series(let expected), .scalar(_, let actual)) where expected.isEmpty:
            return "expected empty vector, got scalar \(actual)"
        default:
            return "expected \(eval.expected), got \(value)"
        }
    }

    static func compareVector(_ expected: [PromQLTestSeries], _ actual: [PromQLSample], ordered: Bool) -> String? {
        guard expected.count == actual.count else {
            return "expected \(expected.count) samples, got \(actual.count): \(actual.map { "\($0.labels) \($0.value)" })"
        }
        for (i, sample) in actual.enumerated() {
            guard let index = expected.firstIndex(where: { $0.labels == sample.labels }) else {
                return "unexpected series \(sample.labels) \(sample.value)"
            }
            if ordered && index != i { return "series \(sample.labels) at position \(i), expected at \(index)" }
            let want = expected[index].samples.first?.value ?? .nan
            if !equal(want, sample.value) { return "series \(sample.labels): expected \(want), got \(sample.value)" }
        }
        return nil
    }

    static func compareMatrix(_ expected: [PromQLTestSeries], _ actual: [PromQLSeries]) -> String? {
        let wanted = expected.map { s in (s.labels, s.samples.filter { $0.value != nil }) }.filter { !$0.1.isEmpty }
        guard wanted.count == actual.count else {
            return "expected \(wanted.count) series, got \(actual.count): \(actual.map { "\($0.labels) \($0.points.map { "\($0.timestamp):\($0.value)" })" })"
        }
        for series in actual {
            guard let (_, samples) = wanted.first(where: { $0.0 == series.labels }) else {
                return "unexpected series \(series.labels) \(series.points.map { "\($0.timestamp):\($0.value)" })"
            }
            guard samples.count == series.points.count,
                  zip(samples, series.points).allSatisfy({ $0.timestamp == $1.timestamp && equal($0.value!, $1.value) }) else {
                return "series \(series.labels): expected \(samples.map { "\($0.timestamp):\($0.value!)" }), got \(series.points.map { "\($0.timestamp):\($0.value)" })"
            }
        }
        return nil
    }
}
