import CSnappy

/// Snappy compression in the *block* format: Google's snappy compresses, a Swift decoder
/// decompresses.
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
/// Compression goes through Google's C++ snappy (libsnappy, Debian's libsnappy-dev),
/// which spends half the CPU of the Swift encoder it replaced on WAL records and
/// remote-write bodies. Decoding stays in Swift for the guarantees above and for errors
/// that say what is wrong with a block.
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

    /// Compresses `input` into a new block with Google's snappy (about twice as fast as
    /// the Swift encoder it replaced, which was a tenth of ingest's CPU through the WAL).
    /// Precondition: `input.count < 2³²`, the largest length the preamble can describe.
    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let sourceLength = input.count
        precondition(
            UInt64(sourceLength) <= UInt64(UInt32.max),
            "snappy: the block format cannot describe inputs of 4 GiB or more")
        let capacity = snappy_max_compressed_length(sourceLength)
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, written in
            var length = capacity
            let empty: UInt8 = 0
            let status = withUnsafePointer(to: empty) { fallback in
                out.withMemoryRebound(to: CChar.self) { dst in
                    snappy_compress(UnsafeRawPointer(input.baseAddress ?? UnsafeRawPointer(fallback)).assumingMemoryBound(to: CChar.self),
                                    sourceLength, dst.baseAddress!, &length)
                }
            }
            // Only a too-small output buffer fails, and the capacity is snappy's own bound.
            precondition(status == SNAPPY_OK, "snappy_compress failed with status \(status.rawValue)")
            written = length
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
