import ServiceLifecycle

/// A task that runs for the node's lifetime (gossip, repair) as a `ServiceGroup` member,
/// cancelled on graceful shutdown.
struct BackgroundLoop: Service {
    let body: @Sendable () async -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown { await body() }
    }
}
