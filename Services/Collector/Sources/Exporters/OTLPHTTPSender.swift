import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OTLP
import SwiftProtobuf
import VigilService

/// `otlphttp` exporter: POSTs each batch to the signal's endpoint (…/v1/traces etc.) as
/// application/x-protobuf or application/json, optionally gzip-compressed.
public struct OTLPHTTPSender<Batch: SignalBatch>: BatchSender {
    let url: URL
    let compression: ExporterConfig.Compression
    let encoding: ExporterConfig.OTLPHTTPEncoding
    let headers: [String: String]
    let timeout: GoDuration
    let client: HTTPClient

    public init(url: URL, compression: ExporterConfig.Compression, encoding: ExporterConfig.OTLPHTTPEncoding,
                headers: [String: String], timeout: GoDuration, client: HTTPClient) {
        self.url = url
        self.compression = compression
        self.encoding = encoding
        self.headers = headers
        self.timeout = timeout
        self.client = client
    }

    public func send(_ batch: Batch) async throws(ExportError) {
        var body: ByteBuffer
        switch encoding {
        case .proto:
            guard let bytes: [UInt8] = try? batch.serializedBytes() else { throw .permanent("cannot serialize batch") }
            body = ByteBuffer(bytes: bytes)
        case .json:
            body = ByteBuffer(bytes: OTLPJSON.encode(batch))
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: encoding == .proto ? "application/x-protobuf" : "application/json")
        request.headers.add(name: "User-Agent", value: "vigil-collector")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if compression == .gzip {
            body = BodyDecoding.gzip(body)
            request.headers.add(name: "Content-Encoding", value: "gzip")
        }
        request.body = .bytes(body)
        try await HTTPDelivery.post(request, client: client, timeout: timeout, endpoint: url.absoluteString, classification: .otlp)
    }
}

/// One POST with otelcol's treatment of the answer; shared by the HTTP exporters.
enum HTTPDelivery {
    static func post(_ request: HTTPClientRequest, client: HTTPClient, timeout: GoDuration, endpoint: String,
                     classification: HTTPResponseClassification) async throws(ExportError) {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
        } catch {
            throw .retryable("cannot reach \(endpoint): \(error)")
        }
        let body = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        guard (200..<300).contains(response.status.code) else {
            throw classification.error(status: response.status, headers: response.headers, body: body, endpoint: endpoint)
        }
    }
}
