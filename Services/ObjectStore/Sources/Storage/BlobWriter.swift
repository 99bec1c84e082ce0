import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Writes one data file: bytes are gathered into blocks of `ObjectSegment.blockSize`, each
/// block is checksummed and written on the I/O pool while the next one fills, and
/// `finish()` fsyncs, renames the file into place and fsyncs its directory.
///
/// Used by one request task at a time; `abort()` (or a failed `finish()`) removes the
/// temporary file.
public final class BlobWriter: @unchecked Sendable {
    let store: BlobStore
    public let blob: String
    let tempPath: String
    let fd: Int32
    private var block: [UInt8] = []
    private var offset: Int64 = 0
    private var crcs: [UInt32] = []
    private var inFlight: Task<UInt32, Error>?
    private var closed = false

    init(store: BlobStore, blob: String, tempPath: String, fd: Int32) {
        self.store = store
        self.blob = blob
        self.tempPath = tempPath
        self.fd = fd
        block.reserveCapacity(ObjectSegment.blockSize)
    }

    deinit {
        if !closed {
            close(fd)
            unlink(tempPath)
        }
    }

    public var bytesWritten: Int64 { offset + Int64(block.count) }

    public func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            let room = ObjectSegment.blockSize - block.count
            let n = min(room, buffer.readableBytes)
            buffer.withUnsafeReadableBytes { block.append(contentsOf: $0.prefix(n)) }
            buffer.moveReaderIndex(forwardBy: n)
            if block.count == ObjectSegment.blockSize { try await flushBlock() }
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await write(ByteBuffer(bytes: bytes))
    }

    /// Hands the full block to the pool, after waiting for the previous one.
    private func flushBlock() async throws {
        if let previous = inFlight { crcs.append(try await previous.value) }
        let data = block
        let position = offset
        block = []
        block.reserveCapacity(ObjectSegment.blockSize)
        offset += Int64(data.count)
        let fd = fd, pool = store.pool, path = tempPath, sync = store.fsync
        inFlight = Task {
            try await pool.runIfActive {
                try Self.writeAll(fd: fd, data: data, at: position, path: path)
                // Start writeback of this block now, so the disk works while the rest of the
                // body arrives and the final fsync has little left to flush.
                if sync { startWriteback(fd: fd, offset: position, length: data.count) }
                var crc = CRC32()
                data.withUnsafeBytes { crc.update($0) }
                return crc.value
            }
        }
    }

    static func writeAll(fd: Int32, data: [UInt8], at position: Int64, path: String) throws {
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(position) + off_t(done))
                if n < 0 { if errno == EINTR { continue }; throw BlobError.io("cannot write \(path)", errno) }
                done += n
            }
        }
    }

    /// Makes the file durable under its final name and returns its segment description.
    public func finish() async throws -> ObjectSegment {
        do {
            if !block.isEmpty { try await flushBlock() }
            if let previous = inFlight { crcs.append(try await previous.value); inFlight = nil }
            let fd = fd, temp = tempPath, final = store.path(of: blob), dir = store.shardDirectory(of: blob), sync = store.fsync
            closed = true
            try await store.pool.runIfActive {
                defer { close(fd) }
                if sync, Glibc.fsync(fd) != 0 { throw BlobError.io("cannot fsync \(temp)", errno) }
                guard rename(temp, final) == 0 else { throw BlobError.io("cannot rename \(temp) to \(final)", errno) }
                if sync { try BlobStore.syncDirectory(dir) }
            }
            return ObjectSegment(blob: blob, size: offset, blockCRCs: crcs)
        } catch {
            await abort()
            throw error
        }
    }

    /// Discards the file (the request failed or was cancelled).
    public func abort() async {
        if let previous = inFlight { _ = try? await previous.value; inFlight = nil }
        let fd = fd, temp = tempPath, wasClosed = closed
        closed = true
        _ = try? await store.pool.runIfActive {
            if !wasClosed { close(fd) }
            unlink(temp)
        }
    }
}

/// Linux's sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE): starts writeback of a
/// range without waiting for it. Glibc declares it only under _GNU_SOURCE, which Swift's
/// Glibc module does not see, so it is looked up by name; where it is missing this does nothing.
private let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
}()

func startWriteback(fd: Int32, offset: Int64, length: Int) {
    let syncFileRangeWrite: UInt32 = 2
    _ = syncFileRange?(fd, offset, Int64(length), syncFileRangeWrite)
}
