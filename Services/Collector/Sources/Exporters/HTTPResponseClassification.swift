import AsyncHTTPClient
import NIOHTTP1

/// Which HTTP answers are worth retrying (after Retry-After when given); the rest are
/// permanent failures.
enum HTTPResponseClassification {
    /// OTLP/HTTP (spec, "Failures"): 429, 502, 503 and 504.
    case otlp
    /// Remote write 1.0: any 5xx, and 429.
    case remoteWrite

    func isRetryable(_ code: UInt) -> Bool {
        switch self {
        case .otlp: return [429, 502, 503, 504].contains(code)
        case .remoteWrite: return code == 429 || (500..<600).contains(code)
        }
    }

    func error(status: HTTPResponseStatus, headers: HTTPHeaders, body: String, endpoint: String) -> ExportError {
        let message = "\(endpoint) answered \(status.code)\(body.isEmpty ? "" : ": " + body.prefix(300))"
        return isRetryable(status.code) ? .retryable(message, retryAfter: Self.retryAfter(headers)) : .permanent(message)
    }

    /// Retry-After as delay-seconds (the HTTP-date form is rare from these backends).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After"), let seconds = Int(value.trimmingCharacters(in: .whitespaces)) else { return nil }
        return .seconds(seconds)
    }
}
