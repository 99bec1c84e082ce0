import Foundation

/// The write-ahead log's own I/O thread and the queue that feeds it.
///
/// Group commit: callers enqueue a job and suspend; the thread takes everything queued
/// so far, writes all appends with one `write` and one fsync, then resumes every caller
/// of that group. While an fsync runs, new callers queue up and form the next group, so
/// under load one fsync is shared by many appends. Only this thread ever blocks on the
/// disk; Swift concurrency threads just enqueue and await.
///
/// Jobs run in the order they were enqueued; a cut or a truncation runs after the
/// appends queued before it are durable.
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

    /// Touched only with `storageLock` held: by the I/O thread and by `withStorage`.
    private let storage: WALStorage
    private let storageLock = NSLock()

    /// Guards every field below.
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var isClosing = false
    private var isFinished = false
    private var finishWaiters: [CheckedContinuation<Void, Never>] = []
    private var publishedSegments: [Int]

    init(storage: WALStorage, threadName: String) {
        self.storage = storage
        self.publishedSegments = storage.segmentIndices
        let thread = Thread { [self] in run() }
        thread.name = threadName
        thread.start()
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
        condition.broadcast()
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
        while let jobs = nextGroup() {
            storageLock.lock()
            execute(jobs)
            storageLock.unlock()
        }
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

    /// Waits for work and takes all of it; nil once closing and drained.
    private func nextGroup() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !isClosing { condition.wait() }
        if pending.isEmpty { return nil }
        let jobs = pending
        pending = []
        return jobs
    }

    private func execute(_ jobs: [Job]) {
        var records: [[UInt8]] = []
        var waiters: [CheckedContinuation<Result<Void, WALError>, Never>] = []

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
    }

    /// Stores the segment list `segments` returns, before the job's caller resumes so it
    /// sees its own cut or truncation. Lock order: `storageLock`, then `condition`.
    private func publish(_ current: [Int]) {
        condition.lock()
        publishedSegments = current
        condition.unlock()
    }
}
