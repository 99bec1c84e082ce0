import Crypto
import NIOCore

/// Object bodies: decides between inline and file storage while a body streams in, and
/// streams stored data back out with every block verified.
public struct ObjectDataStore: Sendable {
    public let blobs: BlobStore

    public init(blobs: BlobStore) { self.blobs = blobs }

    /// Reads block `index` of a segment from another node, verified (cluster mode: a
    /// replica that lacks a data file serves it from one that has it).
    public typealias RemoteBlocks = @Sendable (ObjectSegment, Int) async throws -> ByteBuffer

    /// Reads a body to its end. Up to `ObjectData.inlineLimit` bytes are kept in memory and
    /// stored inline; past that, everything goes to a data file as it arrives. `next`
    /// returns nil at the end; if it throws, nothing is kept.
    public func store(forceFile: Bool = false, next: () async throws -> ByteBuffer?) async throws -> ObjectData {
        var small: [UInt8] = []
        var writer: BlobWriter?
        do {
            while let buffer = try await next() {
                if let writer {
                    try await writer.write(buffer)
                } else if small.count + buffer.readableBytes <= ObjectData.inlineLimit && !forceFile {
                    buffer.withUnsafeReadableBytes { small.append(contentsOf: $0) }
                } else {
                    let w = try await blobs.makeWriter()
                    writer = w
                    if !small.isEmpty { try await w.write(small) }
                    small = []
                    try await w.write(buffer)
                }
            }
            if let writer { return .segments([try await writer.finish()]) }
            if forceFile {
                let w = try await blobs.makeWriter()
                writer = w
                try await w.write(small)
                return .segments([try await w.finish()])
            }
            return .inline(small, crc: CRC32.checksum(small))
        } catch {
            await writer?.abort()
            throw error
        }
    }

    /// Verifies inline data against its stored CRC.
    static func verifiedInline(_ bytes: [UInt8], crc: UInt32) throws -> [UInt8] {
        guard CRC32.checksum(bytes) == crc else { throw StoreError.corruptData("inline object data fails its CRC-32") }
        return bytes
    }

    /// A reader over `range` of `data`. The first block is read and verified here, so a
    /// corrupt or missing file is an error before any response is started; later blocks
    /// are verified as they are read (a failure then aborts the response).
    public func open(_ data: ObjectData, range: ClosedRange<Int64>?, remote: RemoteBlocks? = nil) async throws -> ObjectDataReader {
        var reader = ObjectDataReader(store: self, data: data, range: range)
        reader.remote = remote
        try await reader.prefetchFirst()
        return reader
    }

    /// Copies (a range of) stored data into new storage, verifying it on the way; the
    /// result is inline when small enough unless `forceFile`.
    public func copy(_ source: ObjectData, range: ClosedRange<Int64>?, forceFile: Bool = false,
                     remote: RemoteBlocks? = nil) async throws -> (ObjectData, md5: [UInt8]) {
        let reader = try await open(source, range: range, remote: remote)
        var md5 = Insecure.MD5()
        var small: [UInt8] = []
        var writer: BlobWriter?
        do {
            try await reader.forEach { buffer in
                buffer.withUnsafeReadableBytes { md5.update(bufferPointer: $0) }
                if let writer {
                    try await writer.write(buffer)
                } else if small.count + buffer.readableBytes <= ObjectData.inlineLimit && !forceFile {
                    small.append(contentsOf: buffer.readableBytesView)
                } else {
                    let w = try await blobs.makeWriter()
                    writer = w
                    try await w.write(small)
                    small = []
                    try await w.write(buffer)
                }
            }
            if writer == nil && forceFile { writer = try await blobs.makeWriter() }
            if let writer {
                if !small.isEmpty { try await writer.write(small) }
                return (.segments([try await writer.finish()]), Array(md5.finalize()))
            }
            return (.inline(small, crc: CRC32.checksum(small)), Array(md5.finalize()))
        } catch {
            await writer?.abort()
            throw error
        }
    }

    /// Deletes the files of segments no longer referenced.
    public func discard(_ segments: [ObjectSegment]) async { await blobs.delete(segments) }
}

/// Streams a byte range of object data block by block (see `ObjectDataStore.open`).
public struct ObjectDataReader: Sendable {
    struct Piece: Sendable {
        var segment: ObjectSegment
        var block: Int
        var skip: Int
        var length: Int
    }

    let store: ObjectDataStore
    let inline: ByteBuffer?
    var pieces: [Piece] = []
    var first: ByteBuffer?
    var remote: ObjectDataStore.RemoteBlocks?

    init(store: ObjectDataStore, data: ObjectData, range: ClosedRange<Int64>?) {
        self.store = store
        switch data {
        case .inline(let bytes, let crc):
            let verified = (try? ObjectDataStore.verifiedInline(bytes, crc: crc))
            if let verified {
                let r = range ?? 0...Int64(max(verified.count - 1, 0))
                inline = verified.isEmpty ? ByteBuffer() : ByteBuffer(bytes: verified[Int(r.lowerBound)...Int(r.upperBound)])
            } else {
                inline = nil
            }
        case .segments(let segments):
            inline = nil
            let total = segments.reduce(Int64(0)) { $0 + $1.size }
            guard total > 0 else { return }
            let wanted = range ?? 0...(total - 1)
            var base: Int64 = 0
            let blockSize = Int64(ObjectSegment.blockSize)
            for segment in segments {
                defer { base += segment.size }
                let lo = max(wanted.lowerBound, base), hi = min(wanted.upperBound, base + segment.size - 1)
                guard lo <= hi else { continue }
                var position = lo - base
                while position <= hi - base {
                    let block = Int(position / blockSize)
                    let blockEnd = min(Int64(block + 1) * blockSize, segment.size) - 1
                    let end = min(blockEnd, hi - base)
                    pieces.append(Piece(segment: segment, block: block, skip: Int(position - Int64(block) * blockSize), length: Int(end - position + 1)))
                    position = end + 1
                }
            }
        }
        if case .inline = data, inline == nil { corruptInline = true }
    }

    var corruptInline = false

    mutating func prefetchFirst() async throws {
        if corruptInline { throw StoreError.corruptData("inline object data fails its CRC-32") }
        guard inline == nil, let piece = pieces.first else { return }
        first = try await read(piece)
    }

    func read(_ piece: Piece) async throws -> ByteBuffer {
        let block: ByteBuffer
        do {
            block = try await store.blobs.readBlock(piece.segment, index: piece.block)
        } catch {
            guard let remote else { throw error }
            block = try await remote(piece.segment, piece.block)
        }
        return block.getSlice(at: block.readerIndex + piece.skip, length: piece.length)!
    }

    /// Calls `write` with each verified piece in order; reads one block ahead.
    public func forEach(_ write: (ByteBuffer) async throws -> Void) async throws {
        if let inline {
            if inline.readableBytes > 0 { try await write(inline) }
            return
        }
        guard !pieces.isEmpty else { return }
        var current = first
        for index in pieces.indices {
            let next: Task<ByteBuffer, Error>? = index + 1 < pieces.count ? Task { [self] in try await read(pieces[index + 1]) } : nil
            let buffer: ByteBuffer
            if let current { buffer = current } else { buffer = try await read(pieces[index]) }
            do {
                try await write(buffer)
            } catch {
                next?.cancel()
                throw error
            }
            current = try await next?.value
        }
    }
}
