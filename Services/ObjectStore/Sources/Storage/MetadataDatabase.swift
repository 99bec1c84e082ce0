import Foundation

/// The SQLite database holding all metadata (keys, buckets, grants, object versions,
/// multipart uploads), with group commit for writes.
///
/// Writes run on one writer thread. Jobs that arrive while a commit is in flight are
/// batched into the next transaction, each inside its own SAVEPOINT so that one failing
/// job does not undo the others; every job's caller resumes only after the COMMIT has
/// returned, which with `synchronous=FULL` in WAL mode means the transaction is on disk.
/// So concurrent PUTs share one fsync instead of paying one each.
///
/// Reads run on a small pool of read-only connections; WAL mode lets them proceed while
/// the writer commits, and they see only committed transactions.
final class MetadataDatabase: @unchecked Sendable {
    private let writer: SQLiteConnection
    private let lock = NSCondition()
    private var pending: [BatchJob] = []
    private var stopped = false
    private var thread: Thread?

    private let readerLock = NSLock()
    private var readers: [SQLiteConnection] = []
    private let path: String
    private let readQueue = DispatchQueue(label: "vigil.object-store.metadata-read", attributes: .concurrent)

    init(path: String, fsync: Bool) throws {
        self.path = path
        writer = try SQLiteConnection(path: path)
        try writer.execute("PRAGMA journal_mode=WAL")
        try writer.execute(fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF")
        try writer.execute("PRAGMA foreign_keys=ON")
        // Checkpoints run on their own thread (`checkpointLoop`), not inside a commit that
        // a batch of clients is waiting for.
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        try MetadataSchema.migrate(writer)
        checkpointer = try SQLiteConnection(path: path)
        // The threads hold the database until `close()` ends their loops: an unowned
        // reference would crash if the last other reference went away first.
        let thread = Thread { [self] in self.writerLoop() }
        thread.name = "object-store-metadata-writer"
        self.thread = thread
        thread.start()
        let checkpoints = Thread { [self] in self.checkpointLoop() }
        checkpoints.name = "object-store-metadata-checkpoint"
        checkpoints.start()
    }

    private let checkpointer: SQLiteConnection

    /// Copies committed WAL pages into the database file every 250 ms (PASSIVE: never
    /// blocks the writer or readers), so the WAL stays small without stalling commits.
    private func checkpointLoop() {
        while true {
            lock.lock()
            let done = stopped
            lock.unlock()
            if done { return }
            try? checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    func close() {
        lock.lock()
        stopped = true
        lock.signal()
        lock.unlock()
    }

    /// Runs `body` inside a write transaction and returns once it is committed durably.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let box = ResultBox<T>()
            let job = BatchJob(
                work: { connection in
                    do {
                        box.result = .success(try body(connection))
                    } catch {
                        box.result = .failure(error)
                        throw error
                    }
                },
                complete: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume(with: box.result ?? .failure(SQLiteError(code: -1, message: "write job did not run")))
                    }
                })
            lock.lock()
            pending.append(job)
            lock.signal()
            lock.unlock()
        }
    }

    /// Runs `body` on a read connection (off the event loops).
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            readQueue.async { [self] in
                do {
                    let connection = try checkOutReader()
                    defer { checkIn(connection) }
                    continuation.resume(returning: try body(connection))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    private func checkOutReader() throws -> SQLiteConnection {
        readerLock.lock()
        if let connection = readers.popLast() {
            readerLock.unlock()
            return connection
        }
        readerLock.unlock()
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA query_only=ON")
        return connection
    }

    private func checkIn(_ connection: SQLiteConnection) {
        readerLock.lock()
        readers.append(connection)
        readerLock.unlock()
    }

    /// Runs every pending job inside one transaction, commits, then completes them all.
    private func writerLoop() {
        while true {
            lock.lock()
            while pending.isEmpty && !stopped { lock.wait() }
            if pending.isEmpty && stopped { lock.unlock(); return }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            lock.unlock()
            runBatch(batch)
        }
    }

    private func runBatch(_ batch: [BatchJob]) {
        var commitError: Error?
        do {
            try writer.execute("BEGIN IMMEDIATE")
            for job in batch {
                try writer.execute("SAVEPOINT job")
                do {
                    try job.work(writer)
                    try writer.execute("RELEASE job")
                } catch {
                    // This job's own failure: undo its changes only; its caller sees the error.
                    try writer.execute("ROLLBACK TO job")
                    try writer.execute("RELEASE job")
                }
            }
            try writer.execute("COMMIT")
        } catch {
            commitError = error
            try? writer.execute("ROLLBACK")
        }
        for job in batch { job.complete(commitError) }
    }
}

/// One write: `work` runs inside the batch transaction, `complete` after its commit (with
/// the commit's error, if any).
struct BatchJob {
    var work: (SQLiteConnection) throws -> Void
    var complete: (Error?) -> Void
}

/// Carries a job's result from the writer thread to its completion.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// A value behind a lock.
final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
