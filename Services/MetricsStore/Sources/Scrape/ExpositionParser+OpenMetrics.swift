/// OpenMetrics 1.0 text (https://github.com/prometheus/OpenMetrics/blob/v1.0.0/specification/OpenMetrics.md).
///
/// As in Prometheus's `openmetricsparse.go`: single spaces only, no blank lines, no
/// comments other than `# HELP`, `# TYPE`, `# UNIT`, and a final `# EOF` (optionally
/// followed by one newline) that nothing may follow. Timestamps are float seconds.
/// `_created` samples are returned like any other sample.
///
/// Not checked here, as Prometheus does not check them either: that metadata precedes its
/// samples, that counter samples end in `_total`, the 128-character limit on exemplar
/// label sets, which sample types may carry exemplars.
extension ExpositionParser {
    mutating func parseOpenMetrics(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) {
        while scanner.nextLine() {
            if scanner.hasPrefix("# EOF") {
                try checkEndOfBody(scanner)
                return
            }
            guard let first = scanner.current else {
                throw scanner.unexpected("expected a valid start token")  // blank line
            }
            if first == UInt8(ascii: "#") {
                try parseOpenMetricsMetadata(&scanner)
            } else {
                try parseOpenMetricsSample(&scanner)
            }
        }
        throw ExpositionParseError(line: scanner.lineAfterLast, kind: .missingEOF, message: "data does not end with # EOF")
    }

    private func checkEndOfBody(_ scanner: ExpositionScanner) throws(ExpositionParseError) {
        let dataAfterEOF = "unexpected data after # EOF"
        guard scanner.lineEnd - scanner.lineStart == 5 else {
            throw scanner.error(.dataAfterEOF, dataAfterEOF)
        }
        if scanner.lineHasNewline, scanner.lineEnd + 1 < scanner.bytes.count {
            throw ExpositionParseError(line: scanner.lineNumber + 1, kind: .dataAfterEOF, message: dataAfterEOF)
        }
    }

    /// `name{labels} value[ timestamp][ # {exemplar labels} value[ timestamp]]`.
    private mutating func parseOpenMetricsSample(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) {
        try parseSeries(&scanner, openMetrics: true)
        let value = try parseValue(scanner, try spaceSeparatedToken(&scanner, expected: "expected value after metric"))
        var timestamp: Int64?
        var exemplar: ScrapedExemplar?
        if !scanner.atLineEnd, !startsExemplar(scanner) {
            let range = try spaceSeparatedToken(&scanner, expected: "expected timestamp or exemplar")
            timestamp = try parseSecondsTimestamp(scanner, range, what: "timestamp")
        }
        if !scanner.atLineEnd {
            guard startsExemplar(scanner) else {
                throw scanner.unexpected(timestamp == nil ? "expected timestamp or exemplar" : "expected next entry after timestamp")
            }
            exemplar = try parseExemplar(&scanner)
        }
        try appendSample(scanner, value: value, timestamp: timestamp, exemplar: exemplar)
    }

    private func startsExemplar(_ scanner: ExpositionScanner) -> Bool {
        scanner.hasPrefix(" # {")
    }

    /// One space, then the bytes up to the next space or the end of the line.
    private func spaceSeparatedToken(
        _ scanner: inout ExpositionScanner,
        expected: String
    ) throws(ExpositionParseError) -> Range<Int> {
        guard scanner.isAt(UInt8(ascii: " ")) else { throw scanner.unexpected(expected) }
        scanner.position += 1
        let range = scanner.scanToken(stoppingAtBrace: false, stoppingAtTab: false)
        guard !range.isEmpty else {
            scanner.position -= 1
            throw scanner.unexpected(expected)
        }
        return range
    }

    /// ` # {labels} value[ timestamp]` to the end of the line.
    private mutating func parseExemplar(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) -> ScrapedExemplar {
        scanner.position += 3
        var noName = false
        try parseLabelSet(&scanner, openMetrics: true, forExemplar: true, hasName: &noName)
        let value = try parseValue(scanner, try spaceSeparatedToken(&scanner, expected: "expected value after exemplar labels"))
        var timestamp: Int64?
        if !scanner.atLineEnd {
            let range = try spaceSeparatedToken(&scanner, expected: "expected timestamp after exemplar value")
            timestamp = try parseSecondsTimestamp(scanner, range, what: "exemplar timestamp")
            guard scanner.atLineEnd else { throw scanner.unexpected("expected next entry after exemplar timestamp") }
        }
        switch exemplarLabels.build() {
        case .success(let labels):
            return ScrapedExemplar(labels: labels, value: value, timestamp: timestamp)
        case .failure(let duplicate):
            throw duplicateLabel(scanner, duplicate.name)
        }
    }

    private func parseSecondsTimestamp(
        _ scanner: ExpositionScanner,
        _ range: Range<Int>,
        what: String
    ) throws(ExpositionParseError) -> Int64 {
        guard case .value(let seconds) = ExpositionNumber.parseFloat(scanner.slice(range)) else {
            throw scanner.error(
                .invalidTimestamp,
                "cannot parse \(scanner.quote(range)) as a \(what) in seconds while parsing: \(scanner.quotedLine(upTo: range.upperBound))"
            )
        }
        guard let milliseconds = ExpositionNumber.milliseconds(fromSeconds: seconds) else {
            throw scanner.error(.invalidTimestamp, "invalid \(what) \(ExpositionNumber.openMetricsText(seconds))")
        }
        return milliseconds
    }

    /// `# HELP name text`, `# TYPE name type`, `# UNIT name unit`, each keyword between
    /// single spaces. The text may be empty but the space before it is required.
    private mutating func parseOpenMetricsMetadata(_ scanner: inout ExpositionScanner) throws(ExpositionParseError) {
        let keyword: String
        if scanner.hasPrefix("# HELP ") {
            keyword = "HELP"
        } else if scanner.hasPrefix("# TYPE ") {
            keyword = "TYPE"
        } else if scanner.hasPrefix("# UNIT ") {
            keyword = "UNIT"
        } else {
            throw scanner.unexpected("expected a valid start token")
        }
        scanner.position += 7
        let family = try parseFamilyName(&scanner, after: keyword) { $0 == UInt8(ascii: " ") }
        guard !scanner.atLineEnd else { throw scanner.unexpected("expected text in \(keyword)") }
        let textRange = scanner.position + 1..<scanner.lineEnd
        switch keyword {
        case "HELP":
            let escaped = scanner.slice(textRange).contains(UInt8(ascii: "\\"))
            // OpenMetrics escapes help text like label values: `\\`, `\"`, `\n`.
            guard let help = string(scanner, textRange, escaped: escaped) else {
                throw scanner.error(.invalidUTF8, "help text \(scanner.quote(textRange)) is not a valid utf8 string")
            }
            recordMetadata(family: family) { $0.help = help }
        case "TYPE":
            let text = String(decoding: scanner.slice(textRange), as: UTF8.self)
            guard let type = MetricType(rawValue: text) else {
                throw scanner.error(.invalidMetricType, "invalid metric type \(GoQuote.quote(text))")
            }
            currentType = type
            recordMetadata(family: family) { $0.type = type }
        default:
            guard let unit = string(scanner, textRange, escaped: false) else {
                throw scanner.error(.invalidUTF8, "unit \(scanner.quote(textRange)) is not a valid utf8 string")
            }
            // The spec: "the unit MUST be a suffix of the MetricFamily name", after an `_`.
            if !unit.isEmpty {
                try checkUnitSuffix(scanner, unit: unit, family: family)
            }
            recordMetadata(family: family) { $0.unit = unit }
        }
    }

    private func checkUnitSuffix(_ scanner: ExpositionScanner, unit: String, family: String) throws(ExpositionParseError) {
        let familyBytes = Array(family.utf8)
        let unitBytes = Array(unit.utf8)
        let isSuffix = familyBytes.count > unitBytes.count
            && familyBytes.suffix(unitBytes.count).elementsEqual(unitBytes)
            && familyBytes[familyBytes.count - unitBytes.count - 1] == UInt8(ascii: "_")
        guard isSuffix else {
            throw scanner.error(.unitMismatch, "unit \(GoQuote.quote(unit)) not a suffix of metric \(GoQuote.quote(family))")
        }
    }
}
