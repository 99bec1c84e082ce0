/// Why a scrape body is malformed. Parsing stops at the first error and the whole scrape
/// fails, as in Prometheus.
///
/// `message` follows the wording of Prometheus's `textparse` errors ("expected value after
/// metric, got ... while parsing: ...") so that operators can search for it; `line` is
/// 1-based and counts every line of the body, blank ones included; it is 0 for an error
/// about the response as a whole (its Content-Type).
public struct ExpositionParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A token other than the one the grammar needs ("expected X, got Y").
        case unexpectedToken
        case invalidMetricName
        case invalidLabelName
        /// A quoted label value (or quoted name) that runs to the end of its line.
        case unterminatedQuotedString
        case invalidValue
        case invalidTimestamp
        case invalidUTF8
        case invalidMetricType
        case duplicateLabelName
        /// OpenMetrics: a `# UNIT` that is not a suffix of its family name.
        case unitMismatch
        /// OpenMetrics: the body does not end with `# EOF`.
        case missingEOF
        /// OpenMetrics: something follows `# EOF`.
        case dataAfterEOF
        /// The Content-Type names no format we parse (line 0).
        case unsupportedContentType
    }

    public let line: Int
    public let kind: Kind
    public let message: String

    public init(line: Int, kind: Kind, message: String) {
        self.line = line
        self.kind = kind
        self.message = message
    }

    public var description: String { line == 0 ? message : "line \(line): \(message)" }
}
