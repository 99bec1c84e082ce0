/// Why one attempt to deliver a batch failed, which decides whether it is tried again.
public enum ExportError: Error, CustomStringConvertible {
    /// Worth retrying: connection errors, 429, 502–504, RESOURCE_EXHAUSTED, UNAVAILABLE.
    case retryable(String, retryAfter: Duration? = nil)
    /// Retrying cannot help (the backend rejected the data as malformed, for instance).
    case permanent(String)

    public var description: String {
        switch self {
        case .retryable(let message, _): return message
        case .permanent(let message): return "permanent error: \(message)"
        }
    }
}

/// Delivers one batch to a backend, one attempt; the sending queue does the retrying.
public protocol BatchSender<Batch>: Sendable {
    associatedtype Batch: SignalBatch
    func send(_ batch: Batch) async throws(ExportError)
    /// Closes connections once the queue has stopped.
    func shutdown() async
}

extension BatchSender {
    public func shutdown() async {}
}
