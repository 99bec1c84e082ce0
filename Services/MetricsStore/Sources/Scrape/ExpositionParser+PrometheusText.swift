/// The Prometheus text format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format).
///
/// Differences from Prometheus's `promparse.go`, all stricter, none met in practice:
/// - a raw newline inside a quoted label value is an error (the spec requires `\n`;
///   Prometheus's lexer lets it through);
/// - a metric name must be followed by a blank or `{` (Prometheus reads `a-1 5` as the
///   metric `a` with value -1 at timestamp 5);
/// - on `# HELP`/`# TYPE` lines the family name must be followed by a blank.
extension ExpositionParser {
    mutating func parsePrometheusText(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) {
        while scanner.nextLine() {
            scanner.skipBlanks()
            guard let first = scanner.current else { continue }  // blank line
            if first == UInt8(ascii: "#") {
                try parsePrometheusComment(&scanner)
            } else {
                try parsePrometheusSample(&scanner)
            }
        }
    }

    /// `name{labels} value [timestamp]`, blanks allowed between the parts. The timestamp
    /// is integer milliseconds without a sign.
    private mutating func parsePrometheusSample(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) {
        try parseSeries(&scanner, openMetrics: false)
        scanner.skipBlanks()
        let valueRange = scanner.scanToken(stoppingAtBrace: true, stoppingAtTab: true)
        guard !valueRange.isEmpty else { throw scanner.unexpected("expected value after metric") }
        let value = try parseValue(scanner, valueRange)
        scanner.skipBlanks()
        var timestamp: Int64?
        if let byte = scanner.current {
            guard byte &- UInt8(ascii: "0") < 10 else { throw scanner.unexpected("expected timestamp or new record") }
            let start = scanner.position
            while let digit = scanner.current, digit &- UInt8(ascii: "0") < 10 { scanner.position += 1 }
            let range = start..<scanner.position
            guard let milliseconds = ExpositionNumber.parseMilliseconds(scanner.slice(range)) else {
                throw scanner.error(
                    .invalidTimestamp,
                    "timestamp \(scanner.quote(range)) is out of the int64 range while parsing: \(scanner.quotedLine(upTo: range.upperBound))"
                )
            }
            timestamp = milliseconds
            scanner.skipBlanks()
            guard scanner.atLineEnd else { throw scanner.unexpected("expected next entry after timestamp") }
        }
        try appendSample(scanner, value: value, timestamp: timestamp, exemplar: nil)
    }

    /// `# HELP name text`, `# TYPE name type`; any other comment is skipped. As in
    /// Prometheus, `#` and the keyword may be separated by any blanks, `#HELP` is a plain
    /// comment, and exactly one blank separates the name from the text.
    private mutating func parsePrometheusComment(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) {
        scanner.position += 1
        guard scanner.skipBlanks() > 0 else { return }
        let isHelp: Bool
        if scanner.hasPrefix("HELP") {
            isHelp = true
        } else if scanner.hasPrefix("TYPE") {
            isHelp = false
        } else {
            return
        }
        scanner.position += 4
        guard scanner.skipBlanks() > 0 else {
            // `# HELPER ...` or `# HELP` alone: a comment.
            return
        }
        let keyword = isHelp ? "HELP" : "TYPE"
        let family = try parseFamilyName(&scanner, after: keyword)
        let textStart = scanner.atLineEnd ? scanner.lineEnd : scanner.position + 1
        let textRange = textStart..<scanner.lineEnd
        if isHelp {
            let escaped = scanner.slice(textRange).contains(UInt8(ascii: "\\"))
            // The text format escapes only `\\` and `\n` in help text; `\"` stays as written.
            guard let help = string(scanner, textRange, escaped: escaped, unescapingQuotes: false) else {
                throw scanner.error(.invalidUTF8, "help text \(scanner.quote(textRange)) is not a valid utf8 string")
            }
            recordMetadata(family: family) { $0.help = help }
            return
        }
        let type: MetricType
        switch String(decoding: scanner.slice(textRange), as: UTF8.self) {
        case "counter": type = .counter
        case "gauge": type = .gauge
        case "histogram": type = .histogram
        case "summary": type = .summary
        case "untyped": type = .unknown
        case let other:
            throw scanner.error(.invalidMetricType, "invalid metric type \(GoQuote.quote(other))")
        }
        currentType = type
        recordMetadata(family: family) { $0.type = type }
    }

    /// The family name of a metadata line, legacy or quoted, followed by a blank or the end
    /// of the line; the cursor ends on that blank.
    mutating func parseFamilyName(
        _ scanner: inout ExpositionScanner,
        after keyword: String,
        separator: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    ) throws(ExpositionParseError) -> String {
        let start = scanner.position
        let range: Range<Int>
        var escaped = false
        if scanner.isAt(UInt8(ascii: "\"")) {
            (range, escaped) = try scanner.scanQuoted()
        } else {
            range = scanner.scanMetricName()
            guard !range.isEmpty else { throw scanner.unexpected("expected metric name after \(keyword)") }
        }
        if let next = scanner.current, !separator(next) {
            scanner.position = start
            var end = start
            while end < scanner.lineEnd, !separator(scanner.bytes[end]) { end += 1 }
            throw scanner.error(
                .invalidMetricName,
                "invalid metric name \(scanner.quote(start..<end)) after \(keyword) while parsing: \(scanner.quotedLine(upTo: end))"
            )
        }
        guard let family = string(scanner, range, escaped: escaped) else {
            throw scanner.error(.invalidUTF8, "invalid UTF-8 metric name: \(scanner.quote(range))")
        }
        return family
    }
}
