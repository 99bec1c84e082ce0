import Logging
import OTLP

/// `debug` exporter: logs a summary of each batch (and, at `detailed`, its content).
public struct DebugSender<Batch: SignalBatch>: BatchSender {
    let id: ComponentID
    let verbosity: String
    let logger: Logger

    public init(id: ComponentID, verbosity: String, logger: Logger = Logger(label: "vigil.collector.debug")) {
        self.id = id
        self.verbosity = verbosity
        self.logger = logger
    }

    public func send(_ batch: Batch) async throws(ExportError) {
        logger.info("\(Batch.signal.rawValue)", metadata: ["exporter": "\(id)", Batch.signal.itemName: "\(batch.itemCount)"])
        if verbosity == "detailed" {
            logger.info("\(batch.textFormatString())")
        }
    }
}
