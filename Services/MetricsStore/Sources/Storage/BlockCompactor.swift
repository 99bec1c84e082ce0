/// Merges small blocks into larger ones, as Prometheus's leveled compactor does: blocks cut
/// from the head cover 2 h; three of them that fill an aligned 6 h window become one 6 h
/// block, three of those an 18 h block, and so on (each range 3× the one before), up to
/// a limit of a tenth of the retention. Fewer, larger blocks mean one index instead of
/// many (less disk per sample) and fewer blocks for a query to visit.
///
/// Merging is crash-safe without a journal: the merged block is written and renamed into
/// place before its sources are deleted, and `obsoleteBlocks` finds sources a crash left
/// behind (their ULIDs are listed in the merged block's `compaction.sources`).
struct BlockCompactor {
    /// The ranges blocks are merged into, smallest first; the first is the head's.
    let ranges: [Int64]

    /// Prometheus's defaults: 2 h, then ×3 while the range stays within a tenth of the
    /// retention (at most 31 days); with no retention, up to 54 h.
    init(blockRange: Int64, retention: Int64) {
        let limit = retention > 0 ? min(retention / 10, 31 * 24 * 3600 * 1000) : blockRange * 27
        var ranges = [blockRange]
        while let last = ranges.last, last * 3 <= limit, ranges.count < 10 { ranges.append(last * 3) }
        self.ranges = ranges
    }

    /// The next set of blocks to merge, oldest window first, or nil when none is due.
    ///
    /// The newest block is never planned (it may still get a neighbour from the head). A
    /// group of two or more blocks inside one aligned window is merged once the window is
    /// full (it ends where the newest block begins or earlier) or its blocks span it all.
    func plan(_ blocks: [BlockMeta]) -> (window: (min: Int64, max: Int64), blocks: [BlockMeta])? {
        let ordered = blocks.sorted { $0.minTime < $1.minTime }
        guard let newest = ordered.last else { return nil }
        let candidates = ordered.dropLast()
        for range in ranges.dropFirst() {
            var groups: [Int64: [BlockMeta]] = [:]
            for block in candidates {
                let start = Self.alignDown(block.minTime, range)
                // A block wider than the window, or crossing its edge, is left alone.
                guard block.maxTime <= start + range else { continue }
                groups[start, default: []].append(block)
            }
            for start in groups.keys.sorted() {
                let group = groups[start]!
                guard group.count > 1 else { continue }
                let end = start + range
                let spansWindow = group.first!.minTime == start && group.last!.maxTime == end
                if spansWindow || end <= newest.minTime {
                    return ((start, end), group)
                }
            }
        }
        return nil
    }

    /// Every series of `sources` in label order, each series' chunks from all blocks in
    /// time order (all in memory: for tests; compaction streams `MergedBlockSeries`).
    static func merge(_ sources: [BlockReader]) throws(BlockError) -> [BlockSeries] {
        var merged = try MergedBlockSeries(sources)
        var out: [BlockSeries] = []
        while let series = try merged.next() { out.append(series) }
        return out
    }

    /// Chunks sorted by time; overlapping ones (blocks written by an older process with a
    /// different window) are decoded and re-encoded, a duplicate timestamp kept once.
    static func ordered(_ chunks: [StoredChunk]) -> [StoredChunk] {
        let sorted = chunks.sorted { $0.minTime < $1.minTime }
        let overlaps = zip(sorted, sorted.dropFirst()).contains { $0.maxTime >= $1.minTime }
        guard overlaps else { return sorted }
        var samples: [Head.Sample] = []
        for chunk in sorted {
            // Chunks were validated when read.
            samples.append(contentsOf: (try? chunk.samples()) ?? [])
        }
        samples.sort { $0.timestamp < $1.timestamp }
        var builder = ChunkSequenceBuilder()
        var last = Int64.min
        for sample in samples where sample.timestamp != last {
            builder.append(timestamp: sample.timestamp, value: sample.value)
            last = sample.timestamp
        }
        return builder.finish().map { .xor($0) }
    }

    /// Blocks whose data a merged block already holds: every source of theirs is among the
    /// sources of a block of a higher level (left behind by a crash during compaction).
    static func obsoleteBlocks(_ blocks: [BlockMeta]) -> Set<String> {
        var obsolete = Set<String>()
        for block in blocks {
            let own = Set(block.compaction.sources)
            let covered = blocks.contains { other in
                other.ulid != block.ulid && other.compaction.level > block.compaction.level
                    && own.isSubset(of: Set(other.compaction.sources))
            }
            if covered { obsolete.insert(block.ulid) }
        }
        return obsolete
    }

    static func alignDown(_ t: Int64, _ range: Int64) -> Int64 {
        let r = t % range
        return r >= 0 ? t - r : t - r - range
    }
}
