// Chunk segment files (`<block>/chunks/000001`, ...), Prometheus's
// tsdb/docs/format/chunks.md:
//
//   magic 0x85BD40DD <4b> | version 1 <1b> | padding <3b> | chunk records...
//   chunk record: len <uvarint> | encoding <1b> | data <len bytes> | CRC32C(encoding, data) <4b BE>
//
// A chunk reference is `segment index << 32 | byte offset of the record`. The index counts
// from 0 although the file names count from 1 (reference 0 << 32 | 8 is the first chunk of
// `000001`): Prometheus indexes its sorted list of segment files with it.

enum ChunkSegment {
    static let magic: UInt32 = 0x85BD_40DD
    static let version: UInt8 = 1
    static let headerSize = 8
    /// Prometheus's default and maximum segment size.
    static let defaultMaxSize = 512 * 1024 * 1024

    static func fileName(_ sequence: Int) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    static func header() -> [UInt8] {
        var encoder = BlockEncoder(reservingCapacity: headerSize)
        encoder.putBE32(magic)
        encoder.putByte(version)
        encoder.putBytes([0, 0, 0])
        return encoder.bytes
    }
}

/// Appends chunk records to numbered segment files in a directory, cutting a new file
/// before one would exceed `maxSegmentSize`. Files are written through a buffer and
/// fsynced when cut or finished.
struct ChunkSegmentWriter {
    let directory: String
    let maxSegmentSize: Int
    private var sequence = 0
    private var output: BlockFileIO.Output?
    private var segmentSize = 0
    private var buffer = BlockEncoder()
    private static let flushThreshold = 1 << 20

    init(directory: String, maxSegmentSize: Int = ChunkSegment.defaultMaxSize) {
        self.directory = directory
        self.maxSegmentSize = maxSegmentSize
    }

    /// Writes one chunk and returns its reference.
    mutating func append(_ chunk: StoredChunk) throws(BlockError) -> UInt64 {
        let data = chunk.bytes
        var record = BlockEncoder(reservingCapacity: data.count + 10)
        record.putUvarint(UInt64(data.count))
        let checksummed = record.count
        record.putByte(chunk.encoding)
        record.putBytes(data)
        record.putCRC32C(from: checksummed)

        if output == nil || segmentSize + record.count > maxSegmentSize {
            try cutSegment()
        }
        // Offsets are 32 bits in a reference; the size limit keeps them in range.
        guard segmentSize <= Int(UInt32.max) else { throw .invalidInput("chunk segment offset exceeds 32 bits") }
        let ref = UInt64(sequence - 1) << 32 | UInt64(segmentSize)
        buffer.putBytes(record.bytes)
        segmentSize += record.count
        if buffer.count >= Self.flushThreshold { try flush() }
        return ref
    }

    /// Flushes and fsyncs the last segment.
    mutating func finish() throws(BlockError) {
        try closeSegment()
    }

    private mutating func cutSegment() throws(BlockError) {
        try closeSegment()
        sequence += 1
        output = try BlockFileIO.Output(creating: directory + "/" + ChunkSegment.fileName(sequence))
        buffer.putBytes(ChunkSegment.header())
        segmentSize = ChunkSegment.headerSize
    }

    private mutating func flush() throws(BlockError) {
        guard output != nil else { return }
        try output?.append(buffer.bytes)
        buffer = BlockEncoder(reservingCapacity: Self.flushThreshold + 1024)
    }

    private mutating func closeSegment() throws(BlockError) {
        try flush()
        guard let current = output else { return }
        output = nil
        try current.finish()
    }
}

/// The chunk segment files of one block, mapped into memory, with their headers checked.
struct ChunkSegmentReader: Sendable {
    /// Segment contents in file order (index 0 is `000001`).
    private let segments: [FileBytes]

    init(directory: String) throws(BlockError) {
        let names = try BlockFileIO.listDirectory(directory)
        var segments: [FileBytes] = []
        for (index, name) in names.enumerated() {
            // Prometheus requires the files to be numbered 1, 2, ... without gaps.
            guard name == ChunkSegment.fileName(index + 1) else {
                throw .corrupt(file: directory + "/" + name, offset: 0, reason: "unexpected file in chunks directory")
            }
            let path = directory + "/" + name
            let bytes = try FileBytes(mapping: path)
            var decoder = BlockDecoder(bytes, file: path)
            guard bytes.count >= ChunkSegment.headerSize else {
                throw .corrupt(file: path, offset: 0, reason: "shorter than the segment header")
            }
            let magic = try decoder.be32()
            guard magic == ChunkSegment.magic else { throw .badMagic(file: path, found: magic, expected: ChunkSegment.magic) }
            let version = try decoder.byte()
            guard version == ChunkSegment.version else { throw .unsupportedVersion(file: path, version: Int(version)) }
            segments.append(bytes)
        }
        self.segments = segments
    }

    /// The chunk at `ref`, its checksum and encoding verified.
    func chunk(_ ref: UInt64) throws(BlockError) -> StoredChunk {
        let sequence = Int(ref >> 32) + 1
        let offset = Int(ref & 0xFFFF_FFFF)
        guard sequence <= segments.count, offset >= ChunkSegment.headerSize else {
            throw .unknownReference(kind: "chunk", ref: ref)
        }
        let bytes = segments[sequence - 1]
        let file = "chunks/" + ChunkSegment.fileName(sequence)
        guard offset < bytes.count else { throw .unknownReference(kind: "chunk", ref: ref) }
        var decoder = BlockDecoder(bytes, file: file, from: offset)
        let length = try decoder.length(limit: bytes.count)
        let start = decoder.position
        guard start + 1 + length + 4 <= bytes.count else {
            throw .corrupt(file: file, offset: offset, reason: "chunk of \(length) bytes runs past the end of the segment")
        }
        try verifyCRC32C(bytes, file: file, from: start, crcOffset: start + 1 + length)
        let encoding = bytes[start]
        let decoded: StoredChunk?
        do {
            decoded = try StoredChunk(encoding: encoding, bytes: bytes.copy((start + 1)..<(start + 1 + length)))
        } catch {
            throw .corrupt(file: file, offset: start + 1, reason: "\(error)")
        }
        guard let decoded else {
            throw .corrupt(file: file, offset: start, reason: "unsupported chunk encoding \(encoding)")
        }
        return decoded
    }
}
