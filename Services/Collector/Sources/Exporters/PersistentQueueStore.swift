import Foundation
import NIOPosix

/// The on-disk half of a persistent sending queue: one file per queued batch, named by a
/// sequence number so that restart replays them in order.
///
/// A batch is on disk before `append` returns: written to a temporary file, fsynced,
/// renamed into place and the directory fsynced, so a kill -9 leaves either the whole
/// file or none. A batch's file is removed once the batch has been delivered (or given up).
public final class PersistentQueueStore: Sendable {
    public let directory: URL
    private let threadPool: NIOThreadPool

    public init(directory: URL, threadPool: NIOThreadPool = .singleton) throws {
        self.directory = directory
        self.threadPool = threadPool
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Batches left from an earlier run, oldest first, with their sequence numbers.
    public func recover() async throws -> [(sequence: UInt64, bytes: [UInt8])] {
        let directory = self.directory
        return try await threadPool.runIfActive {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            var found: [(UInt64, [UInt8])] = []
            for name in names {
                if name.hasSuffix(".tmp") {
                    // An append that never completed was never acknowledged.
                    try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
                    continue
                }
                guard name.hasSuffix(".batch"), let sequence = UInt64(name.dropLast(6)) else { continue }
                let data = try Data(contentsOf: directory.appendingPathComponent(name))
                found.append((sequence, [UInt8](data)))
            }
            return found.sorted { $0.0 < $1.0 }
        }
    }

    public func append(sequence: UInt64, bytes: [UInt8]) async throws {
        let directory = self.directory
        try await threadPool.runIfActive {
            let final = directory.appendingPathComponent(Self.fileName(sequence))
            let temporary = directory.appendingPathComponent(Self.fileName(sequence) + ".tmp")
            let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw StoreError.io("open \(temporary.path): errno \(errno)") }
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                guard written > 0 else { throw StoreError.io("write \(temporary.path): errno \(errno)") }
                offset += written
            }
            guard fsync(fd) == 0 else { throw StoreError.io("fsync \(temporary.path): errno \(errno)") }
            guard rename(temporary.path, final.path) == 0 else { throw StoreError.io("rename: errno \(errno)") }
            try Self.syncDirectory(directory)
        }
    }

    public func remove(sequence: UInt64) async {
        let path = directory.appendingPathComponent(Self.fileName(sequence)).path
        _ = try? await threadPool.runIfActive { unlink(path) }
    }

    static func fileName(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".batch"
    }

    static func syncDirectory(_ directory: URL) throws {
        let fd = open(directory.path, O_RDONLY)
        guard fd >= 0 else { throw StoreError.io("open directory: errno \(errno)") }
        defer { close(fd) }
        _ = fsync(fd)
    }

    public enum StoreError: Error, CustomStringConvertible {
        case io(String)
        public var description: String {
            switch self { case .io(let detail): return detail }
        }
    }
}
