import Hummingbird
import Metrics
import Prometheus

/// A service's own metrics, exposed at /metrics in the Prometheus text format.
///
/// Components take the registry explicitly (so tests can build several services in one
/// process); `bootstrapMetricsSystem` also routes swift-metrics users (libraries) into it.
public struct SelfMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Makes swift-metrics report into this registry. Call once per process, from main.
    public func bootstrapMetricsSystem() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    public func render() -> String { registry.emitToString() }

    /// Adds GET /metrics to a router.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>, path: RouterPath = "/metrics") {
        let registry = self.registry
        router.get(path) { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
