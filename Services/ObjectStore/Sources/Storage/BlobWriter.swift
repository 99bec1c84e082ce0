import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Writes one data file: bytes are gathered into aligned blocks of `ObjectSegment.blockSize`;
/// each full block is written (direct I/O where the filesystem allows it) and checksummed on
/// the I/O pool while the next one fills, and `finish()` truncates away the last block's
/// alignment padding, fsyncs, renames the file into place and fsyncs its directory.
///
/// At most two blocks per writer exist at once (one filling, one being written), so memory
/// per upload is bounded whatever the object's size. Used by one request task at a time;
/// `abort()` (or a failed `finish()`) removes the temporary file.
public final class BlobWriter: @unchecked Sendable {
    let store: BlobStore
    public let blob: String
    let tempPath: String
    let fd: Int32
    private var filling: BlockBuffer?
    private var offset: Int64 = 0
    private var padded = false
    private var crcs: [UInt32] = []
    private var inFlight: Task<(UInt32, BlockBuffer), Error>?
    private var closed = false

    init(store: BlobStore, blob: String, tempPath: String, fd: Int32) {
        self.store = store
        self.blob = blob
        self.tempPath = tempPath
        self.fd = fd
    }

    deinit {
        if !closed {
            close(fd)
            unlink(tempPath)
        }
    }

    public var bytesWritten: Int64 { offset + Int64(filling?.count ?? 0) }

    public func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        while buffer.readableBytes > 0 {
            let block = filling ?? store.blockBuffers.take()
            filling = block
            let n = min(block.room, buffer.readableBytes)
            buffer.withUnsafeReadableBytes { block.append(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
            buffer.moveReaderIndex(forwardBy: n)
            if block.room == 0 { try await flushBlock() }
        }
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await write(ByteBuffer(bytes: bytes))
    }

    /// Collects the previous block's CRC (its buffer goes back to the pool).
    private func awaitInFlight() async throws {
        guard let previous = inFlight else { return }
        inFlight = nil
        let (crc, buffer) = try await previous.value
        crcs.append(crc)
        store.blockBuffers.give(buffer)
    }

    /// Hands the filled block to the pool, after waiting for the previous one.
    private func flushBlock() async throws {
        try await awaitInFlight()
        guard let block = filling, block.count > 0 else { return }
        filling = nil
        let position = offset
        offset += Int64(block.count)
        // Only the last block can be short; direct I/O writes whole aligned blocks.
        let length = block.paddedLength()
        padded = length != block.count
        let fd = fd, pool = store.pool, path = tempPath, sync = store.fsync
        inFlight = Task {
            try await pool.runIfActive {
                try writeBlock(fd: fd, UnsafeRawBufferPointer(rebasing: block.memory[0..<length]), at: position, path: path, syncing: sync)
                var crc = CRC32()
                crc.update(block.bytes)
                return (crc.value, block)
            }
        }
    }

    /// Makes the file durable under its final name and returns its segment description.
    public func finish() async throws -> ObjectSegment {
        do {
            try await flushBlock()
            try await awaitInFlight()
            let fd = fd, temp = tempPath, final = store.path(of: blob), dir = store.shardDirectory(of: blob), sync = store.fsync
            let size = offset, truncate = padded
            closed = true
            try await store.pool.runIfActive {
                defer { close(fd) }
                if truncate, ftruncate(fd, off_t(size)) != 0 { throw BlobError.io("cannot truncate \(temp)", errno) }
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
        if let previous = inFlight, let (_, buffer) = try? await previous.value { store.blockBuffers.give(buffer) }
        inFlight = nil
        if let filling { store.blockBuffers.give(filling) }
        filling = nil
        let fd = fd, temp = tempPath, wasClosed = closed
        closed = true
        _ = try? await store.pool.runIfActive {
            if !wasClosed { close(fd) }
            unlink(temp)
        }
    }
}
