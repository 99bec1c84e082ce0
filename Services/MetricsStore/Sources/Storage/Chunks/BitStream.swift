// Bit-level reading and writing for the chunk encodings.
//
// Bits are packed most-significant-bit first: the first bit written lands in bit 7 of
// byte 0, the ninth in bit 7 of byte 1. Unused bits at the end of the last byte are zero.
// This is the bit order of Prometheus's `bstream` (tsdb/chunkenc/bstream.go), which the
// XOR chunk depends on for byte compatibility.

/// Appends bits to a growing byte buffer, most significant bit first.
///
/// Invariant: every bit after the last written one, up to the end of `bytes`, is zero,
/// so `bytes` is always a complete, zero-padded encoding of what was written.
struct BitWriter: Sendable {
    /// The encoded bytes; the last byte may be partly filled.
    private(set) var bytes: [UInt8]

    /// How many low-order bits of the last byte are still free (0...7).
    private(set) var freeBits: Int

    /// Starts an empty stream, reserving `capacity` bytes up front.
    init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
        freeBits = 0
    }

    /// Continues a stream whose last `freeBits` bits are unused and zero.
    init(continuing bytes: [UInt8], freeBits: Int) {
        precondition((0...7).contains(freeBits) && (freeBits == 0 || !bytes.isEmpty))
        self.bytes = bytes
        self.freeBits = freeBits
    }

    /// Total number of bits written.
    var bitCount: Int { bytes.count * 8 - freeBits }

    mutating func writeBit(_ bit: Bool) {
        if freeBits == 0 {
            bytes.append(bit ? 0x80 : 0)
            freeBits = 7
            return
        }
        freeBits -= 1
        if bit {
            bytes[bytes.count - 1] |= 1 << UInt8(freeBits)
        }
    }

    /// Writes the low `count` bits of `value` (0...64), most significant first.
    /// Bits of `value` above `count` are ignored.
    ///
    /// The head appends every sample through here, so the array is grown once per call
    /// and then written through a pointer (one uniqueness check, not one per byte).
    mutating func writeBits(_ value: UInt64, count: Int) {
        precondition((0...64).contains(count))
        guard count > 0 else { return }
        let value = count == 64 ? value : value & ((1 &<< UInt64(count)) &- 1)
        let oldCount = bytes.count
        let free = freeBits
        let extra = count > free ? (count - free + 7) >> 3 : 0
        if extra > 0 {
            withUnsafeBytes(of: (UInt64(0), UInt64(0))) { zeros in
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: zeros[..<extra]))
            }
        }
        bytes.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress!
            var remaining = count
            // Top up the partly filled last byte first.
            if free > 0 {
                let taken = min(free, remaining)
                remaining -= taken
                out[oldCount - 1] |= UInt8(truncatingIfNeeded: value &>> UInt64(remaining)) &<< UInt8(free - taken)
            }
            var index = oldCount
            while remaining >= 8 {
                remaining -= 8
                out[index] = UInt8(truncatingIfNeeded: value &>> UInt64(remaining))
                index += 1
            }
            if remaining > 0 {
                out[index] = UInt8(truncatingIfNeeded: value &<< UInt64(8 - remaining))
            }
        }
        freeBits = (oldCount + extra) * 8 - (oldCount * 8 - free + count)
    }

    /// Writes 8 bits; byte-aligned streams take a plain append.
    mutating func writeByte(_ byte: UInt8) {
        if freeBits == 0 {
            bytes.append(byte)
        } else {
            writeBits(UInt64(byte), count: 8)
        }
    }

    /// Overwrites two already-written bytes with `value` in big-endian order.
    /// Used for fixed-size headers that are updated in place (the chunk's sample count).
    mutating func overwriteUInt16BigEndian(_ value: UInt16, at offset: Int) {
        precondition(offset >= 0 && offset + 2 <= bytes.count)
        bytes.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress![offset] = UInt8(truncatingIfNeeded: value &>> 8)
            buffer.baseAddress![offset + 1] = UInt8(truncatingIfNeeded: value)
        }
    }
}

/// Reads bits from a byte buffer, most significant bit first.
///
/// Every read is bounds-checked against `bitCount` and throws
/// `ChunkError.unexpectedEnd` instead of trapping, so corrupt or truncated input
/// can never crash the process.
struct BitReader: Sendable {
    private let bytes: [UInt8]

    /// Absolute position of the next bit to read, counted from bit 7 of `bytes[0]`.
    private(set) var bitPosition: Int

    /// Total number of readable bits.
    let bitCount: Int

    /// Reads `bytes`, starting `byteOffset` bytes in (e.g. past a header).
    init(bytes: [UInt8], byteOffset: Int = 0) {
        self.bytes = bytes
        self.bitCount = bytes.count * 8
        self.bitPosition = min(max(byteOffset, 0), bytes.count) * 8
    }

    var remainingBits: Int { bitCount - bitPosition }

    /// Returns the upcoming bits left-aligned in a `UInt64` without consuming them; at
    /// least the top 57 are valid. Bits past the end of the input read as zero, so a
    /// caller that peeks must still `skip` (which is bounds-checked) what it uses.
    @inline(__always)
    func peekWord() -> UInt64 {
        let byteIndex = bitPosition &>> 3
        let shift = UInt64(bitPosition & 7)
        return loadBigEndianWord(at: byteIndex) &<< shift
    }

    /// Reads `count` bits (0...64) and returns them right-aligned.
    mutating func readBits(_ count: Int) throws(ChunkError) -> UInt64 {
        guard count <= remainingBits else {
            throw .unexpectedEnd(bitOffset: bitPosition, bitsNeeded: count)
        }
        return readBitsUnchecked(count)
    }

    mutating func readBit() throws(ChunkError) -> Bool {
        try readBits(1) == 1
    }

    mutating func readByte() throws(ChunkError) -> UInt8 {
        UInt8(truncatingIfNeeded: try readBits(8))
    }

    /// Consumes `count` bits already inspected with `peekWord()`.
    mutating func skip(_ count: Int) throws(ChunkError) {
        guard count <= remainingBits else {
            throw .unexpectedEnd(bitOffset: bitPosition, bitsNeeded: count)
        }
        bitPosition += count
    }

    // MARK: - Internals

    /// A single unaligned 64-bit load covers any 57 bits starting anywhere in a byte;
    /// wider reads are split in two.
    private mutating func readBitsUnchecked(_ count: Int) -> UInt64 {
        if count == 0 { return 0 }
        if count > 57 {
            let high = readBitsUnchecked(count - 32)
            let low = readBitsUnchecked(32)
            return (high &<< 32) | low
        }
        let word = peekWord()
        bitPosition += count
        return word &>> UInt64(64 - count)
    }

    /// The eight bytes starting at `index`, big-endian, zero-filled past the end.
    @inline(__always)
    private func loadBigEndianWord(at index: Int) -> UInt64 {
        bytes.withUnsafeBytes { raw -> UInt64 in
            if index &+ 8 <= raw.count {
                return UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            }
            var word: UInt64 = 0
            var i = index
            var shift: UInt64 = 56
            while i < raw.count {
                word |= UInt64(raw[i]) &<< shift
                i += 1
                shift &-= 8
            }
            return word
        }
    }
}
