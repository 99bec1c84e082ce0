/// Reads a version-2 block index (see `IndexFormat`). Opening checks the header and the
/// checksums of the table of contents, symbol table and postings offset table, and keeps
/// those in memory; series and postings lists are decoded, checksum first, on each lookup.
struct IndexReader: Sendable {
    let file: String
    private let bytes: FileBytes
    private let symbols: [String]
    /// Label name → its values (sorted by bytes) with the offset of each postings list.
    private let postingsOffsets: [UTF8Key: [(value: String, offset: Int)]]
    /// Label names, sorted by bytes, without the all-postings key.
    let labelNames: [String]

    init(bytes: FileBytes, file: String) throws(BlockError) {
        self.file = file
        self.bytes = bytes
        var header = BlockDecoder(bytes, file: file)
        let magic = try header.be32()
        guard magic == IndexFormat.magic else { throw .badMagic(file: file, found: magic, expected: IndexFormat.magic) }
        let version = try header.byte()
        guard version == IndexFormat.version else { throw .unsupportedVersion(file: file, version: Int(version)) }
        let toc = try IndexTOC.decode(bytes, file: file)
        symbols = try Self.readSymbols(bytes, file: file, at: toc.symbols)
        postingsOffsets = try Self.readPostingsOffsets(bytes, file: file, at: toc.postingsOffsetTable)
        labelNames = postingsOffsets.keys.map(\.string).filter { !$0.isEmpty }.sorted { UTF8Bytes.compare($0, $1) < 0 }
    }

    /// The values of `name`, sorted by bytes.
    func labelValues(_ name: String) -> [String] {
        postingsOffsets[UTF8Key(name)]?.map(\.value) ?? []
    }

    /// The series having label `name` = `value`, ascending; `("", "")` gives every series.
    func postings(_ name: String, _ value: String) throws(BlockError) -> [SeriesRef] {
        guard let values = postingsOffsets[UTF8Key(name)] else { return [] }
        var low = 0
        var high = values.count
        while low < high {
            let mid = (low + high) / 2
            let order = UTF8Bytes.compare(values[mid].value, value)
            if order == 0 { return try readPostings(at: values[mid].offset) }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return []
    }

    /// The postings of every value of `name` accepted by `include`, one list per value.
    func postings(_ name: String, where include: (String) -> Bool) throws(BlockError) -> [[SeriesRef]] {
        var lists: [[SeriesRef]] = []
        for entry in postingsOffsets[UTF8Key(name)] ?? [] where include(entry.value) {
            lists.append(try readPostings(at: entry.offset))
        }
        return lists
    }

    /// The labels and chunk metas of the series with reference `ref`.
    func series(_ ref: SeriesRef) throws(BlockError) -> (labels: Labels, chunks: [ChunkMeta]) {
        let (offset, overflow) = ref.multipliedReportingOverflow(by: UInt64(IndexFormat.seriesAlignment))
        guard !overflow, offset >= IndexFormat.headerSize, offset < UInt64(bytes.count) else {
            throw .unknownReference(kind: "series", ref: ref)
        }
        var decoder = BlockDecoder(bytes, file: file, from: Int(offset))
        let length = try decoder.length(limit: bytes.count)
        let start = decoder.position
        guard start + length + 4 <= bytes.count else {
            throw .corrupt(file: file, offset: Int(offset), reason: "series entry runs past the end of the file")
        }
        try verifyCRC32C(bytes, file: file, from: start, crcOffset: start + length)
        var body = BlockDecoder(bytes, file: file, from: start, to: start + length)

        let labelCount = try body.length(limit: length)
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(labelCount)
        for _ in 0..<labelCount {
            let name = try symbol(try body.uvarint(), at: body.position)
            let value = try symbol(try body.uvarint(), at: body.position)
            pairs.append((name, value))
        }
        let chunkCount = try body.length(limit: length)
        var metas: [ChunkMeta] = []
        metas.reserveCapacity(chunkCount)
        for index in 0..<chunkCount {
            if index == 0 {
                let minTime = try body.varint()
                let maxTime = minTime &+ Int64(bitPattern: try body.uvarint())
                metas.append(ChunkMeta(minTime: minTime, maxTime: maxTime, ref: try body.uvarint()))
            } else {
                let previous = metas[index - 1]
                let minTime = previous.maxTime &+ Int64(bitPattern: try body.uvarint())
                let maxTime = minTime &+ Int64(bitPattern: try body.uvarint())
                let ref = previous.ref &+ UInt64(bitPattern: try body.varint())
                metas.append(ChunkMeta(minTime: minTime, maxTime: maxTime, ref: ref))
            }
        }
        let labels = Labels(sortedPairs: pairs)
        do {
            try labels.validate()
        } catch {
            throw .corrupt(file: file, offset: Int(offset), reason: "series labels: \(error)")
        }
        return (labels, metas)
    }

    private func symbol(_ ref: UInt64, at position: Int) throws(BlockError) -> String {
        guard ref < UInt64(symbols.count) else {
            throw .corrupt(file: file, offset: position, reason: "symbol reference \(ref) out of range (\(symbols.count) symbols)")
        }
        return symbols[Int(ref)]
    }

    private func readPostings(at offset: Int) throws(BlockError) -> [SeriesRef] {
        var decoder = try Self.checkedSection(bytes, file: file, at: UInt64(offset))
        let count = Int(try decoder.be32())
        guard count * 4 == decoder.remaining else {
            throw decoder.fail("postings list of \(count) entries in \(decoder.remaining) bytes")
        }
        var refs: [SeriesRef] = []
        refs.reserveCapacity(count)
        for _ in 0..<count { refs.append(SeriesRef(try decoder.be32())) }
        return refs
    }

    /// A decoder over the body of a `len <4b> | body | CRC32C` section, checksum verified.
    private static func checkedSection(_ bytes: FileBytes, file: String, at offset: UInt64) throws(BlockError) -> BlockDecoder {
        guard offset >= UInt64(IndexFormat.headerSize), offset < UInt64(bytes.count) else {
            throw .corrupt(file: file, offset: Int(clamping: offset), reason: "section offset outside the file")
        }
        var decoder = BlockDecoder(bytes, file: file, from: Int(offset))
        let length = Int(try decoder.be32())
        let start = decoder.position
        guard start + length + 4 <= bytes.count else {
            throw .corrupt(file: file, offset: Int(offset), reason: "section of \(length) bytes runs past the end of the file")
        }
        try verifyCRC32C(bytes, file: file, from: start, crcOffset: start + length)
        return BlockDecoder(bytes, file: file, from: start, to: start + length)
    }

    private static func readSymbols(_ bytes: FileBytes, file: String, at offset: UInt64) throws(BlockError) -> [String] {
        guard offset != 0 else { return [] }
        var decoder = try checkedSection(bytes, file: file, at: offset)
        let count = Int(try decoder.be32())
        guard count <= decoder.remaining else { throw decoder.fail("\(count) symbols cannot fit the section") }
        var symbols: [String] = []
        symbols.reserveCapacity(count)
        for _ in 0..<count { symbols.append(try decoder.uvarintString()) }
        return symbols
    }

    private static func readPostingsOffsets(
        _ bytes: FileBytes, file: String, at offset: UInt64
    ) throws(BlockError) -> [UTF8Key: [(value: String, offset: Int)]] {
        guard offset != 0 else { return [:] }
        var decoder = try checkedSection(bytes, file: file, at: offset)
        let count = Int(try decoder.be32())
        var table: [UTF8Key: [(value: String, offset: Int)]] = [:]
        var previous: (name: String, value: String)?
        for _ in 0..<count {
            guard try decoder.uvarint() == 2 else { throw decoder.fail("postings offset entry without 2 keys") }
            let name = try decoder.uvarintString()
            let value = try decoder.uvarintString()
            let postingsOffset = try decoder.length(limit: bytes.count)
            // Lookups binary-search the values, so insist on the sorted order the format requires.
            if let previous {
                let order = UTF8Bytes.compare(previous.name, name)
                guard order < 0 || (order == 0 && UTF8Bytes.compare(previous.value, value) < 0) else {
                    throw decoder.fail("postings offset table not sorted at \(name)=\(value)")
                }
            }
            previous = (name, value)
            table[UTF8Key(name), default: []].append((value, postingsOffset))
        }
        return table
    }
}
