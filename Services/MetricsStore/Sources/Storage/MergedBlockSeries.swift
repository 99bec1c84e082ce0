/// The series of several blocks in label order, each with its chunks from all of them in
/// time order, read one series at a time: merging blocks holds one series' chunks in
/// memory, not the blocks' (each block lists its series in label order already).
struct MergedBlockSeries {
    private struct Cursor {
        let block: BlockReader
        let refs: [SeriesRef]
        var index = 0
        var current: (labels: Labels, chunks: [ChunkMeta])?

        init(_ block: BlockReader) throws(BlockError) {
            self.block = block
            refs = try block.allPostings()
            try load()
        }

        mutating func advance() throws(BlockError) {
            index += 1
            try load()
        }

        private mutating func load() throws(BlockError) {
            current = index < refs.count ? try block.series(refs[index]) : nil
        }
    }

    private var cursors: [Cursor] = []

    init(_ sources: [BlockReader]) throws(BlockError) {
        for block in sources.sorted(by: { $0.meta.minTime < $1.meta.minTime }) {
            cursors.append(try Cursor(block))
        }
    }

    /// The next series, or nil after the last.
    mutating func next() throws(BlockError) -> BlockSeries? {
        var smallest: Labels?
        for cursor in cursors {
            if let labels = cursor.current?.labels, smallest.map({ labels < $0 }) ?? true { smallest = labels }
        }
        guard let smallest else { return nil }
        var chunks: [StoredChunk] = []
        // Cursors are in time order, so chunks arrive in time order unless blocks overlap.
        for i in cursors.indices where cursors[i].current?.labels == smallest {
            for meta in cursors[i].current!.chunks { chunks.append(try cursors[i].block.chunk(meta.ref)) }
            try cursors[i].advance()
        }
        return BlockSeries(labels: smallest, chunks: BlockCompactor.ordered(chunks))
    }
}
