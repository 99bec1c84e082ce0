/// Snappy compression in the *block* format, in pure Swift.
///
/// This is the raw format Prometheus remote write bodies use (`Content-Encoding: snappy`),
/// not the framed stream format, which wraps blocks in chunks behind a `sNaPpY` header.
///
/// A block is a preamble followed by elements:
///
///     preamble  uncompressed length as an unsigned LEB128 varint, at most 2³² − 1
///     elements  until the input ends, each led by a tag byte whose low two bits say:
///       00  literal  length − 1 in the upper six bits; 60…63 there instead mean
///                    length − 1 follows in 1…4 little-endian bytes; then the bytes
///       01  copy-1   length 4…11 in bits 2…4, 11-bit offset: high 3 bits in bits 5…7,
///                    low 8 bits in the next byte
///       10  copy-2   length 1…64 in the upper six bits, 16-bit little-endian offset
///       11  copy-4   length 1…64 in the upper six bits, 32-bit little-endian offset
///
/// A copy repeats `length` bytes that start `offset` bytes back in the output. The two
/// ranges may overlap (offset < length), which is how runs are encoded.
///
/// Decoder guarantees, whatever bytes it is given:
/// - it never reads outside the input and never writes outside its output buffer;
/// - it allocates once, exactly the declared length, and only after checking that
///   length against `maxLength`, so a hostile preamble cannot make it allocate more;
/// - it returns exactly the declared number of bytes or throws ``SnappyError``; it does
///   not trap. (Arithmetic assumes a 64-bit `Int`, as on every platform Vigil ships on.)
///
/// The encoder is the classic greedy single-probe matcher: input is cut into independent
/// 64 KiB fragments (so every offset fits copy-1 or copy-2), and a hash of each 4-byte
/// sequence indexes a table of recent positions within the fragment.
public enum Snappy {
    /// Default cap on the decompressed size. Remote-write bodies are a few MiB at most;
    /// the cap exists so a 5-byte preamble cannot demand a 4 GiB allocation.
    public static let defaultMaxLength = 256 << 20

    /// Upper bound on `compress` output for `sourceLength` input bytes (incompressible
    /// data costs at most a few tag bytes per 64 KiB fragment plus the preamble).
    @inlinable
    public static func maxCompressedLength(_ sourceLength: Int) -> Int {
        32 + sourceLength + sourceLength / 6
    }

    // MARK: Compression

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compress($0) }
    }

    /// Compresses any byte collection; contiguous ones (`ArraySlice`, `Data`,
    /// `ByteBufferView`) are read in place, others are copied once first.
    public static func compress(_ input: some Collection<UInt8>) -> [UInt8] {
        if let out = input.withContiguousStorageIfAvailable({ compress(UnsafeRawBufferPointer($0)) }) {
            return out
        }
        return compress(Array(input))
    }

    /// Compresses `input` into a new block. Precondition: `input.count < 2³²`, the
    /// largest length the preamble can describe.
    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let sourceLength = input.count
        precondition(
            UInt64(sourceLength) <= UInt64(UInt32.max),
            "snappy: the block format cannot describe inputs of 4 GiB or more")
        return [UInt8](unsafeUninitializedCapacity: maxCompressedLength(sourceLength)) { out, written in
            // Capacity is at least 32, so the base address exists.
            let dst = out.baseAddress!
            var op = writeVarint(UInt32(sourceLength), to: dst)
            if let src = input.baseAddress, sourceLength > 0 {
                let table = UnsafeMutablePointer<UInt16>.allocate(capacity: maxTableSize)
                defer { table.deallocate() }
                var start = 0
                while start < sourceLength {
                    let fragmentLength = min(sourceLength - start, fragmentSize)
                    op += compressFragment(src + start, count: fragmentLength, into: dst + op, table: table)
                    start += fragmentLength
                }
            }
            written = op
        }
    }

    // MARK: Decompression

    public static func decompress(
        _ input: [UInt8], maxLength: Int = defaultMaxLength
    ) throws(SnappyError) -> [UInt8] {
        // withUnsafeBytes is rethrows, which would erase the typed error; carry it out as a Result.
        try input.withUnsafeBytes { bytes in
            Result { () throws(SnappyError) in try decompress(bytes, maxLength: maxLength) }
        }.get()
    }

    public static func decompress(
        _ input: some Collection<UInt8>, maxLength: Int = defaultMaxLength
    ) throws(SnappyError) -> [UInt8] {
        let result = input.withContiguousStorageIfAvailable { bytes in
            Result { () throws(SnappyError) in
                try decompress(UnsafeRawBufferPointer(bytes), maxLength: maxLength)
            }
        }
        if let result { return try result.get() }
        return try decompress(Array(input), maxLength: maxLength)
    }

    /// Decodes one block. Throws rather than returning partial output: either every
    /// element is valid and they produce exactly the declared length, or nothing is returned.
    public static func decompress(
        _ input: UnsafeRawBufferPointer, maxLength: Int = defaultMaxLength
    ) throws(SnappyError) -> [UInt8] {
        let (declared, preambleSize) = try readPreamble(input)
        guard declared <= maxLength else {
            throw .lengthExceedsLimit(length: declared, limit: maxLength)
        }
        guard declared > 0 else {
            // No element can produce zero bytes, so anything after the preamble is an overrun.
            guard preambleSize == input.count else {
                throw .outputOverrun(declared: 0, inputOffset: preambleSize)
            }
            return []
        }
        // A non-empty preamble was read, so the input has a base address.
        let src = input.baseAddress!
        var failure: SnappyError?
        let output = [UInt8](unsafeUninitializedCapacity: declared) { out, initialized in
            do throws(SnappyError) {
                try decodeElements(
                    src, from: preambleSize, to: input.count, into: out.baseAddress!, count: declared)
                initialized = declared
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return output
    }

    /// The uncompressed length a block declares, read from its preamble without decoding.
    /// Lets callers reject or size buffers for oversized bodies cheaply.
    public static func decompressedLength(_ input: [UInt8]) throws(SnappyError) -> Int {
        try input.withUnsafeBytes { bytes in
            Result { () throws(SnappyError) in try decompressedLength(bytes) }
        }.get()
    }

    public static func decompressedLength(_ input: UnsafeRawBufferPointer) throws(SnappyError) -> Int {
        try readPreamble(input).length
    }
}

/// Why a buffer could not be decoded. Descriptions name the offending byte offsets and
/// lengths so a corrupt or mislabelled body can be diagnosed from a log line.
public enum SnappyError: Error, Equatable, CustomStringConvertible {
    /// Input is empty or ends inside the length varint.
    case truncatedPreamble
    /// The length varint runs past 5 bytes or exceeds 2³² − 1.
    case invalidPreamble
    /// Input starts with the framed stream format's `sNaPpY` header.
    case framedFormat
    /// The declared uncompressed length is above the caller's `maxLength`.
    case lengthExceedsLimit(length: Int, limit: Int)
    /// The element whose tag is at `inputOffset` needs bytes past the end of input.
    case truncatedElement(inputOffset: Int)
    /// A literal declares more bytes than remain in the input.
    case literalPastEnd(inputOffset: Int, length: Int, available: Int)
    /// A copy element has offset 0, which would read the byte it is about to write.
    case zeroCopyOffset(inputOffset: Int)
    /// A copy reaches back further than the output decoded so far.
    case copyOffsetBeyondOutput(offset: Int, decoded: Int)
    /// The element at `inputOffset` would write past the declared length.
    case outputOverrun(declared: Int, inputOffset: Int)
    /// Input ended after producing fewer bytes than declared.
    case lengthMismatch(declared: Int, decoded: Int)

    public var description: String {
        switch self {
        case .truncatedPreamble:
            "snappy: corrupt input: empty or ends inside the length preamble (truncated body?)"
        case .invalidPreamble:
            "snappy: corrupt input: length preamble is longer than 5 bytes or above 2^32-1 (not snappy block format?)"
        case .framedFormat:
            "snappy: input is the framed stream format (sNaPpY header), not the block format; decode it with a framing reader"
        case .lengthExceedsLimit(let length, let limit):
            "snappy: declared uncompressed length \(length) bytes exceeds the limit of \(limit) bytes; raise maxLength if this input is trusted"
        case .truncatedElement(let offset):
            "snappy: corrupt input: element at byte \(offset) is cut off by the end of input (truncated body?)"
        case .literalPastEnd(let offset, let length, let available):
            "snappy: corrupt input: literal of \(length) bytes at byte \(offset) runs past the end of input (\(available) bytes left)"
        case .zeroCopyOffset(let offset):
            "snappy: corrupt input: copy at byte \(offset) has offset 0"
        case .copyOffsetBeyondOutput(let offset, let decoded):
            "snappy: corrupt input: copy offset \(offset) beyond \(decoded) bytes decoded"
        case .outputOverrun(let declared, let offset):
            "snappy: corrupt input: element at byte \(offset) would produce more than the \(declared) bytes declared in the preamble"
        case .lengthMismatch(let declared, let decoded):
            "snappy: corrupt input: preamble declares \(declared) bytes but the elements produce \(decoded) (truncated body?)"
        }
    }
}

// MARK: - Encoder internals

extension Snappy {
    /// Fragments are compressed independently so every offset is below 2¹⁶ and fits the
    /// 2-byte copy form, and table entries fit UInt16.
    static let fragmentSize = 1 << 16
    static let maxTableSize = 1 << 14
    /// The match search loads 4 bytes ahead of its probe position and stops this far
    /// from the fragment end, so the hot loop needs no per-load bounds checks; the
    /// tail is emitted as a literal.
    static let inputMargin = 15
    /// Shorter fragments cannot profit from copies enough to be worth searching.
    static let minSearchableFragment = 17

    @inline(__always)
    static func load32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    static func load64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Multiplicative hash; the top bits of the product mix all four input bytes.
    @inline(__always)
    static func hash(_ v: UInt32, shift: UInt32) -> Int {
        Int(truncatingIfNeeded: (v &* 0x1E35_A7BD) &>> shift)
    }

    @inline(__always)
    static func writeVarint(_ value: UInt32, to dst: UnsafeMutablePointer<UInt8>) -> Int {
        var v = value
        var i = 0
        while v >= 0x80 {
            dst[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        dst[i] = UInt8(truncatingIfNeeded: v)
        return i + 1
    }

    /// Number of equal bytes at `a` and `b` (with `a < b`), stopping at `limit`.
    @inline(__always)
    static func matchLength(_ src: UnsafeRawPointer, _ a: Int, _ b: Int, limit: Int) -> Int {
        var matched = 0
        while b + matched + 8 <= limit {
            let diff = load64(src, a + matched) ^ load64(src, b + matched)
            if diff != 0 {
                // Little-endian load: the lowest set bit lies in the first differing byte.
                return matched + diff.trailingZeroBitCount >> 3
            }
            matched += 8
        }
        while b + matched < limit,
            src.load(fromByteOffset: a + matched, as: UInt8.self)
                == src.load(fromByteOffset: b + matched, as: UInt8.self)
        {
            matched += 1
        }
        return matched
    }

    @inline(__always)
    static func emitLiteral(
        _ src: UnsafeRawPointer, count: Int, to dst: UnsafeMutablePointer<UInt8>
    ) -> Int {
        let n = count - 1
        var op: Int
        if n < 60 {
            dst[0] = UInt8(truncatingIfNeeded: n << 2)
            op = 1
        } else {
            // Tags 60…63 say how many little-endian length bytes follow.
            var extra = 1
            while extra < 4 && n >> (8 * extra) != 0 { extra += 1 }
            dst[0] = UInt8(truncatingIfNeeded: (59 + extra) << 2)
            for i in 0..<extra { dst[1 + i] = UInt8(truncatingIfNeeded: n >> (8 * i)) }
            op = 1 + extra
        }
        UnsafeMutableRawPointer(dst + op).copyMemory(from: src, byteCount: count)
        return op + count
    }

    /// One copy element of 4…64 bytes at an offset below 2¹⁶.
    @inline(__always)
    static func emitShortCopy(offset: Int, length: Int, to dst: UnsafeMutablePointer<UInt8>) -> Int {
        if length < 12 && offset < 2048 {
            dst[0] = UInt8(truncatingIfNeeded: 1 | (length - 4) << 2 | (offset >> 8) << 5)
            dst[1] = UInt8(truncatingIfNeeded: offset)
            return 2
        }
        dst[0] = UInt8(truncatingIfNeeded: 2 | (length - 1) << 2)
        dst[1] = UInt8(truncatingIfNeeded: offset)
        dst[2] = UInt8(truncatingIfNeeded: offset >> 8)
        return 3
    }

    @inline(__always)
    static func emitCopy(offset: Int, length: Int, to dst: UnsafeMutablePointer<UInt8>) -> Int {
        var remaining = length
        var op = 0
        // Split into ≤ 64-byte elements, never leaving a remainder under 4: copy-1 needs
        // at least 4, and a short tail would waste a 3-byte element on 1–3 bytes.
        while remaining >= 68 {
            op += emitShortCopy(offset: offset, length: 64, to: dst + op)
            remaining -= 64
        }
        if remaining > 64 {
            op += emitShortCopy(offset: offset, length: 60, to: dst + op)
            remaining -= 60
        }
        op += emitShortCopy(offset: offset, length: remaining, to: dst + op)
        return op
    }

    /// Compresses `count` (≤ 64 KiB) bytes at `src` as self-contained elements and returns
    /// the number of bytes written.
    static func compressFragment(
        _ src: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<UInt8>,
        table: UnsafeMutablePointer<UInt16>
    ) -> Int {
        var op = 0
        var nextEmit = 0
        if n >= minSearchableFragment {
            // Small fragments get a small table: zeroing 32 KiB for a 100-byte input would dominate.
            var tableSize = 256
            var shift: UInt32 = 32 - 8
            while tableSize < maxTableSize && tableSize < n {
                tableSize <<= 1
                shift -= 1
            }
            // Zeroed entries point at position 0, a valid candidate; a wrong one only costs a compare.
            table.update(repeating: 0, count: tableSize)

            let ipLimit = n - inputMargin
            var ip = 1
            var nextHash = hash(load32(src, ip), shift: shift)
            search: while true {
                // Probe forward until the 4 bytes at ip equal those at a remembered position.
                // The step grows the longer nothing matches, so incompressible data is
                // skimmed quickly instead of hashed at every byte.
                var skip = 32
                var nextIp = ip
                var candidate = 0
                repeat {
                    ip = nextIp
                    let h = nextHash
                    let step = skip >> 5
                    skip += step
                    nextIp = ip + step
                    if nextIp > ipLimit { break search }
                    candidate = Int(table[h])
                    table[h] = UInt16(truncatingIfNeeded: ip)
                    nextHash = hash(load32(src, nextIp), shift: shift)
                } while load32(src, ip) != load32(src, candidate)

                op += emitLiteral(src + nextEmit, count: ip - nextEmit, to: dst + op)

                // Matches often follow each other immediately (e.g. repeated records), so
                // check the position right after a copy before going back to probing.
                repeat {
                    let length = 4 + matchLength(src, candidate + 4, ip + 4, limit: n)
                    op += emitCopy(offset: ip - candidate, length: length, to: dst + op)
                    ip += length
                    nextEmit = ip
                    if ip >= ipLimit { break search }
                    table[hash(load32(src, ip - 1), shift: shift)] = UInt16(truncatingIfNeeded: ip - 1)
                    let h = hash(load32(src, ip), shift: shift)
                    candidate = Int(table[h])
                    table[h] = UInt16(truncatingIfNeeded: ip)
                } while load32(src, ip) == load32(src, candidate)

                ip += 1
                nextHash = hash(load32(src, ip), shift: shift)
            }
        }
        if nextEmit < n {
            op += emitLiteral(src + nextEmit, count: n - nextEmit, to: dst + op)
        }
        return op
    }
}

// MARK: - Decoder internals

extension Snappy {
    /// The first 10 bytes of every framed stream; no valid block starts this way (it would
    /// need a copy-4 with a huge offset as its second element).
    static let framedStreamMagic: [UInt8] = [0xFF, 0x06, 0x00, 0x00, 0x73, 0x4E, 0x61, 0x50, 0x70, 0x59]

    static func readPreamble(_ input: UnsafeRawBufferPointer) throws(SnappyError) -> (length: Int, size: Int) {
        // Its first bytes parse as a valid preamble (895), so recognise it up front for a clear error.
        if input.count >= framedStreamMagic.count && input.starts(with: framedStreamMagic) {
            throw .framedFormat
        }
        var value: UInt64 = 0
        for i in 0..<min(5, input.count) {
            let byte = input[i]
            value |= UInt64(byte & 0x7F) << (7 * UInt64(i))
            if byte & 0x80 == 0 {
                guard value <= UInt64(UInt32.max) else { throw .invalidPreamble }
                return (Int(value), i + 1)
            }
        }
        throw input.count >= 5 ? .invalidPreamble : .truncatedPreamble
    }

    /// Decodes the elements in `src[start..<end]` into `dst`, which has room for exactly
    /// `outEnd` bytes. Every length and offset is checked against both buffers before
    /// it is used.
    static func decodeElements(
        _ src: UnsafeRawPointer, from start: Int, to end: Int,
        into dst: UnsafeMutablePointer<UInt8>, count outEnd: Int
    ) throws(SnappyError) {
        let out = UnsafeMutableRawPointer(dst)
        var ip = start
        var op = 0
        while ip < end {
            let tagOffset = ip
            let tag = Int(src.load(fromByteOffset: ip, as: UInt8.self))
            ip += 1
            let length: Int
            let offset: Int
            switch tag & 3 {
            case 0:
                var literalLength = (tag >> 2) + 1
                if literalLength > 60 {
                    let extra = literalLength - 60
                    guard end - ip >= extra else { throw .truncatedElement(inputOffset: tagOffset) }
                    var n = 0
                    for i in 0..<extra {
                        n |= Int(src.load(fromByteOffset: ip + i, as: UInt8.self)) << (8 * i)
                    }
                    literalLength = n + 1
                    ip += extra
                }
                let available = end - ip
                guard available >= literalLength else {
                    throw .literalPastEnd(inputOffset: tagOffset, length: literalLength, available: available)
                }
                guard outEnd - op >= literalLength else {
                    throw .outputOverrun(declared: outEnd, inputOffset: tagOffset)
                }
                if literalLength <= 16 && available >= 16 && outEnd - op >= 16 {
                    // Short literals dominate; two fixed 8-byte moves beat a memcpy call.
                    // Bytes written past the literal are overwritten by later elements.
                    out.storeBytes(of: src.loadUnaligned(fromByteOffset: ip, as: UInt64.self), toByteOffset: op, as: UInt64.self)
                    out.storeBytes(of: src.loadUnaligned(fromByteOffset: ip + 8, as: UInt64.self), toByteOffset: op + 8, as: UInt64.self)
                } else {
                    (out + op).copyMemory(from: src + ip, byteCount: literalLength)
                }
                ip += literalLength
                op += literalLength
                continue
            case 1:
                guard ip < end else { throw .truncatedElement(inputOffset: tagOffset) }
                length = 4 + (tag >> 2) & 7
                offset = (tag >> 5) << 8 | Int(src.load(fromByteOffset: ip, as: UInt8.self))
                ip += 1
            case 2:
                guard end - ip >= 2 else { throw .truncatedElement(inputOffset: tagOffset) }
                length = (tag >> 2) + 1
                offset = Int(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: ip, as: UInt16.self)))
                ip += 2
            default:
                guard end - ip >= 4 else { throw .truncatedElement(inputOffset: tagOffset) }
                length = (tag >> 2) + 1
                offset = Int(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: ip, as: UInt32.self)))
                ip += 4
            }
            guard offset != 0 else { throw .zeroCopyOffset(inputOffset: tagOffset) }
            guard offset <= op else { throw .copyOffsetBeyondOutput(offset: offset, decoded: op) }
            guard outEnd - op >= length else { throw .outputOverrun(declared: outEnd, inputOffset: tagOffset) }
            let from = op - offset
            if offset >= 8 && outEnd - op >= length + 7 {
                // Each 8-byte chunk reads only bytes at least 8 behind the chunk being
                // written, which are final, so this is also correct for overlapping copies.
                // The last chunk may spill up to 7 bytes past the copy, still inside the buffer.
                var i = 0
                repeat {
                    out.storeBytes(
                        of: UnsafeRawPointer(out).loadUnaligned(fromByteOffset: from + i, as: UInt64.self),
                        toByteOffset: op + i, as: UInt64.self)
                    i += 8
                } while i < length
            } else {
                // Short offsets repeat a pattern shorter than a word; go byte by byte.
                for i in 0..<length { dst[op + i] = dst[from + i] }
            }
            op += length
        }
        guard op == outEnd else { throw .lengthMismatch(declared: outEnd, decoded: op) }
    }
}
