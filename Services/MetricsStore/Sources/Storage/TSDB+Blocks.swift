import Foundation
import Logging
import Synchronization

/// Cutting the head into immutable blocks, retention, and reading across blocks and head.
///
/// A block covers a 2-hour window aligned to multiples of 2 hours, as Prometheus's do. It
/// is cut once the head spans more than 3 hours, so late samples for the window have
/// arrived. The order makes a crash at any point safe: the block is written (atomically,
/// by rename) first and the head truncated; after the last block of a round, a new WAL
/// segment gets a checkpoint of every live series and every sample from the last
/// block's end on; only then are older WAL segments deleted. Replay skips samples older
/// than the newest block's end.
extension TSDB {
    public static let blockRange: Int64 = 2 * 3600 * 1000

    /// Cuts as many blocks as the head allows, then applies retention. Returns the blocks
    /// written.
    @discardableResult
    public func compact(now: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) async throws -> [BlockMeta] {
        var written: [BlockMeta] = []
        var cutUntil: Int64?
        while let range = head.timeRange, range.max - range.min > Self.blockRange * 3 / 2 {
            let start = Self.alignDown(range.min)
            let end = start + Self.blockRange
            let series = head.blockData(start: start, end: end)
            if !series.isEmpty {
                let writer = BlockWriter(directory: blocksDirectory.path, chunkEncoding: blockChunkEncoding)
                let meta = try await Self.offloaded { () throws -> BlockMeta in try writer.write(series) }
                let reader = try BlockReader(directory: blocksDirectory.appendingPathComponent(meta.ulid).path)
                blocks.withLock { $0.append(reader) }
                written.append(meta)
                logger.info("cut block", metadata: ["ulid": "\(meta.ulid)", "series": "\(meta.stats.numSeries)", "samples": "\(meta.stats.numSamples)"])
            }
            // The WAL still holds everything the head lets go of here; one checkpoint
            // after the last cut replaces the old segments.
            head.truncate(before: end)
            cutUntil = end
        }
        if let cutUntil { try await checkpoint(from: cutUntil) }
        written += try await mergeBlocks()
        try applyRetention(now: now)
        return written
    }

    /// Merges blocks into larger ones while the compactor finds a window that is due.
    func mergeBlocks() async throws -> [BlockMeta] {
        let compactor = BlockCompactor(blockRange: Self.blockRange, retention: retention)
        var written: [BlockMeta] = []
        while let (window, planned) = compactor.plan(blocks.withLock { $0.map(\.meta) }) {
            let ids = Set(planned.map(\.ulid))
            let sources = blocks.withLock { $0.filter { ids.contains($0.meta.ulid) } }
            let compaction = BlockMeta.Compaction(
                level: (planned.map(\.compaction.level).max() ?? 1) + 1,
                sources: planned.flatMap(\.compaction.sources).sorted())
            let writer = BlockWriter(directory: blocksDirectory.path, chunkEncoding: blockChunkEncoding)
            let meta = try await Self.offloaded { () throws -> BlockMeta in
                var merged = try MergedBlockSeries(sources)
                return try writer.write(next: { () throws(BlockError) in try merged.next() }, compaction: compaction, timeRange: window)
            }
            let merged = try BlockReader(directory: blocksDirectory.appendingPathComponent(meta.ulid).path)
            blocks.withLock { blocks in
                blocks.removeAll { ids.contains($0.meta.ulid) }
                blocks.append(merged)
                blocks.sort { $0.meta.minTime < $1.meta.minTime }
            }
            for source in sources { try FileManager.default.removeItem(atPath: source.directory) }
            written.append(meta)
            logger.info("merged blocks", metadata: [
                "ulid": "\(meta.ulid)", "sources": "\(planned.count)", "level": "\(compaction.level)",
                "samples": "\(meta.stats.numSamples)",
            ])
        }
        return written
    }

    /// Replaces the WAL's older segments by a checkpoint of the head from `from` on.
    func checkpoint(from: Int64) async throws {
        let segment = try await wal.cut()
        try await head.checkpoint(from: from) { series, samples in
            var records: [[UInt8]] = []
            if !series.isEmpty { records.append(WALRecord.series(series).encodeCompressed()) }
            if !samples.isEmpty { records.append(WALRecord.samples(samples).encodeCompressed()) }
            if !records.isEmpty { try await wal.append(records) }
        }
        let kept = exemplars.all()
        if !kept.isEmpty { try await wal.append([WALRecord.exemplars(kept).encodeCompressed()]) }
        try await wal.truncate(before: segment)
    }

    /// Deletes blocks that ended before now − retention (`--storage.tsdb.retention.time`),
    /// then the oldest blocks while blocks and WAL together exceed the size limit
    /// (`--storage.tsdb.retention.size`), as Prometheus does.
    func applyRetention(now: Int64) throws {
        var expired: [(BlockReader, String)] = []
        if retention > 0 {
            expired += blocks.withLock { blocks in
                let old = blocks.filter { $0.meta.maxTime <= now - retention }
                blocks.removeAll { block in old.contains { $0.meta.ulid == block.meta.ulid } }
                return old.map { ($0, "time") }
            }
        }
        if retentionSize > 0 {
            let oldestFirst = blocks.withLock { $0 }.sorted { $0.meta.minTime < $1.meta.minTime }
            let sizes = oldestFirst.map { ($0.meta.ulid, Self.diskUsage($0.directory)) }
            var total = sizes.reduce(Self.diskUsage(wal.directory.path)) { $0 + $1.1 }
            var over = Set<String>()
            for (ulid, size) in sizes where total > retentionSize {
                over.insert(ulid)
                total -= size
            }
            expired += blocks.withLock { blocks in
                let old = blocks.filter { over.contains($0.meta.ulid) }
                blocks.removeAll { over.contains($0.meta.ulid) }
                return old.map { ($0, "size") }
            }
        }
        for (block, reason) in expired {
            try FileManager.default.removeItem(atPath: block.directory)
            logger.info("deleted block past retention", metadata: ["ulid": "\(block.meta.ulid)", "retention": "\(reason)"])
        }
    }

    /// Bytes of the regular files under `path`.
    static func diskUsage(_ path: String) -> Int64 {
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        for case let name as String in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular {
                total += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }

    /// Bytes the blocks take on disk.
    public var blocksSize: Int64 { blocks.withLock { $0 }.reduce(0) { $0 + Self.diskUsage($1.directory) } }

    /// Label sets of series matching any selector with samples in [mint, maxt], from the
    /// blocks and the head.
    public func series(matching selectors: [[LabelMatcher]], mint: Int64, maxt: Int64) throws -> [Labels] {
        var found = Set(head.series(matching: selectors, mint: mint, maxt: maxt))
        for block in blocks.withLock({ $0 }) where block.meta.maxTime > mint && block.meta.minTime <= maxt {
            for matchers in selectors {
                found.formUnion(try block.seriesLabels(matchers: matchers, mint: mint, maxt: maxt))
            }
        }
        return found.sorted()
    }

    /// Samples of series matching the selector in [mint, maxt], blocks and head merged,
    /// sorted by labels.
    public func select(_ matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws -> [(labels: Labels, samples: [Head.Sample])] {
        let overlapping = blocks.withLock { $0 }.filter { $0.meta.maxTime > mint && $0.meta.minTime <= maxt }
        let fromHead = head.select(matchers, mint: mint, maxt: maxt)
        // Most queries read recent data only: the head's answer is already sorted.
        if overlapping.isEmpty { return fromHead }
        // Every source lists its series in label order, and blocks come in time order
        // before the head, so merging the lists keeps both orders without hashing labels.
        var merged: [(labels: Labels, samples: [Head.Sample])] = []
        for block in overlapping {
            var fromBlock: [(labels: Labels, samples: [Head.Sample])] = []
            for (labels, chunks) in try block.select(matchers: matchers, mint: mint, maxt: maxt) {
                var samples: [Head.Sample] = []
                for chunk in chunks {
                    guard try chunk.appendSamples(from: mint, through: maxt, to: &samples) else { break }
                }
                if !samples.isEmpty { fromBlock.append((labels, samples)) }
            }
            merged = Self.mergeByLabels(merged, fromBlock)
        }
        return Self.mergeByLabels(merged, fromHead)
    }

    /// Merges two lists sorted by labels; a series in both gets `earlier`'s samples then
    /// `later`'s, sorted again only if the two overlap in time (blocks that overlap).
    static func mergeByLabels(_ earlier: [(labels: Labels, samples: [Head.Sample])],
                              _ later: [(labels: Labels, samples: [Head.Sample])]) -> [(labels: Labels, samples: [Head.Sample])] {
        if earlier.isEmpty { return later }
        if later.isEmpty { return earlier }
        var out: [(labels: Labels, samples: [Head.Sample])] = []
        out.reserveCapacity(max(earlier.count, later.count))
        var i = 0, j = 0
        while i < earlier.count, j < later.count {
            if earlier[i].labels < later[j].labels {
                out.append(earlier[i]); i += 1
            } else if later[j].labels < earlier[i].labels {
                out.append(later[j]); j += 1
            } else {
                var samples = earlier[i].samples
                let next = later[j].samples
                let ordered = samples.last!.timestamp < next.first!.timestamp
                samples.append(contentsOf: next)
                if !ordered { samples.sort { $0.timestamp < $1.timestamp } }
                out.append((earlier[i].labels, samples))
                i += 1; j += 1
            }
        }
        out.append(contentsOf: earlier[i...])
        out.append(contentsOf: later[j...])
        return out
    }

    static func alignDown(_ t: Int64) -> Int64 {
        let r = t % blockRange
        return r >= 0 ? t - r : t - r - blockRange
    }

    /// Runs blocking file work on a thread of its own, off the concurrency pool.
    static func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Opens the blocks under `directory/blocks`, dropping unfinished `.tmp` ones and
    /// sources of a merge that a crash interrupted before it deleted them.
    static func loadBlocks(_ directory: URL, logger: Logger) throws -> [BlockReader] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var readers: [BlockReader] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
            let path = directory.appendingPathComponent(name).path
            if name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            guard ULID(name) != nil else { continue }
            readers.append(try BlockReader(directory: path))
        }
        let obsolete = BlockCompactor.obsoleteBlocks(readers.map(\.meta))
        for reader in readers where obsolete.contains(reader.meta.ulid) {
            try FileManager.default.removeItem(atPath: reader.directory)
            logger.info("deleted block already merged into a larger one", metadata: ["ulid": "\(reader.meta.ulid)"])
        }
        return readers.filter { !obsolete.contains($0.meta.ulid) }.sorted { $0.meta.minTime < $1.meta.minTime }
    }
}
