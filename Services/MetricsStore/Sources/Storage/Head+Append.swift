#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Head {
    /// Appends a batch's samples, all or none: every sample is checked against its series
    /// as stored and as the batch's earlier samples would leave it before anything changes
    /// (Prometheus's all-or-nothing appender). Samples equal to the newest one of their
    /// series (same time, same value bits) are skipped, as Prometheus does.
    ///
    /// Series are found by key hash and key bytes, so known series cost no allocation; a
    /// new series' `Labels` are built from its key (or taken from the batch) once.
    public func append(_ batch: SeriesBatch) throws(AppendError) -> AppendResult {
        try state.withLock { state throws(AppendError) -> AppendResult in
            state.appendGeneration &+= 1
            let generation = state.appendGeneration
            let found = Self.lookup(state, batch)
            // Entries of series not stored yet: the first entry with a key stands for all
            // entries with that key, so a series repeated within the batch is one series.
            let first = found.contains { $0 == nil } ? Self.firstEntryWithKey(batch, among: found) : []
            var pendingNew: [Int: (timestamp: Int64, valueBits: UInt64)] = [:]

            for (index, entry) in batch.entries.enumerated() where !entry.samples.isEmpty {
                let series = found[index]
                var last: (timestamp: Int64, valueBits: UInt64)
                if let series {
                    last = series.checkedBy == generation ? series.checkedLast : (timestamp: series.lastTimestamp, valueBits: series.lastValueBits)
                } else {
                    last = pendingNew[first[index]] ?? (timestamp: .min, valueBits: 0)
                }
                for sample in batch.samples[entry.samples] {
                    if sample.timestamp < state.minValidTime {
                        throw .outOfBounds(series: Self.describe(series, batch, index), timestamp: sample.timestamp)
                    }
                    if sample.timestamp < last.timestamp {
                        throw .outOfOrder(series: Self.describe(series, batch, index), timestamp: sample.timestamp)
                    }
                    if sample.timestamp == last.timestamp, sample.value.bitPattern != last.valueBits {
                        throw .duplicate(series: Self.describe(series, batch, index), timestamp: sample.timestamp)
                    }
                    last = (timestamp: sample.timestamp, valueBits: sample.value.bitPattern)
                }
                if let series {
                    series.checkedBy = generation
                    series.checkedLast = last
                } else {
                    pendingNew[first[index]] = last
                }
            }

            var result = AppendResult()
            result.samples.reserveCapacity(batch.samples.count)
            var created: [Int: MemSeries] = [:]
            for (index, entry) in batch.entries.enumerated() where !entry.samples.isEmpty {
                let series: MemSeries
                if let stored = found[index] {
                    series = stored
                    if series.seriesRecordPending, series.listedBy != generation {
                        series.listedBy = generation
                        result.newSeries.append((series.ref, series.labels))
                    }
                } else if let made = created[first[index]] {
                    series = made
                } else {
                    let labels = batch.labels(of: index)
                    series = Self.create(&state, labels, postings: postings)
                    series.seriesRecordPending = true
                    series.listedBy = generation
                    created[first[index]] = series
                    result.newSeries.append((series.ref, labels))
                }
                for sample in batch.samples[entry.samples] where sample.timestamp > series.lastTimestamp {
                    series.append(sample)
                    result.samples.append((series.ref, sample))
                }
            }
            state.sampleCount += result.samples.count
            return result
        }
    }

    /// The stored series of each entry, nil for series the head does not hold yet.
    static func lookup(_ state: State, _ batch: SeriesBatch) -> [MemSeries?] {
        batch.keys.withUnsafeBytes { keys in
            batch.entries.map { entry -> MemSeries? in
                guard let candidates = state.byHash[entry.hash] else { return nil }
                let key = UnsafeRawBufferPointer(rebasing: keys[entry.key])
                return candidates.first { $0.labels.matches(key: key) }
            }
        }
    }

    /// For each entry without a stored series, the index of the first entry with the same
    /// key; other positions hold their own index.
    static func firstEntryWithKey(_ batch: SeriesBatch, among found: [MemSeries?]) -> [Int] {
        var first = Array(batch.entries.indices)
        var seen: [UInt64: [Int]] = [:]
        batch.keys.withUnsafeBytes { keys in
            for (index, entry) in batch.entries.enumerated() where found[index] == nil {
                let key = UnsafeRawBufferPointer(rebasing: keys[entry.key])
                let same = seen[entry.hash]?.first { other in
                    let otherKey = batch.entries[other].key
                    return otherKey.count == key.count
                        && (key.isEmpty || memcmp(keys.baseAddress! + otherKey.lowerBound, key.baseAddress!, key.count) == 0)
                }
                if let same {
                    first[index] = same
                } else {
                    seen[entry.hash, default: []].append(index)
                }
            }
        }
        return first
    }

    private static func describe(_ series: MemSeries?, _ batch: SeriesBatch, _ index: Int) -> String {
        (series?.labels ?? batch.labels(of: index)).description
    }
}
