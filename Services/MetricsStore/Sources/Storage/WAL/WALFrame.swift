/// The framing of one record inside a segment (see FORMAT-wal.md, "Record"):
///
///     kind <1 byte = 0x01> | length <u32 LE> | crc32c <u32 LE> | payload <length bytes>
///
/// The checksum covers the kind byte, the length field and the payload, so a flipped bit
/// in the header is caught like one in the payload. Kind 0 never starts a record: a zero
/// byte where a header should be is an unwritten (zero-filled) tail.
enum WALFrame {
    static let headerSize = 9
    /// The only kind of version 1: a whole record. The high bits are reserved for flags
    /// such as compression, so a reader of this version rejects any other value.
    static let kindFull: UInt8 = 0x01
    /// Large enough for any remote-write request the ingest layer accepts; small enough
    /// that a corrupted length field cannot make replay allocate gigabytes.
    static let maxPayloadSize = 1 << 30

    /// Bytes `payload` occupies on disk.
    static func frameSize(payloadCount: Int) -> Int { headerSize + payloadCount }

    /// Appends the framed `payload` to `buffer`.
    static func encode(_ payload: [UInt8], into buffer: inout [UInt8]) {
        let length = UInt32(payload.count)
        let headerStart = buffer.count
        buffer.append(kindFull)
        appendLittleEndian(length, to: &buffer)
        let crc = buffer.withUnsafeBytes { all in
            let covered = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: all[headerStart..<headerStart + 5]))
            return payload.withUnsafeBytes { CRC32C.update(covered, $0) }
        }
        appendLittleEndian(crc, to: &buffer)
        buffer.append(contentsOf: payload)
    }

    /// What the 9 header bytes at the start of `header` say.
    enum Header {
        case valid(length: Int, crc: UInt32)
        case invalid(reason: String)
    }

    static func decodeHeader(_ header: UnsafeRawBufferPointer) -> Header {
        let kind = header[0]
        if kind == 0 {
            return .invalid(reason: "zero byte where a record header was expected (unwritten tail)")
        }
        guard kind == kindFull else {
            return .invalid(reason: "unknown record kind 0x\(String(kind, radix: 16))")
        }
        let length = Int(readLittleEndian(header, at: 1))
        guard length <= maxPayloadSize else {
            return .invalid(reason: "record length \(length) exceeds the limit of \(maxPayloadSize)")
        }
        return .valid(length: length, crc: readLittleEndian(header, at: 5))
    }

    /// The checksum a record with this header and payload must carry.
    static func checksum(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> UInt32 {
        let covered = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: header[0..<5]))
        return CRC32C.update(covered, payload)
    }

    private static func appendLittleEndian(_ value: UInt32, to buffer: inout [UInt8]) {
        buffer.append(UInt8(truncatingIfNeeded: value))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value >> 16))
        buffer.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    private static func readLittleEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
