/// What the head hands over when a block is cut, and how it lets go of it afterwards.
extension Head {
    /// Oldest and newest sample time in the head, or nil when it is empty.
    public var timeRange: (min: Int64, max: Int64)? {
        state.withLock { state in
            var low = Int64.max, high = Int64.min
            for series in state.byRef.values where series.lastTimestamp != .min {
                low = min(low, max(series.minTime, state.minValidTime))
                high = max(high, series.lastTimestamp)
            }
            return low <= high ? (low, high) : nil
        }
    }

    /// Chunks held in memory, the open ones included.
    public var chunkCount: Int {
        state.withLock { state in
            state.byRef.values.reduce(0) { $0 + $1.closedChunks.count + ($1.openChunk.count > 0 ? 1 : 0) }
        }
    }

    /// Refuses samples older than `time` from now on (after blocks were loaded at start).
    public func setMinValidTime(_ time: Int64) {
        state.withLock { $0.minValidTime = max($0.minValidTime, time) }
    }

    /// Every series' samples in [start, end) as chunks, sorted by labels as a block
    /// requires. Head chunks inside the window (all of them, as chunks do not cross block
    /// boundaries) are shared as they are (no copy: chunk bytes are copy-on-write); a chunk
    /// crossing the window's edges (the cutting rule avoids them, but a window need not be
    /// a chunk range) is re-encoded.
    public func blockData(start: Int64, end: Int64) -> [BlockSeries] {
        let series = state.withLock { Array($0.byRef.values) }
        var out: [BlockSeries] = []
        for s in series {
            let chunks = state.withLock { _ in Self.chunks(of: s, from: start, before: end) }
            guard !chunks.isEmpty else { continue }
            out.append(BlockSeries(labels: s.labels, chunks: chunks.map { .xor($0) }))
        }
        return out.sorted { $0.labels < $1.labels }
    }

    private static func chunks(of series: MemSeries, from start: Int64, before end: Int64) -> [XORChunk] {
        var builder = ChunkSequenceBuilder()
        for chunk in series.closedChunks + [series.openChunk] where chunk.count > 0 {
            guard chunk.maxTime >= start, chunk.minTime < end else { continue }
            if chunk.minTime >= start, chunk.maxTime < end {
                builder.append(whole: chunk)
                continue
            }
            var iterator = chunk.makeIterator()
            while let (t, v) = try? iterator.next(), t < end {
                if t >= start { builder.append(timestamp: t, value: v) }
            }
        }
        return builder.finish()
    }

    /// The live state for a WAL checkpoint, `batchSize` series at a time (each batch read
    /// under the lock, which is released between batches so appends go on): every series,
    /// and every sample at or after `from`. Samples appended meanwhile may be in a batch
    /// and in the WAL both; replay skips the repeat.
    public func checkpoint(from: Int64, batchSize: Int = 100,
                           _ write: (_ series: [(ref: SeriesRef, labels: Labels)], _ samples: [(ref: SeriesRef, sample: Sample)]) async throws -> Void) async rethrows {
        let refs = state.withLock { $0.byRef.keys.sorted() }
        for start in stride(from: 0, to: refs.count, by: max(1, batchSize)) {
            let batch = refs[start..<min(start + batchSize, refs.count)]
            let (series, samples) = state.withLock { state in
                var series: [(ref: SeriesRef, labels: Labels)] = []
                var samples: [(ref: SeriesRef, sample: Sample)] = []
                for ref in batch {
                    guard let s = state.byRef[ref] else { continue }
                    series.append((s.ref, s.labels))
                    for sample in s.samples(from: from, through: .max) { samples.append((s.ref, sample)) }
                }
                return (series, samples)
            }
            try await write(series, samples)
        }
    }

    /// Forgets samples before `end` (they are in a block now): chunks that end before it
    /// are dropped whole, and reads clip the rest at `end`, so nothing is re-encoded and
    /// the lock is held only briefly. Series left without samples leave the head and its
    /// index.
    public func truncate(before end: Int64) {
        state.withLock { state in
            state.minValidTime = max(state.minValidTime, end)
            var removed: [MemSeries] = []
            for s in state.byRef.values where s.minTime < end {
                let dropped = s.closedChunks.prefix { $0.maxTime < end }
                state.sampleCount -= dropped.reduce(0) { $0 + $1.count }
                s.closedChunks.removeFirst(dropped.count)
                if s.closedChunks.isEmpty, s.openChunk.count > 0, s.openChunk.maxTime < end {
                    state.sampleCount -= s.openChunk.count
                    removed.append(s)
                } else if s.closedChunks.isEmpty, s.openChunk.count == 0 {
                    removed.append(s)
                }
            }
            for s in removed {
                state.byRef[s.ref] = nil
                state.byHash[s.labels.stableHash]?.removeAll { $0.ref == s.ref }
                if state.byHash[s.labels.stableHash]?.isEmpty == true { state.byHash[s.labels.stableHash] = nil }
            }
            postings.delete(Set(removed.map(\.ref)), affecting: removed.map(\.labels))
        }
    }
}
