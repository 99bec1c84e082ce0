/// Parses scrape response bodies in the Prometheus text format 0.0.4 and in OpenMetrics
/// 1.0 text into samples and per-family metadata.
///
/// Follows Prometheus 3's `model/textparse` (`promparse.go`, `openmetricsparse.go`) rule
/// for rule, including the quoted UTF-8 names of Prometheus 3
/// (`{"my.metric","a.b"="x"}`); the deliberate differences are listed on
/// `parsePrometheusText` and `parseOpenMetrics`. The first malformed line fails the
/// whole body, as it fails the whole scrape in Prometheus.
///
/// Keep one parser per scrape target and reuse it: it caches the strings it made, so
/// after the first scrape the names and label values that repeat cost no allocation.
/// Works on the body's UTF-8 bytes; not thread-safe (a value type, use one per task).
public struct ExpositionParser: Sendable {
    var interner = StringInterner()
    var labels = ScrapedLabelsBuilder()
    var exemplarLabels = ScrapedLabelsBuilder()
    /// Scratch for strings with backslash escapes.
    var unescaped: [UInt8] = []

    // State of the body being parsed.
    var samples: [ScrapedSample] = []
    var metadata: [ScrapedMetadata] = []
    var metadataIndex: [UTF8Key: Int] = [:]
    /// The type named by the last `# TYPE` line. Like Prometheus, the `le`/`quantile`
    /// rewrite uses it for every following sample, whatever that sample's family.
    var currentType: MetricType = .unknown

    public init() {}

    /// Parses a body in the format its Content-Type names (see
    /// `ExpositionFormat.negotiate`).
    public mutating func parse(
        _ body: [UInt8],
        contentType: String?,
        fallback: ExpositionFormat? = nil
    ) throws(ExpositionParseError) -> ParsedExposition {
        let format = try ExpositionFormat.negotiate(contentType: contentType, fallback: fallback)
        return try parse(body, format: format)
    }

    public mutating func parse(_ body: [UInt8], format: ExpositionFormat) throws(ExpositionParseError) -> ParsedExposition {
        try body.withUnsafeBufferPointer { (bytes) throws(ExpositionParseError) in
            try parse(bytes, format: format)
        }
    }

    /// Parses bytes the caller keeps alive for the duration of the call (a NIO
    /// `ByteBuffer`'s readable bytes, a memory-mapped file).
    public mutating func parse(
        _ body: UnsafeBufferPointer<UInt8>,
        format: ExpositionFormat
    ) throws(ExpositionParseError) -> ParsedExposition {
        startBody(byteCount: body.count)
        defer { endBody() }
        guard body.count > 0 else {
            if format == .openMetrics {
                throw ExpositionParseError(line: 1, kind: .missingEOF, message: "data does not end with # EOF")
            }
            return ParsedExposition()
        }
        var scanner = ExpositionScanner(body)
        switch format {
        case .prometheusText: try parsePrometheusText(&scanner)
        case .openMetrics: try parseOpenMetrics(&scanner)
        }
        return ParsedExposition(samples: samples, metadata: metadata)
    }

    private mutating func startBody(byteCount: Int) {
        samples = []
        // node_exporter averages some 70 bytes a sample line; a reserve on the high side
        // of that saves the array's regrowth copies.
        samples.reserveCapacity(byteCount / 64)
        metadata = []
        metadataIndex.removeAll(keepingCapacity: true)
        currentType = .unknown
        labels.reset()
        exemplarLabels.reset()
    }

    private mutating func endBody() {
        samples = []
        metadata = []
        metadataIndex.removeAll(keepingCapacity: true)
    }

    // MARK: Metadata

    mutating func recordMetadata(family: String, _ update: (inout ScrapedMetadata) -> Void) {
        // A family's HELP and TYPE lines are usually adjacent: skip the dictionary then.
        if let last = metadata.indices.last, UTF8Bytes.equal(metadata[last].family, family) {
            update(&metadata[last])
            return
        }
        let key = UTF8Key(family)
        if let index = metadataIndex[key] {
            update(&metadata[index])
            return
        }
        var entry = ScrapedMetadata(family: family)
        update(&entry)
        metadataIndex[key] = metadata.count
        metadata.append(entry)
    }

    // MARK: Strings

    /// The String for a name or label value in the body: unescaped (`\\`, `\"`, `\n`;
    /// any other backslash pair is kept as written, as in Prometheus), nil if not UTF-8.
    mutating func string(
        _ scanner: ExpositionScanner,
        _ range: Range<Int>,
        escaped: Bool,
        unescapingQuotes: Bool = true
    ) -> String? {
        let bytes = scanner.slice(range)
        guard escaped else { return interner.string(bytes) }
        unescaped.removeAll(keepingCapacity: true)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                let next = bytes[index + 1]
                switch next {
                case UInt8(ascii: "\\"):
                    unescaped.append(next)
                    index += 2
                    continue
                case UInt8(ascii: "n"):
                    unescaped.append(UInt8(ascii: "\n"))
                    index += 2
                    continue
                case UInt8(ascii: "\"") where unescapingQuotes:
                    unescaped.append(next)
                    index += 2
                    continue
                default:
                    break
                }
            }
            unescaped.append(byte)
            index += 1
        }
        return String(validating: unescaped, as: UTF8.self)
    }
}
