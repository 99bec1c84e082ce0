/// Builds a version-2 block index (see `IndexFormat`) in memory from series given in
/// label order. Each series gets the reference `offset / 16`, so ascending references are
/// ascending label sets, which keeps every postings list sorted by construction.
struct IndexWriter {
    private var symbols: [String] = []
    private var symbolRefs: [UTF8Key: UInt32] = [:]

    /// Writes the whole index for `series` (sorted, strictly ascending by labels) whose
    /// chunks are described by `metas`.
    static func build(series: [(labels: Labels, metas: [ChunkMeta])]) throws(BlockError) -> [UInt8] {
        var writer = IndexWriter()
        return try writer.encode(series)
    }

    private mutating func encode(_ series: [(labels: Labels, metas: [ChunkMeta])]) throws(BlockError) -> [UInt8] {
        var out = BlockEncoder(reservingCapacity: series.count * 128)
        var toc = IndexTOC()
        out.putBE32(IndexFormat.magic)
        out.putByte(IndexFormat.version)

        collectSymbols(series)
        toc.symbols = UInt64(out.count)
        writeSymbols(&out)

        out.pad(to: IndexFormat.seriesAlignment)
        toc.series = UInt64(out.count)
        var postings: [UTF8Key: [UTF8Key: [UInt32]]] = [:]
        var all: [UInt32] = []
        all.reserveCapacity(series.count)
        for entry in series {
            out.pad(to: IndexFormat.seriesAlignment)
            guard out.count / IndexFormat.seriesAlignment <= Int(UInt32.max) else {
                throw .invalidInput("index exceeds the 64 GiB that 32-bit series references can address")
            }
            let ref = UInt32(out.count / IndexFormat.seriesAlignment)
            writeSeries(entry.labels, entry.metas, into: &out)
            all.append(ref)
            for label in entry.labels {
                postings[UTF8Key(label.name), default: [:]][UTF8Key(label.value), default: []].append(ref)
            }
        }

        let names = postings.keys.sorted { UTF8Bytes.compare($0.string, $1.string) < 0 }
        let sortedValues = names.map { name in
            postings[name]!.keys.sorted { UTF8Bytes.compare($0.string, $1.string) < 0 }
        }

        // Label indices: unused by current readers but still written by Prometheus, and
        // the label offset table points at them.
        toc.labelIndices = UInt64(out.count)
        var labelIndexOffsets: [Int] = []
        for values in sortedValues {
            labelIndexOffsets.append(out.count)
            writeLabelIndex(values, into: &out)
        }

        out.pad(to: IndexFormat.postingsAlignment)
        toc.postings = UInt64(out.count)
        var postingsOffsets: [(name: String, value: String, offset: Int)] = []
        postingsOffsets.append((IndexFormat.allPostingsName, IndexFormat.allPostingsValue, out.count))
        writePostings(all, into: &out)
        for (name, values) in zip(names, sortedValues) {
            for value in values {
                out.pad(to: IndexFormat.postingsAlignment)
                postingsOffsets.append((name.string, value.string, out.count))
                writePostings(postings[name]![value]!, into: &out)
            }
        }

        toc.labelOffsetTable = UInt64(out.count)
        writeTable(zip(names, labelIndexOffsets).map { ([$0.0.string], $0.1) }, into: &out)
        toc.postingsOffsetTable = UInt64(out.count)
        writeTable(postingsOffsets.map { ([$0.name, $0.value], $0.offset) }, into: &out)
        toc.encode(into: &out)
        return out.bytes
    }

    /// Every label name and value, deduplicated and sorted by bytes.
    private mutating func collectSymbols(_ series: [(labels: Labels, metas: [ChunkMeta])]) {
        var unique = Set<UTF8Key>()
        for entry in series {
            for label in entry.labels {
                unique.insert(UTF8Key(label.name))
                unique.insert(UTF8Key(label.value))
            }
        }
        symbols = unique.map(\.string).sorted { UTF8Bytes.compare($0, $1) < 0 }
        symbolRefs.reserveCapacity(symbols.count)
        for (index, symbol) in symbols.enumerated() {
            symbolRefs[UTF8Key(symbol)] = UInt32(index)
        }
    }

    /// `len <4b> | #symbols <4b> | (len <uvarint> | bytes)… | CRC32C`.
    private func writeSymbols(_ out: inout BlockEncoder) {
        let lengthOffset = out.count
        out.putBE32(0)
        out.putBE32(UInt32(symbols.count))
        for symbol in symbols { out.putUvarintString(symbol) }
        out.patchBE32(UInt32(out.count - lengthOffset - 4), at: lengthOffset)
        out.putCRC32C(from: lengthOffset + 4)
    }

    /// `len <uvarint> | #labels | (name ref, value ref)… | #chunks | metas… | CRC32C`.
    /// The first chunk stores its mint as a varint; later ones store deltas to the previous
    /// chunk's maxt, and chunk references as deltas to the previous reference.
    private func writeSeries(_ labels: Labels, _ metas: [ChunkMeta], into out: inout BlockEncoder) {
        var body = BlockEncoder(reservingCapacity: 16 + labels.count * 4 + metas.count * 8)
        body.putUvarint(UInt64(labels.count))
        for label in labels {
            body.putUvarint(UInt64(symbolRefs[UTF8Key(label.name)]!))
            body.putUvarint(UInt64(symbolRefs[UTF8Key(label.value)]!))
        }
        body.putUvarint(UInt64(metas.count))
        var previous: ChunkMeta?
        for meta in metas {
            if let previous {
                body.putUvarint(UInt64(bitPattern: meta.minTime &- previous.maxTime))
                body.putUvarint(UInt64(bitPattern: meta.maxTime &- meta.minTime))
                body.putVarint(Int64(bitPattern: meta.ref &- previous.ref))
            } else {
                body.putVarint(meta.minTime)
                body.putUvarint(UInt64(bitPattern: meta.maxTime &- meta.minTime))
                body.putUvarint(meta.ref)
            }
            previous = meta
        }
        out.putUvarint(UInt64(body.count))
        let start = out.count
        out.putBytes(body.bytes)
        out.putCRC32C(from: start)
    }

    /// `len <4b> | #names = 1 <4b> | #entries <4b> | value symbol refs <4b>… | CRC32C`.
    private func writeLabelIndex(_ values: [UTF8Key], into out: inout BlockEncoder) {
        let lengthOffset = out.count
        out.putBE32(0)
        out.putBE32(1)
        out.putBE32(UInt32(values.count))
        for value in values { out.putBE32(symbolRefs[value]!) }
        out.patchBE32(UInt32(out.count - lengthOffset - 4), at: lengthOffset)
        out.putCRC32C(from: lengthOffset + 4)
    }

    /// `len <4b> | #entries <4b> | series refs <4b>… | CRC32C`.
    private func writePostings(_ refs: [UInt32], into out: inout BlockEncoder) {
        out.putBE32(UInt32(4 + 4 * refs.count))
        let start = out.count
        out.putBE32(UInt32(refs.count))
        for ref in refs { out.putBE32(ref) }
        out.putCRC32C(from: start)
    }

    /// The label offset and postings offset tables share a shape:
    /// `len <4b> | #entries <4b> | (#keys <uvarint> | keys as len-prefixed strings | offset <uvarint>)… | CRC32C`.
    private func writeTable(_ entries: [(keys: [String], offset: Int)], into out: inout BlockEncoder) {
        let lengthOffset = out.count
        out.putBE32(0)
        out.putBE32(UInt32(entries.count))
        for entry in entries {
            out.putUvarint(UInt64(entry.keys.count))
            for key in entry.keys { out.putUvarintString(key) }
            out.putUvarint(UInt64(entry.offset))
        }
        out.patchBE32(UInt32(out.count - lengthOffset - 4), at: lengthOffset)
        out.putCRC32C(from: lengthOffset + 4)
    }
}
