/// Parses the PromQL test-script language (Prometheus `promql/promqltest`, README.md there)
/// into a `PromQLTestScript`.
///
/// Layout rules, as upstream: a command starts a block and the block runs to the next blank
/// line (a `#` comment line counts as blank, so it ends a block too), except that `clear`,
/// `ignore` and `resume` are one line each;
/// indentation is not significant. Commands between `ignore` and `resume` are skipped.
/// Query expressions are kept as text: evaluating (and so parsing) them is the runner's job.
public enum PromQLTestScriptParser {
    /// Parses a whole script, stopping at the first error.
    public static func parse(_ text: String) throws(PromQLTestScriptError) -> PromQLTestScript {
        let (script, errors) = parseCollectingErrors(text)
        if let first = errors.first { throw first }
        return script
    }

    /// Parses a whole script, skipping each block that has an error and reporting them all.
    public static func parseCollectingErrors(_ text: String) -> (script: PromQLTestScript, errors: [PromQLTestScriptError]) {
        var script = PromQLTestScript()
        var errors: [PromQLTestScriptError] = []
        var ignoring = false
        for block in blocks(text) {
            do {
                let keyword = block[0].text.prefix { !$0.isWhitespace }
                switch keyword {
                case "ignore": ignoring = true; continue
                case "resume": ignoring = false; continue
                default: break
                }
                var unsupported: [PromQLTestUnsupported] = []
                let command = try parseCommand(block, unsupported: &unsupported)
                if ignoring { continue }
                script.commands.append(command)
                script.unsupported.append(contentsOf: unsupported)
            } catch {
                errors.append(error)
            }
        }
        return (script, errors)
    }

    /// A trimmed, non-comment line with its 1-based number.
    struct Line {
        var number: Int
        var text: Substring
    }

    /// Groups lines into blocks separated by blank or comment lines.
    static func blocks(_ text: String) -> [[Line]] {
        var blocks: [[Line]] = []
        var current: [Line] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let trimmed = trim(raw)
            // A comment line counts as blank, as upstream blanks them before parsing: an
            // `eval` may follow a comment that follows the previous block's last line.
            if trimmed.isEmpty || trimmed.hasPrefix("#") {
                if !current.isEmpty { blocks.append(current); current = [] }
                continue
            }
            current.append(Line(number: number, text: trimmed))
            // Single-line commands take no lines, so the next command may follow directly
            // (upstream files have `clear` immediately followed by `load`).
            if current.count == 1, singleLineCommands.contains(trimmed.prefix { !$0.isWhitespace }) {
                blocks.append(current)
                current = []
            }
        }
        if !current.isEmpty { blocks.append(current) }
        return blocks
    }

    private static let singleLineCommands: Set<Substring> = ["clear", "ignore", "resume"]

    static func trim(_ s: Substring) -> Substring {
        guard let first = s.firstIndex(where: { !$0.isWhitespace }),
              let last = s.lastIndex(where: { !$0.isWhitespace }) else { return s[s.endIndex...] }
        return s[first...last]
    }

    private static func parseCommand(_ block: [Line], unsupported: inout [PromQLTestUnsupported]) throws(PromQLTestScriptError) -> PromQLTestCommand {
        let head = block[0]
        var words = PromQLTestWords(head.text, line: head.number)
        let keyword = words.next() ?? ""
        switch keyword {
        case "clear":
            guard words.rest.isEmpty, block.count == 1 else {
                throw PromQLTestScriptError(line: head.number, message: "\"clear\" takes no arguments or lines")
            }
            return .clear
        case "load", "load_with_nhcb":
            return try parseLoad(block, nativeHistograms: keyword == "load_with_nhcb", words: &words, unsupported: &unsupported)
        case "eval", "eval_fail", "eval_warn", "eval_info", "eval_ordered":
            return .eval(try PromQLTestEvalParser.parse(block, keyword: String(keyword), words: &words, unsupported: &unsupported))
        default:
            throw PromQLTestScriptError(line: head.number, message: "unknown command \"\(keyword)\"")
        }
    }

    private static func parseLoad(_ block: [Line], nativeHistograms: Bool, words: inout PromQLTestWords,
                                  unsupported: inout [PromQLTestUnsupported]) throws(PromQLTestScriptError) -> PromQLTestCommand {
        let head = block[0]
        guard let intervalText = words.next(), words.rest.isEmpty else {
            throw PromQLTestScriptError(line: head.number, message: "expected \"load <interval>\", got \"\(head.text)\"")
        }
        let interval = try duration(intervalText, line: head.number)
        var series: [PromQLTestSeries] = []
        for line in block.dropFirst() {
            let (labels, startTimestamps, rest) = try PromQLTestSeriesDescription.readLabels(line.text, line: line.number)
            if startTimestamps {
                unsupported.append(PromQLTestUnsupported(construct: .startTimestampLine, line: line.number))
                continue
            }
            let points = try PromQLTestSeriesDescription.expand(rest, line: line.number)
            let samples = samples(points, start: 0, step: interval, line: line.number, unsupported: &unsupported)
            series.append(PromQLTestSeries(labels: labels, samples: samples, line: line.number))
        }
        return .load(interval: interval, series: series, nativeHistograms: nativeHistograms)
    }

    /// Assigns timestamps `start + i*step`, recording histogram literals as unsupported.
    static func samples(_ points: [PromQLTestSeriesDescription.Point], start: Int64, step: Int64, line: Int,
                        unsupported: inout [PromQLTestUnsupported]) -> [PromQLTestSample] {
        var out: [PromQLTestSample] = []
        out.reserveCapacity(points.count)
        var sawHistogram = false
        for (i, point) in points.enumerated() {
            let t = start + Int64(i) * step
            switch point {
            case .float(let v): out.append(PromQLTestSample(timestamp: t, value: v))
            case .histogram(let text):
                out.append(PromQLTestSample(timestamp: t, value: nil, histogram: text))
                sawHistogram = true
            }
        }
        if sawHistogram { unsupported.append(PromQLTestUnsupported(construct: .nativeHistogramLiteral, line: line)) }
        return out
    }

    /// A script time or interval: a PromQL duration (`5m`, `1h30m`, `0`), or a bare number
    /// of seconds (`100`, `1.5`). A leading `-` negates.
    static func duration(_ text: Substring, line: Int) throws(PromQLTestScriptError) -> Int64 {
        if text.hasPrefix("-") { return -(try duration(text.dropFirst(), line: line)) }
        if case .success(let ms) = PromQLLiterals.durationMilliseconds(String(text)) { return ms }
        if let seconds = Double(text), seconds.isFinite, abs(seconds) < 9e12 { return Int64((seconds * 1000).rounded()) }
        throw PromQLTestScriptError(line: line, message: "invalid duration \"\(text)\"")
    }
}

/// A cursor over the whitespace-separated words of a command line that can hand back
/// the untouched remainder (a query keeps its own spacing).
struct PromQLTestWords {
    private(set) var rest: Substring
    let line: Int

    init(_ text: Substring, line: Int) {
        self.rest = text.drop { $0.isWhitespace }
        self.line = line
    }

    mutating func next() -> Substring? {
        guard !rest.isEmpty else { return nil }
        let word = rest.prefix { !$0.isWhitespace }
        rest = rest.dropFirst(word.count).drop { $0.isWhitespace }
        return word
    }

    mutating func expect(_ keyword: String, in context: Substring) throws(PromQLTestScriptError) {
        guard next() == Substring(keyword) else {
            throw PromQLTestScriptError(line: line, message: "expected \"\(keyword)\" in \"\(context)\"")
        }
    }
}
