import CMultiBufferMD5

/// Whole 64-byte blocks of one `MD5Stream`, handed to a `MultiBufferMD5` engine: runs of
/// blocks in received buffers (kept alive by `storage`) and in `stitches`. The engine's
/// thread advances `next`/`doneInRun` and the stream's chaining value; the rest is fixed
/// at creation.
public final class MD5Job: @unchecked Sendable {
    struct Run {
        var start: UnsafeRawPointer
        var blocks: Int
    }

    /// Blocks that straddled two buffers, copied into memory of their own.
    final class Stitches {
        private let memory: UnsafeMutableRawPointer
        private var count = 0
        private let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            memory = .allocate(byteCount: max(capacity, 1) * 64, alignment: 64)
        }

        deinit { memory.deallocate() }

        func append(_ block: UnsafeRawPointer) -> UnsafeRawPointer {
            precondition(count < capacity)
            let slot = memory + count * 64
            slot.copyMemory(from: block, byteCount: 64)
            count += 1
            return UnsafeRawPointer(slot)
        }
    }

    let stream: MD5Stream
    let runs: [Run]
    private let stitches: Stitches
    private let storage: [Unmanaged<AnyObject>]

    // Engine thread only.
    var next = 0
    var doneInRun = 0

    // Under the engine's lock.
    var finished = false
    var urgent = false
    var waiter: CheckedContinuation<Void, Never>?

    init(stream: MD5Stream, runs: [Run], stitches: Stitches, storage: [Unmanaged<AnyObject>]) {
        self.stream = stream
        self.runs = runs
        self.stitches = stitches
        self.storage = storage
    }

    deinit {
        for owner in storage { owner.release() }
    }

    var isEmpty: Bool { runs.isEmpty }

    /// Blocks left in the current run (0 once every run is hashed).
    var blocksLeftInRun: Int { next < runs.count ? runs[next].blocks - doneInRun : 0 }

    var cursor: UnsafePointer<UInt8> {
        (runs[next].start + doneInRun * 64).assumingMemoryBound(to: UInt8.self)
    }

    /// Records that `blocks` more blocks of the current run were hashed.
    func advance(by blocks: Int) {
        doneInRun += blocks
        if doneInRun == runs[next].blocks {
            next += 1
            doneInRun = 0
        }
    }
}
