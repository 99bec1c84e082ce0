#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import PrometheusRemoteWrite
import SwiftProtobuf

/// Decodes a remote write 1.0 `WriteRequest` (prompb/remote.proto, types.proto) straight
/// from its protobuf bytes into a `SeriesBatch`, in one pass and without a `String` per
/// label: series labels become the batch's byte keys, and the head builds `Labels` only
/// for series it has not seen. It accepts and rejects exactly what decoding with the
/// generated `WriteRequest` and then `RemoteWriteIngest.convert` does, which the tests
/// check on random requests; that path stays for OTLP.
///
/// Fields read: WriteRequest { timeseries = 1, metadata = 3 }; TimeSeries { labels = 1,
/// samples = 2, exemplars = 3, histograms = 4 (checked, then ignored) }; Label { name = 1,
/// value = 2 }; Sample { value = 1, timestamp = 2 }; Exemplar { labels = 1, value = 2,
/// timestamp = 3 }; MetricMetadata { type = 1, metric_family_name = 2, help = 4, unit = 5 }.
struct WriteRequestDecoder {
    /// A label's name and value as byte ranges of the request.
    struct LabelSpan {
        var name: Range<Int> = 0..<0
        var value: Range<Int> = 0..<0
    }

    private let bytes: UnsafeRawBufferPointer
    private var decoded: RemoteWriteIngest.Decoded
    // Per-series scratch, reused across series.
    private var labels: [LabelSpan] = []
    private var exemplars: [(labels: Labels, value: Double, timestamp: Int64)] = []

    static func decode(_ bytes: UnsafeRawBufferPointer) throws(ProtobufWireError) -> RemoteWriteIngest.Decoded {
        var decoder = WriteRequestDecoder(bytes: bytes)
        try decoder.decodeRequest()
        return decoder.decoded
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        var batch = SeriesBatch()
        // Typical requests: ~30 bytes of labels and ~13 bytes per sample on the wire.
        batch.reserve(series: bytes.count / 128, keyBytes: bytes.count / 4, samples: bytes.count / 13)
        decoded = RemoteWriteIngest.Decoded(batch: batch, invalidSeries: 0, sampleCount: 0, exemplars: [], metadata: [])
        labels.reserveCapacity(16)
    }

    private mutating func decodeRequest() throws(ProtobufWireError) {
        var reader = ProtobufWireReader(bytes)
        while let tag = try reader.nextTag() {
            let (field, wireType) = tag
            switch (field, wireType) {
            case (1, .lengthDelimited):
                let range = try reader.lengthDelimited()
                try decodeTimeSeries(reader.reader(for: range))
            case (3, .lengthDelimited):
                let range = try reader.lengthDelimited()
                let metadata = try decodeMetadata(reader.reader(for: range))
                decoded.metadata.append(metadata)
            default:
                try reader.skip(wireType, field: field)
            }
        }
    }

    // MARK: TimeSeries

    private mutating func decodeTimeSeries(_ message: ProtobufWireReader) throws(ProtobufWireError) {
        var reader = message
        labels.removeAll(keepingCapacity: true)
        exemplars.removeAll(keepingCapacity: true)
        let sampleStart = decoded.batch.pendingSamplesStart
        while let tag = try reader.nextTag() {
            let (field, wireType) = tag
            switch (field, wireType) {
            case (1, .lengthDelimited):
                let range = try reader.lengthDelimited()
                let label = try Self.decodeLabel(reader.reader(for: range))
                labels.append(label)
            case (2, .lengthDelimited):
                let range = try reader.lengthDelimited()
                let sample = try Self.decodeSample(reader.reader(for: range))
                decoded.batch.appendSample(sample)
            case (3, .lengthDelimited):
                let range = try reader.lengthDelimited()
                let exemplar = try decodeExemplar(reader.reader(for: range))
                exemplars.append(exemplar)
            case (4, .lengthDelimited):
                let range = try reader.lengthDelimited()
                try checkHistogram(range)
            default:
                try reader.skip(wireType, field: field)
            }
        }
        guard cleanUpLabels() else {
            decoded.invalidSeries += 1
            decoded.batch.discardSamples(from: sampleStart)
            return
        }
        let (spans, bytes) = (labels, bytes)
        let keyLength = spans.reduce(0) { $0 + $1.name.count + $1.value.count + 2 }
        decoded.batch.commitSeries(keyLength: keyLength, sampleStart: sampleStart) { key in
            var offset = 0
            func put(_ range: Range<Int>) {
                if !range.isEmpty {
                    (key.baseAddress! + offset).copyMemory(from: bytes.baseAddress! + range.lowerBound, byteCount: range.count)
                }
                offset += range.count
                key[offset] = SeriesBatch.separator
                offset += 1
            }
            for label in spans {
                put(label.name)
                put(label.value)
            }
        }
        decoded.sampleCount += decoded.batch.pendingSamplesStart - sampleStart
        if !exemplars.isEmpty {
            let series = decoded.batch.labels(of: decoded.batch.count - 1)
            for exemplar in exemplars {
                decoded.exemplars.append(StoredExemplar(series: series, labels: exemplar.labels,
                                                        value: exemplar.value, timestamp: exemplar.timestamp))
            }
        }
    }

    /// Prometheus's clean-up of a series' labels: empty values dropped, sorted by name;
    /// false when the series must be skipped (no metric name, an empty or repeated name).
    private mutating func cleanUpLabels() -> Bool {
        labels.removeAll { $0.value.isEmpty }
        let bytes = bytes
        var sorted = true
        for index in labels.indices.dropFirst() where Self.compare(bytes, labels[index - 1].name, labels[index].name) >= 0 {
            sorted = false
            break
        }
        if !sorted { labels.sort { Self.compare(bytes, $0.name, $1.name) < 0 } }
        var hasName = false
        for (index, label) in labels.enumerated() {
            if label.name.isEmpty { return false }
            if index > 0, Self.compare(bytes, labels[index - 1].name, label.name) == 0 { return false }
            if !hasName, Self.isMetricName(bytes, label.name) { hasName = true }
        }
        return hasName
    }

    private static func compare(_ bytes: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Int {
        let shared = min(a.count, b.count)
        if shared > 0 {
            let order = memcmp(bytes.baseAddress! + a.lowerBound, bytes.baseAddress! + b.lowerBound, shared)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }

    private static let metricName: [UInt8] = Array(Labels.metricName.utf8)

    private static func isMetricName(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> Bool {
        name.count == metricName.count
            && metricName.withUnsafeBytes { memcmp(bytes.baseAddress! + name.lowerBound, $0.baseAddress!, name.count) == 0 }
    }

    // MARK: Label, Sample, Exemplar

    private static func decodeLabel(_ message: ProtobufWireReader) throws(ProtobufWireError) -> LabelSpan {
        var reader = message
        var label = LabelSpan()
        while let tag = try reader.nextTag() {
            let (field, wireType) = tag
            switch (field, wireType) {
            case (1, .lengthDelimited): label.name = try reader.string("label name")
            case (2, .lengthDelimited): label.value = try reader.string("label value")
            default: try reader.skip(wireType, field: field)
            }
        }
        return label
    }

    @inline(__always)
    private static func decodeSample(_ message: ProtobufWireReader) throws(ProtobufWireError) -> Head.Sample {
        var reader = message
        var sample = Head.Sample(0, 0)
        // Senders write the value (tag 0x09) then the timestamp (tag 0x10): read those
        // without the general loop, which then takes whatever else follows.
        if reader.skipTag(0x09) {
            sample.value = Double(bitPattern: try reader.fixed64())
            if reader.skipTag(0x10) { sample.timestamp = Int64(bitPattern: try reader.varint()) }
        }
        while let tag = try reader.nextTag() {
            let (field, wireType) = tag
            switch (field, wireType) {
            case (1, .fixed64): sample.value = Double(bitPattern: try reader.fixed64())
            case (2, .varint): sample.timestamp = Int64(bitPattern: try reader.varint())
            default: try reader.skip(wireType, field: field)
            }
        }
        return sample
    }

    private func decodeExemplar(_ message: ProtobufWireReader) throws(ProtobufWireError) -> (labels: Labels, value: Double, timestamp: Int64) {
        var reader = message
        var pairs: [(name: String, value: String)] = []
        var value = 0.0
        var timestamp: Int64 = 0
        while let tag = try reader.nextTag() {
            let (field, wireType) = tag
            switch (field, wireType) {
            case (1, .lengthDelimited):
                let range = try reader.lengthDelimited()
                let label = try Self.decodeLabel(reader.reader(for: range))
                pairs.append((string(label.name), string(label.value)))
            case (2, .fixed64): value = Double(bitPattern: try reader.fixed64())
            case (3, .varint): timestamp = Int64(bitPattern: try reader.varint())
            default: try reader.skip(wireType, field: field)
            }
        }
        return (Labels(sorting: pairs), value, timestamp)
    }

    /// Native histograms are not stored (as before this decoder), but a malformed one
    /// still fails the request, as it did when the generated code decoded it.
    private func checkHistogram(_ range: Range<Int>) throws(ProtobufWireError) {
        do {
            _ = try Prometheus_Histogram(serializedBytes: Array(UnsafeRawBufferPointer(rebasing: bytes[range])))
        } catch {
            throw .invalidMessage(field: "histogram at byte \(range.lowerBound)", detail: "\(error)")
        }
    }

    // MARK: MetricMetadata

    private func decodeMetadata(_ message: ProtobufWireReader) throws(ProtobufWireError) -> MetricMetadata {
        var reader = message
        var metadata = MetricMetadata()
        while let tag = try reader.nextTag() {
            let (field, wireType) = tag
            switch (field, wireType) {
            case (1, .varint):
                // Enums are int32 on the wire; unknown values are kept, as proto3 does.
                let raw = Int(Int32(truncatingIfNeeded: try reader.varint()))
                metadata.type = MetricMetadata.MetricType(rawValue: raw) ?? .UNRECOGNIZED(raw)
            case (2, .lengthDelimited): metadata.metricFamilyName = string(try reader.string("metric family name"))
            case (4, .lengthDelimited): metadata.help = string(try reader.string("help"))
            case (5, .lengthDelimited): metadata.unit = string(try reader.string("unit"))
            default: try reader.skip(wireType, field: field)
            }
        }
        return metadata
    }

    private func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
