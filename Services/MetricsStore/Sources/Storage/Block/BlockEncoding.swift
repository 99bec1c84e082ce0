// Byte-level building blocks shared by the index, chunk and tombstone files: big-endian
// fixed-width integers and Go's `encoding/binary` varints (LEB128 uvarint; zigzag varint),
// which is what Prometheus's `tsdb/encoding` package writes.

/// An append-only byte buffer for building block files in memory.
struct BlockEncoder {
    private(set) var bytes: [UInt8] = []

    init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func putByte(_ value: UInt8) { bytes.append(value) }

    mutating func putBE32(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func putBE64(_ value: UInt64) {
        putBE32(UInt32(truncatingIfNeeded: value >> 32))
        putBE32(UInt32(truncatingIfNeeded: value))
    }

    mutating func putUvarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func putVarint(_ value: Int64) {
        putUvarint(UInt64(bitPattern: value &<< 1) ^ UInt64(bitPattern: value &>> 63))
    }

    mutating func putBytes<C: Collection<UInt8>>(_ data: C) { bytes.append(contentsOf: data) }

    /// `len <uvarint> | bytes`, the string encoding used throughout the index.
    mutating func putUvarintString(_ string: String) {
        putUvarint(UInt64(string.utf8.count))
        bytes.append(contentsOf: string.utf8)
    }

    /// Overwrites four bytes at `offset` with a big-endian value (a length back-patch).
    mutating func patchBE32(_ value: UInt32, at offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }

    /// Zero bytes until the length is a multiple of `alignment`.
    mutating func pad(to alignment: Int) {
        let remainder = bytes.count % alignment
        if remainder != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }

    /// Appends the big-endian CRC32C of `bytes[from..<count]`.
    mutating func putCRC32C(from start: Int) {
        putBE32(bytes.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[start...])) })
    }
}

/// A bounds-checked cursor over part of a block file. Every read that would run past
/// `end` throws `BlockError.corrupt` naming the file and offset, so damaged input never
/// traps or yields garbage silently.
struct BlockDecoder {
    let bytes: FileBytes
    let file: String
    private(set) var position: Int
    let end: Int

    init(_ bytes: [UInt8], file: String, from start: Int = 0, to end: Int? = nil) {
        self.init(FileBytes(bytes), file: file, from: start, to: end)
    }

    init(_ bytes: FileBytes, file: String, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.file = file
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { max(0, end - position) }

    func fail(_ reason: String) -> BlockError {
        .corrupt(file: file, offset: position, reason: reason)
    }

    mutating func byte() throws(BlockError) -> UInt8 {
        guard position < end else { throw fail("unexpected end reading a byte") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func be32() throws(BlockError) -> UInt32 {
        guard end - position >= 4 else { throw fail("unexpected end reading 4 bytes") }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
            | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])
    }

    mutating func be64() throws(BlockError) -> UInt64 {
        let high = try be32()
        return UInt64(high) << 32 | UInt64(try be32())
    }

    mutating func uvarint() throws(BlockError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw fail("unexpected end inside a varint") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw fail("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    mutating func varint() throws(BlockError) -> Int64 {
        let raw = try uvarint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// A `uvarint` that must fit `Int` and `limit` (lengths, counts).
    mutating func length(limit: Int) throws(BlockError) -> Int {
        let raw = try uvarint()
        guard raw <= UInt64(limit) else { throw fail("length \(raw) exceeds \(limit)") }
        return Int(raw)
    }

    /// The next `count` bytes' range, which the decoder then moves past.
    mutating func slice(_ count: Int) throws(BlockError) -> Range<Int> {
        guard count >= 0, end - position >= count else { throw fail("unexpected end reading \(count) bytes") }
        defer { position += count }
        return position..<position + count
    }

    mutating func uvarintString() throws(BlockError) -> String {
        let count = try length(limit: remaining)
        let range = try slice(count)
        return bytes.withUnsafeBytes { String(decoding: $0[range], as: UTF8.self) }
    }

    mutating func skip(_ count: Int) throws(BlockError) {
        _ = try slice(count)
    }
}

/// Checks the big-endian CRC32C stored at `bytes[crcOffset..<crcOffset+4]` against the
/// checksum of `bytes[start..<crcOffset]`.
func verifyCRC32C(_ bytes: [UInt8], file: String, from start: Int, crcOffset: Int) throws(BlockError) {
    try verifyCRC32C(FileBytes(bytes), file: file, from: start, crcOffset: crcOffset)
}

func verifyCRC32C(_ bytes: FileBytes, file: String, from start: Int, crcOffset: Int) throws(BlockError) {
    guard start >= 0, start <= crcOffset, crcOffset + 4 <= bytes.count else {
        throw .corrupt(file: file, offset: start, reason: "checksummed range runs past the end of the file")
    }
    var decoder = BlockDecoder(bytes, file: file, from: crcOffset)
    let stored = try decoder.be32()
    let computed = bytes.withUnsafeBytes { CRC32C.update(0, UnsafeRawBufferPointer(rebasing: $0[start..<crcOffset])) }
    guard stored == computed else {
        throw .checksumMismatch(file: file, offset: start, stored: stored, computed: computed)
    }
}
