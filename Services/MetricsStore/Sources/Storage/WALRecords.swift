import Snappy

/// The metrics-store's WAL record payloads (framing and checksums are the WAL's job):
///
///     series record:  0x01, then per series: ref uvarint, label count uvarint,
///                     per label: name length uvarint, name bytes, value length uvarint, value bytes
///     samples record: 0x02, then per sample: ref uvarint, timestamp zigzag varint,
///                     value as 8 bytes little-endian IEEE-754 bits
///     samples record: 0x03, base ref uvarint, base timestamp zigzag varint, then per
///                     sample: ref − base zigzag varint, timestamp − base zigzag varint,
///                     value bits as above (what `encode` writes; 0x02 is still read)
///     exemplars record: 0x04, then per exemplar: series labels, exemplar labels (each as
///                     in a series record: count uvarint, then name/value pairs),
///                     timestamp zigzag varint, value bits
///
/// Either record may be snappy block-compressed as a whole: then its first byte has
/// 0x80 set and the rest is the snappy block of the payload after the type byte.
///
/// A request writes its new series before its samples, in one WAL append.
enum WALRecord {
    case series([(ref: SeriesRef, labels: Labels)])
    case samples([(ref: SeriesRef, sample: Head.Sample)])
    /// Exemplars carry their series' labels, not a ref: they are few, and a checkpoint
    /// can then rewrite them without the head's refs.
    case exemplars([StoredExemplar])

    static let seriesType: UInt8 = 1
    static let samplesType: UInt8 = 2
    static let deltaSamplesType: UInt8 = 3
    static let exemplarsType: UInt8 = 4
    static let snappyFlag: UInt8 = 0x80

    /// The record, snappy-compressed when that makes it smaller (it nearly always does
    /// for series records; sample values compress less).
    func encodeCompressed() -> [UInt8] {
        let plain = encode()
        guard plain.count > 64 else { return plain }
        let compressed = Snappy.compress(plain[1...])
        guard compressed.count + 1 < plain.count else { return plain }
        return [plain[0] | Self.snappyFlag] + compressed
    }

    struct DecodeError: Error, CustomStringConvertible {
        var description: String
    }

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .series(let series):
            out.reserveCapacity(series.count * 64)
            out.append(Self.seriesType)
            for (ref, labels) in series {
                Varint.appendUnsigned(ref, to: &out)
                Self.appendLabels(labels, to: &out)
            }
        case .exemplars(let exemplars):
            out.append(Self.exemplarsType)
            for exemplar in exemplars {
                Self.appendLabels(exemplar.series, to: &out)
                Self.appendLabels(exemplar.labels, to: &out)
                Varint.appendSigned(exemplar.timestamp, to: &out)
                withUnsafeBytes(of: exemplar.value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        case .samples(let samples):
            return Self.encodeSamples(samples)
        }
        return out
    }

    /// The delta samples record, written through a pointer into one exact-size-bound
    /// allocation: this runs for every remote-write request.
    private static func encodeSamples(_ samples: [(ref: SeriesRef, sample: Head.Sample)]) -> [UInt8] {
        // Per sample at most 10 + 10 varint bytes and 8 value bytes.
        let capacity = 1 + 20 + samples.count * 28
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, written in
            let out = buffer.baseAddress!
            out[0] = deltaSamplesType
            var offset = 1
            let baseRef = samples.first?.ref ?? 0
            let baseTime = samples.first?.sample.timestamp ?? 0
            offset = Varint.write(baseRef, to: out, at: offset)
            offset = Varint.write(Varint.zigzag(baseTime), to: out, at: offset)
            for (ref, sample) in samples {
                offset = Varint.write(Varint.zigzag(Int64(bitPattern: ref &- baseRef)), to: out, at: offset)
                offset = Varint.write(Varint.zigzag(sample.timestamp &- baseTime), to: out, at: offset)
                UnsafeMutableRawPointer(out + offset).storeBytes(of: sample.value.bitPattern.littleEndian, as: UInt64.self)
                offset += 8
            }
            written = offset
        }
    }

    private static func appendLabels(_ labels: Labels, to out: inout [UInt8]) {
        Varint.appendUnsigned(UInt64(labels.count), to: &out)
        for label in labels {
            Varint.appendUnsigned(UInt64(label.name.utf8.count), to: &out)
            out.append(contentsOf: label.name.utf8)
            Varint.appendUnsigned(UInt64(label.value.utf8.count), to: &out)
            out.append(contentsOf: label.value.utf8)
        }
    }

    private static func readLabels(_ reader: inout Varint.Reader) throws(DecodeError) -> Labels {
        guard let count = reader.unsigned(), count < 10_000 else {
            throw DecodeError(description: "truncated label set")
        }
        var pairs: [(name: String, value: String)] = []
        for _ in 0..<count {
            guard let name = reader.string(), let value = reader.string() else {
                throw DecodeError(description: "truncated label")
            }
            pairs.append((name, value))
        }
        return Labels(sortedPairs: pairs)
    }

    static func decode(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> WALRecord {
        guard let first = bytes.first else { throw DecodeError(description: "empty WAL record") }
        if first & snappyFlag != 0 {
            let payload: [UInt8]
            do {
                payload = try Snappy.decompress(bytes.dropFirst(), maxLength: 1 << 30)
            } catch {
                throw DecodeError(description: "compressed WAL record: \(error)")
            }
            return try decode(([first & ~snappyFlag] + payload)[...])
        }
        var reader = Varint.Reader(bytes: bytes)
        guard let type = reader.byte() else { throw DecodeError(description: "empty WAL record") }
        switch type {
        case seriesType:
            var series: [(SeriesRef, Labels)] = []
            while !reader.atEnd {
                guard let ref = reader.unsigned() else { throw DecodeError(description: "truncated series record") }
                series.append((ref, try readLabels(&reader)))
            }
            return .series(series)
        case exemplarsType:
            var exemplars: [StoredExemplar] = []
            while !reader.atEnd {
                let series = try readLabels(&reader)
                let labels = try readLabels(&reader)
                guard let t = reader.signed(), let bits = reader.uint64LE() else {
                    throw DecodeError(description: "truncated exemplars record")
                }
                exemplars.append(StoredExemplar(series: series, labels: labels, value: Double(bitPattern: bits), timestamp: t))
            }
            return .exemplars(exemplars)
        case samplesType:
            var samples: [(SeriesRef, Head.Sample)] = []
            while !reader.atEnd {
                guard let ref = reader.unsigned(), let t = reader.signed(), let bits = reader.uint64LE() else {
                    throw DecodeError(description: "truncated samples record")
                }
                samples.append((ref, Head.Sample(t, Double(bitPattern: bits))))
            }
            return .samples(samples)
        case deltaSamplesType:
            guard let baseRef = reader.unsigned(), let baseTime = reader.signed() else {
                throw DecodeError(description: "truncated samples record")
            }
            var samples: [(SeriesRef, Head.Sample)] = []
            while !reader.atEnd {
                guard let dRef = reader.signed(), let dt = reader.signed(), let bits = reader.uint64LE() else {
                    throw DecodeError(description: "truncated samples record")
                }
                samples.append((baseRef &+ UInt64(bitPattern: dRef), Head.Sample(baseTime &+ dt, Double(bitPattern: bits))))
            }
            return .samples(samples)
        default:
            throw DecodeError(description: "unknown WAL record type \(type)")
        }
    }
}

/// Protobuf-style varints (zigzag for signed values).
enum Varint {
    static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendSigned(_ value: Int64, to out: inout [UInt8]) {
        appendUnsigned(zigzag(value), to: &out)
    }

    @inline(__always)
    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Writes `value` at `out + offset` (room for 10 bytes needed); returns the new offset.
    @inline(__always)
    static func write(_ value: UInt64, to out: UnsafeMutablePointer<UInt8>, at offset: Int) -> Int {
        var v = value
        var at = offset
        while v >= 0x80 {
            out[at] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            at += 1
        }
        out[at] = UInt8(v)
        return at + 1
    }

    struct Reader {
        let bytes: ArraySlice<UInt8>
        var index: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.index = bytes.startIndex
        }

        var atEnd: Bool { index >= bytes.endIndex }

        mutating func byte() -> UInt8? {
            guard index < bytes.endIndex else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func unsigned() -> UInt64? {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while let b = byte() {
                if shift >= 64 { return nil }
                result |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return result }
                shift += 7
            }
            return nil
        }

        mutating func signed() -> Int64? {
            guard let u = unsigned() else { return nil }
            return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
        }

        mutating func uint64LE() -> UInt64? {
            guard index + 8 <= bytes.endIndex else { return nil }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
            index += 8
            return v
        }

        mutating func string() -> String? {
            guard let length = unsigned(), length <= UInt64(bytes.endIndex - index) else { return nil }
            let s = String(decoding: bytes[index..<index + Int(length)], as: UTF8.self)
            index += Int(length)
            return s
        }
    }
}
