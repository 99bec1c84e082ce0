import Prometheus

/// The notifier's own metrics under Prometheus's names, so dashboards and alerts written
/// for Prometheus's notifier work unchanged.
struct NotifierMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let dropped: Counter
    let queueLength: Gauge
    let queueCapacity: Gauge
    let alertmanagersDiscovered: Gauge

    /// `prometheus_notifications_<name>_<unit>`.
    static func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "prometheus", subsystem: "notifications", metricName: name, unitName: unit, helpText: help)
    }

    init(registry: PrometheusCollectorRegistry, capacity: Int) {
        self.registry = registry
        dropped = registry.makeCounter(descriptor: Self.descriptor(
            "dropped", "total", "Total number of alerts dropped due to errors when sending to Alertmanager."))
        queueLength = registry.makeGauge(descriptor: Self.descriptor(
            "queue", "length", "The number of alert notifications in the queue."))
        queueCapacity = registry.makeGauge(descriptor: Self.descriptor(
            "queue", "capacity", "The capacity of the alert notifications queue."))
        alertmanagersDiscovered = registry.makeGauge(descriptor: Self.descriptor(
            "alertmanagers", "discovered", "The number of alertmanagers discovered and active."))
        queueCapacity.set(Double(capacity))
    }

    func sent(_ alertmanager: String) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor("sent", "total", "Total number of alerts sent."),
                             labels: [("alertmanager", alertmanager)])
    }

    func errors(_ alertmanager: String) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor("errors", "total", "Total number of sent alerts affected by errors."),
                             labels: [("alertmanager", alertmanager)])
    }
}
