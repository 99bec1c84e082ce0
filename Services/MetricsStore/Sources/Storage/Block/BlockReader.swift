/// A persisted block opened for reading: its meta, and its index and chunks mapped into
/// memory and checked as they are used. Every checksum on the path to a result is verified, so
/// a damaged block throws `BlockError` rather than returning wrong data.
///
/// Immutable, hence `Sendable`: share one reader between queries.
public struct BlockReader: Sendable {
    public let directory: String
    public let meta: BlockMeta
    public let tombstones: [Tombstone]
    private let index: IndexReader
    private let chunks: ChunkSegmentReader

    /// Opens the block directory `directory` (`.../<ULID>`).
    public init(directory: String) throws(BlockError) {
        self.directory = directory
        let metaPath = directory + "/meta.json"
        meta = try BlockMeta.decode(try BlockFileIO.readFile(metaPath), path: metaPath)
        let indexPath = directory + "/index"
        index = try IndexReader(bytes: try FileBytes(mapping: indexPath), file: indexPath)
        chunks = try ChunkSegmentReader(directory: directory + "/chunks")
        let tombstonesPath = directory + "/" + TombstonesFile.name
        tombstones = BlockFileIO.exists(tombstonesPath)
            ? try TombstonesFile.decode(try BlockFileIO.readFile(tombstonesPath), file: tombstonesPath)
            : []
    }

    public var ulid: ULID? { ULID(meta.ulid) }

    /// Label names of the block's series, sorted by bytes.
    public func labelNames() -> [String] { index.labelNames }

    /// Values of label `name` in the block, sorted by bytes.
    public func labelValues(_ name: String) -> [String] { index.labelValues(name) }

    /// References of the series with `name` = `value`, ascending (label order).
    /// `postings("", "")` lists every series.
    public func postings(_ name: String, _ value: String) throws(BlockError) -> [SeriesRef] {
        try index.postings(name, value)
    }

    /// Every series reference, ascending.
    public func allPostings() throws(BlockError) -> [SeriesRef] {
        try index.postings(IndexFormat.allPostingsName, IndexFormat.allPostingsValue)
    }

    public func series(_ ref: SeriesRef) throws(BlockError) -> (labels: Labels, chunks: [ChunkMeta]) {
        try index.series(ref)
    }

    public func chunk(_ ref: UInt64) throws(BlockError) -> StoredChunk {
        try chunks.chunk(ref)
    }

    /// The series matching all `matchers` with the chunks that overlap `[mint, maxt]`
    /// (inclusive, as Prometheus's querier selects chunks); series without such a chunk
    /// are left out. Chunks are returned whole: trimming samples to the range is the
    /// query layer's job, as upstream.
    ///
    /// Postings selection has `MemPostings.select` semantics: a missing label counts as `""`.
    public func select(matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws(BlockError) -> [(labels: Labels, chunks: [StoredChunk])] {
        var result: [(labels: Labels, chunks: [StoredChunk])] = []
        for ref in try selectPostings(matchers) {
            let (labels, metas) = try index.series(ref)
            var selected: [StoredChunk] = []
            for meta in metas where meta.maxTime >= mint && meta.minTime <= maxt {
                selected.append(try chunks.chunk(meta.ref))
            }
            if !selected.isEmpty { result.append((labels, selected)) }
        }
        return result
    }

    /// Labels of the series matching all `matchers` with a chunk overlapping `[mint, maxt]`,
    /// in label order; only the index is read (for the series and label APIs).
    public func seriesLabels(matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws(BlockError) -> [Labels] {
        var result: [Labels] = []
        for ref in try selectPostings(matchers) {
            let (labels, metas) = try index.series(ref)
            if metas.contains(where: { $0.maxTime >= mint && $0.minTime <= maxt }) { result.append(labels) }
        }
        return result
    }

    /// The references of the series matching all `matchers`, ascending.
    public func selectPostings(_ matchers: [LabelMatcher]) throws(BlockError) -> [SeriesRef] {
        guard !matchers.isEmpty, !matchers.contains(where: \.acceptsNothing) else { return [] }
        let relevant = matchers.filter { !$0.acceptsEverything }
        var result: [SeriesRef]?
        // Matchers rejecting "" need the label: intersect with the postings they accept.
        for matcher in relevant where !matcher.matchesEmpty {
            var lists: [[SeriesRef]] = []
            if let accepted = matcher.acceptedValues {
                for value in accepted { lists.append(try index.postings(matcher.name, value)) }
            } else {
                lists = try index.postings(matcher.name) { matcher.matches($0) }
            }
            let list = Postings.union(lists)
            result = result.map { Postings.intersect($0, list) } ?? list
            if result!.isEmpty { return [] }
        }
        // Matchers accepting "" keep series without the label: subtract what they reject.
        var base: [SeriesRef]
        if let result { base = result } else { base = try allPostings() }
        for matcher in relevant where matcher.matchesEmpty && !base.isEmpty {
            var rejected: [[SeriesRef]] = []
            if let values = matcher.rejectedValues {
                for value in values { rejected.append(try index.postings(matcher.name, value)) }
            } else {
                rejected = try index.postings(matcher.name) { !matcher.matches($0) }
            }
            base = Postings.subtract(base, rejected)
        }
        return base
    }
}
