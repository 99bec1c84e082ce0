import Foundation

/// The write-ahead log's own I/O threads and the queue that feeds them.
///
/// Group commit: callers enqueue a job and suspend; a thread takes everything queued so
/// far, writes all appends with one `write`, then syncs and resumes every caller of that
/// group. Only these threads ever block on the disk; Swift concurrency threads just
/// enqueue and await.
///
/// Overlapping syncs: the write happens under the storage lock, the fdatasync after it
/// is released, so while one group's sync waits for the disk the next group is written
/// and its sync starts at once instead of queueing behind the first (a sync covers every
/// write made before it began). With one thread a request arriving during a sync waited
/// for that sync and then its own, 1.5 sync latencies on average; here about one.
/// Each thread syncs through its own descriptor for the segment (`SegmentSyncer`),
/// because Linux reports a writeback error once per open file: on a shared descriptor a
/// second sync could return success for pages the first one reported lost.
///
/// Jobs are written in the order they were enqueued; a cut or a truncation runs after
/// the appends queued before it are durable.
final class WALCommitQueue: @unchecked Sendable {
    enum Job: Sendable {
        case append([[UInt8]], CheckedContinuation<Result<Void, WALError>, Never>)
        case cut(CheckedContinuation<Result<Int, WALError>, Never>)
        case removeSegments(before: Int, CheckedContinuation<Result<Void, WALError>, Never>)

        func fail(_ error: WALError) {
            switch self {
            case let .append(_, continuation): continuation.resume(returning: .failure(error))
            case let .cut(continuation): continuation.resume(returning: .failure(error))
            case let .removeSegments(_, continuation): continuation.resume(returning: .failure(error))
            }
        }
    }

    /// Touched only with `storageLock` held: by the I/O threads and by `withStorage`.
    private let storage: WALStorage
    private let storageLock = NSLock()

    /// Guards every field below.
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var isClosing = false
    private var isFinished = false
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []
    private var publishedSegments: [Int]
    /// I/O threads that have not finished yet.
    private var runningThreads: Int

    /// Four threads: on the benchmark machine's disk, four overlapping fdatasyncs on one
    /// file completed over 20× as many syncs per second as one thread, two only 3–8×.
    init(storage: WALStorage, threadName: String, threads: Int = 4) {
        self.storage = storage
        self.publishedSegments = storage.segmentIndices
        self.runningThreads = threads
        for number in 0..<threads {
            let thread = Thread { [self] in run() }
            thread.name = "\(threadName)-\(number)"
            thread.start()
        }
    }

    /// Queues `job`; fails it at once if the log is closing.
    func submit(_ job: Job) {
        condition.lock()
        guard !isClosing else {
            condition.unlock()
            job.fail(.closed)
            return
        }
        pending.append(job)
        // One idle thread is enough to take everything queued; waking all would make
        // the others wake only to sleep again.
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on the caller's thread with exclusive use of the files; for replay,
    /// which must call back into non-`Sendable` code of the caller.
    func withStorage<T>(_ body: (WALStorage) throws(WALError) -> T) throws(WALError) -> T {
        storageLock.lock()
        defer { storageLock.unlock() }
        condition.lock()
        let closing = isClosing
        condition.unlock()
        if closing { throw .closed }
        defer { publish(storage.segmentIndices) }
        return try body(storage)
    }

    /// Segment indices as of the last completed job; never waits for the disk.
    var segments: [Int] {
        condition.lock()
        defer { condition.unlock() }
        return publishedSegments
    }

    /// Lets queued jobs finish, stops the thread and closes the files; returns when done.
    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            isClosing = true
            condition.broadcast()
            if isFinished {
                condition.unlock()
                continuation.resume()
                return
            }
            finishWaiters.append(continuation)
            condition.unlock()
        }
    }

    /// Like `close()`, blocking the calling thread instead of suspending.
    func closeAndWait() {
        condition.lock()
        isClosing = true
        condition.broadcast()
        while !isFinished { condition.wait() }
        condition.unlock()
    }

    /// Like `close()` without waiting; for `deinit`.
    func closeWithoutWaiting() {
        condition.lock()
        isClosing = true
        condition.broadcast()
        condition.unlock()
    }

    // MARK: The I/O thread

    private func run() {
        var syncer = SegmentSyncer()
        while waitForWork() {
            // Jobs are taken with the storage lock held, so groups reach the file in the
            // order their jobs were enqueued.
            storageLock.lock()
            let jobs = takePending()
            let unsynced = jobs.isEmpty ? nil : execute(jobs, syncer: &syncer)
            storageLock.unlock()
            if let unsynced { finish(unsynced, syncer: syncer) }
        }
        syncer.close()
        condition.lock()
        runningThreads -= 1
        let last = runningThreads == 0
        condition.unlock()
        guard last else { return }
        storageLock.lock()
        storage.close()
        storageLock.unlock()
        condition.lock()
        isFinished = true
        let waiters = finishWaiters
        finishWaiters = []
        condition.broadcast()
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Appends written but not yet synced: the segment their group ended in and its callers.
    struct UnsyncedGroup {
        var segment: Int
        var waiters: [CheckedContinuation<Result<Void, WALError>, Never>]
    }

    /// Syncs a written group (outside the storage lock) and resumes its callers.
    private func finish(_ group: UnsyncedGroup, syncer: SegmentSyncer) {
        let result: Result<Void, WALError>
        do {
            try syncer.sync()
            result = .success(())
        } catch {
            storageLock.lock()
            storage.recordFailure(error)
            storageLock.unlock()
            result = .failure(error)
        }
        for waiter in group.waiters { waiter.resume(returning: result) }
    }

    /// Waits until there is work; false once closing and drained. Waits without the
    /// storage lock, which `withStorage` may need meanwhile.
    private func waitForWork() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !isClosing { condition.wait() }
        return !pending.isEmpty
    }

    /// Everything queued so far (nothing if another thread took it first).
    private func takePending() -> [Job] {
        condition.lock()
        defer { condition.unlock() }
        let jobs = pending
        pending = []
        return jobs
    }

    /// Runs a group under the storage lock. A group of appends only is written and
    /// returned for syncing outside the lock; a group with a cut or a truncation is
    /// synced here, as those need every append before them durable.
    private func execute(_ jobs: [Job], syncer: inout SegmentSyncer) -> UnsyncedGroup? {
        var records: [[UInt8]] = []
        var waiters: [CheckedContinuation<Result<Void, WALError>, Never>] = []

        let appendsOnly = jobs.allSatisfy { if case .append = $0 { true } else { false } }
        if appendsOnly {
            for case let .append(batch, continuation) in jobs {
                records.append(contentsOf: batch)
                waiters.append(continuation)
            }
            do {
                // The thread's descriptor is opened before the write, so its sync sees
                // any writeback error that hits these records.
                let segment = try storage.segmentForNextWrite()
                try syncer.use(segment: segment.index, path: segment.path)
                let last = try storage.write(records)
                publish(storage.segmentIndices)
                guard last == segment.index else {
                    // The group filled its segment and went on in a new one: rare, so
                    // synced here through the writer's own descriptor.
                    try storage.syncActive()
                    for waiter in waiters { waiter.resume(returning: .success(())) }
                    return nil
                }
                return UnsyncedGroup(segment: last, waiters: waiters)
            } catch {
                publish(storage.segmentIndices)
                for waiter in waiters { waiter.resume(returning: .failure(error)) }
                return nil
            }
        }

        func commitAppends() {
            guard !waiters.isEmpty else { return }
            let result: Result<Void, WALError>
            do {
                try storage.append(records)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            publish(storage.segmentIndices)
            for waiter in waiters { waiter.resume(returning: result) }
            records.removeAll()
            waiters.removeAll()
        }

        for job in jobs {
            switch job {
            case let .append(batch, continuation):
                records.append(contentsOf: batch)
                waiters.append(continuation)
            case let .cut(continuation):
                commitAppends()
                let result: Result<Int, WALError>
                do {
                    result = .success(try storage.cut())
                } catch {
                    result = .failure(error)
                }
                publish(storage.segmentIndices)
                continuation.resume(returning: result)
            case let .removeSegments(index, continuation):
                commitAppends()
                let result: Result<Void, WALError>
                do {
                    try storage.removeSegments(before: index)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                publish(storage.segmentIndices)
                continuation.resume(returning: result)
            }
        }
        commitAppends()
        return nil
    }

    /// Stores the segment list `segments` returns, before the job's caller resumes so it
    /// sees its own cut or truncation. Lock order: `storageLock`, then `condition`.
    private func publish(_ current: [Int]) {
        condition.lock()
        publishedSegments = current
        condition.unlock()
    }
}

/// One I/O thread's own descriptor for the segment it syncs, reopened when the group's
/// segment changes. A separate open file per thread makes each thread's fdatasync report
/// any writeback error since that thread opened the segment (see `WALCommitQueue`).
struct SegmentSyncer {
    private var segment = -1
    private var file: WALFile?

    /// Makes `index` the segment `sync` flushes, opening it unless it is already open.
    mutating func use(segment index: Int, path: String) throws(WALError) {
        guard index != segment || file == nil else { return }
        close()
        file = try WALFile.openForReading(path)
        segment = index
    }

    /// Flushes the segment given to `use`, which every group calls before its write.
    func sync() throws(WALError) {
        guard let file else { preconditionFailure("WAL sync before any segment was chosen") }
        try file.sync()
    }

    mutating func close() {
        file?.close()
        file = nil
        segment = -1
    }
}
