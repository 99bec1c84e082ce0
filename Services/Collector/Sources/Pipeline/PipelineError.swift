/// Why a pipeline did not take data. Receivers turn these into the status codes otelcol
/// clients expect: 429 / RESOURCE_EXHAUSTED for the retryable ones.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    /// An exporter's sending queue is full; the sender should retry later.
    case queueFull(exporter: String)
    /// The memory limiter is refusing data.
    case memoryLimitExceeded
    /// The collector is stopping.
    case shuttingDown
    /// Writing to the persistent queue failed.
    case storageFailed(String)

    public var description: String {
        switch self {
        case .queueFull(let exporter): return "sending queue of exporter \(exporter) is full"
        case .memoryLimitExceeded: return "data refused due to high memory usage"
        case .shuttingDown: return "collector is shutting down"
        case .storageFailed(let detail): return "persistent queue write failed: \(detail)"
        }
    }

    /// Seconds a client should wait before retrying (Retry-After).
    public var retryAfterSeconds: Int { 1 }
}

/// The next stage of a pipeline: a processor or the fan-out to exporters.
public protocol BatchConsumer<Batch>: Sendable {
    associatedtype Batch: SignalBatch
    /// Takes the batch or throws without taking any of it. Returning means the batch is
    /// owned downstream (and, when `isDurable`, on disk).
    func consume(_ batch: Batch) async throws(PipelineError)
    /// Whether a batch handed over now would be accepted; lets the batch processor refuse
    /// a request up front instead of accepting data it cannot pass on.
    func hasCapacity() async -> Bool
    /// True when acceptance means the data is on disk (a persistent sending queue).
    var isDurable: Bool { get }
}
