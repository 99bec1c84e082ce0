import OTLP
import Prometheus

/// What a receiver does with a decoded request, the same for every transport: drop the
/// items no backend could use (reported as a partial success, as OTLP prescribes), hand the
/// rest to each pipeline the receiver feeds, and count accepted and refused items.
public struct ReceiverIntake<Batch: SignalBatch & ItemValidating>: Sendable {
    public let consumers: [any BatchConsumer<Batch>]
    let counters: CollectorTelemetry.ReceiverCounters?

    public init(consumers: [any BatchConsumer<Batch>], counters: CollectorTelemetry.ReceiverCounters?) {
        self.consumers = consumers
        self.counters = counters
    }

    public struct Outcome: Sendable, Equatable {
        public var rejected: Int
        public var message: String
    }

    public func accept(_ request: Batch) async throws(PipelineError) -> Outcome {
        var batch = request
        let rejection = batch.removeInvalidItems()
        let count = batch.itemCount
        do {
            for consumer in consumers where count > 0 {
                try await consumer.consume(batch)
            }
        } catch {
            counters?.refused.increment(by: Int64(count + rejection.rejected))
            throw error
        }
        counters?.accepted.increment(by: Int64(count))
        counters?.refused.increment(by: Int64(rejection.rejected))
        return Outcome(rejected: rejection.rejected, message: rejection.message)
    }
}

/// Items that no backend can store are dropped at the door and reported back.
public protocol ItemValidating {
    /// Removes invalid items; returns how many and why.
    mutating func removeInvalidItems() -> (rejected: Int, message: String)
}

extension ExportTraceServiceRequest: ItemValidating {
    /// A span needs a 16-byte trace id and an 8-byte span id (OTLP: "MUST" be non-zero).
    public mutating func removeInvalidItems() -> (rejected: Int, message: String) {
        let (rejected, example) = removeNestedItems(&resourceSpans, scopes: \.scopeSpans, items: \.spans) { span in
            let valid = span.traceID.count == 16 && span.spanID.count == 8
                && span.traceID.contains { $0 != 0 } && span.spanID.contains { $0 != 0 }
            return valid ? nil : "span \"\(span.name)\" has trace_id of \(span.traceID.count) bytes and span_id of \(span.spanID.count) bytes (need 16 and 8, not all zero)"
        }
        return (rejected, rejected == 0 ? "" : "\(rejected) spans rejected: \(example)")
    }
}

extension ExportLogsServiceRequest: ItemValidating {
    /// Trace context on a log record is optional, but when present it must be well formed.
    public mutating func removeInvalidItems() -> (rejected: Int, message: String) {
        let (rejected, example) = removeNestedItems(&resourceLogs, scopes: \.scopeLogs, items: \.logRecords) { record in
            let valid = (record.traceID.isEmpty || record.traceID.count == 16) && (record.spanID.isEmpty || record.spanID.count == 8)
            return valid ? nil : "a log record has trace_id of \(record.traceID.count) bytes and span_id of \(record.spanID.count) bytes (need 16 and 8, or none)"
        }
        return (rejected, rejected == 0 ? "" : "\(rejected) log records rejected: \(example)")
    }
}

/// Removes the items for which `problem` returns a description; returns how many and the
/// first description, for the partial-success message.
private func removeNestedItems<Resource, Scope, Item>(
    _ resources: inout [Resource], scopes: WritableKeyPath<Resource, [Scope]>, items: WritableKeyPath<Scope, [Item]>,
    problem: (Item) -> String?
) -> (Int, String) {
    var rejected = 0
    var example = ""
    for r in resources.indices {
        for s in resources[r][keyPath: scopes].indices {
            let before = resources[r][keyPath: scopes][s][keyPath: items].count
            resources[r][keyPath: scopes][s][keyPath: items].removeAll { item in
                guard let description = problem(item) else { return false }
                if example.isEmpty { example = description }
                return true
            }
            rejected += before - resources[r][keyPath: scopes][s][keyPath: items].count
        }
    }
    return (rejected, example)
}

extension ExportMetricsServiceRequest: ItemValidating {
    /// A metric needs a name to become a series anywhere.
    public mutating func removeInvalidItems() -> (rejected: Int, message: String) {
        var rejected = 0
        for r in resourceMetrics.indices {
            for s in resourceMetrics[r].scopeMetrics.indices {
                resourceMetrics[r].scopeMetrics[s].metrics.removeAll { metric in
                    guard metric.name.isEmpty else { return false }
                    rejected += metric.dataPointCount
                    return true
                }
            }
        }
        return (rejected, rejected == 0 ? "" : "\(rejected) data points rejected: metric without a name")
    }
}
