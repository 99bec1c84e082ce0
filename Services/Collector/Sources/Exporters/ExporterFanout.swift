/// The end of a pipeline: hands each batch to every exporter's queue. A batch is refused
/// as a whole when any queue is full, so the sender's retry does not lose data (it may
/// duplicate it at the exporters that had room, as otelcol's fan-out does).
public struct ExporterFanout<Batch: SignalBatch>: BatchConsumer {
    public let queues: [SendingQueue<Batch>]
    public let isDurable: Bool

    public init(queues: [SendingQueue<Batch>]) {
        self.queues = queues
        self.isDurable = queues.contains { $0.isDurable }
    }

    public func hasCapacity() async -> Bool {
        for queue in queues where await !queue.hasCapacity() { return false }
        return true
    }

    public func consume(_ batch: Batch) async throws(PipelineError) {
        for queue in queues where await !queue.hasCapacity() {
            throw .queueFull(exporter: queue.exporterID.description)
        }
        for queue in queues { try await queue.consume(batch) }
    }
}
