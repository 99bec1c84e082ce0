import Atomics
import Foundation
import VigilService

/// The `memory_limiter` processor: while the process's resident memory is above the soft
/// limit, data is refused (the receivers answer 429) until usage falls again.
public final class MemoryLimiter<Batch: SignalBatch>: BatchConsumer {
    private let next: any BatchConsumer<Batch>
    private let limited: ManagedAtomic<Bool>
    public let isDurable: Bool

    init(next: any BatchConsumer<Batch>, limited: ManagedAtomic<Bool>) {
        self.next = next
        self.limited = limited
        self.isDurable = next.isDurable
    }

    public func hasCapacity() async -> Bool {
        if limited.load(ordering: .relaxed) { return false }
        return await next.hasCapacity()
    }

    public func consume(_ batch: Batch) async throws(PipelineError) {
        if limited.load(ordering: .relaxed) { throw .memoryLimitExceeded }
        try await next.consume(batch)
    }
}

/// Samples memory every `check_interval` and sets the flag the limiters read.
public struct MemoryWatch: Sendable {
    public let limited = ManagedAtomic<Bool>(false)
    let softLimit: Int
    let interval: GoDuration

    public init(config: MemoryLimiterConfig) {
        self.softLimit = config.softLimitBytes(totalMemory: Int(ProcessInfo.processInfo.physicalMemory))
        self.interval = config.checkInterval
    }

    public func run() async {
        while !Task.isCancelled {
            if let rss = ProcessMemory.residentBytes() {
                limited.store(rss > softLimit, ordering: .relaxed)
            }
            try? await Task.sleep(for: interval.duration)
        }
    }
}
