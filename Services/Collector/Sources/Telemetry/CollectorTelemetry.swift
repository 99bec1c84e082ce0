import Prometheus

/// The collector's self-metrics, named as otelcol names them so existing dashboards work:
/// `otelcol_receiver_accepted_spans_total{receiver,transport}`,
/// `otelcol_exporter_sent_metric_points_total{exporter}`, `otelcol_exporter_queue_size`, ...
public struct CollectorTelemetry: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    public struct ReceiverCounters: Sendable {
        public let accepted: Counter
        public let refused: Counter
    }

    public struct ExporterCounters: Sendable {
        public let sent: Counter
        public let sendFailed: Counter
        public let enqueueFailed: Counter
        public let queueSize: Gauge
        public let queueCapacity: Gauge
    }

    public func receiver(_ id: ComponentID, transport: String, signal: Signal) -> ReceiverCounters {
        let labels = [("receiver", id.description), ("transport", transport)]
        return ReceiverCounters(
            accepted: registry.makeCounter(name: "otelcol_receiver_accepted_\(signal.itemName)_total", labels: labels,
                                           help: "Number of items successfully pushed into the pipeline."),
            refused: registry.makeCounter(name: "otelcol_receiver_refused_\(signal.itemName)_total", labels: labels,
                                          help: "Number of items that could not be pushed into the pipeline."))
    }

    public func exporter(_ id: ComponentID, signal: Signal) -> ExporterCounters {
        let labels = [("exporter", id.description)]
        let dataLabels = labels + [("data_type", signal.rawValue)]
        return ExporterCounters(
            sent: registry.makeCounter(name: "otelcol_exporter_sent_\(signal.itemName)_total", labels: labels,
                                       help: "Number of items successfully sent to destination."),
            sendFailed: registry.makeCounter(name: "otelcol_exporter_send_failed_\(signal.itemName)_total", labels: labels,
                                             help: "Number of items in failed attempts to send to destination."),
            enqueueFailed: registry.makeCounter(name: "otelcol_exporter_enqueue_failed_\(signal.itemName)_total", labels: labels,
                                                help: "Number of items failed to be added to the sending queue."),
            queueSize: registry.makeGauge(name: "otelcol_exporter_queue_size", labels: dataLabels,
                                          help: "Current number of batches in the sending queue."),
            queueCapacity: registry.makeGauge(name: "otelcol_exporter_queue_capacity", labels: dataLabels,
                                              help: "Fixed capacity of the sending queue, in batches."))
    }

    public func batchTriggers(_ id: ComponentID, pipeline: ComponentID) -> (size: Counter, timeout: Counter) {
        let labels = [("processor", id.description), ("pipeline", pipeline.description)]
        return (registry.makeCounter(name: "otelcol_processor_batch_batch_size_trigger_send_total", labels: labels,
                                     help: "Number of times the batch was sent due to a size trigger."),
                registry.makeCounter(name: "otelcol_processor_batch_timeout_trigger_send_total", labels: labels,
                                     help: "Number of times the batch was sent due to a timeout trigger."))
    }
}
