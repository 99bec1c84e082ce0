/// Bounds how many queries evaluate at once (`--query.max-concurrency`): the others wait
/// their turn in arrival order, as in Prometheus's query gate. The wait itself is bounded
/// too, so a flood of requests is refused instead of piling up.
actor QueryGate {
    let limit: Int
    let maxWaiting: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int, maxWaiting: Int? = nil) {
        self.limit = max(1, limit)
        self.maxWaiting = maxWaiting ?? self.limit * 50
    }

    struct Full: Error {}

    /// Runs `body` once a slot is free; throws `Full` when too many are waiting already.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if running >= limit {
            guard waiting.count < maxWaiting else { throw Full() }
            await withCheckedContinuation { waiting.append($0) }
        } else {
            running += 1
        }
        defer { release() }
        return try await body()
    }

    /// Hands the slot to the next waiter, or frees it.
    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
