#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Samples for many series, as the head appends them: each series named by its label
/// *key* (raw bytes) rather than by a `Labels` value, so a decoder can hand over a series
/// the head already knows without building a single `String` for it.
///
/// A key is the label pairs in order, each as `name 0xFF value 0xFF`. This is exactly the
/// byte stream `Labels.stableHash` hashes, so `hash` equals the `stableHash` of the same
/// labels and the head's index serves both. Names and values are valid UTF-8, in which the
/// byte 0xFF never occurs, so a key splits back into its pairs unambiguously.
///
/// Invariant: entries, keys and samples are appended together through `append`; an
/// entry's key and samples are ranges of `keys` and `samples`.
public struct SeriesBatch: Sendable {
    public struct Entry: Sendable {
        /// XXH64 of the key: `Labels.stableHash` of the series' labels.
        public var hash: UInt64
        public var key: Range<Int>
        public var samples: Range<Int>
    }

    public static let separator: UInt8 = 0xFF

    public private(set) var entries: [Entry] = []
    /// The keys of all entries, back to back.
    public private(set) var keys: [UInt8] = []
    public private(set) var samples: [Head.Sample] = []
    /// The `Labels` of each entry when the caller had them already (scrapes, OTLP), so a
    /// new series reuses them instead of decoding its key; empty otherwise.
    private(set) var givenLabels: [Labels] = []

    public init() {}

    /// A batch of series given by their labels.
    public init(_ series: [(labels: Labels, samples: [Head.Sample])]) {
        entries.reserveCapacity(series.count)
        givenLabels.reserveCapacity(series.count)
        samples.reserveCapacity(series.reduce(0) { $0 + $1.samples.count })
        for (labels, values) in series {
            let keyStart = keys.count
            for label in labels {
                keys.append(contentsOf: label.name.utf8)
                keys.append(Self.separator)
                keys.append(contentsOf: label.value.utf8)
                keys.append(Self.separator)
            }
            let sampleStart = samples.count
            samples.append(contentsOf: values)
            let hash = keys.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[keyStart...])) }
            entries.append(Entry(hash: hash, key: keyStart..<keys.count, samples: sampleStart..<samples.count))
            givenLabels.append(labels)
        }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Reserves room for about `series` series and `samples` samples.
    mutating func reserve(series: Int, keyBytes: Int, samples sampleCount: Int) {
        entries.reserveCapacity(series)
        keys.reserveCapacity(keyBytes)
        samples.reserveCapacity(sampleCount)
    }

    // Building a batch entry by entry (decoders): note `pendingSamplesStart`, append the
    // series' samples, then `commitSeries` with its key, or `discardSamples` to drop it.

    /// Where the samples of the series being built start.
    var pendingSamplesStart: Int { samples.count }

    mutating func appendSample(_ sample: Head.Sample) {
        samples.append(sample)
    }

    /// Drops the samples appended since `start` (a series that turned out invalid).
    mutating func discardSamples(from start: Int) {
        samples.removeSubrange(start...)
    }

    /// Adds an entry whose key the caller writes into `keys` through `writeKey`, and whose
    /// samples are those appended since `sampleStart`.
    mutating func commitSeries(keyLength: Int, sampleStart: Int,
                               writeKey: (UnsafeMutableRawBufferPointer) -> Void) {
        let keyStart = keys.count
        keys.append(contentsOf: repeatElement(0, count: keyLength))
        let hash = keys.withUnsafeMutableBytes { buffer in
            let key = UnsafeMutableRawBufferPointer(rebasing: buffer[keyStart..<keyStart + keyLength])
            writeKey(key)
            return XXH64.hash(UnsafeRawBufferPointer(key))
        }
        entries.append(Entry(hash: hash, key: keyStart..<keys.count, samples: sampleStart..<samples.count))
    }

    /// The labels of entry `index`: the ones given, or decoded from its key.
    public func labels(of index: Int) -> Labels {
        if !givenLabels.isEmpty { return givenLabels[index] }
        return keys.withUnsafeBytes { Self.labels(fromKey: UnsafeRawBufferPointer(rebasing: $0[entries[index].key])) }
    }

    /// The samples of entry `index`.
    public func samples(of index: Int) -> ArraySlice<Head.Sample> {
        samples[entries[index].samples]
    }

    /// Splits a key back into label pairs (see the type's documentation).
    static func labels(fromKey key: UnsafeRawBufferPointer) -> Labels {
        var pairs: [(name: String, value: String)] = []
        var start = 0
        var name: String?
        for index in key.indices where key[index] == separator {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: key[start..<index]), as: UTF8.self)
            if let pending = name {
                pairs.append((pending, text))
                name = nil
            } else {
                name = text
            }
            start = index + 1
        }
        return Labels(sortedPairs: pairs)
    }
}

extension Labels {
    /// True when `key` (see `SeriesBatch`) holds exactly these labels.
    func matches(key: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        for string in storage {
            let matched = UTF8Bytes.withBytes(string) { bytes -> Bool in
                let end = offset + bytes.count
                guard end < key.count, key[end] == SeriesBatch.separator else { return false }
                if bytes.count > 0, memcmp(key.baseAddress! + offset, bytes.baseAddress!, bytes.count) != 0 { return false }
                offset = end + 1
                return true
            }
            if !matched { return false }
        }
        return offset == key.count
    }
}
