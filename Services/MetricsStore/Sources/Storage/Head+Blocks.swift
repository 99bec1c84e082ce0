/// What the head hands over when a block is cut, and how it lets go of it afterwards.
extension Head {
    /// Oldest and newest sample time in the head, or nil when it is empty.
    public var timeRange: (min: Int64, max: Int64)? {
        state.withLock { state in
            var low = Int64.max, high = Int64.min
            for series in state.byRef.values where series.lastTimestamp != .min {
                low = min(low, series.minTime)
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

    /// Every series' samples in [start, end), re-encoded into chunks of at most 120
    /// samples, sorted by labels as a block requires.
    public func blockData(start: Int64, end: Int64) -> [BlockSeries] {
        let series = state.withLock { Array($0.byRef.values) }
        var out: [BlockSeries] = []
        for s in series {
            let samples = state.withLock { _ in s.samples(from: start, through: end - 1) }
            guard !samples.isEmpty else { continue }
            var chunks: [XORChunk] = []
            var chunk = XORChunk()
            for sample in samples {
                if chunk.count >= MemSeries.samplesPerChunk {
                    chunks.append(chunk)
                    chunk = XORChunk()
                }
                chunk.append(timestamp: sample.timestamp, value: sample.value)
            }
            chunks.append(chunk)
            out.append(BlockSeries(labels: s.labels, chunks: chunks))
        }
        return out.sorted { $0.labels < $1.labels }
    }

    /// The live state for a WAL checkpoint: every series, and every sample at or after
    /// `from`.
    public func checkpoint(from: Int64) -> (series: [(ref: SeriesRef, labels: Labels)], samples: [(ref: SeriesRef, sample: Sample)]) {
        state.withLock { state in
            var series: [(SeriesRef, Labels)] = []
            var samples: [(SeriesRef, Sample)] = []
            for s in state.byRef.values.sorted(by: { $0.ref < $1.ref }) {
                series.append((s.ref, s.labels))
                for sample in s.samples(from: from, through: .max) { samples.append((s.ref, sample)) }
            }
            return (series, samples)
        }
    }

    /// Drops samples before `end` (they are in a block now); series left without samples
    /// leave the head and its index.
    public func truncate(before end: Int64) {
        state.withLock { state in
            state.minValidTime = max(state.minValidTime, end)
            var removed: [MemSeries] = []
            for s in state.byRef.values where s.minTime < end {
                let before = s.closedChunks.reduce(s.openChunk.count) { $0 + $1.count }
                let keep = s.samples(from: end, through: .max)
                state.sampleCount -= before - keep.count
                s.closedChunks = []
                s.openChunk = XORChunk()
                if keep.isEmpty {
                    removed.append(s)
                    continue
                }
                let (lastT, lastBits) = (s.lastTimestamp, s.lastValueBits)
                for sample in keep { s.append(sample) }
                s.lastTimestamp = lastT
                s.lastValueBits = lastBits
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
