/// Builds a series' chunk list from samples given in time order, cutting a new chunk every
/// `samplesPerChunk` samples; chunks that need no re-encoding can be added whole between
/// samples (block cuts share head chunks, merges keep block chunks).
struct ChunkSequenceBuilder {
    private(set) var chunks: [XORChunk] = []
    private var current = XORChunk()
    let samplesPerChunk: Int

    init(samplesPerChunk: Int = Head.MemSeries.samplesPerChunk) {
        self.samplesPerChunk = samplesPerChunk
    }

    mutating func append(timestamp: Int64, value: Double) {
        if current.count >= samplesPerChunk { closeCurrent() }
        current.append(timestamp: timestamp, value: value)
    }

    /// Adds an already encoded chunk after what was appended so far.
    mutating func append(whole chunk: XORChunk) {
        closeCurrent()
        chunks.append(chunk)
    }

    mutating func finish() -> [XORChunk] {
        closeCurrent()
        return chunks
    }

    private mutating func closeCurrent() {
        guard current.count > 0 else { return }
        chunks.append(current)
        current = XORChunk()
    }
}
