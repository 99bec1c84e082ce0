#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the records of one segment in order, verifying the header and each checksum,
/// and stops at the first byte that is not part of a valid record.
///
/// Streams through a reusable buffer (1 MiB, grown to fit the largest record) rather
/// than loading the segment, so replaying a 128 MiB segment costs 1 MiB of memory.
struct WALSegmentReader {
    enum Step {
        /// A valid record whose header starts at `offset`. The slice points into the
        /// reader's buffer: copy it if it must outlive the next call to `next()`.
        case record(offset: Int, payload: ArraySlice<UInt8>)
        /// The segment ended exactly after a valid record.
        case end
        /// Only zero bytes follow the last valid record, from `offset` to the end of the
        /// file: space the writer filled with zeros ahead of its records (FORMAT-wal.md).
        case zeroTail(offset: Int)
        /// The bytes from `offset` to the end of the file are not valid records.
        case corrupt(offset: Int, reason: String)
    }

    private let file: WALFile
    let fileSize: Int
    private var storage: [UInt8]
    /// `storage[start..<end]` holds the file's bytes from `position` on.
    private var start = 0
    private var end = 0
    /// File offset of the next unconsumed byte (`storage[start]`).
    private(set) var position = 0
    private var headerChecked = false

    init(file: WALFile, bufferSize: Int = 1 << 20) throws(WALError) {
        self.file = file
        self.fileSize = try file.size()
        self.storage = [UInt8](repeating: 0, count: bufferSize)
    }

    mutating func next() throws(WALError) -> Step {
        if !headerChecked {
            headerChecked = true
            let available = min(WALSegment.headerSize, fileSize)
            try fill(available)
            let problem = withBytes(available) { WALSegment.headerProblem($0) }
            if let problem { return .corrupt(offset: 0, reason: problem) }
            consume(WALSegment.headerSize)
        }
        let remaining = fileSize - position
        if remaining == 0 { return .end }
        try fill(1)
        if withBytes(1, { $0[0] == 0 }), try restIsZero() { return .zeroTail(offset: position) }
        guard remaining >= WALFrame.headerSize else {
            try fill(remaining)
            let zeros = withBytes(remaining) { $0.allSatisfy { $0 == 0 } }
            return .corrupt(
                offset: position,
                reason: zeros
                    ? "zero byte where a record header was expected (unwritten tail)"
                    : "record header truncated (\(remaining) of \(WALFrame.headerSize) bytes)")
        }
        try fill(WALFrame.headerSize)
        let header = withBytes(WALFrame.headerSize) { WALFrame.decodeHeader($0) }
        let length: Int
        let expected: UInt32
        switch header {
        case let .invalid(reason):
            return .corrupt(offset: position, reason: reason)
        case let .valid(storedLength, storedChecksum):
            length = storedLength
            expected = storedChecksum
        }
        let frame = WALFrame.headerSize + length
        guard frame <= remaining else {
            return .corrupt(
                offset: position,
                reason: "record of \(length) bytes runs past the end of the segment (\(remaining - WALFrame.headerSize) bytes left)")
        }
        try fill(frame)
        let actual = withBytes(frame) { bytes in
            WALFrame.checksum(
                header: UnsafeRawBufferPointer(rebasing: bytes[0..<WALFrame.headerSize]),
                payload: UnsafeRawBufferPointer(rebasing: bytes[WALFrame.headerSize...]))
        }
        guard actual == expected else {
            return .corrupt(
                offset: position,
                reason: "checksum mismatch in record of \(length) bytes (stored 0x\(String(expected, radix: 16)), computed 0x\(String(actual, radix: 16)))")
        }
        let offset = position
        let payloadStart = start + WALFrame.headerSize
        consume(frame)
        return .record(offset: offset, payload: storage[payloadStart..<payloadStart + length])
    }

    /// Whether every byte from `position` to the end of the file is zero; reads ahead
    /// without consuming.
    private func restIsZero() throws(WALError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = position
        while offset < fileSize {
            let wanted = min(chunk.count, fileSize - offset)
            let got = try file.read(into: &chunk, 0..<wanted, at: offset)
            guard got > 0 else { return false }
            if !chunk[..<got].allSatisfy({ $0 == 0 }) { return false }
            offset += got
        }
        return true
    }

    private func withBytes<T>(_ count: Int, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        storage.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<start + count])) }
    }

    private mutating func consume(_ count: Int) {
        start += count
        position += count
    }

    /// Makes the next `count` bytes of the file (all of which exist) available at `start`.
    private mutating func fill(_ count: Int) throws(WALError) {
        if end - start >= count { return }
        let buffered = end - start
        if storage.count - start < count {
            if storage.count < count {
                var grown = [UInt8](repeating: 0, count: max(count, storage.count * 2))
                grown.withUnsafeMutableBytes { target in
                    storage.withUnsafeBytes { source in
                        target.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: buffered)
                    }
                }
                storage = grown
            } else {
                storage.withUnsafeMutableBytes { bytes in
                    _ = memmove(bytes.baseAddress!, bytes.baseAddress! + start, buffered)
                }
            }
            start = 0
            end = buffered
        }
        let readOffset = position + buffered
        let wanted = min(storage.count - end, fileSize - readOffset)
        let got = try file.read(into: &storage, end..<end + wanted, at: readOffset)
        end += got
        guard end - start >= count else {
            // The file shrank under us: someone else is writing to this directory.
            throw .io(operation: "read (file shrank while replaying)", path: file.path, errno: EIO)
        }
    }
}
