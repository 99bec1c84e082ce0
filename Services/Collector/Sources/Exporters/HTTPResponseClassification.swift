import AsyncHTTPClient
import NIOHTTP1

/// otelcol's rule for HTTP backends: 429, 502, 503 and 504 are worth retrying (after
/// Retry-After when given); other 4xx and 5xx are permanent.
enum HTTPResponseClassification {
    static func error(status: HTTPResponseStatus, headers: HTTPHeaders, body: String, endpoint: String) -> ExportError {
        let message = "\(endpoint) answered \(status.code)\(body.isEmpty ? "" : ": " + body.prefix(300))"
        switch status.code {
        case 429, 502, 503, 504:
            return .retryable(message, retryAfter: retryAfter(headers))
        default:
            return .permanent(message)
        }
    }

    /// Retry-After as delay-seconds (the HTTP-date form is rare from these backends).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After"), let seconds = Int(value.trimmingCharacters(in: .whitespaces)) else { return nil }
        return .seconds(seconds)
    }
}
