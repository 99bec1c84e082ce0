// Constants of the block index file, Prometheus's tsdb/docs/format/index.md (format
// version 2). Layout:
//
//   magic 0xBAAAD700 <4b> | version 2 <1b>
//   symbol table | series (16-byte aligned) | label indices | postings (4-byte aligned)
//   | label offset table | postings offset table | TOC (6 × 8-byte offsets + CRC32C)
//
// Every section but the TOC starts with its length and ends with the CRC32C of the bytes
// the length covers. Version 2 refers to symbols by their position in the sorted symbol
// table and to series by `offset / 16`.

enum IndexFormat {
    static let magic: UInt32 = 0xBAAA_D700
    static let version: UInt8 = 2
    static let headerSize = 5
    /// Six big-endian 8-byte section offsets and their CRC32C.
    static let tocSize = 6 * 8 + 4
    static let seriesAlignment = 16
    static let postingsAlignment = 4
    /// The label pair whose postings list holds every series (`index.AllPostingsKey`).
    static let allPostingsName = ""
    static let allPostingsValue = ""
}

/// Section offsets from an index's table of contents; 0 means "section absent".
struct IndexTOC: Equatable {
    var symbols: UInt64 = 0
    var series: UInt64 = 0
    var labelIndices: UInt64 = 0
    var labelOffsetTable: UInt64 = 0
    var postings: UInt64 = 0
    var postingsOffsetTable: UInt64 = 0

    func encode(into encoder: inout BlockEncoder) {
        let start = encoder.count
        for offset in [symbols, series, labelIndices, labelOffsetTable, postings, postingsOffsetTable] {
            encoder.putBE64(offset)
        }
        encoder.putCRC32C(from: start)
    }

    static func decode(_ bytes: FileBytes, file: String) throws(BlockError) -> IndexTOC {
        guard bytes.count >= IndexFormat.headerSize + IndexFormat.tocSize else {
            throw .corrupt(file: file, offset: 0, reason: "too short for a header and table of contents")
        }
        let start = bytes.count - IndexFormat.tocSize
        try verifyCRC32C(bytes, file: file, from: start, crcOffset: bytes.count - 4)
        var decoder = BlockDecoder(bytes, file: file, from: start)
        return IndexTOC(
            symbols: try decoder.be64(), series: try decoder.be64(), labelIndices: try decoder.be64(),
            labelOffsetTable: try decoder.be64(), postings: try decoder.be64(), postingsOffsetTable: try decoder.be64()
        )
    }
}

/// One chunk's entry in a series of the index: its time range (both ends inclusive, as
/// upstream stores them) and where its bytes are in the chunk segments.
public struct ChunkMeta: Sendable, Equatable {
    public var minTime: Int64
    public var maxTime: Int64
    /// `segment << 32 | offset` in `chunks/`.
    public var ref: UInt64

    public init(minTime: Int64, maxTime: Int64, ref: UInt64) {
        self.minTime = minTime
        self.maxTime = maxTime
        self.ref = ref
    }
}
