/// Why a query failed, worded as Prometheus words it; `errorType` is the `errorType`
/// field of the HTTP API's error body.
public enum PromQLError: Error, Sendable, CustomStringConvertible {
    /// The query text does not parse or type-check.
    case parse(PromQLParseError)
    /// Evaluation failed (e.g. many-to-many matching, duplicate output series).
    case execution(String)
    /// More samples than `maxSamples` would be held in memory.
    case tooManySamples
    /// The query ran longer than `timeout`.
    case timeout
    /// The calling task was cancelled.
    case canceled

    public var description: String {
        switch self {
        case .parse(let error): return error.description
        case .execution(let message): return message
        case .tooManySamples: return "query processing would load too many samples into memory in query execution"
        case .timeout: return "query timed out in query execution"
        case .canceled: return "query was canceled in query execution"
        }
    }

    public var errorType: String {
        switch self {
        case .parse: return "bad_data"
        case .execution, .tooManySamples: return "execution"
        case .timeout: return "timeout"
        case .canceled: return "canceled"
        }
    }
}
