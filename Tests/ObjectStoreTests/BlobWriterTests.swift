import Foundation
import NIOCore
import Testing
@testable import ObjectStore
#if canImport(Glibc)
import Glibc
#endif

/// The data-file write path: aligned blocks written with direct I/O (falling back to
/// buffered writes), the last block's padding truncated away, abort leaving nothing behind.
struct BlobWriterTests {
    static func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 2_654_435_761 >> 11) }
    }

    /// Feeds `bytes` in uneven pieces, as a socket would.
    static func store(_ bytes: [UInt8], into data: ObjectDataStore, forceFile: Bool = false) async throws -> ObjectData {
        var pieces: ArraySlice<ByteBuffer> = stride(from: 0, to: bytes.count, by: 70_001).map {
            ByteBuffer(bytes: bytes[$0..<min($0 + 70_001, bytes.count)])
        }[...]
        return try await data.store(forceFile: forceFile) { pieces.popFirst() }
    }

    @Test(arguments: [5, 65 * 1024 + 1, ObjectSegment.blockSize, ObjectSegment.blockSize + 1, 3 * ObjectSegment.blockSize - 7])
    func fileHoldsExactlyTheBytesWhateverTheAlignment(size: Int) async throws {
        let blobs = try BlobStore(directory: StorageTests.tempDir(), threads: 2)
        let data = ObjectDataStore(blobs: blobs)
        let bytes = Self.bytes(size, seed: size)
        let stored = try await Self.store(bytes, into: data, forceFile: true)
        guard case .segments(let segments) = stored, let segment = segments.first else {
            Issue.record("a forced file was stored inline"); return
        }
        #expect(segment.size == Int64(size))
        #expect(segment.blockCRCs.count == (size + ObjectSegment.blockSize - 1) / ObjectSegment.blockSize)
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: blobs.path(of: segment.blob)))
        #expect(onDisk.count == size, "padding of the last block must be truncated away")
        #expect(Array(onDisk) == bytes)
        var read: [UInt8] = []
        try await data.open(stored, range: nil).forEach { read += $0.readableBytesView }
        #expect(read == bytes)
        await blobs.shutdown()
    }

    @Test func concurrentWritersKeepTheirOwnBytes() async throws {
        let blobs = try BlobStore(directory: StorageTests.tempDir(), threads: 4)
        let data = ObjectDataStore(blobs: blobs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let bytes = Self.bytes(2 * ObjectSegment.blockSize + 4096 * i + i, seed: i)
                    let stored = try await Self.store(bytes, into: data)
                    var read: [UInt8] = []
                    try await data.open(stored, range: nil).forEach { read += $0.readableBytesView }
                    #expect(read == bytes, "writer \(i)")
                }
            }
            try await group.waitForAll()
        }
        await blobs.shutdown()
    }

    @Test func aFailedBodyLeavesNoFile() async throws {
        struct BodyFailed: Error {}
        let dir = StorageTests.tempDir()
        let blobs = try BlobStore(directory: dir, threads: 2)
        let data = ObjectDataStore(blobs: blobs)
        var sent = 0
        await #expect(throws: BodyFailed.self) {
            _ = try await data.store {
                sent += 1
                if sent > 40 { throw BodyFailed() }
                return ByteBuffer(bytes: Self.bytes(65_536, seed: sent))
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tmp").isEmpty)
        await blobs.shutdown()
    }

    /// A write direct I/O refuses (here: a buffer that is not aligned) is redone buffered on
    /// the same descriptor rather than failing the upload.
    @Test func refusedDirectWriteFallsBackToBuffered() throws {
        let path = StorageTests.tempDir() + "/direct-test"
        var fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | openDirectFlag, 0o644)
        let openedDirect = fd >= 0
        if fd < 0 { fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644) }
        #expect(fd >= 0)
        defer { close(fd) }
        let bytes = Self.bytes(8192, seed: 3)
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192 + 1, alignment: 4096)
        defer { memory.deallocate() }
        bytes.withUnsafeBytes { (memory.baseAddress! + 1).copyMemory(from: $0.baseAddress!, byteCount: 8192) }
        try writeBlock(fd: fd, UnsafeRawBufferPointer(rebasing: memory[1...]), at: 0, path: path, syncing: true)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
        if openedDirect { #expect(fcntl(fd, F_GETFL) & openDirectFlag == 0, "the descriptor left direct mode") }
    }
}
