import DequeModule
import Logging
import Prometheus

/// An exporter's `sending_queue`: a bounded queue of batches drained by `num_consumers`
/// workers, each delivering with `retry_on_failure` backoff.
///
/// A full queue refuses new batches (the receivers answer 429), so memory stays bounded by
/// `queue_size` batches. With a `storage` each batch is on disk before it is accepted and
/// leaves the disk only once delivered or given up, so a restart resends what was left.
public actor SendingQueue<Batch: SignalBatch>: BatchConsumer {
    struct Entry {
        var batch: Batch
        var sequence: UInt64?
    }

    public nonisolated let exporterID: ComponentID
    public nonisolated let isDurable: Bool
    private let settings: QueueSettings
    private let retry: RetrySettings
    private let sender: any BatchSender<Batch>
    private let store: PersistentQueueStore?
    private let counters: CollectorTelemetry.ExporterCounters?
    private let logger: Logger

    private var entries: Deque<Entry> = []
    private var idleWorkers: [CheckedContinuation<Entry?, Never>] = []
    private var nextSequence: UInt64 = 0
    private var stopping = false
    private var inFlight = 0
    private var drained: [CheckedContinuation<Void, Never>] = []

    public init(exporterID: ComponentID, settings: QueueSettings, retry: RetrySettings, sender: any BatchSender<Batch>,
                store: PersistentQueueStore?, counters: CollectorTelemetry.ExporterCounters?,
                logger: Logger = Logger(label: "vigil.collector.exporter")) {
        self.exporterID = exporterID
        self.settings = settings
        self.retry = retry
        self.sender = sender
        self.store = store
        self.isDurable = store != nil
        self.counters = counters
        var logger = logger
        logger[metadataKey: "exporter"] = "\(exporterID)"
        self.logger = logger
        counters?.queueCapacity.set(Double(settings.queueSize))
    }

    public var count: Int { entries.count }

    public var isIdle: Bool { entries.isEmpty && inFlight == 0 }

    public func hasCapacity() -> Bool { !stopping && entries.count < settings.queueSize }

    public func consume(_ batch: Batch) async throws(PipelineError) {
        guard !stopping else { throw .shuttingDown }
        guard entries.count < settings.queueSize else {
            counters?.enqueueFailed.increment(by: Int64(batch.itemCount))
            throw .queueFull(exporter: exporterID.description)
        }
        var entry = Entry(batch: batch, sequence: nil)
        if let store {
            let sequence = nextSequence
            nextSequence += 1
            do {
                try await store.append(sequence: sequence, bytes: try batch.serializedBytes())
            } catch {
                throw .storageFailed("\(error)")
            }
            entry.sequence = sequence
        }
        enqueue(entry)
    }

    private func enqueue(_ entry: Entry) {
        if let worker = idleWorkers.popLast() {
            inFlight += 1
            worker.resume(returning: entry)
        } else {
            entries.append(entry)
        }
        counters?.queueSize.set(Double(entries.count))
    }

    /// Loads batches a persistent queue kept from the last run.
    public func recover() async throws {
        guard let store else { return }
        for (sequence, bytes) in try await store.recover() {
            nextSequence = max(nextSequence, sequence + 1)
            guard let batch = try? Batch(serializedBytes: bytes) else {
                logger.error("dropping unreadable batch \(sequence) from the persistent queue")
                await store.remove(sequence: sequence)
                continue
            }
            entries.append(Entry(batch: batch, sequence: sequence))
        }
        if !entries.isEmpty { logger.info("recovered \(entries.count) batches from the persistent queue") }
        counters?.queueSize.set(Double(entries.count))
    }

    /// Runs the workers until `stop()`; then, for an in-memory queue, drains what is left.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, settings.numConsumers) {
                group.addTask { await self.workerLoop() }
            }
        }
    }

    public func stop() {
        stopping = true
        for worker in idleWorkers { worker.resume(returning: nil) }
        idleWorkers = []
    }

    /// Waits until every queued batch has been handled (tests and graceful shutdown).
    public func waitUntilEmpty() async {
        if entries.isEmpty, inFlight == 0 { return }
        await withCheckedContinuation { drained.append($0) }
    }

    private func nextEntry() async -> Entry? {
        if let entry = entries.popFirst() {
            inFlight += 1
            counters?.queueSize.set(Double(entries.count))
            return entry
        }
        if stopping { return nil }
        return await withCheckedContinuation { idleWorkers.append($0) }
    }

    private func finished(_ entry: Entry) async {
        if let sequence = entry.sequence { await store?.remove(sequence: sequence) }
        inFlight -= 1
        if entries.isEmpty, inFlight == 0 {
            for waiter in drained { waiter.resume() }
            drained = []
        }
    }

    /// Lets go of a batch without removing its file: a persistent queue stopping
    /// mid-retry keeps it on disk for the next run.
    private func releasedToDisk() {
        inFlight -= 1
    }

    private func workerLoop() async {
        while let entry = await nextEntry() {
            let delivered = await deliver(entry.batch)
            if delivered == nil, entry.sequence != nil {
                releasedToDisk()
            } else {
                await finished(entry)
            }
        }
    }

    /// One batch with retries. Returns true when delivered, false when given up, nil when
    /// interrupted by shutdown before either.
    private nonisolated func deliver(_ batch: Batch) async -> Bool? {
        var backoff = RetryBackoff(settings: retry)
        let items = Int64(batch.itemCount)
        while true {
            do {
                try await sender.send(batch)
                counters?.sent.increment(by: items)
                return true
            } catch {
                switch error {
                case .permanent(let message):
                    logger.error("dropping data: the backend refused it permanently", metadata: ["error": "\(message)", "items": "\(items)"])
                    counters?.sendFailed.increment(by: items)
                    return false
                case .retryable(let message, let retryAfter):
                    guard let wait = backoff.nextWait(retryAfter: retryAfter) else {
                        logger.error("dropping data: no more retries", metadata: ["error": "\(message)", "items": "\(items)"])
                        counters?.sendFailed.increment(by: items)
                        return false
                    }
                    logger.info("export failed, will retry", metadata: ["error": "\(message)", "interval": "\(wait)s"])
                    if await isStopping(), isDurable { return nil }
                    try? await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                    if Task.isCancelled {
                        // Shutdown gave up waiting: a persistent queue keeps the batch on
                        // disk; an in-memory one can only drop it, as otelcol does.
                        if !isDurable { counters?.sendFailed.increment(by: items) }
                        return nil
                    }
                    if await isStopping(), isDurable { return nil }
                }
            }
        }
    }

    private func isStopping() -> Bool { stopping }
}
