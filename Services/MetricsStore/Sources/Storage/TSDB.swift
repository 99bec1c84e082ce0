import Foundation
import Logging
import Synchronization

/// The metrics-store's storage: the in-memory head, made durable by the write-ahead log.
/// `append` returns only after the request's series and samples are fsynced in the WAL,
/// so an acknowledged write survives kill -9; `open` replays the WAL into the head.
public final class TSDB: Sendable {
    public let head: Head
    /// Exemplars live in a bounded ring, made durable by the WAL like samples; metadata is
    /// kept in memory only, as Prometheus does (senders resend it periodically).
    public let exemplars: ExemplarStorage
    public let metadata = MetadataStore()
    let wal: WriteAheadLog
    let logger: Logger
    let blocksDirectory: URL
    let blocks: Mutex<[BlockReader]>
    /// Retention in milliseconds; 0 keeps blocks forever.
    let retention: Int64
    /// Bytes that blocks and WAL may take before the oldest blocks go; 0 for no limit.
    let retentionSize: Int64
    /// How blocks cut or merged from now on store their chunks.
    let blockChunkEncoding: BlockChunkEncoding

    public enum Failure: Error, CustomStringConvertible {
        case rejected(Head.AppendError)
        case wal(String)

        public var description: String {
            switch self {
            case .rejected(let error): return error.description
            case .wal(let detail): return "write-ahead log: \(detail)"
            }
        }
    }

    init(head: Head, exemplars: ExemplarStorage, wal: WriteAheadLog, blocksDirectory: URL, blocks: [BlockReader],
         retention: Int64, retentionSize: Int64, blockChunkEncoding: BlockChunkEncoding, logger: Logger) {
        self.head = head
        self.exemplars = exemplars
        self.wal = wal
        self.blocksDirectory = blocksDirectory
        self.blocks = Mutex(blocks)
        self.retention = retention
        self.retentionSize = retentionSize
        self.blockChunkEncoding = blockChunkEncoding
        self.logger = logger
    }

    /// Opens (or creates) the storage under `directory`, replaying the WAL. A corrupt WAL
    /// tail is cut off and logged with what was dropped; everything before it is kept.
    public static func open(directory: URL, retention: Int64 = 0, retentionSize: Int64 = 0,
                            blockChunkEncoding: BlockChunkEncoding = .decimal,
                            logger: Logger = Logger(label: "vigil.metrics-store.tsdb")) throws -> TSDB {
        let blocksDirectory = directory.appendingPathComponent("blocks")
        let blocks = try loadBlocks(blocksDirectory, logger: logger)
        // Samples before the newest block's end are in that block already.
        let blockEnd = blocks.map(\.meta.maxTime).max() ?? .min
        let walDirectory = directory.appendingPathComponent("wal")
        try FileManager.default.createDirectory(at: walDirectory, withIntermediateDirectories: true)
        let wal = try WriteAheadLog(directory: walDirectory)
        let head = Head()
        let exemplars = ExemplarStorage()
        var pending: [SeriesRef: [Head.Sample]] = [:]
        var undecodable = 0
        let report = try wal.replay { payload in
            do {
                switch try WALRecord.decode(payload) {
                case .series(let series):
                    for (ref, labels) in series { head.replaySeries(ref: ref, labels: labels) }
                case .samples(let samples):
                    for (ref, sample) in samples { pending[ref, default: []].append(sample) }
                case .exemplars(let list):
                    exemplars.add(list)
                }
            } catch {
                undecodable += 1
            }
        }
        // Concurrent requests may reach the log in another order than they reached the
        // head, so each series' samples are ordered before they go back in.
        var orphaned = 0
        head.setMinValidTime(blockEnd)
        for (ref, samples) in pending {
            let ordered = samples.filter { $0.timestamp >= blockEnd }.sorted { $0.timestamp < $1.timestamp }
            if !head.replaySamples(ref: ref, ordered) { orphaned += ordered.count }
        }
        if let corruption = report.corruption {
            logger.warning("WAL was corrupt; dropped its tail", metadata: [
                "segment": "\(corruption.segment)", "offset": "\(corruption.offset)",
                "dropped_bytes": "\(corruption.droppedBytes)", "reason": "\(corruption.reason)",
            ])
        }
        if undecodable > 0 || orphaned > 0 {
            logger.warning("WAL replay skipped records", metadata: ["undecodable": "\(undecodable)", "orphaned_samples": "\(orphaned)"])
        }
        logger.info("WAL replayed", metadata: ["series": "\(head.seriesCount)", "samples": "\(head.sampleCount)"])
        return TSDB(head: head, exemplars: exemplars, wal: wal, blocksDirectory: blocksDirectory, blocks: blocks, retention: retention,
                    retentionSize: retentionSize, blockChunkEncoding: blockChunkEncoding, logger: logger)
    }

    /// Appends samples and exemplars; returns once both are in the WAL. Exemplars become
    /// visible only then, so a query never sees one that a crash could take back.
    public func append(_ request: [(labels: Labels, samples: [Head.Sample])], exemplars offered: [StoredExemplar] = []) async throws(Failure) {
        try await append(SeriesBatch(request), exemplars: offered)
    }

    /// `append` for series named by label keys (see `SeriesBatch`), as remote write
    /// decodes them.
    public func append(_ batch: SeriesBatch, exemplars offered: [StoredExemplar] = []) async throws(Failure) {
        let result: Head.AppendResult
        do {
            result = try head.append(batch)
        } catch {
            throw .rejected(error)
        }
        var records: [[UInt8]] = []
        if !result.newSeries.isEmpty { records.append(WALRecord.series(result.newSeries).encodeCompressed()) }
        if !result.samples.isEmpty { records.append(WALRecord.samples(result.samples).encodeCompressed()) }
        if !offered.isEmpty { records.append(WALRecord.exemplars(offered).encodeCompressed()) }
        guard !records.isEmpty else { return }
        do {
            try await wal.append(records)
        } catch {
            throw .wal("\(error)")
        }
        if !result.newSeries.isEmpty { head.markSeriesRecordsDurable(result.newSeries) }
        if !offered.isEmpty { exemplars.add(offered) }
    }

    public func close() { wal.close() }
}
