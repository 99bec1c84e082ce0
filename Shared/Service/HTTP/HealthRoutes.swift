import Atomics
import Hummingbird

/// GET /healthy (the process serves) and GET /ready (it has finished starting and takes
/// work), the probes every Vigil service exposes for Kubernetes and the launcher.
public final class HealthRoutes: Sendable {
    private let ready = ManagedAtomic<Bool>(false)

    public init() {}

    public func markReady(_ value: Bool = true) { ready.store(value, ordering: .relaxed) }
    public var isReady: Bool { ready.load(ordering: .relaxed) }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthy") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "healthy\n")))
        }
        router.get("/ready") { [self] _, _ -> Response in
            isReady
                ? Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "not ready\n")))
        }
    }
}
