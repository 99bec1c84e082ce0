import Foundation

/// The metrics store's write-ahead log: every accepted write is appended here, and
/// synced, before remote write answers 2xx; at start the log is replayed into the head.
/// The byte layout and the guarantees are in `Services/MetricsStore/FORMAT-wal.md`.
///
/// Records are opaque byte strings: this layer knows nothing of series or samples.
///
/// - Durability: when `append` returns, its records are on stable storage.
/// - Order: `replay` returns records in the order their `append` calls were enqueued,
///   the records of one call together and in order.
/// - Atomicity: a record survives a crash whole or not at all. A call with several
///   records is not atomic: a crash during it may keep a prefix of them; the call never
///   returned, so nothing of it was acknowledged.
/// - Recovery: `replay` stops at the first invalid byte, cuts the log there and reports
///   it in `WALReplayReport.corruption`. Call it once at start, before any append (an
///   append before replay runs the same repair, but its report is discarded).
/// - Concurrency: `append` is called from many tasks at once; concurrent calls share an
///   fsync (group commit, see `WALCommitQueue`). File I/O runs on the log's own thread,
///   never on a Swift concurrency thread, except `replay`, which runs on the caller's.
public final class WriteAheadLog: Sendable {
    public let directory: URL
    /// A segment is cut when the next record would grow it past this many bytes.
    public let segmentSize: Int
    private let queue: WALCommitQueue

    /// Opens the log in `directory`, creating the directory if needed. Reads nothing but
    /// the directory listing: `replay` does the reading.
    public init(directory: URL, segmentSize: Int = 128 << 20) throws(WALError) {
        guard segmentSize >= WALSegment.minimumSize else { throw .invalidSegmentSize(segmentSize) }
        var path = directory.path(percentEncoded: false)
        if path.count > 1, path.hasSuffix("/") { path.removeLast() }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(operation: "create directory", path: path, errno: WALFile.errnoCode(of: error))
        }
        self.directory = directory
        self.segmentSize = segmentSize
        let storage = try WALStorage(directory: path, segmentSize: segmentSize)
        self.queue = WALCommitQueue(storage: storage, threadName: "vigil-wal")
    }

    deinit {
        queue.closeWithoutWaiting()
    }

    /// Appends `records` and returns once they are synced to disk. Nothing is written if
    /// any record exceeds `WriteAheadLog.maxRecordSize`. Cancelling the calling task does
    /// not withdraw the records: once queued they are written.
    public func append(_ records: [[UInt8]]) async throws(WALError) {
        for record in records where record.count > WALFrame.maxPayloadSize {
            throw .recordTooLarge(size: record.count, limit: WALFrame.maxPayloadSize)
        }
        guard !records.isEmpty else { return }
        let result = await withCheckedContinuation { continuation in
            queue.submit(.append(records, continuation))
        }
        try result.get()
    }

    /// Hands every record to `body`, oldest first, then repairs a damaged tail (see the
    /// type's documentation). The slice is only valid during the call; copy what you keep.
    /// If `body` throws, replay stops with `.replayAborted` and repairs nothing.
    ///
    /// Blocks the calling thread while it reads: call it at start-up, before serving.
    public func replay(_ body: (ArraySlice<UInt8>) throws -> Void) throws(WALError) -> WALReplayReport {
        try queue.withStorage { storage throws(WALError) in try storage.replay(body) }
    }

    /// Starts a new segment after the records appended so far and returns its index.
    /// Before a checkpoint: every segment below the returned index is then complete.
    public func cut() async throws(WALError) -> Int {
        let result = await withCheckedContinuation { continuation in
            queue.submit(.cut(continuation))
        }
        return try result.get()
    }

    /// Deletes the segments with an index below `segment`, once their data is in a
    /// persisted block. The active segment cannot be deleted: `cut()` first.
    public func truncate(before segment: Int) async throws(WALError) {
        let result = await withCheckedContinuation { continuation in
            queue.submit(.removeSegments(before: segment, continuation))
        }
        try result.get()
    }

    /// Indices of the segments on disk, ascending.
    public var segments: [Int] { queue.segments }

    /// Finishes the appends already queued, closes the files, then returns. Calls made
    /// afterwards fail with `.closed`. Blocks the calling thread for at most one group
    /// commit; from async code prefer `shutdown()`. Not from inside `replay`'s callback.
    public func close() {
        queue.closeAndWait()
    }

    /// `close()` for async code: suspends instead of blocking a thread.
    public func shutdown() async {
        await queue.close()
    }

    /// The largest record `append` accepts.
    public static var maxRecordSize: Int { WALFrame.maxPayloadSize }
}
