import Logging
import Prometheus

/// The `batch` processor: gathers incoming data and passes it on in batches, following
/// otelcol's rules. A batch leaves when it holds `sendBatchSize` items or `timeout` after
/// its first item arrived; no batch passed on holds more than `sendBatchMaxSize` items.
///
/// Backpressure: data is accepted only while the next stage has room, so pending data is
/// bounded by one batch plus the requests in flight. When the next stage is durable (a
/// persistent queue), `consume` returns only once the data has been handed over, so an
/// acknowledged request is on disk.
public actor BatchProcessor<Batch: SignalBatch>: BatchConsumer {
    private let config: BatchConfig
    private let next: any BatchConsumer<Batch>
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let triggers: (size: Counter, timeout: Counter)?
    public nonisolated let isDurable: Bool

    private var pending = Batch()
    private var pendingCount = 0
    private var timer: Task<Void, Never>?
    private var generation = 0
    private var durableWaiters: [CheckedContinuation<Void, Never>] = []
    private var stopped = false

    public init(config: BatchConfig, next: any BatchConsumer<Batch>, clock: any Clock<Duration> = ContinuousClock(),
                triggers: (size: Counter, timeout: Counter)? = nil, logger: Logger = Logger(label: "vigil.collector.batch")) {
        self.config = config
        self.next = next
        self.clock = clock
        self.triggers = triggers
        self.logger = logger
        self.isDurable = next.isDurable
    }

    public func hasCapacity() async -> Bool { await next.hasCapacity() }

    public func consume(_ batch: Batch) async throws(PipelineError) {
        guard !stopped else { throw .shuttingDown }
        let count = batch.itemCount
        guard count > 0 else { return }
        guard await next.hasCapacity() else { throw .queueFull(exporter: "downstream of batch") }
        pending.append(batch)
        pendingCount += count
        if pendingCount >= max(config.sendBatchSize, 1) {
            triggers?.size.increment()
            await flush(all: isDurable)
        } else if timer == nil {
            startTimer()
        }
        if isDurable, pendingCount > 0 {
            await withCheckedContinuation { durableWaiters.append($0) }
        }
    }

    /// Sends everything pending; called on shutdown.
    public func shutdown() async {
        stopped = true
        await flush(all: true)
    }

    private func startTimer() {
        generation += 1
        let expected = generation
        let timeout = config.timeout.duration
        let clock = self.clock
        timer = Task { [weak self] in
            try? await clock.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            await self?.timerFired(expected)
        }
    }

    private func timerFired(_ expected: Int) async {
        guard expected == generation else { return }
        timer = nil
        guard pendingCount > 0 else { return }
        triggers?.timeout.increment()
        await flush(all: true)
    }

    /// Passes pending data on. With `all` false it keeps back a remainder smaller than
    /// `sendBatchSize`, as otelcol does, for the timer to send.
    private func flush(all: Bool) async {
        guard pendingCount > 0 else { return }
        timer?.cancel()
        timer = nil
        generation += 1
        let data = pending
        pending = Batch()
        pendingCount = 0
        let waiters = durableWaiters
        durableWaiters = []

        var pieces = config.sendBatchMaxSize > 0 ? data.split(maxItems: config.sendBatchMaxSize) : [data]
        var keep: [Batch] = []
        if !all, config.sendBatchMaxSize > 0, let last = pieces.last, last.itemCount < config.sendBatchSize {
            keep = [pieces.removeLast()]
        }
        for (index, piece) in pieces.enumerated() {
            do {
                try await next.consume(piece)
            } catch {
                // The data was acknowledged: keep it and try again on the next tick.
                logger.warning("batch processor could not pass data on, will retry", metadata: ["error": "\(error)"])
                keep = Array(pieces[index...]) + keep
                break
            }
        }
        for piece in keep {
            pending.append(piece)
            pendingCount += piece.itemCount
        }
        if pendingCount > 0 {
            durableWaiters = waiters + durableWaiters
            if timer == nil { startTimer() }
        } else {
            for waiter in waiters { waiter.resume() }
        }
    }
}
