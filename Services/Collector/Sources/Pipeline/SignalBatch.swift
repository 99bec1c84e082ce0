import OTLP
import SwiftProtobuf

/// Telemetry of one signal as it flows through a pipeline: an OTLP export request.
/// Items are what otelcol counts: spans, metric data points, log records.
public protocol SignalBatch: SwiftProtobuf.Message, Sendable {
    static var signal: Signal { get }
    var itemCount: Int { get }
    mutating func append(_ other: Self)
    /// Cuts the batch into pieces of at most `maxItems` items, keeping each item's resource
    /// and scope. A single metric with more points than `maxItems` is split by points.
    func split(maxItems: Int) -> [Self]
}

extension ExportTraceServiceRequest: SignalBatch {
    public static var signal: Signal { .traces }

    public var itemCount: Int {
        resourceSpans.reduce(0) { $0 + $1.scopeSpans.reduce(0) { $0 + $1.spans.count } }
    }

    public mutating func append(_ other: Self) { resourceSpans.append(contentsOf: other.resourceSpans) }

    public func split(maxItems: Int) -> [Self] {
        NestedSplitter.split(resourceSpans, maxItems: maxItems, scopes: \.scopeSpans, items: \.spans) { _ in 1 }
            .map { part in Self.with { $0.resourceSpans = part } }
    }
}

extension ExportLogsServiceRequest: SignalBatch {
    public static var signal: Signal { .logs }

    public var itemCount: Int {
        resourceLogs.reduce(0) { $0 + $1.scopeLogs.reduce(0) { $0 + $1.logRecords.count } }
    }

    public mutating func append(_ other: Self) { resourceLogs.append(contentsOf: other.resourceLogs) }

    public func split(maxItems: Int) -> [Self] {
        NestedSplitter.split(resourceLogs, maxItems: maxItems, scopes: \.scopeLogs, items: \.logRecords) { _ in 1 }
            .map { part in Self.with { $0.resourceLogs = part } }
    }
}

extension ExportMetricsServiceRequest: SignalBatch {
    public static var signal: Signal { .metrics }

    public var itemCount: Int {
        resourceMetrics.reduce(0) { $0 + $1.scopeMetrics.reduce(0) { $0 + $1.metrics.reduce(0) { $0 + $1.dataPointCount } } }
    }

    public mutating func append(_ other: Self) { resourceMetrics.append(contentsOf: other.resourceMetrics) }

    public func split(maxItems: Int) -> [Self] {
        // First make every metric small enough to fit a batch alone, then pack.
        var resources = resourceMetrics
        for r in resources.indices {
            for s in resources[r].scopeMetrics.indices {
                let metrics = resources[r].scopeMetrics[s].metrics
                guard metrics.contains(where: { $0.dataPointCount > maxItems }) else { continue }
                resources[r].scopeMetrics[s].metrics = metrics.flatMap { $0.dataPointCount > maxItems ? $0.split(maxPoints: maxItems) : [$0] }
            }
        }
        return NestedSplitter.split(resources, maxItems: maxItems, scopes: \.scopeMetrics, items: \.metrics) { $0.dataPointCount }
            .map { part in Self.with { $0.resourceMetrics = part } }
    }
}
