// The float sample chunk: Gorilla-style delta-of-delta timestamps and XOR-compressed
// values, byte-for-byte the same as Prometheus's XOR chunk (`chunkenc.EncXOR`).
// Layout and the reasons for each quirk: Services/MetricsStore/FORMAT-chunks.md.

/// A compressed run of float samples of one series, in Prometheus's XOR chunk encoding.
///
/// `bytes` is exactly the `data` part of a Prometheus chunk record (the part between
/// the encoding byte and the CRC), so chunks written by either side can be read by the
/// other.
///
/// Invariants:
/// - Samples are appended in strictly increasing timestamp order. The encoding itself
///   survives any order (timestamp arithmetic wraps, as upstream's does), but `minTime`,
///   `maxTime` and every query built on them assume the order. `append` does not check
///   it: the head rejects out-of-order samples before they reach a chunk.
/// - At most `maxSampleCount` samples, because the count header is 16 bits.
/// - `bytes` is always a complete chunk: readable after every append.
public struct XORChunk: Sendable {
    /// Prometheus's encoding byte for this chunk type (`chunkenc.EncXOR`), written
    /// before the data in chunk files.
    public static let encoding: UInt8 = 1

    /// The 16-bit sample count header caps a chunk at this many samples.
    public static let maxSampleCount = Int(UInt16.max)

    static let headerSize = 2

    /// Upstream allocates 128 bytes per new chunk: a 120-sample chunk of a series with
    /// exact scrape intervals and a slowly changing value fits without reallocating.
    static let initialCapacity = 128

    private var stream: BitWriter
    public private(set) var count: Int

    /// Timestamp of the first sample; `Int64.max` while the chunk is empty.
    public private(set) var minTime: Int64

    // Appender state: what the next sample is encoded against.
    private var lastTimestamp: Int64
    private var lastDelta: UInt64
    private var lastValueBits: UInt64
    private var window: XORWindow?

    /// An empty chunk (just the two header bytes, count 0).
    public init() {
        stream = BitWriter(reservingCapacity: Self.initialCapacity)
        stream.writeBits(0, count: 16)
        count = 0
        minTime = .max
        lastTimestamp = 0
        lastDelta = 0
        lastValueBits = 0
        window = nil
    }

    /// Decodes a chunk's data section, e.g. read back from a chunk file.
    ///
    /// Every sample is decoded once to validate the data and to restore the appender
    /// state, so more samples can be appended afterwards. Besides corrupt samples this
    /// rejects data that ends with anything but up to seven zero padding bits.
    public init(bytes: [UInt8]) throws(ChunkError) {
        guard bytes.count >= Self.headerSize else {
            throw .missingHeader(byteCount: bytes.count)
        }
        var iterator = Iterator(bytes: bytes)
        var first: Int64?
        while let (timestamp, _) = try iterator.next() {
            if first == nil { first = timestamp }
        }
        let padding = iterator.reader.remainingBits
        guard padding < 8, try iterator.reader.readBits(padding) == 0 else {
            throw .trailingData(bitCount: padding)
        }

        stream = BitWriter(continuing: bytes, freeBits: padding)
        count = iterator.sampleCount
        minTime = first ?? .max
        lastTimestamp = iterator.timestamp
        lastDelta = iterator.delta
        lastValueBits = iterator.valueBits
        window = iterator.window
    }

    /// The encoded chunk: a 2-byte big-endian sample count followed by the bit stream,
    /// zero-padded to a whole byte. This is what a chunk file stores as the data.
    public var bytes: [UInt8] { stream.bytes }

    /// Timestamp of the last sample; `Int64.min` while the chunk is empty.
    public var maxTime: Int64 { count == 0 ? .min : lastTimestamp }

    public var isEmpty: Bool { count == 0 }

    /// True when no further sample fits in the 16-bit count.
    public var isFull: Bool { count >= Self.maxSampleCount }

    /// Appends one sample in O(1) amortised time.
    ///
    /// - Parameters:
    ///   - timestamp: milliseconds since the Unix epoch. The caller guarantees it is
    ///     greater than the previous sample's; this is not checked (see the type's
    ///     invariants).
    ///   - value: stored bit-exactly, including NaN payloads such as Prometheus's stale
    ///     marker and the sign of zero.
    /// - Precondition: `!isFull`. Upstream panics here too; the head cuts chunks long
    ///   before (at 120 samples).
    public mutating func append(timestamp: Int64, value: Double) {
        precondition(!isFull, "XOR chunk already holds \(Self.maxSampleCount) samples")
        let valueBits = value.bitPattern
        var delta: UInt64 = 0

        switch count {
        case 0:
            writeVarint(timestamp)
            stream.writeBits(valueBits, count: 64)
            minTime = timestamp
        case 1:
            delta = UInt64(bitPattern: timestamp &- lastTimestamp)
            writeUvarint(delta)
            writeValue(valueBits)
        default:
            delta = UInt64(bitPattern: timestamp &- lastTimestamp)
            writeDeltaOfDelta(Int64(bitPattern: delta &- lastDelta))
            writeValue(valueBits)
        }

        lastTimestamp = timestamp
        lastDelta = delta
        lastValueBits = valueBits
        count += 1
        stream.overwriteUInt16BigEndian(UInt16(count), at: 0)
    }

    /// Iterates the samples in order. The iterator shares the bytes copy-on-write, so it
    /// sees the samples present now; an append while it is alive copies the bytes once.
    public func makeIterator() -> Iterator {
        Iterator(bytes: stream.bytes)
    }

    // MARK: - Encoding

    /// Signed varint (zigzag), as Go's `binary.PutVarint`: only the first timestamp.
    private mutating func writeVarint(_ value: Int64) {
        let zigzag = UInt64(bitPattern: value &<< 1) ^ UInt64(bitPattern: value &>> 63)
        writeUvarint(zigzag)
    }

    /// LEB128 unsigned varint, as Go's `binary.PutUvarint`.
    private mutating func writeUvarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            stream.writeByte(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest &>>= 7
        }
        stream.writeByte(UInt8(truncatingIfNeeded: rest))
    }

    /// Prefix code + two's-complement payload. Prefix and payload are written in one
    /// call where they fit, which is both faster and the same bits.
    private mutating func writeDeltaOfDelta(_ dod: Int64) {
        let raw = UInt64(bitPattern: dod)
        if dod == 0 {
            stream.writeBit(false)
        } else if TimestampBucket.fits(dod, payloadBits: 14) {
            stream.writeBits(0b10 << 14 | raw & 0x3FFF, count: 16)
        } else if TimestampBucket.fits(dod, payloadBits: 17) {
            stream.writeBits(0b110 << 17 | raw & 0x1_FFFF, count: 20)
        } else if TimestampBucket.fits(dod, payloadBits: 20) {
            stream.writeBits(0b1110 << 20 | raw & 0xF_FFFF, count: 24)
        } else {
            stream.writeBits(0b1111, count: 4)
            stream.writeBits(raw, count: 64)
        }
    }

    private mutating func writeValue(_ valueBits: UInt64) {
        let xor = valueBits ^ lastValueBits
        guard xor != 0 else {
            stream.writeBit(false)
            return
        }
        // 5 bits hold at most 31 leading zeros; storing fewer than there are only
        // widens the window by a few zero bits.
        let leading = min(UInt8(xor.leadingZeroBitCount), 31)
        let trailing = UInt8(xor.trailingZeroBitCount)

        // Control bits and payload go in one write when they fit 64 bits (same bits).
        if let current = window,
           leading >= current.leading, trailing >= current.trailing {
            // Control '10': the XOR fits in the previous window.
            let significant = current.significantBits
            let payload = xor &>> UInt64(current.trailing)
            if significant <= 62 {
                stream.writeBits(0b10 &<< UInt64(significant) | payload, count: significant + 2)
            } else {
                stream.writeBits(0b10, count: 2)
                stream.writeBits(payload, count: significant)
            }
            return
        }

        // Control '11': new window. 64 significant bits do not fit in the 6-bit field;
        // 0 significant bits never occur (that is the unchanged case), so 0 stands for 64.
        let next = XORWindow(leading: leading, trailing: trailing)
        window = next
        let significant = next.significantBits
        let header = 0b11 << 11 | UInt64(leading) << 6 | UInt64(significant & 0x3F)
        let payload = xor &>> UInt64(trailing)
        if significant <= 51 {
            stream.writeBits(header &<< UInt64(significant) | payload, count: significant + 13)
        } else {
            stream.writeBits(header, count: 13)
            stream.writeBits(payload, count: significant)
        }
    }
}

/// The leading/trailing zero counts set up by the last "new window" value header.
/// Before the first one there is no window (`nil`): a fresh upstream appender then
/// always writes a new window (upstream marks this state with leading = 0xff).
struct XORWindow: Sendable, Equatable {
    var leading: UInt8
    var trailing: UInt8
    var significantBits: Int { 64 - Int(leading) - Int(trailing) }
}

/// Range checks for the delta-of-delta buckets.
enum TimestampBucket {
    /// Whether `dod` fits a bucket of `payloadBits` bits. The range is deliberately
    /// lopsided, -(2^(n-1) - 1) ... +2^(n-1), because the decoder treats only raw values
    /// strictly above 2^(n-1) as negative (upstream `bitRange`, tsdb/docs/bstream.md).
    @inline(__always)
    static func fits(_ dod: Int64, payloadBits: Int) -> Bool {
        let half = Int64(1) << (payloadBits - 1)
        return dod >= -(half - 1) && dod <= half
    }

    /// Inverse of the two's-complement truncation done by the encoder.
    @inline(__always)
    static func signExtend(_ raw: UInt64, payloadBits: Int) -> Int64 {
        let half = UInt64(1) << (payloadBits - 1)
        return raw > half ? Int64(bitPattern: raw &- (half << 1)) : Int64(bitPattern: raw)
    }
}

// MARK: - Decoding

extension XORChunk {
    /// Decodes a chunk's samples in order.
    ///
    /// Corrupt data never traps: `next()` throws, and keeps throwing the same error on
    /// later calls instead of resuming mid-stream with garbage. After the last sample it
    /// returns `nil`. (Chunks from `XORChunk(bytes:)` are already validated, so this
    /// only matters for `Iterator(bytes:)` over unchecked input.)
    public struct Iterator: Sendable {
        fileprivate var reader: BitReader
        fileprivate let sampleCount: Int
        private var samplesRead = 0
        private var failure: ChunkError?

        // State after the last decoded sample; the appender continues from it.
        fileprivate private(set) var timestamp: Int64 = 0
        fileprivate private(set) var delta: UInt64 = 0
        fileprivate private(set) var valueBits: UInt64 = 0
        fileprivate private(set) var window: XORWindow?

        /// Reads `bytes` without validating them first (`XORChunk.init(bytes:)` does).
        /// - Precondition: `bytes` holds at least the two header bytes.
        init(bytes: [UInt8]) {
            precondition(bytes.count >= XORChunk.headerSize)
            sampleCount = Int(bytes[0]) << 8 | Int(bytes[1])
            reader = BitReader(bytes: bytes, byteOffset: XORChunk.headerSize)
        }

        /// The next sample, `nil` after the last one, or an error if the data is corrupt.
        public mutating func next() throws(ChunkError) -> (timestamp: Int64, value: Double)? {
            if let failure { throw failure }
            guard samplesRead < sampleCount else { return nil }
            do {
                try decodeSample()
            } catch {
                failure = error
                throw error
            }
            samplesRead += 1
            return (timestamp, Double(bitPattern: valueBits))
        }

        private mutating func decodeSample() throws(ChunkError) {
            switch samplesRead {
            case 0:
                timestamp = try readVarint()
                valueBits = try reader.readBits(64)
            case 1:
                delta = try readUvarint()
                timestamp = timestamp &+ Int64(bitPattern: delta)
                try readValue()
            default:
                try readDeltaOfDelta()
                try readValue()
            }
        }

        private mutating func readDeltaOfDelta() throws(ChunkError) {
            // The prefix is at most 4 bits: peek them all at once instead of bit by bit.
            let word = reader.peekWord()
            let prefixLength: Int
            let payloadBits: Int
            if word & (1 << 63) == 0 {
                try reader.skip(1)  // dod == 0: the most common case by far.
                timestamp = timestamp &+ Int64(bitPattern: delta)
                return
            } else if word & (1 << 62) == 0 {
                (prefixLength, payloadBits) = (2, 14)
            } else if word & (1 << 61) == 0 {
                (prefixLength, payloadBits) = (3, 17)
            } else if word & (1 << 60) == 0 {
                (prefixLength, payloadBits) = (4, 20)
            } else {
                (prefixLength, payloadBits) = (4, 64)
            }
            try reader.skip(prefixLength)
            let raw = try reader.readBits(payloadBits)
            let dod = payloadBits == 64
                ? Int64(bitPattern: raw)
                : TimestampBucket.signExtend(raw, payloadBits: payloadBits)
            delta = delta &+ UInt64(bitPattern: dod)
            timestamp = timestamp &+ Int64(bitPattern: delta)
        }

        private mutating func readValue() throws(ChunkError) {
            let word = reader.peekWord()
            if word & (1 << 63) == 0 {
                try reader.skip(1)  // '0': value unchanged.
                return
            }
            let bitOffset = reader.bitPosition
            try reader.skip(2)
            let current: XORWindow
            if word & (1 << 62) == 0 {
                // '10': reuse the window. Upstream's reader starts from leading = trailing
                // = 0, so a reuse before any window means all 64 bits; accept it too.
                current = window ?? XORWindow(leading: 0, trailing: 0)
            } else {
                // '11': 5 bits leading zeros, 6 bits significant bits (0 means 64).
                let header = try reader.readBits(11)
                let leading = Int(header >> 6)
                let significant = header & 0x3F == 0 ? 64 : Int(header & 0x3F)
                guard leading + significant <= 64 else {
                    throw .invalidValueWindow(
                        leadingZeros: leading, significantBits: significant, bitOffset: bitOffset)
                }
                current = XORWindow(
                    leading: UInt8(leading), trailing: UInt8(64 - leading - significant))
            }
            window = current
            let xor = try reader.readBits(current.significantBits)
            valueBits ^= xor &<< UInt64(current.trailing)
        }

        /// Go's `binary.ReadUvarint`: at most 10 bytes, and the 10th may only hold bit 63.
        private mutating func readUvarint() throws(ChunkError) -> UInt64 {
            let start = reader.bitPosition
            var result: UInt64 = 0
            var shift: UInt64 = 0
            for index in 0..<10 {
                let byte = try reader.readByte()
                if byte < 0x80 {
                    guard index < 9 || byte <= 1 else { throw .varintOverflow(bitOffset: start) }
                    return result | UInt64(byte) &<< shift
                }
                result |= UInt64(byte & 0x7F) &<< shift
                shift += 7
            }
            throw .varintOverflow(bitOffset: start)
        }

        private mutating func readVarint() throws(ChunkError) -> Int64 {
            let zigzag = try readUvarint()
            let magnitude = Int64(bitPattern: zigzag >> 1)
            return zigzag & 1 == 0 ? magnitude : ~magnitude
        }
    }
}

/// Why bytes could not be decoded as a chunk. Offsets count bits from the start of the
/// chunk data (bit 0 is the top bit of the first header byte), to help locate the damage
/// with a hex dump.
public enum ChunkError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Fewer than the two bytes of the sample count header.
    case missingHeader(byteCount: Int)
    /// The data ends inside a sample: it is shorter than its sample count says.
    case unexpectedEnd(bitOffset: Int, bitsNeeded: Int)
    /// A timestamp varint runs past 10 bytes or 64 bits.
    case varintOverflow(bitOffset: Int)
    /// A value header whose leading zeros and significant bits add up to more than 64.
    case invalidValueWindow(leadingZeros: Int, significantBits: Int, bitOffset: Int)
    /// After the last sample there is more than the zero padding of the final byte.
    case trailingData(bitCount: Int)
    /// A header field of a decimal chunk holds a value the format does not allow.
    case invalidField(String, bitOffset: Int)

    public var description: String {
        switch self {
        case .missingHeader(let byteCount):
            "chunk has \(byteCount) bytes, fewer than the 2-byte sample count header"
        case .unexpectedEnd(let bitOffset, let bitsNeeded):
            "chunk data ends at bit \(bitOffset) but the next field needs \(bitsNeeded) bits: "
                + "truncated or wrong sample count"
        case .varintOverflow(let bitOffset):
            "timestamp varint at bit \(bitOffset) overflows 64 bits"
        case .invalidValueWindow(let leading, let significant, let bitOffset):
            "value header at bit \(bitOffset) has \(leading) leading zeros and "
                + "\(significant) significant bits, more than 64 in all"
        case .trailingData(let bitCount):
            "\(bitCount) bits after the last sample are not zero padding"
        case .invalidField(let problem, let bitOffset):
            "chunk field at bit \(bitOffset): \(problem)"
        }
    }
}
