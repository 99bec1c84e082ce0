import Hummingbird
import NIOCore
import OTLP
import SwiftProtobuf
import VigilService

/// The OTLP/HTTP receiver (POST /v1/traces, /v1/metrics, /v1/logs), following the OTLP
/// spec's HTTP rules: protobuf or JSON bodies (the answer uses the request's encoding),
/// optional gzip, 200 with a partial-success body, 400 / 413 / 415 with a google.rpc.Status
/// body for bad requests, and 429 or 503 with Retry-After when the pipeline refuses data.
public struct OTLPHTTPReceiver: Sendable {
    public let settings: HTTPServerSettings
    public let traces: ReceiverIntake<ExportTraceServiceRequest>?
    public let metrics: ReceiverIntake<ExportMetricsServiceRequest>?
    public let logs: ReceiverIntake<ExportLogsServiceRequest>?

    public init(settings: HTTPServerSettings, traces: ReceiverIntake<ExportTraceServiceRequest>?,
                metrics: ReceiverIntake<ExportMetricsServiceRequest>?, logs: ReceiverIntake<ExportLogsServiceRequest>?) {
        self.settings = settings
        self.traces = traces
        self.metrics = metrics
        self.logs = logs
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        if let traces { route(router, path: settings.tracesPath, intake: traces) { outcome in ExportTraceServiceResponse.with { r in
            if outcome.rejected > 0 { r.partialSuccess = .with { $0.rejectedSpans = Int64(outcome.rejected); $0.errorMessage = outcome.message } }
        } } }
        if let metrics { route(router, path: settings.metricsPath, intake: metrics) { outcome in ExportMetricsServiceResponse.with { r in
            if outcome.rejected > 0 { r.partialSuccess = .with { $0.rejectedDataPoints = Int64(outcome.rejected); $0.errorMessage = outcome.message } }
        } } }
        if let logs { route(router, path: settings.logsPath, intake: logs) { outcome in ExportLogsServiceResponse.with { r in
            if outcome.rejected > 0 { r.partialSuccess = .with { $0.rejectedLogRecords = Int64(outcome.rejected); $0.errorMessage = outcome.message } }
        } } }
    }

    private func route<Context: RequestContext, Batch: SignalBatch & ItemValidating, Reply: SwiftProtobuf.Message>(
        _ router: Router<Context>, path: String, intake: ReceiverIntake<Batch>,
        reply: @escaping @Sendable (ReceiverIntake<Batch>.Outcome) -> Reply
    ) {
        let limit = settings.maxRequestBodySize
        router.get(RouterPath(path)) { _, _ -> Response in
            var response = OTLPHTTPErrors.response(.methodNotAllowed, encoding: .json, "\(path) accepts only POST")
            response.headers[.allow] = "POST"
            return response
        }
        router.post(RouterPath(path)) { request, _ -> Response in
            let encoding: OTLPEncoding
            switch OTLPEncoding(contentType: request.headers[.contentType]) {
            case .some(let e): encoding = e
            case .none:
                return OTLPHTTPErrors.response(.unsupportedMediaType, encoding: .json,
                    "unsupported Content-Type \"\(request.headers[.contentType] ?? "")\"; use application/x-protobuf or application/json")
            }
            let batch: Batch
            switch await Self.readBatch(Batch.self, request: request, encoding: encoding, limit: limit) {
            case .success(let b): batch = b
            case .failure(let failure): return OTLPHTTPErrors.response(failure.status, encoding: encoding, failure.message)
            }
            do throws(PipelineError) {
                let outcome = try await intake.accept(batch)
                return OTLPHTTPErrors.encode(reply(outcome), status: .ok, encoding: encoding)
            } catch {
                let status: HTTPResponse.Status = error == .shuttingDown ? .serviceUnavailable : .tooManyRequests
                var response = OTLPHTTPErrors.response(status, encoding: encoding, error.description)
                response.headers[.retryAfter] = String(error.retryAfterSeconds)
                return response
            }
        }
    }

    struct RequestFailure: Error {
        var status: HTTPResponse.Status
        var message: String
    }

    static func readBatch<Batch: SignalBatch>(_ type: Batch.Type, request: Request, encoding: OTLPEncoding, limit: Int) async -> Result<Batch, RequestFailure> {
        var raw: ByteBuffer
        do {
            raw = try await request.body.collect(upTo: limit)
        } catch {
            return .failure(RequestFailure(status: .contentTooLarge, message: "request body is larger than the \(limit)-byte limit"))
        }
        do {
            raw = try BodyDecoding.decode(raw, contentEncoding: request.headers[.contentEncoding], limit: limit)
        } catch {
            switch error {
            case .tooLarge: return .failure(RequestFailure(status: .contentTooLarge, message: error.description))
            case .unsupportedEncoding: return .failure(RequestFailure(status: .unsupportedMediaType, message: error.description))
            case .badGzip: return .failure(RequestFailure(status: .badRequest, message: error.description))
            }
        }
        let bytes = raw.readBytes(length: raw.readableBytes) ?? []
        switch encoding {
        case .protobuf:
            do {
                return .success(try Batch(serializedBytes: bytes))
            } catch {
                return .failure(RequestFailure(status: .badRequest, message: "cannot decode \(Batch.signal.rawValue) request as protobuf: \(error)"))
            }
        case .json:
            do {
                return .success(try OTLPJSON.decode(Batch.self, from: bytes))
            } catch {
                return .failure(RequestFailure(status: .badRequest, message: "cannot decode \(Batch.signal.rawValue) request: \(error)"))
            }
        }
    }
}

/// The two OTLP/HTTP body encodings.
public enum OTLPEncoding: Sendable {
    case protobuf, json

    init?(contentType: String?) {
        let mediaType = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        switch mediaType {
        case "application/x-protobuf", "application/protobuf": self = .protobuf
        case "application/json": self = .json
        default: return nil
        }
    }

    var contentType: String { self == .protobuf ? "application/x-protobuf" : "application/json" }
}

/// OTLP/HTTP answers: messages in the request's encoding, errors as google.rpc.Status.
enum OTLPHTTPErrors {
    static func response(_ status: HTTPResponse.Status, encoding: OTLPEncoding, _ message: String) -> Response {
        let body = Google_Rpc_Status.with {
            $0.code = Int32(grpcCode(for: status))
            $0.message = message
        }
        return encode(body, status: status, encoding: encoding)
    }

    static func encode<M: SwiftProtobuf.Message>(_ message: M, status: HTTPResponse.Status, encoding: OTLPEncoding) -> Response {
        let bytes: [UInt8] = encoding == .protobuf ? ((try? message.serializedBytes()) ?? []) : OTLPJSON.encode(message)
        var headers = HTTPFields()
        headers[.contentType] = encoding.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The google.rpc.Code that matches an HTTP status, as the OTLP spec pairs them.
    static func grpcCode(for status: HTTPResponse.Status) -> Int {
        switch status.code {
        case 400: return 3       // INVALID_ARGUMENT
        case 413: return 3
        case 415: return 3
        case 429: return 8       // RESOURCE_EXHAUSTED
        case 503: return 14      // UNAVAILABLE
        default: return 13       // INTERNAL
        }
    }
}
