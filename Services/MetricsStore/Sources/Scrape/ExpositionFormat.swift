/// The text formats a scrape body can be in, and the choice between them from the
/// response's Content-Type, following Prometheus 3's `textparse.New`.
public enum ExpositionFormat: Sendable, Equatable {
    /// `text/plain; version=0.0.4`: the classic Prometheus text format.
    case prometheusText
    /// `application/openmetrics-text; version=1.0.0`: OpenMetrics 1.0 text.
    case openMetrics

    /// The format named by a Content-Type header value. Parameters (`version`, `charset`,
    /// `escaping`) are ignored, as in Prometheus. A blank, unparsable or unknown type is an
    /// error unless a fallback is configured (Prometheus's `fallback_scrape_protocol`).
    /// The protobuf format (`application/vnd.google.protobuf`) is not supported here.
    /// Errors have line 0 and kind `unsupportedContentType`; the messages are Prometheus's.
    public static func negotiate(
        contentType: String?,
        fallback: ExpositionFormat? = nil
    ) throws(ExpositionParseError) -> ExpositionFormat {
        let trimmed = contentType.map(trimSpaces) ?? ""
        if trimmed.isEmpty {
            guard let fallback else {
                throw ExpositionParseError(
                    line: 0, kind: .unsupportedContentType,
                    message: "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
                )
            }
            return fallback
        }
        let mediaType = trimSpaces(String(trimmed.prefix { $0 != ";" })).lowercased()
        switch mediaType {
        case "text/plain": return .prometheusText
        case "application/openmetrics-text": return .openMetrics
        default:
            guard let fallback else {
                throw ExpositionParseError(
                    line: 0, kind: .unsupportedContentType,
                    message: "received unsupported Content-Type \(GoQuote.quote(trimmed)) and no fallback_scrape_protocol specified for target"
                )
            }
            return fallback
        }
    }

    private static func trimSpaces(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
