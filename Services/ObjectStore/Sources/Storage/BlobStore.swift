import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Object data files under `data_dir` (layout in Services/ObjectStore/FORMAT.md): `blobs/XY/<id>` for data,
/// `tmp/` for files being written. A file is only ever renamed into `blobs/` complete and
/// fsynced, and the rename is made durable by fsyncing its directory, so after a crash a
/// blob either exists whole or not at all; files in `tmp/` are deleted at start-up.
///
/// All file I/O runs on a thread pool of its own, never on the event loops.
public final class BlobStore: Sendable {
    public let directory: String
    let fsync: Bool
    let pool: NIOThreadPool
    let blockBuffers: BlockBufferPool

    public init(directory: String, fsync: Bool = true, threads: Int = 16) throws {
        self.directory = directory
        self.fsync = fsync
        // Two blocks per writer; enough cached for the writers a busy node keeps going.
        blockBuffers = BlockBufferPool(limit: 2 * threads)
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
        for shard in 0..<256 {
            try fm.createDirectory(atPath: directory + "/blobs/" + String(format: "%02x", shard), withIntermediateDirectories: true)
        }
        if fsync {
            try Self.syncDirectory(directory)
            try Self.syncDirectory(directory + "/blobs")
        }
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    func path(of blob: String) -> String { "\(directory)/blobs/\(blob.prefix(2))/\(blob)" }
    func shardDirectory(of blob: String) -> String { "\(directory)/blobs/\(blob.prefix(2))" }

    /// Starts writing a new data file; `blob` names it when it is a copy of another node's
    /// file (cluster replication keeps the id), otherwise a fresh id is drawn.
    public func makeWriter(blob: String? = nil) async throws -> BlobWriter {
        let blob = blob ?? randomHex(bytes: 16)
        guard blob.utf8.count == 32, blob.allSatisfy(\.isHexDigit) else { throw BlobError.io("invalid data file id \(blob)", EINVAL) }
        let temp = "\(directory)/tmp/\(blob)"
        let fd = try await pool.runIfActive {
            // Direct I/O where the filesystem supports it (see `openDirectFlag`); where it
            // does not (tmpfs refuses the flag at open), buffered.
            var fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | openDirectFlag, 0o644)
            if fd < 0, errno == EINVAL { fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
            guard fd >= 0 else { throw BlobError.io("cannot create \(temp)", errno) }
            return fd
        }
        return BlobWriter(store: self, blob: blob, tempPath: temp, fd: fd)
    }

    /// Whether the data file of `blob` exists (complete: files are renamed in only when whole).
    public func exists(_ blob: String) async -> Bool {
        let path = path(of: blob)
        return (try? await pool.runIfActive { access(path, F_OK) == 0 }) ?? false
    }

    /// Removes data files that are no longer referenced (best effort: a file left behind
    /// is swept at the next start).
    public func delete(_ segments: [ObjectSegment]) async {
        guard !segments.isEmpty else { return }
        let paths = segments.map { path(of: $0.blob) }
        _ = try? await pool.runIfActive { for p in paths { unlink(p) } }
    }

    /// Deletes files in `tmp/` and blobs not in `referenced`: what a crash between writing
    /// data and committing its metadata leaves behind. Returns how many were removed.
    public func sweep(keeping referenced: Set<String>) async throws -> Int {
        try await pool.runIfActive { [directory] in
            let fm = FileManager.default
            var removed = 0
            for name in (try? fm.contentsOfDirectory(atPath: directory + "/tmp")) ?? [] {
                unlink(directory + "/tmp/" + name)
                removed += 1
            }
            for shard in 0..<256 {
                let dir = directory + "/blobs/" + String(format: "%02x", shard)
                for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where !referenced.contains(name) {
                    unlink(dir + "/" + name)
                    removed += 1
                }
            }
            return removed
        }
    }

    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw BlobError.io("cannot open directory \(path)", errno) }
        defer { close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw BlobError.io("cannot fsync directory \(path)", errno) }
    }

    /// Reads and verifies block `index` of a segment; a CRC mismatch or a short file is
    /// `StoreError.corruptData`, never bytes handed to a client.
    public func readBlock(_ segment: ObjectSegment, index: Int) async throws -> ByteBuffer {
        let path = path(of: segment.blob)
        let start = Int64(index) * Int64(ObjectSegment.blockSize)
        let length = Int(min(Int64(ObjectSegment.blockSize), segment.size - start))
        guard index < segment.blockCRCs.count, length > 0 else {
            throw StoreError.corruptData("block \(index) of \(segment.blob) is not in its checksum list")
        }
        let expected = segment.blockCRCs[index]
        return try await pool.runIfActive {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw StoreError.corruptData("data file \(segment.blob) is missing") }
            defer { close(fd) }
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw -> Int in
                var done = 0
                while done < length {
                    let n = pread(fd, raw.baseAddress! + done, length - done, off_t(start) + off_t(done))
                    if n < 0 { if errno == EINTR { continue }; throw BlobError.io("cannot read \(path)", errno) }
                    if n == 0 { break }
                    done += n
                }
                return done
            }
            guard read == length else { throw StoreError.corruptData("data file \(segment.blob) is shorter than recorded") }
            var crc = CRC32()
            buffer.withUnsafeReadableBytes { crc.update($0) }
            guard crc.value == expected else {
                throw StoreError.corruptData("block \(index) of data file \(segment.blob) has CRC-32 \(crc.value), expected \(expected)")
            }
            return buffer
        }
    }
}

/// An I/O failure with the errno text.
public enum BlobError: Error, CustomStringConvertible {
    case io(String, Int32)
    public var description: String {
        switch self {
        case .io(let what, let code): "\(what): \(String(cString: strerror(code)))"
        }
    }
}
