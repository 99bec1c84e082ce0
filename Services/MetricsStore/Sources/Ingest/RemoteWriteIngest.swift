import PrometheusRemoteWrite
import Snappy

/// Turns a remote write 1.0 body (snappy block-compressed protobuf WriteRequest) into
/// what the head appends, the way Prometheus's receiver does: labels are sorted, empty
/// label values dropped, and series without a metric name or with a repeated label name
/// are skipped (counted, not failed).
enum RemoteWriteIngest {
    enum DecodeError: Error, CustomStringConvertible {
        case snappy(String)
        case protobuf(String)

        var description: String {
            switch self {
            case .snappy(let detail): return "snappy: \(detail)"
            case .protobuf(let detail): return "cannot decode WriteRequest: \(detail)"
            }
        }
    }

    struct Decoded {
        var batch: SeriesBatch
        var invalidSeries: Int
        var sampleCount: Int
        var exemplars: [StoredExemplar]
        var metadata: [MetricMetadata]
    }

    static func decode(body: some Collection<UInt8>, maxDecodedBytes: Int) throws(DecodeError) -> Decoded {
        let raw: [UInt8]
        do {
            raw = try Snappy.decompress(body, maxLength: maxDecodedBytes)
        } catch {
            throw .snappy(error.description)
        }
        return try decode(protobuf: raw)
    }

    /// Decodes an uncompressed WriteRequest with the hand-written decoder.
    static func decode(protobuf raw: [UInt8]) throws(DecodeError) -> Decoded {
        let result = raw.withUnsafeBytes { bytes in
            Result { () throws(ProtobufWireError) in try WriteRequestDecoder.decode(bytes) }
        }
        switch result {
        case .success(let decoded): return decoded
        case .failure(let error): throw .protobuf(error.description)
        }
    }

    /// The checks and clean-up Prometheus applies to each series of a WriteRequest, for a
    /// request already decoded by the generated code (OTLP translation builds one).
    /// `WriteRequestDecoder` does the same on the wire bytes; the tests hold them equal.
    static func convert(_ request: WriteRequest) -> Decoded {
        var series: [(labels: Labels, samples: [Head.Sample])] = []
        var decoded = Decoded(batch: SeriesBatch(), invalidSeries: 0, sampleCount: 0, exemplars: [], metadata: request.metadata)
        series.reserveCapacity(request.timeseries.count)
        for ts in request.timeseries {
            var pairs: [(name: String, value: String)] = ts.labels.compactMap { $0.value.isEmpty ? nil : ($0.name, $0.value) }
            if !zip(pairs, pairs.dropFirst()).allSatisfy({ $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
                pairs.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            }
            let hasName = pairs.contains { $0.name == "__name__" }
            let hasDuplicate = zip(pairs, pairs.dropFirst()).contains { $0.name == $1.name }
            let hasEmptyName = pairs.contains { $0.name.isEmpty }
            guard hasName, !hasDuplicate, !hasEmptyName else {
                decoded.invalidSeries += 1
                continue
            }
            let labels = Labels(sortedPairs: pairs)
            series.append((labels, ts.samples.map { Head.Sample($0.timestamp, $0.value) }))
            decoded.sampleCount += ts.samples.count
            for exemplar in ts.exemplars {
                decoded.exemplars.append(StoredExemplar(
                    series: labels, labels: Labels(sorting: exemplar.labels.map { ($0.name, $0.value) }),
                    value: exemplar.value, timestamp: exemplar.timestamp))
            }
        }
        decoded.batch = SeriesBatch(series)
        return decoded
    }
}
