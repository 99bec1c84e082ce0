import XCTest
import Hummingbird
import HummingbirdTesting
import NIOCore
import OTLP
import VigilService
@testable import Collector

final class OTLPHTTPReceiverTests: XCTestCase {
    func makeApp(_ sink: RecordingConsumer<ExportTraceServiceRequest>, maxBody: Int = 1 << 20) -> some ApplicationProtocol {
        var settings = HTTPServerSettings()
        settings.maxRequestBodySize = maxBody
        let receiver = OTLPHTTPReceiver(settings: settings, traces: ReceiverIntake(consumers: [sink], counters: nil), metrics: nil, logs: nil)
        let router = Router()
        receiver.addRoutes(to: router)
        return Application(router: router)
    }

    static func protobufHeaders(gzip: Bool = false) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-protobuf"
        if gzip { headers[.contentEncoding] = "gzip" }
        return headers
    }

    func testProtobufRequestIsAcceptedAndForwarded() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let body = ByteBuffer(bytes: try makeTraces(resources: 1, spansPerResource: 3).serializedBytes() as [UInt8])
        try await makeApp(sink).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: Self.protobufHeaders(), body: body) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "application/x-protobuf")
                let reply = try ExportTraceServiceResponse(serializedBytes: Array(buffer: response.body))
                XCTAssertFalse(reply.hasPartialSuccess)
            }
        }
        let received = await sink.batches
        XCTAssertEqual(received.map(\.itemCount), [3])
    }

    func testGzipBodyIsInflated() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let raw = ByteBuffer(bytes: try makeTraces(resources: 2, spansPerResource: 2).serializedBytes() as [UInt8])
        try await makeApp(sink).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: Self.protobufHeaders(gzip: true), body: BodyDecoding.gzip(raw)) { response in
                XCTAssertEqual(response.status, .ok)
            }
        }
        let count = await sink.batches.reduce(0) { $0 + $1.itemCount }
        XCTAssertEqual(count, 4)
    }

    func testMalformedProtobufGets400WithStatusBody() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        try await makeApp(sink).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: Self.protobufHeaders(), body: ByteBuffer(bytes: [0x0a, 0xff, 0xff, 0x01])) { response in
                XCTAssertEqual(response.status, .badRequest)
                let status = try Google_Rpc_Status(serializedBytes: Array(buffer: response.body))
                XCTAssertEqual(status.code, 3)
                XCTAssertTrue(status.message.contains("cannot decode traces request as protobuf"), status.message)
            }
        }
    }

    func testWrongContentTypeGets415() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let headers: HTTPFields = [.contentType: "text/plain"]
        try await makeApp(sink).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: headers, body: ByteBuffer(string: "hi")) { response in
                XCTAssertEqual(response.status, .unsupportedMediaType)
            }
        }
    }

    func testGetGets405NamingTheMethod() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        try await makeApp(sink).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .get) { response in
                XCTAssertEqual(response.status, .methodNotAllowed)
                XCTAssertEqual(response.headers[.allow], "POST")
            }
        }
    }

    func testOversizeBodyGets413() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        try await makeApp(sink, maxBody: 100).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: Self.protobufHeaders(), body: ByteBuffer(bytes: [UInt8](repeating: 0, count: 1000))) { response in
                XCTAssertEqual(response.status, .contentTooLarge)
            }
        }
    }

    func testFullPipelineGets429WithRetryAfter() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let queue = SendingQueue(exporterID: ComponentID(type: "otlp"), settings: QueueSettings(numConsumers: 1, queueSize: 1),
                                 retry: RetrySettings(), sender: FlakySender(failures: 0), store: nil, counters: nil)
        try await queue.consume(makeTraces(resources: 1, spansPerResource: 1))   // fills it; no workers run
        let receiver = OTLPHTTPReceiver(settings: HTTPServerSettings(), traces: ReceiverIntake(consumers: [ExporterFanout(queues: [queue])], counters: nil),
                                        metrics: nil, logs: nil)
        let router = Router()
        receiver.addRoutes(to: router)
        let body = ByteBuffer(bytes: try makeTraces(resources: 1, spansPerResource: 1).serializedBytes() as [UInt8])
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: Self.protobufHeaders(), body: body) { response in
                XCTAssertEqual(response.status, .tooManyRequests)
                XCTAssertEqual(response.headers[.retryAfter], "1")
            }
        }
        _ = sink
    }

    func testSpansWithBadIDsAreReportedAsPartialSuccess() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        var request = makeTraces(resources: 1, spansPerResource: 3)
        request.resourceSpans[0].scopeSpans[0].spans[1].traceID = Data([1, 2, 3])
        let headers: HTTPFields = [.contentType: "application/json"]
        let json = ByteBuffer(bytes: OTLPJSON.encode(request))
        try await makeApp(sink).test(.router) { client in
            try await client.execute(uri: "/v1/traces", method: .post, headers: headers, body: json) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "application/json")
                let text = String(buffer: response.body)
                XCTAssertTrue(text.contains("\"rejectedSpans\":\"1\""), text)
                XCTAssertTrue(text.contains("trace_id of 3 bytes"), text)
            }
        }
        let count = await sink.batches.reduce(0) { $0 + $1.itemCount }
        XCTAssertEqual(count, 2)
    }
}
