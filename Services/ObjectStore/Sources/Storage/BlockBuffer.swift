import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One block of a data file being written: `ObjectSegment.blockSize` bytes of memory aligned
/// for direct I/O. Owned by one writer at a time (filled by the request task, then handed to
/// the I/O pool and back), hence `@unchecked Sendable`.
final class BlockBuffer: @unchecked Sendable {
    /// Direct I/O needs buffer address, file offset and length aligned to the device's
    /// logical block size; 4096 covers every common device.
    static let alignment = 4096
    static let capacity = ObjectSegment.blockSize

    let memory: UnsafeMutableRawBufferPointer
    var count = 0

    init() {
        memory = .allocate(byteCount: Self.capacity, alignment: Self.alignment)
    }

    deinit { memory.deallocate() }

    var room: Int { Self.capacity - count }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: memory[0..<count]) }

    func append(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, source.count > 0 else { return }
        (memory.baseAddress! + count).copyMemory(from: base, byteCount: source.count)
        count += source.count
    }

    /// The length to write: `count` rounded up to the alignment, the padding zeroed (the
    /// file is truncated to its real size before it is synced).
    func paddedLength() -> Int {
        let padded = (count + Self.alignment - 1) / Self.alignment * Self.alignment
        if padded > count { (memory.baseAddress! + count).initializeMemory(as: UInt8.self, repeating: 0, count: padded - count) }
        return padded
    }
}

/// A bounded free list of block buffers shared by all writers of a `BlobStore`, so a busy
/// node reuses the same few MiB instead of mapping (and faulting in) fresh memory for every
/// block.
final class BlockBufferPool: Sendable {
    private let free = LockedValue<[BlockBuffer]>([])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func take() -> BlockBuffer {
        let reused = free.withLock { $0.popLast() }
        guard let reused else { return BlockBuffer() }
        reused.count = 0
        return reused
    }

    func give(_ buffer: BlockBuffer) {
        free.withLock { if $0.count < limit { $0.append(buffer) } }
    }
}
