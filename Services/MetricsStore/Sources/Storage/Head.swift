import Foundation
import Synchronization

/// The in-memory head of the TSDB: every series seen, its recent samples in XOR chunks,
/// and a label index over them. Samples enter through `append`, which checks a whole
/// request before changing anything (Prometheus's all-or-nothing appender), so a
/// request refused as out of order leaves no trace.
///
/// Invariants: a series' samples are strictly increasing in time; closed chunks are
/// immutable; series refs grow monotonically and are never reused.
public final class Head: Sendable {
    /// A sample as stored: milliseconds since the epoch and a float value.
    public struct Sample: Sendable, Equatable {
        public var timestamp: Int64
        public var value: Double
        public init(_ timestamp: Int64, _ value: Double) {
            self.timestamp = timestamp
            self.value = value
        }
        public static func == (a: Sample, b: Sample) -> Bool {
            a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
        }
    }

    public enum AppendError: Error, CustomStringConvertible, Equatable {
        case outOfOrder(series: String, timestamp: Int64)
        case duplicate(series: String, timestamp: Int64)
        case outOfBounds(series: String, timestamp: Int64)

        /// Prometheus's wording, which remote-write senders log.
        public var description: String {
            switch self {
            case .outOfOrder(let series, let t): return "out of order sample: series \(series) at timestamp \(t)"
            case .duplicate(let series, let t): return "duplicate sample for timestamp: series \(series) at timestamp \(t)"
            case .outOfBounds(let series, let t): return "out of bounds: series \(series) at timestamp \(t) is older than the newest block"
            }
        }
    }

    /// What an append changed, for the WAL: series created and samples added.
    public struct AppendResult: Sendable {
        /// Series whose series record this request must write: those it created, and
        /// those another request created whose record is not durable yet.
        public var newSeries: [(ref: SeriesRef, labels: Labels)] = []
        public var samples: [(ref: SeriesRef, sample: Sample)] = []
    }

    final class MemSeries: @unchecked Sendable {
        let ref: SeriesRef
        let labels: Labels
        var closedChunks: [XORChunk] = []
        var openChunk = XORChunk()
        var lastTimestamp = Int64.min
        var lastValueBits: UInt64 = 0
        /// While an append checks its request (under the head's lock): the newest sample
        /// that request would leave, valid when `checkedBy` is that append's generation.
        var checkedBy: UInt64 = 0
        var checkedLast: (timestamp: Int64, valueBits: UInt64) = (.min, 0)
        /// True from creation until a WAL write holding this series' record is durable.
        /// Requests reach the WAL in another order than the head, so a request that adds
        /// samples to a series created by a request still in flight writes the series
        /// record again; otherwise its acknowledged samples could be orphans at replay.
        var seriesRecordPending = false
        /// The append generation that last listed this series in its `newSeries`.
        var listedBy: UInt64 = 0
        /// Where the latest read stopped decoding before its range (read path only).
        var readPosition: XORChunk.ReadPosition?

        init(ref: SeriesRef, labels: Labels) {
            self.ref = ref
            self.labels = labels
        }

        /// The number of samples a chunk aims at, as Prometheus's.
        static let samplesPerChunk = 120
        /// Chunks never cross a multiple of this (the block range), so a block cut takes
        /// whole chunks.
        static let chunkRange: Int64 = 2 * 3600 * 1000
        /// When the open chunk is cut: at the end of its chunk range at the latest; once a
        /// quarter full, earlier, so the range's remaining chunks come out equally sized.
        var nextAt = Int64.min

        /// Prometheus's head chunk cutting (`appendPreprocessor`): the same rules give the
        /// same chunks, hence blocks of the same size.
        func append(_ sample: Sample) {
            let t = sample.timestamp
            let count = openChunk.count
            if count == 0 {
                nextAt = Self.rangeEnd(t)
            } else {
                if count == Self.samplesPerChunk / 4 {
                    nextAt = Self.chunkEndTime(start: openChunk.minTime, current: openChunk.maxTime, max: nextAt)
                }
                if t >= nextAt || count >= Self.samplesPerChunk * 2 {
                    closedChunks.append(openChunk)
                    openChunk = XORChunk()
                    nextAt = Self.rangeEnd(t)
                }
            }
            openChunk.append(timestamp: t, value: sample.value)
            lastTimestamp = t
            lastValueBits = sample.value.bitPattern
        }

        /// The end of the chunk range holding `t`.
        static func rangeEnd(_ t: Int64) -> Int64 {
            let r = t % chunkRange
            return (r >= 0 ? t - r : t - r - chunkRange) + chunkRange
        }

        /// Assuming samples keep arriving at the rate seen so far, the time at which to cut
        /// so that the chunks left before `max` hold equal numbers of samples.
        static func chunkEndTime(start: Int64, current: Int64, max: Int64) -> Int64 {
            let n = (max - start) / ((current - start + 1) * 4)
            return n <= 1 ? max : start + (max - start) / n
        }

        /// Samples in [mint, maxt]. Chunks are in time order and do not overlap, so the
        /// scan starts at the first chunk that reaches `mint`, found from the newest end
        /// (queries mostly read recent data), and stops past `maxt`.
        func samples(from mint: Int64, through maxt: Int64) -> [Sample] {
            var out: [Sample] = []
            var position = readPosition
            defer { readPosition = position }
            let pastMaxt = closedChunks.withUnsafeBufferPointer { chunks in
                var first = chunks.count
                while first > 0, chunks[first - 1].maxTime >= mint { first -= 1 }
                for index in first..<chunks.count where !Self.read(chunks[index], from: mint, through: maxt, into: &out, position: &position) {
                    return true
                }
                return false
            }
            if !pastMaxt { _ = Self.read(openChunk, from: mint, through: maxt, into: &out, position: &position) }
            return out
        }

        /// Appends `chunk`'s samples in [mint, maxt] to `out`; false once past `maxt`. Head
        /// chunks are written by the head itself, so a decoding error cannot occur; were
        /// one to, the samples before it are kept. `position` lets repeated reads of recent
        /// data (rules, dashboards) skip what an earlier read already decoded.
        private static func read(_ chunk: XORChunk, from mint: Int64, through maxt: Int64, into out: inout [Sample],
                                 position: inout XORChunk.ReadPosition?) -> Bool {
            if out.isEmpty, chunk.count > 1, chunk.maxTime >= mint, chunk.minTime <= maxt {
                // Room for the part of the chunk in range, assuming evenly spaced samples.
                let span = Double(chunk.maxTime - chunk.minTime)
                let wanted = Double(min(maxt, chunk.maxTime) - max(mint, chunk.minTime))
                out.reserveCapacity(min(chunk.count, Int(Double(chunk.count - 1) * wanted / span) + 2))
            }
            return (try? chunk.appendSamples(from: mint, through: maxt, to: &out, position: &position)) ?? false
        }

        /// Oldest sample time; Int64.max while the series holds no samples.
        var minTime: Int64 { (closedChunks.first ?? openChunk).minTime }
    }

    struct State {
        var byHash: [UInt64: [MemSeries]] = [:]
        var byRef: [SeriesRef: MemSeries] = [:]
        var nextRef: SeriesRef = 1
        /// Counts appends, to tell their per-series check state apart (`MemSeries.checkedBy`).
        var appendGeneration: UInt64 = 0
        var sampleCount = 0
        /// Samples before this time belong to blocks already written.
        var minValidTime = Int64.min
    }

    let state = Mutex(State())
    let postings = MemPostings()

    public init() {}

    public var seriesCount: Int { state.withLock { $0.byRef.count } }
    public var sampleCount: Int { state.withLock { $0.sampleCount } }

    /// Appends a request's samples, all or none. Samples equal to the newest one of their
    /// series (same time, same value bits) are skipped, as Prometheus does.
    public func append(_ request: [(labels: Labels, samples: [Sample])]) throws(AppendError) -> AppendResult {
        try append(SeriesBatch(request))
    }

    /// Rebuilds a series from the WAL with the ref it had.
    /// Notes that the series records of `refs` are durable, so later appends to them no
    /// longer repeat the records.
    public func markSeriesRecordsDurable(_ refs: [(ref: SeriesRef, labels: Labels)]) {
        state.withLock { state in
            for (ref, _) in refs { state.byRef[ref]?.seriesRecordPending = false }
        }
    }

    public func replaySeries(ref: SeriesRef, labels: Labels) {
        state.withLock { state in
            guard state.byRef[ref] == nil else { return }
            let series = MemSeries(ref: ref, labels: labels)
            state.byRef[ref] = series
            state.byHash[labels.stableHash, default: []].append(series)
            state.nextRef = max(state.nextRef, ref + 1)
            postings.add(ref, labels)
        }
    }

    /// Re-adds replayed samples of one series, given in time order; older or equal ones are
    /// skipped. Returns how many samples referred to an unknown series.
    public func replaySamples(ref: SeriesRef, _ samples: [Sample]) -> Bool {
        state.withLock { state in
            guard let series = state.byRef[ref] else { return false }
            for sample in samples where sample.timestamp > series.lastTimestamp {
                series.append(sample)
                state.sampleCount += 1
            }
            return true
        }
    }

    /// Series whose labels satisfy every matcher, with their samples in [mint, maxt].
    public func select(_ matchers: [LabelMatcher], mint: Int64 = .min, maxt: Int64 = .max) -> [(labels: Labels, samples: [Sample])] {
        let refs = postings.select(matchers)
        // Samples before minValidTime may linger in a chunk that straddles a block's end;
        // the block holds them.
        let (series, floor) = state.withLock { state in (refs.compactMap { state.byRef[$0] }, max(mint, state.minValidTime)) }
        return Self.sortedByLabels(series.compactMap { s in
            let samples = state.withLock { _ in s.samples(from: floor, through: maxt) }
            return samples.isEmpty ? nil : (s.labels, samples)
        })
    }

    /// Label sets of the series matching any of the selectors that have a sample in range.
    public func series(matching selectors: [[LabelMatcher]], mint: Int64, maxt: Int64) -> [Labels] {
        var seen = Set<Labels>()
        for matchers in selectors {
            let refs = postings.select(matchers)
            state.withLock { state in
                for ref in refs {
                    guard let s = state.byRef[ref], s.openChunk.count > 0 || !s.closedChunks.isEmpty else { continue }
                    if s.lastTimestamp >= max(mint, state.minValidTime), max(s.minTime, state.minValidTime) <= maxt { seen.insert(s.labels) }
                }
            }
        }
        return seen.sorted()
    }

    static func create(_ state: inout State, _ labels: Labels, postings: MemPostings) -> MemSeries {
        let series = MemSeries(ref: state.nextRef, labels: labels)
        state.nextRef += 1
        state.byRef[series.ref] = series
        state.byHash[labels.stableHash, default: []].append(series)
        postings.add(series.ref, labels)
        return series
    }
}
