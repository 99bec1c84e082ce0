import Foundation
import Hummingbird

/// Prometheus HTTP API v1 envelopes: `{"status":"success","data":…}` and
/// `{"status":"error","errorType":"bad_data","error":"…"}` with the matching status code.
enum APIResponse {
    enum ErrorType: String {
        case badData = "bad_data"
        case execution
        case internalError = "internal"
        case unavailable
        case notFound = "not_found"
        case timeout
        case canceled

        var status: HTTPResponse.Status {
            switch self {
            case .badData: return .badRequest
            case .execution: return .unprocessableContent
            case .internalError: return .internalServerError
            case .unavailable: return .serviceUnavailable
            case .notFound: return .notFound
            case .timeout: return .serviceUnavailable
            // Prometheus's "client closed request".
            case .canceled: return HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
            }
        }
    }

    struct Failure: Error {
        var type: ErrorType
        var message: String
        init(_ type: ErrorType, _ message: String) {
            self.type = type
            self.message = message
        }
    }

    static func success(_ data: Any) -> Response {
        json(["status": "success", "data": data], status: .ok)
    }

    static func error(_ failure: Failure) -> Response {
        json(["status": "error", "errorType": failure.type.rawValue, "error": failure.message], status: failure.type.status)
    }

    static func json(_ object: Any, status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Reads the API's time parameters: RFC 3339 or Unix seconds with decimals, as Prometheus.
enum APITime {
    /// Prometheus's "minimum" and "maximum" times, used when start or end is absent.
    static let min: Int64 = -9_223_309_901_257_974
    static let max: Int64 = 9_223_309_901_257_974

    /// A required time parameter.
    static func parse(_ text: String?, name: String) throws(APIResponse.Failure) -> Int64 {
        guard let text, !text.isEmpty else {
            throw APIResponse.Failure(.badData, "invalid parameter \"\(name)\": cannot parse \"\" to a valid timestamp")
        }
        return try parse(text, name: name, default: 0)
    }

    static func parse(_ text: String?, name: String, default fallback: Int64) throws(APIResponse.Failure) -> Int64 {
        guard let text, !text.isEmpty else { return fallback }
        if let seconds = Double(text), seconds.isFinite {
            return Int64((seconds * 1000).rounded())
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) {
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        throw APIResponse.Failure(.badData, "invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid timestamp")
    }
}

/// Query and form parameters of a GET or POST (application/x-www-form-urlencoded).
struct APIParameters {
    var values: [(String, String)]

    static func read(_ request: Request) async -> APIParameters {
        var values = decodeForm(request.uri.query ?? "")
        if request.method == .post, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            var body = request.body
            if let buffer = try? await body.collect(upTo: 8 << 20) {
                values += decodeForm(String(buffer: buffer))
            }
        }
        return APIParameters(values: values)
    }

    /// application/x-www-form-urlencoded pairs, keys and values percent-decoded.
    static func decodeForm(_ text: String) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    subscript(name: String) -> String? { values.last { $0.0 == name }?.1 }
    func all(_ name: String) -> [String] { values.filter { $0.0 == name }.map(\.1) }
}
