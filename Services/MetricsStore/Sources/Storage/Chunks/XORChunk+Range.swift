// Reading the samples of a time range straight out of a chunk's bytes: the query path.
//
// `XORChunk.Iterator` hands out one sample per call; profiles of instant queries over the
// head showed its per-sample call and reference-counting overhead outweighing the
// decoding itself. This decoder keeps the whole state in locals, reads the bytes through
// one raw pointer and writes the wanted samples straight into the caller's array. It
// decodes exactly the format the iterator does (same checks, same errors).
//
// The encoding is sequential, so reading the last minutes of a chunk means decoding it
// from its start. A `ReadPosition` records where decoding stood just before the first
// sample a read wanted; a later read of the same chunk whose range starts after that
// point resumes there. Bits once written never change (appends only add bits after
// them), so a position stays valid for the open chunk too.

extension XORChunk {
    /// The decoder's state after some sample of a chunk, to resume decoding there.
    public struct ReadPosition: Sendable, Equatable {
        /// Identifies the chunk within its series (chunks of a series do not overlap).
        var chunkMinTime: Int64
        /// Samples decoded so far; the last of them has `timestamp`.
        var samplesRead: Int32
        var bitPosition: Int32
        var timestamp: Int64
        var delta: UInt64
        var valueBits: UInt64
        var leading: UInt8
        var trailing: UInt8

        /// Whether this position is later in the series than `other`.
        func isAfter(_ other: ReadPosition?) -> Bool {
            guard let other else { return true }
            return chunkMinTime != other.chunkMinTime ? chunkMinTime > other.chunkMinTime : samplesRead > other.samplesRead
        }
    }

    /// Appends this chunk's samples with timestamps in `[mint, maxt]` to `out`, in order.
    ///
    /// Returns false once a sample after `maxt` was seen (so later chunks of the series
    /// need not be read), true otherwise. Samples before `mint` are decoded but never
    /// materialised. `position`, when it belongs to this chunk and lies before `mint`,
    /// lets decoding skip the samples before it; it is then moved to just before the
    /// first sample in range, if that is later.
    public func appendSamples(from mint: Int64, through maxt: Int64, to out: inout [Head.Sample],
                              position: inout ReadPosition?) throws(ChunkError) -> Bool {
        guard count > 0 else { return true }
        guard minTime <= maxt else { return false }
        guard maxTime >= mint else { return true }
        var resume = position.flatMap { $0.chunkMinTime == minTime && $0.timestamp < mint && Int($0.samplesRead) <= count ? $0 : nil }
        let result = bytes.withUnsafeBytes { raw -> Result<Bool, ChunkError> in
            var cursor = RawBitCursor(raw)
            do throws(ChunkError) {
                return .success(try cursor.decodeXOR(from: mint, through: maxt, to: &out, chunkMinTime: minTime, resume: &resume))
            } catch {
                return .failure(error)
            }
        }
        if let resume, resume.isAfter(position) { position = resume }
        return try result.get()
    }

    /// `appendSamples` without a position to reuse.
    public func appendSamples(from mint: Int64, through maxt: Int64, to out: inout [Head.Sample]) throws(ChunkError) -> Bool {
        var position: ReadPosition?
        return try appendSamples(from: mint, through: maxt, to: &out, position: &position)
    }
}

/// A bounds-checked, most-significant-bit-first reader over raw bytes (the bit order of
/// `BitReader`), with the XOR sample decoding on top.
private struct RawBitCursor {
    let base: UnsafeRawPointer?
    let byteCount: Int
    let bitCount: Int
    var position: Int

    init(_ raw: UnsafeRawBufferPointer) {
        base = raw.baseAddress
        byteCount = raw.count
        bitCount = raw.count &* 8
        position = 0
    }

    /// The next 64 bits left-aligned, of which at least 57 are valid; zeros past the end.
    @inline(__always)
    func peek() -> UInt64 {
        let index = position &>> 3
        let word: UInt64
        if index &+ 8 <= byteCount {
            word = UInt64(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        } else {
            var w: UInt64 = 0
            var i = index
            var shift: UInt64 = 56
            while i < byteCount {
                w |= UInt64(base.unsafelyUnwrapped.load(fromByteOffset: i, as: UInt8.self)) &<< shift
                i &+= 1
                shift &-= 8
            }
            word = w
        }
        return word &<< UInt64(position & 7)
    }

    @inline(__always)
    mutating func skip(_ n: Int) throws(ChunkError) {
        guard position &+ n <= bitCount else { throw .unexpectedEnd(bitOffset: position, bitsNeeded: n) }
        position &+= n
    }

    /// `n` bits (0...64), right-aligned.
    @inline(__always)
    mutating func read(_ n: Int) throws(ChunkError) -> UInt64 {
        guard position &+ n <= bitCount else { throw .unexpectedEnd(bitOffset: position, bitsNeeded: n) }
        if n == 0 { return 0 }
        if n > 57 {
            let high = peek() &>> UInt64(64 &- (n &- 32))
            position &+= n &- 32
            let low = peek() &>> 32
            position &+= 32
            return high &<< 32 | low
        }
        let bits = peek() &>> UInt64(64 &- n)
        position &+= n
        return bits
    }

    /// Go's `binary.ReadUvarint` over whole bytes of the bit stream.
    mutating func readUvarint() throws(ChunkError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<10 {
            let byte = try read(8)
            if byte < 0x80 {
                guard index < 9 || byte <= 1 else { throw .varintOverflow(bitOffset: start) }
                return result | byte &<< shift
            }
            result |= (byte & 0x7F) &<< shift
            shift += 7
        }
        throw .varintOverflow(bitOffset: start)
    }

    /// Decodes an XOR chunk (header included) and appends the samples in `[mint, maxt]`;
    /// false once past `maxt`. Starts at `resume` when given (the caller checked that it
    /// belongs to this chunk and lies before `mint`) and leaves there the state after the
    /// last sample before `mint`.
    mutating func decodeXOR(from mint: Int64, through maxt: Int64, to out: inout [Head.Sample],
                            chunkMinTime: Int64, resume: inout XORChunk.ReadPosition?) throws(ChunkError) -> Bool {
        guard byteCount >= XORChunk.headerSize else { throw .missingHeader(byteCount: byteCount) }
        let sampleCount = Int(try read(16))
        var first = 0
        var timestamp: Int64 = 0
        var delta: UInt64 = 0
        var valueBits: UInt64 = 0
        // The value window; before the first '11' header upstream reads all 64 bits.
        var leading = 0
        var trailing = 0
        if let start = resume {
            first = Int(start.samplesRead)
            position = Int(start.bitPosition)
            (timestamp, delta, valueBits) = (start.timestamp, start.delta, start.valueBits)
            (leading, trailing) = (Int(start.leading), Int(start.trailing))
        }
        // The state after the last sample before `mint`.
        var before = resume
        defer { resume = before }
        for index in first..<max(first, sampleCount) {
            if index >= 2 {
                let word = peek()
                if word & (1 << 63) == 0 {
                    try skip(1)
                } else {
                    let prefix: Int
                    let payload: Int
                    if word & (1 << 62) == 0 {
                        (prefix, payload) = (2, 14)
                    } else if word & (1 << 61) == 0 {
                        (prefix, payload) = (3, 17)
                    } else if word & (1 << 60) == 0 {
                        (prefix, payload) = (4, 20)
                    } else {
                        (prefix, payload) = (4, 64)
                    }
                    try skip(prefix)
                    let raw = try read(payload)
                    let dod = payload == 64 ? Int64(bitPattern: raw) : TimestampBucket.signExtend(raw, payloadBits: payload)
                    delta = delta &+ UInt64(bitPattern: dod)
                }
                timestamp = timestamp &+ Int64(bitPattern: delta)
            } else if index == 1 {
                delta = try readUvarint()
                timestamp = timestamp &+ Int64(bitPattern: delta)
            } else {
                let zigzag = try readUvarint()
                let magnitude = Int64(bitPattern: zigzag >> 1)
                timestamp = zigzag & 1 == 0 ? magnitude : ~magnitude
                valueBits = try read(64)
            }
            if index >= 1 {
                let word = peek()
                if word & (1 << 63) == 0 {
                    try skip(1)  // value unchanged
                } else {
                    let offset = position
                    if word & (1 << 62) != 0 {
                        // '11': 5 bits of leading zeros, 6 of significant bits (0 means 64).
                        let header = Int(truncatingIfNeeded: (word &<< 2) &>> 53)
                        let newLeading = header >> 6
                        let significant = header & 0x3F == 0 ? 64 : header & 0x3F
                        try skip(2)
                        try skip(11)
                        guard newLeading + significant <= 64 else {
                            throw .invalidValueWindow(leadingZeros: newLeading, significantBits: significant, bitOffset: offset)
                        }
                        leading = newLeading
                        trailing = 64 - newLeading - significant
                    } else {
                        try skip(2)  // '10': the previous window
                    }
                    let xor = try read(64 - leading - trailing)
                    valueBits ^= xor &<< UInt64(trailing)
                }
            }
            if timestamp > maxt { return false }
            if timestamp >= mint {
                out.append(Head.Sample(timestamp, Double(bitPattern: valueBits)))
            } else {
                before = XORChunk.ReadPosition(chunkMinTime: chunkMinTime, samplesRead: Int32(index + 1), bitPosition: Int32(position),
                                               timestamp: timestamp, delta: delta, valueBits: valueBits,
                                               leading: UInt8(leading), trailing: UInt8(trailing))
            }
        }
        return true
    }
}
