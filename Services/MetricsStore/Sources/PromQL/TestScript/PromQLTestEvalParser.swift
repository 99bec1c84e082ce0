/// Parses one `eval` block: the command line, its `expect` lines and its expected results.
enum PromQLTestEvalParser {
    typealias Line = PromQLTestScriptParser.Line

    static func parse(_ block: [Line], keyword: String, words: inout PromQLTestWords,
                      unsupported: inout [PromQLTestUnsupported]) throws(PromQLTestScriptError) -> PromQLTestEval {
        let head = block[0]
        var expectations = PromQLTestExpectations()
        // Deprecated `eval_<modifier>` forms (README: use `expect` lines instead).
        switch keyword {
        case "eval_fail": expectations.fail = .any
        case "eval_warn": expectations.warnings.append(.any)
        case "eval_info": expectations.infos.append(.any)
        case "eval_ordered": expectations.ordered = true
        default: break
        }
        let timing: PromQLTestEval.Timing
        switch words.next() {
        case "instant":
            try words.expect("at", in: head.text)
            guard let at = words.next() else { throw missingQuery(head) }
            timing = .instant(at: try PromQLTestScriptParser.duration(at, line: head.number))
        case "range":
            timing = .range(try readRange(&words, head: head))
        default:
            throw PromQLTestScriptError(line: head.number, message: "expected \"instant\" or \"range\" in \"\(head.text)\"")
        }
        guard !words.rest.isEmpty else { throw missingQuery(head) }
        if case .range = timing, expectations.ordered {
            throw PromQLTestScriptError(line: head.number, message: "\"eval_ordered\" is only for instant queries")
        }

        var eval = PromQLTestEval(expression: String(words.rest), line: head.number, timing: timing, expectations: expectations)
        var series: [PromQLTestSeries] = []
        var scalar: Double?
        var string: String?
        for line in block.dropFirst() {
            if try readExpectation(line, into: &eval) { continue }
            if line.text.hasPrefix("expect string") {
                var rest = PromQLTestScriptParser.trim(line.text.dropFirst("expect string".count))
                string = try PromQLTestSeriesDescription.readQuoted(&rest, line: line.number)
                guard rest.isEmpty else { throw PromQLTestScriptError(line: line.number, message: "unexpected text after string: \"\(rest)\"") }
                continue
            }
            if let value = PromQLTestSeriesDescription.number(line.text) {
                guard scalar == nil else { throw PromQLTestScriptError(line: line.number, message: "more than one scalar result") }
                scalar = value
                continue
            }
            series.append(try readResultSeries(line, eval: eval, unsupported: &unsupported))
        }
        let kinds = [!series.isEmpty, scalar != nil, string != nil].filter { $0 }.count
        guard kinds <= 1 else {
            throw PromQLTestScriptError(line: head.number, message: "expected results mix series, scalar and string")
        }
        if let scalar { eval.expected = .scalar(scalar) } else if let string { eval.expected = .string(string) } else { eval.expected = .series(series) }
        return eval
    }

    /// `from <t> to <t> step <d>`.
    private static func readRange(_ words: inout PromQLTestWords, head: Line) throws(PromQLTestScriptError) -> PromQLTestRange {
        try words.expect("from", in: head.text)
        guard let start = words.next() else { throw missingQuery(head) }
        try words.expect("to", in: head.text)
        guard let end = words.next() else { throw missingQuery(head) }
        try words.expect("step", in: head.text)
        guard let step = words.next() else { throw missingQuery(head) }
        let range = PromQLTestRange(start: try PromQLTestScriptParser.duration(start, line: head.number),
                                    end: try PromQLTestScriptParser.duration(end, line: head.number),
                                    step: try PromQLTestScriptParser.duration(step, line: head.number))
        guard range.step > 0, range.end >= range.start else {
            throw PromQLTestScriptError(line: head.number, message: "invalid range from \(start) to \(end) step \(step)")
        }
        return range
    }

    /// Applies an `expect …` / `expected_fail_*` line; false when the line is not one
    /// (`expect string` is left to the caller).
    private static func readExpectation(_ line: Line, into eval: inout PromQLTestEval) throws(PromQLTestScriptError) -> Bool {
        var words = PromQLTestWords(line.text, line: line.number)
        switch words.next() {
        case "expected_fail_message":
            eval.expectations.fail = .exact(String(words.rest))
            return true
        case "expected_fail_regexp":
            eval.expectations.fail = .regex(String(words.rest))
            return true
        case "expect":
            break
        default:
            return false
        }
        let type = words.next() ?? ""
        switch type {
        case "fail": eval.expectations.fail = try readMessage(words.rest, line: line)
        case "warn": eval.expectations.warnings.append(try readMessage(words.rest, line: line))
        case "info": eval.expectations.infos.append(try readMessage(words.rest, line: line))
        case "no_warn", "no_info", "ordered":
            guard words.rest.isEmpty else {
                throw PromQLTestScriptError(line: line.number, message: "\"expect \(type)\" takes no argument")
            }
            if type == "no_warn" { eval.expectations.noWarnings = true }
            if type == "no_info" { eval.expectations.noInfos = true }
            if type == "ordered" {
                guard case .instant = eval.timing else {
                    throw PromQLTestScriptError(line: line.number, message: "\"expect ordered\" is only for instant queries")
                }
                eval.expectations.ordered = true
            }
        case "range":
            try words.expect("vector", in: line.text)
            eval.rangeVector = try readRange(&words, head: line)
            guard words.rest.isEmpty else {
                throw PromQLTestScriptError(line: line.number, message: "unexpected text \"\(words.rest)\" after expect range vector")
            }
        case "string":
            return false
        default:
            throw PromQLTestScriptError(line: line.number, message: "unknown expectation \"expect \(type)\"")
        }
        if eval.expectations.warnings.count > 0 && eval.expectations.noWarnings
            || eval.expectations.infos.count > 0 && eval.expectations.noInfos {
            throw PromQLTestScriptError(line: line.number, message: "contradictory expectations (warn/info with no_warn/no_info)")
        }
        return true
    }

    /// Empty, `msg: <text>` or `regex: <text>`.
    private static func readMessage(_ rest: Substring, line: Line) throws(PromQLTestScriptError) -> PromQLTestMessageMatch {
        if rest.isEmpty { return .any }
        for (form, make) in [("msg:", PromQLTestMessageMatch.exact), ("regex:", PromQLTestMessageMatch.regex)] where rest.hasPrefix(form) {
            let text = PromQLTestScriptParser.trim(rest.dropFirst(form.count))
            guard !text.isEmpty else { throw PromQLTestScriptError(line: line.number, message: "empty \(form) in \"\(line.text)\"") }
            return make(String(text))
        }
        throw PromQLTestScriptError(line: line.number, message: "expected \"msg:\" or \"regex:\" in \"\(line.text)\"")
    }

    /// `{labels} <points>`: one point at the instant time, or points over the range.
    private static func readResultSeries(_ line: Line, eval: PromQLTestEval,
                                         unsupported: inout [PromQLTestUnsupported]) throws(PromQLTestScriptError) -> PromQLTestSeries {
        let (labels, startTimestamps, rest) = try PromQLTestSeriesDescription.readLabels(line.text, line: line.number)
        guard !startTimestamps else {
            throw PromQLTestScriptError(line: line.number, message: "\"@st\" is only allowed in load commands")
        }
        let points = try PromQLTestSeriesDescription.expand(rest, line: line.number)
        let start: Int64, step: Int64
        if let range = eval.rangeVector {
            (start, step) = (range.start, range.step)
        } else {
            switch eval.timing {
            case .instant(let at):
                guard points.count == 1 else {
                    throw PromQLTestScriptError(line: line.number, message: "an instant result takes exactly one value, got \(points.count) in \"\(line.text)\"")
                }
                (start, step) = (at, 0)
            case .range(let range):
                (start, step) = (range.start, range.step)
            }
        }
        let samples = PromQLTestScriptParser.samples(points, start: start, step: step, line: line.number, unsupported: &unsupported)
        return PromQLTestSeries(labels: labels, samples: samples, line: line.number)
    }

    private static func missingQuery(_ head: Line) -> PromQLTestScriptError {
        PromQLTestScriptError(line: head.number, message: "incomplete eval command \"\(head.text)\"")
    }
}
