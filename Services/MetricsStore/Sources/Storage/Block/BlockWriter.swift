#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One series to persist: its labels and its chunks in time order.
public struct BlockSeries: Sendable {
    public var labels: Labels
    public var chunks: [StoredChunk]

    public init(labels: Labels, chunks: [StoredChunk]) {
        self.labels = labels
        self.chunks = chunks
    }

    public init(labels: Labels, chunks: [XORChunk]) {
        self.init(labels: labels, chunks: chunks.map { .xor($0) })
    }
}

/// Writes immutable blocks in Prometheus's TSDB block layout:
///
///     <directory>/<ULID>/meta.json
///                       /index
///                       /chunks/000001 …
///                       /tombstones
///
/// A block is first written to `<ULID>.tmp`, every file and directory fsynced, then
/// renamed into place and the parent fsynced: after a crash either the whole block exists
/// or only a `.tmp` directory does (which readers ignore and the next write of that ULID
/// removes). Format: Services/MetricsStore/FORMAT-blocks.md.
public struct BlockWriter: Sendable {
    public let directory: String
    /// Largest chunk segment file; Prometheus's (and the default) is 512 MiB.
    public let maxSegmentSize: Int
    /// How chunks are stored; `.xor` writes blocks byte for byte as Prometheus would.
    public let chunkEncoding: BlockChunkEncoding

    public init(directory: String, maxSegmentSize: Int = 512 * 1024 * 1024, chunkEncoding: BlockChunkEncoding = .xor) {
        self.directory = directory
        self.maxSegmentSize = maxSegmentSize
        self.chunkEncoding = chunkEncoding
    }

    /// Writes `series` as the block `ulid` and returns its meta.
    ///
    /// - Parameter series: strictly ascending by labels (`Labels.<`); each series has valid
    ///   labels and at least one non-empty chunk; a series' chunks are in time order and do
    ///   not overlap. Violations throw `BlockError.invalidInput` before anything is written.
    /// - Parameter compaction: for a block merged from others, its level and the level-1
    ///   blocks it descends from; nil for a block cut from the head (level 1, itself).
    /// - Parameter timeRange: the window the block covers (maxTime exclusive); nil for the
    ///   span of its samples.
    @discardableResult
    public func write(
        _ series: [BlockSeries], ulid: ULID = ULID(milliseconds: BlockWriter.nowMilliseconds()),
        compaction: BlockMeta.Compaction? = nil, timeRange: (min: Int64, max: Int64)? = nil
    ) throws(BlockError) -> BlockMeta {
        try Self.validate(series)
        var remaining = series[...]
        return try write(next: { () throws(BlockError) -> BlockSeries? in remaining.popFirst() },
                         ulid: ulid, compaction: compaction, timeRange: timeRange)
    }

    /// Writes the series `next` hands out one at a time, so that only one series' chunks
    /// are in memory (merging large blocks). The same rules as `write(_:)` apply; a
    /// violation throws when the offending series arrives and leaves no block behind.
    @discardableResult
    public func write(
        next: () throws(BlockError) -> BlockSeries?, ulid: ULID = ULID(milliseconds: BlockWriter.nowMilliseconds()),
        compaction: BlockMeta.Compaction? = nil, timeRange: (min: Int64, max: Int64)? = nil
    ) throws(BlockError) -> BlockMeta {
        let name = ulid.description
        let final = directory + "/" + name
        let temporary = final + ".tmp"
        guard !BlockFileIO.exists(final) else { throw .invalidInput("block \(final) already exists") }
        try BlockFileIO.removeTree(temporary)
        try BlockFileIO.makeDirectory(temporary)
        try BlockFileIO.makeDirectory(temporary + "/chunks")

        do {
            return try writeContents(next: next, into: temporary, final: final, name: name,
                                     compaction: compaction, timeRange: timeRange)
        } catch {
            try? BlockFileIO.removeTree(temporary)
            throw error
        }
    }

    private func writeContents(
        next: () throws(BlockError) -> BlockSeries?, into temporary: String, final: String, name: String,
        compaction: BlockMeta.Compaction?, timeRange: (min: Int64, max: Int64)?
    ) throws(BlockError) -> BlockMeta {
        var segments = ChunkSegmentWriter(directory: temporary + "/chunks", maxSegmentSize: maxSegmentSize)
        var indexed: [(labels: Labels, metas: [ChunkMeta])] = []
        var stats = BlockMeta.Stats(numSamples: 0, numSeries: 0, numChunks: 0)
        var minTime = Int64.max
        var maxTime = Int64.min
        var previous: Labels?
        while let entry = try next() {
            try Self.validate(entry, after: previous)
            previous = entry.labels
            stats.numSeries += 1
            let chunks = chunkEncoding.encode(entry.chunks)
            var metas: [ChunkMeta] = []
            metas.reserveCapacity(chunks.count)
            for chunk in chunks {
                let ref = try segments.append(chunk)
                metas.append(ChunkMeta(minTime: chunk.minTime, maxTime: chunk.maxTime, ref: ref))
                stats.numSamples += UInt64(chunk.count)
                stats.numChunks += 1
                minTime = min(minTime, chunk.minTime)
                maxTime = max(maxTime, chunk.maxTime)
            }
            indexed.append((entry.labels, metas))
        }
        guard !indexed.isEmpty else { throw .invalidInput("a block needs at least one series") }
        try segments.finish()
        try BlockFileIO.syncDirectory(temporary + "/chunks")

        try BlockFileIO.writeFile(temporary + "/index", try IndexWriter.build(series: indexed))
        try BlockFileIO.writeFile(temporary + "/" + TombstonesFile.name, TombstonesFile.encode([]))
        let meta = BlockMeta(
            ulid: name, minTime: timeRange?.min ?? minTime, maxTime: timeRange?.max ?? maxTime + 1, stats: stats,
            compaction: compaction ?? .init(level: 1, sources: [name]), version: BlockMeta.currentVersion
        )
        try BlockFileIO.writeFile(temporary + "/meta.json", try meta.encoded())
        try BlockFileIO.syncDirectory(temporary)

        try BlockFileIO.move(temporary, to: final)
        try BlockFileIO.syncDirectory(directory)
        return meta
    }

    public static func nowMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    static func validate(_ series: [BlockSeries]) throws(BlockError) {
        guard !series.isEmpty else { throw .invalidInput("a block needs at least one series") }
        var previous: Labels?
        for entry in series {
            try validate(entry, after: previous)
            previous = entry.labels
        }
    }

    /// One series' rules: valid labels after `previous`, non-empty chunks in time order.
    static func validate(_ entry: BlockSeries, after previous: Labels?) throws(BlockError) {
        guard !entry.labels.isEmpty else { throw .invalidInput("a series has no labels") }
        do {
            try entry.labels.validate()
        } catch {
            throw .invalidInput("series \(entry.labels): \(error)")
        }
        if let previous, !(previous < entry.labels) {
            throw .invalidInput("series not strictly ascending: \(entry.labels) after \(previous)")
        }
        guard !entry.chunks.isEmpty else { throw .invalidInput("series \(entry.labels) has no chunks") }
        var lastMax: Int64?
        for chunk in entry.chunks {
            guard !chunk.isEmpty else { throw .invalidInput("series \(entry.labels) has an empty chunk") }
            if let lastMax, chunk.minTime <= lastMax {
                throw .invalidInput("series \(entry.labels): chunk starting at \(chunk.minTime) overlaps the previous one ending at \(lastMax)")
            }
            lastMax = chunk.maxTime
        }
    }
}
