import Foundation
import NIOCore
import OTLP
import PrometheusRemoteWrite
import SwiftProtobuf
import VigilService

/// The OTLP metrics receiver (/api/v1/otlp/v1/metrics): OTLP/HTTP protobuf or JSON,
/// translated to Prometheus series by the same shared translation the collector's
/// remote-write exporter uses, then stored like a remote write.
enum OTLPMetricsIngest {
    enum DecodeError: Error, CustomStringConvertible {
        case body(String)
        case unsupportedContentType(String)

        var description: String {
            switch self {
            case .body(let detail): return detail
            case .unsupportedContentType(let type): return "unsupported content type \"\(type)\"; use application/x-protobuf or application/json"
            }
        }
    }

    static func decode(_ body: ByteBuffer, contentType: String?, contentEncoding: String?, limit: Int) throws(DecodeError) -> ExportMetricsServiceRequest {
        let raw: ByteBuffer
        do {
            raw = try BodyDecoding.decode(body, contentEncoding: contentEncoding, limit: limit)
        } catch {
            throw .body(error.description)
        }
        let bytes = Array(buffer: raw)
        let mediaType = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? "application/x-protobuf"
        switch mediaType {
        case "application/x-protobuf", "application/protobuf":
            do { return try ExportMetricsServiceRequest(serializedBytes: bytes) } catch {
                throw .body("cannot decode OTLP metrics request as protobuf: \(error)")
            }
        case "application/json":
            do { return try OTLPJSON.decode(ExportMetricsServiceRequest.self, from: bytes) } catch {
                throw .body("cannot decode OTLP metrics request: \(error)")
            }
        default:
            throw .unsupportedContentType(mediaType)
        }
    }

    static func translate(_ request: ExportMetricsServiceRequest) -> (RemoteWriteIngest.Decoded, PrometheusTranslationResult) {
        var options = PrometheusTranslationOptions()
        options.sendMetadata = true
        let result = OTLPToPrometheus.translate(request, options: options)
        return (RemoteWriteIngest.convert(result.writeRequest), result)
    }
}
