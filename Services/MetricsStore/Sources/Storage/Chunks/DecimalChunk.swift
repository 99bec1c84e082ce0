// The block chunk for values that are decimals with few digits: integers, or integers
// over a power of ten (counters, byte and nanosecond figures, two-decimal seconds). Such
// values are stored as scaled integers whose deltas are bit-packed, and regular scrape
// timestamps cost nothing per sample. It is Vigil's own encoding, used in blocks only
// (the head keeps Prometheus's XOR chunks); FORMAT-chunks.md has the layout and the
// reasons, BlockChunkEncoding decides when a block uses it.

/// An immutable run of float samples of one series whose values (all but a few
/// exceptions) equal `k / 10^scale` for integers `k` of at most 53 bits.
///
/// Invariants: samples are in strictly increasing timestamp order; `bytes` is a complete
/// encoding of exactly `count` samples.
public struct DecimalChunk: Sendable {
    /// The encoding byte in chunk files. Prometheus's own encodings are 1–3; the high bit
    /// marks Vigil's, so a reader of either kind rejects the other's chunks by name.
    public static let encoding: UInt8 = 0x81

    /// Values are bit-packed in groups of this many, each group as wide as its widest.
    static let groupSize = 16
    /// Largest power of ten tried: 10^22 is the largest exactly representable as a Double.
    static let maxScale = 22
    /// Chunks with more exceptions than one in this many samples stay XOR chunks.
    static let maxExceptionShare = 8
    /// Bounds what a corrupt count header can make a reader allocate.
    public static let maxSampleCount = 1 << 16

    public let bytes: [UInt8]
    public let count: Int
    public let minTime: Int64
    public let maxTime: Int64

    private init(bytes: [UInt8], count: Int, minTime: Int64, maxTime: Int64) {
        self.bytes = bytes
        self.count = count
        self.minTime = minTime
        self.maxTime = maxTime
    }

    /// Decodes chunk data read back from a chunk file, validating every sample.
    public init(bytes: [UInt8]) throws(ChunkError) {
        var none: [Head.Sample] = []
        let (count, minTime, maxTime) = try DecimalChunkDecoder.decode(bytes, from: .max, through: .min, into: &none)
        self.init(bytes: bytes, count: count, minTime: minTime, maxTime: maxTime)
    }

    /// Chunk data from a chunk file whose checksum was verified: only the header and the
    /// timestamps are read here; the values are checked when a query decodes them (any
    /// damage then throws `ChunkError`), so a block read does not decode them twice.
    public init(checksummedBytes bytes: [UInt8]) throws(ChunkError) {
        let timestamps = try DecimalChunkDecoder.decodeTimestamps(bytes).timestamps
        self.init(bytes: bytes, count: timestamps.count, minTime: timestamps[0], maxTime: timestamps[timestamps.count - 1])
    }

    /// Every sample, in time order.
    public func samples() throws(ChunkError) -> [Head.Sample] {
        try DecimalChunkDecoder.decode(bytes)
    }

    /// Appends the samples with timestamps in `[mint, maxt]` to `out`; false once a sample
    /// after `maxt` exists (later chunks of the series need not be read), as
    /// `XORChunk.appendSamples`.
    public func appendSamples(from mint: Int64, through maxt: Int64, to out: inout [Head.Sample]) throws(ChunkError) -> Bool {
        guard minTime <= maxt else { return false }
        guard maxTime >= mint else { return true }
        try DecimalChunkDecoder.decode(bytes, from: mint, through: maxt, into: &out)
        return maxTime <= maxt
    }

    /// Encodes `samples` (non-empty, strictly increasing timestamps), or returns nil when
    /// their values are not decimals this encoding holds (e.g. arbitrary floats).
    public static func encode(_ samples: [Head.Sample]) -> DecimalChunk? {
        guard let first = samples.first, let last = samples.last, samples.count <= maxSampleCount else { return nil }
        guard let values = DecimalValues(samples.map(\.value), maxExceptions: samples.count / maxExceptionShare) else {
            return nil
        }
        var writer = BitWriter(reservingCapacity: 32 + samples.count)
        writeUvarint(UInt64(samples.count), to: &writer)
        writeVarint(first.timestamp, to: &writer)
        var deltasOfDeltas: [UInt64] = []
        if samples.count > 1 {
            writeVarint(samples[1].timestamp &- first.timestamp, to: &writer)
            deltasOfDeltas.reserveCapacity(samples.count - 2)
            for i in stride(from: 2, to: samples.count, by: 1) {
                let delta = samples[i].timestamp &- samples[i - 1].timestamp
                let previous = samples[i - 1].timestamp &- samples[i - 2].timestamp
                deltasOfDeltas.append(zigzag(delta &- previous))
            }
        }
        let regular = deltasOfDeltas.allSatisfy { $0 == 0 }
        let flags = (regular ? 0 : DecimalChunkFlags.irregularTimestamps) | (values.signed ? DecimalChunkFlags.signedSteps : 0)
        writer.writeByte(flags)
        writer.writeByte(UInt8(values.scale))
        writeVarint(values.first, to: &writer)
        writeUvarint(UInt64(values.step), to: &writer)
        writeUvarint(UInt64(values.exceptions.count), to: &writer)
        var previousIndex = 0
        for (index, bits) in values.exceptions {
            writeUvarint(UInt64(index - previousIndex), to: &writer)
            writer.writeBits(bits, count: 64)
            previousIndex = index
        }
        if !regular { writePacked(deltasOfDeltas, to: &writer) }
        if values.step != 0 { writePacked(values.steps, to: &writer) }
        return DecimalChunk(bytes: writer.bytes, count: samples.count, minTime: first.timestamp, maxTime: last.timestamp)
    }

    /// Each group: its width (7 bits) and a sparse flag (1 bit); then either every number
    /// at that width, or, when most are zero (a gauge that rarely changes), a bitmap of
    /// the non-zero ones and only those.
    private static func writePacked(_ numbers: [UInt64], to writer: inout BitWriter) {
        var start = 0
        while start < numbers.count {
            let end = min(start + groupSize, numbers.count)
            var widest: UInt64 = 0
            var nonZero = 0
            for i in start..<end {
                widest |= numbers[i]
                if numbers[i] != 0 { nonZero += 1 }
            }
            let width = 64 - widest.leadingZeroBitCount
            let sparse = (end - start) + nonZero * width < (end - start) * width
            writer.writeBits(UInt64(width), count: DecimalChunkFlags.widthBits)
            writer.writeBit(sparse)
            if sparse {
                for i in start..<end { writer.writeBit(numbers[i] != 0) }
                for i in start..<end where numbers[i] != 0 { writer.writeBits(numbers[i], count: width) }
            } else {
                for i in start..<end { writer.writeBits(numbers[i], count: width) }
            }
            start = end
        }
    }

    static func writeUvarint(_ value: UInt64, to writer: inout BitWriter) {
        var rest = value
        while rest >= 0x80 {
            writer.writeByte(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        writer.writeByte(UInt8(rest))
    }

    static func writeVarint(_ value: Int64, to writer: inout BitWriter) {
        writeUvarint(zigzag(value), to: &writer)
    }

    static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value >> 63))
    }

    static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}

enum DecimalChunkFlags {
    /// Timestamps are not evenly spaced: their deltas of deltas follow, bit-packed.
    static let irregularTimestamps: UInt8 = 1
    /// Some value steps are negative: steps are zigzag-coded.
    static let signedSteps: UInt8 = 2
    static let known: UInt8 = irregularTimestamps | signedSteps
    /// Bits of each packed group's width header (0...64).
    static let widthBits = 7
}

/// A series' values as scaled integers: `value[i] == Double(k[i]) / 10^scale` exactly,
/// except at `exceptions` (NaNs such as stale markers, infinities, -0.0, values needing
/// more digits), where `k` repeats and the raw bits are kept aside.
struct DecimalValues {
    var scale: Int
    var first: Int64
    /// Greatest common divisor of the integer deltas; 0 when all are zero.
    var step: Int64
    /// `(k[i] - k[i-1]) / step` for i ≥ 1, zigzag-coded when `signed`.
    var steps: [UInt64]
    var signed: Bool
    var exceptions: [(index: Int, bits: UInt64)]

    /// Integers up to this magnitude convert to Double and back exactly.
    static let maxMagnitude = Double(1 << 53)

    init?(_ values: [Double], maxExceptions: Int) {
        var scale = 0
        var exceptional = [Bool](repeating: false, count: values.count)
        var exceptionCount = 0
        for (i, value) in values.enumerated() {
            guard let needed = Self.digits(of: value, atLeast: scale) else {
                exceptional[i] = true
                exceptionCount += 1
                if exceptionCount > maxExceptions { return nil }
                continue
            }
            scale = needed
        }
        // A value exact at fewer digits is exact at more (the same decimal), unless its
        // integer grows past 53 bits: those become exceptions too.
        let power = DecimalChunkDecoder.powersOfTen[scale]
        var integers = [Int64](repeating: 0, count: values.count)
        var previous: Int64?
        var exceptions: [(index: Int, bits: UInt64)] = []
        for (i, value) in values.enumerated() {
            if !exceptional[i], let k = Self.integer(value, power: power) {
                integers[i] = k
                if previous == nil {
                    // Exceptions before the first regular value take its integer.
                    for j in 0..<i { integers[j] = k }
                }
                previous = k
            } else {
                exceptions.append((i, value.bitPattern))
                integers[i] = previous ?? 0
            }
        }
        guard exceptions.count <= maxExceptions else { return nil }
        var gcd: Int64 = 0
        for i in integers.indices.dropFirst() { gcd = Self.gcd(gcd, integers[i] - integers[i - 1]) }
        var signed = false
        var steps: [UInt64] = []
        if gcd != 0 {
            steps.reserveCapacity(integers.count - 1)
            for i in integers.indices.dropFirst() where integers[i] < integers[i - 1] { signed = true; break }
            for i in integers.indices.dropFirst() {
                let step = (integers[i] - integers[i - 1]) / gcd
                steps.append(signed ? DecimalChunk.zigzag(step) : UInt64(step))
            }
        }
        self.scale = scale
        self.first = integers.first ?? 0
        self.step = gcd
        self.steps = steps
        self.signed = signed
        self.exceptions = exceptions
    }

    /// The fewest decimal digits (≥ `minimum`) that hold `value` exactly, or nil.
    static func digits(of value: Double, atLeast minimum: Int) -> Int? {
        guard value.isFinite, !(value == 0 && value.sign == .minus) else { return nil }
        var scale = minimum
        while scale <= DecimalChunk.maxScale {
            if integer(value, power: DecimalChunkDecoder.powersOfTen[scale]) != nil { return scale }
            scale += 1
        }
        return nil
    }

    /// `k` with `Double(k) / power` bit-identical to `value`, if one of 53 bits exists.
    static func integer(_ value: Double, power: Double) -> Int64? {
        let scaled = (value * power).rounded()
        guard abs(scaled) <= maxMagnitude else { return nil }
        let k = Int64(scaled)
        return (Double(k) / power).bitPattern == value.bitPattern ? k : nil
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var x = a.magnitude, y = b.magnitude
        while y != 0 { (x, y) = (y, x % y) }
        return Int64(x)
    }
}
