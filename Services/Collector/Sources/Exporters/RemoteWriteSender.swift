import AsyncHTTPClient
import Foundation
import NIOCore
import OTLP
import PrometheusRemoteWrite
import Snappy
import VigilService

/// `prometheusremotewrite` exporter: translates OTLP metrics to Prometheus series (the
/// shared translation) and POSTs them as remote write 1.0: a protobuf WriteRequest,
/// snappy block-compressed, with the protocol's required headers. Requests are cut so
/// none exceeds `max_batch_size_bytes` before compression.
public struct RemoteWriteSender: BatchSender {
    public typealias Batch = ExportMetricsServiceRequest

    let settings: RemoteWriteSettings
    let headers: [String: String]
    let timeout: GoDuration
    let client: HTTPClient
    let options: PrometheusTranslationOptions

    public init(settings: RemoteWriteSettings, headers: [String: String], timeout: GoDuration, client: HTTPClient) {
        self.settings = settings
        self.headers = headers
        self.timeout = timeout
        self.client = client
        var options = PrometheusTranslationOptions()
        options.namespace = settings.namespace
        options.addMetricSuffixes = settings.addMetricSuffixes
        options.resourceToTelemetryConversion = settings.resourceToTelemetry
        options.targetInfoEnabled = settings.targetInfo
        options.exportCreatedMetric = settings.exportCreatedMetric
        options.externalLabels = settings.externalLabels
        options.sendMetadata = settings.sendMetadata
        self.options = options
    }

    public func send(_ batch: Batch) async throws(ExportError) {
        let result = OTLPToPrometheus.translate(batch, options: options)
        for request in Self.cut(result.writeRequest, maxBytes: settings.maxBatchSizeBytes) {
            guard let bytes: [UInt8] = try? request.serializedBytes() else { throw .permanent("cannot serialize WriteRequest") }
            var http = HTTPClientRequest(url: settings.endpoint.absoluteString)
            http.method = .POST
            http.headers.add(name: "Content-Encoding", value: "snappy")
            http.headers.add(name: "Content-Type", value: "application/x-protobuf")
            http.headers.add(name: "X-Prometheus-Remote-Write-Version", value: "0.1.0")
            http.headers.add(name: "User-Agent", value: "vigil-collector")
            for (name, value) in headers { http.headers.replaceOrAdd(name: name, value: value) }
            http.body = .bytes(ByteBuffer(bytes: Snappy.compress(bytes)))
            try await HTTPDelivery.post(http, client: client, timeout: timeout, endpoint: settings.endpoint.absoluteString,
                                        classification: .remoteWrite)
        }
    }

    /// Splits the series over several requests so each stays under `maxBytes` (metadata
    /// rides with the first).
    static func cut(_ request: WriteRequest, maxBytes: Int) -> [WriteRequest] {
        guard maxBytes > 0, request.timeseries.count > 1 else { return [request] }
        var requests: [WriteRequest] = []
        var current = WriteRequest()
        current.metadata = request.metadata
        var size = (try? current.serializedBytes() as [UInt8])?.count ?? 0
        for series in request.timeseries {
            let seriesSize = ((try? series.serializedBytes() as [UInt8])?.count ?? 0) + 5
            if size + seriesSize > maxBytes, !current.timeseries.isEmpty {
                requests.append(current)
                current = WriteRequest()
                size = 0
            }
            current.timeseries.append(series)
            size += seriesSize
        }
        if !current.timeseries.isEmpty || requests.isEmpty { requests.append(current) }
        return requests
    }
}
