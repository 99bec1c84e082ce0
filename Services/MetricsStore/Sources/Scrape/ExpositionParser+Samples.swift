/// The parts of a sample line both formats share: the metric name, the label set, value
/// parsing and assembly of the `ScrapedSample`. The formats differ in whitespace: the
/// Prometheus text format allows blanks (spaces, tabs) around every token and between
/// label pairs without a comma; OpenMetrics allows exactly one space between the parts
/// of a line and none inside a label set.
extension ExpositionParser {
    static let metricNameLabel = "__name__"

    /// Reads `name{labels}` or `{"name",labels}` and leaves the name and labels in
    /// `labels`; the cursor ends after the name or the closing brace.
    mutating func parseSeries(_ scanner: inout ExpositionScanner, openMetrics: Bool) throws(ExpositionParseError) {
        var hasName = false
        guard let first = scanner.current else {
            throw scanner.unexpected("expected a valid start token")
        }
        if ExpositionScanner.isMetricNameStart(first) {
            let nameStart = scanner.position
            let range = scanner.scanMetricName()
            if let next = scanner.current, next != UInt8(ascii: " "), next != UInt8(ascii: "\t"), next != UInt8(ascii: "{") {
                scanner.position = nameStart
                throw invalidMetricName(scanner)
            }
            guard let name = interner.string(scanner.slice(range)) else { throw invalidMetricName(scanner) }
            labels.append(name: Self.metricNameLabel, value: name)
            hasName = true
            if !openMetrics { scanner.skipBlanks() }
        } else if first != UInt8(ascii: "{") {
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                throw scanner.unexpected("expected a valid start token")
            }
            throw invalidMetricName(scanner)
        }
        if scanner.isAt(UInt8(ascii: "{")) {
            try parseLabelSet(&scanner, openMetrics: openMetrics, forExemplar: false, hasName: &hasName)
        }
        guard hasName else {
            throw scanner.error(
                .invalidMetricName,
                "metric name not set while parsing: \(scanner.quotedLine(upTo: scanner.lineEnd))"
            )
        }
    }

    private func invalidMetricName(_ scanner: ExpositionScanner) -> ExpositionParseError {
        var end = scanner.position
        while end < scanner.lineEnd {
            let byte = scanner.bytes[end]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "{") { break }
            end += 1
        }
        return scanner.error(
            .invalidMetricName,
            "invalid metric name \(scanner.quote(scanner.position..<end)) while parsing: \(scanner.quotedLine(upTo: end))"
        )
    }

    /// `{name="value",...}` with the cursor on the brace. A quoted string standing alone
    /// (`{"my.metric",...}`) is the metric name (not allowed in exemplars). Trailing
    /// commas are accepted in both formats, as Prometheus does.
    mutating func parseLabelSet(
        _ scanner: inout ExpositionScanner,
        openMetrics: Bool,
        forExemplar: Bool,
        hasName: inout Bool
    ) throws(ExpositionParseError) {
        scanner.position += 1
        while true {
            if !openMetrics { scanner.skipBlanks() }
            guard let first = scanner.current else { throw scanner.unexpected("expected label name") }
            if first == UInt8(ascii: "}") {
                scanner.position += 1
                return
            }
            let (nameRange, nameEscaped, quoted) = try scanLabelName(&scanner, first: first)
            if !openMetrics { scanner.skipBlanks() }
            if quoted, scanner.isAt(UInt8(ascii: ",")) || scanner.isAt(UInt8(ascii: "}")) {
                guard !forExemplar else { throw scanner.unexpected("expected equal") }
                try takeQuotedMetricName(scanner, nameRange, escaped: nameEscaped, hasName: &hasName)
                if scanner.isAt(UInt8(ascii: ",")) { scanner.position += 1 }
                continue
            }
            guard scanner.isAt(UInt8(ascii: "=")) else { throw scanner.unexpected("expected equal") }
            scanner.position += 1
            if !openMetrics { scanner.skipBlanks() }
            guard scanner.isAt(UInt8(ascii: "\"")) else { throw scanner.unexpected("expected label value") }
            let (valueRange, valueEscaped) = try scanner.scanQuoted()
            try appendLabel(scanner, nameRange, nameEscaped, valueRange, valueEscaped, forExemplar: forExemplar)
            if !openMetrics {
                scanner.skipBlanks()
                if scanner.isAt(UInt8(ascii: ",")) { scanner.position += 1 }
                continue
            }
            if scanner.isAt(UInt8(ascii: ",")) {
                scanner.position += 1
            } else if !scanner.isAt(UInt8(ascii: "}")) {
                throw scanner.unexpected("expected comma or brace close")
            }
        }
    }

    private func scanLabelName(
        _ scanner: inout ExpositionScanner,
        first: UInt8
    ) throws(ExpositionParseError) -> (Range<Int>, escaped: Bool, quoted: Bool) {
        if first == UInt8(ascii: "\"") {
            let (range, escaped) = try scanner.scanQuoted()
            return (range, escaped, true)
        }
        guard ExpositionScanner.isLabelNameStart(first) else {
            let kind: ExpositionParseError.Kind = Self.endsLabelName(first) ? .unexpectedToken : .invalidLabelName
            throw scanner.unexpected("expected label name", kind: kind)
        }
        let range = scanner.scanLabelName()
        switch scanner.current {
        case nil, UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "}"):
            return (range, false, false)
        default:
            var end = scanner.position
            while end < scanner.lineEnd, !Self.endsLabelName(scanner.bytes[end]) { end += 1 }
            throw scanner.error(
                .invalidLabelName,
                "invalid label name \(scanner.quote(range.lowerBound..<end)) while parsing: \(scanner.quotedLine(upTo: end))"
            )
        }
    }

    private static func endsLabelName(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "\""):
            return true
        default:
            return false
        }
    }

    private mutating func takeQuotedMetricName(
        _ scanner: ExpositionScanner,
        _ range: Range<Int>,
        escaped: Bool,
        hasName: inout Bool
    ) throws(ExpositionParseError) {
        guard !hasName else {
            throw scanner.error(
                .invalidMetricName,
                "metric name already set while parsing: \(scanner.quotedLine(upTo: scanner.position))"
            )
        }
        guard let name = string(scanner, range, escaped: escaped) else {
            throw scanner.error(.invalidUTF8, "invalid UTF-8 metric name: \(scanner.quote(range))")
        }
        guard !name.isEmpty else {
            throw scanner.error(.invalidMetricName, "metric name is empty while parsing: \(scanner.quotedLine(upTo: scanner.position))")
        }
        labels.append(name: Self.metricNameLabel, value: name)
        hasName = true
    }

    private mutating func appendLabel(
        _ scanner: ExpositionScanner,
        _ nameRange: Range<Int>,
        _ nameEscaped: Bool,
        _ valueRange: Range<Int>,
        _ valueEscaped: Bool,
        forExemplar: Bool
    ) throws(ExpositionParseError) {
        guard let name = string(scanner, nameRange, escaped: nameEscaped) else {
            throw scanner.error(.invalidUTF8, "invalid UTF-8 label name: \(scanner.quote(nameRange))")
        }
        guard !name.isEmpty else {
            throw scanner.error(.invalidLabelName, "label name is empty while parsing: \(scanner.quotedLine(upTo: scanner.position))")
        }
        guard let value = string(scanner, valueRange, escaped: valueEscaped) else {
            throw scanner.error(.invalidUTF8, "invalid UTF-8 label value: \(scanner.quote(valueRange))")
        }
        if forExemplar {
            exemplarLabels.append(name: name, value: value)
        } else if (currentType == .histogram && name == "le") || (currentType == .summary && name == "quantile") {
            // Prometheus 3 rewrites these into OpenMetrics float form (`1` -> `1.0`), so
            // that series keep their identity whichever form a client library writes.
            labels.appendNormalizingFloat(name: name, value: value, raw: scanner.slice(valueRange))
        } else {
            labels.append(name: name, value: value)
        }
    }

    // MARK: Values

    /// The sample value in `range`.
    func parseValue(_ scanner: ExpositionScanner, _ range: Range<Int>) throws(ExpositionParseError) -> Double {
        switch ExpositionNumber.parseFloat(scanner.slice(range)) {
        case .value(let value):
            return value
        case .invalidSyntax:
            throw scanner.error(
                .invalidValue,
                "cannot parse \(scanner.quote(range)) as a float value while parsing: \(scanner.quotedLine(upTo: range.upperBound))"
            )
        case .outOfRange:
            throw scanner.error(
                .invalidValue,
                "value \(scanner.quote(range)) is out of the float64 range while parsing: \(scanner.quotedLine(upTo: range.upperBound))"
            )
        }
    }

    /// Finishes the sample whose name and labels `parseSeries` collected.
    mutating func appendSample(
        _ scanner: ExpositionScanner,
        value: Double,
        timestamp: Int64?,
        exemplar: ScrapedExemplar?
    ) throws(ExpositionParseError) {
        switch labels.build() {
        case .success(let built):
            samples.append(ScrapedSample(labels: built, timestamp: timestamp, value: value, exemplar: exemplar))
        case .failure(let duplicate):
            throw duplicateLabel(scanner, duplicate.name)
        }
    }

    func duplicateLabel(_ scanner: ExpositionScanner, _ name: String) -> ExpositionParseError {
        scanner.error(
            .duplicateLabelName,
            "label name \(GoQuote.quote(name)) is not unique while parsing: \(scanner.quotedLine(upTo: scanner.lineEnd))"
        )
    }
}
