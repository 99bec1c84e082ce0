import Foundation
import NIOCore

/// How an object entry travels between nodes, with its data, in one HTTP body: the entry's
/// JSON (its length in the `x-vigil-entry-length` header), then the bytes of each of its
/// segments in order. Used both ways: a coordinator pushes a write to a replica, and a
/// replica under repair pulls an entry from another.
///
/// The receiver writes each segment under its own id and checks every block against the
/// CRC-32 listed in the entry before the entry may be committed.
public enum ObjectTransfer {
    public static let lengthHeader = "x-vigil-entry-length"

    /// The body's total length for an entry whose JSON is `json`.
    public static func length(json: [UInt8], entry: ObjectEntry) -> Int64 {
        Int64(json.count) + entry.segments.reduce(0) { $0 + $1.size }
    }

    /// The body: the JSON, then each segment read block by block (verified) from `blobs`.
    public struct Body: AsyncSequence, Sendable {
        public typealias Element = ByteBuffer
        let json: [UInt8]
        let segments: [ObjectSegment]
        let blobs: BlobStore

        public init(json: [UInt8], entry: ObjectEntry, blobs: BlobStore) {
            self.init(json: json, segments: entry.segments, blobs: blobs)
        }

        public init(json: [UInt8], segments: [ObjectSegment], blobs: BlobStore) {
            self.json = json
            self.segments = segments.filter { $0.size > 0 }
            self.blobs = blobs
        }

        public struct AsyncIterator: AsyncIteratorProtocol {
            let body: Body
            var sentJSON = false
            var segment = 0
            var block = 0

            public mutating func next() async throws -> ByteBuffer? {
                if !sentJSON {
                    sentJSON = true
                    return ByteBuffer(bytes: body.json)
                }
                guard segment < body.segments.count else { return nil }
                let current = body.segments[segment]
                let buffer = try await body.blobs.readBlock(current, index: block)
                block += 1
                if block == current.blockCRCs.count {
                    segment += 1
                    block = 0
                }
                return buffer
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: self) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case malformed(String)
        case checksumMismatch(blob: String)

        public var description: String {
            switch self {
            case .malformed(let why): "malformed object transfer: \(why)"
            case .checksumMismatch(let blob): "data file \(blob) arrived with a different CRC-32 than its entry lists"
            }
        }
    }

    /// Reads a body: decodes the entry, stores each segment not already present (verified
    /// against the entry's CRCs) and returns the entry, ready to merge.
    public static func receive<S: AsyncSequence>(_ body: S, entryLength: Int, blobs: BlobStore) async throws -> ObjectEntry
    where S.Element == ByteBuffer {
        try await receive(body, entryLength: entryLength, blobs: blobs, as: ObjectEntry.self, segments: \.segments)
    }

    /// The same for any JSON header that lists the segments following it (an uploaded
    /// part travels this way too).
    public static func receive<S: AsyncSequence, T: Decodable>(_ body: S, entryLength: Int, blobs: BlobStore, as type: T.Type,
                                                              segments: (T) -> [ObjectSegment]) async throws -> T
    where S.Element == ByteBuffer {
        var reader = ChunkReader(iterator: body.makeAsyncIterator())
        guard entryLength > 0, entryLength < 16 << 20 else { throw Failure.malformed("entry length \(entryLength)") }
        let json = try await reader.read(exactly: entryLength)
        let entry: T
        do {
            entry = try JSONDecoder().decode(T.self, from: Data(json.readableBytesView))
        } catch {
            throw Failure.malformed("entry JSON: \(error)")
        }
        for segment in segments(entry) where segment.size > 0 {
            if await blobs.exists(segment.blob) {
                try await reader.skip(Int(segment.size))
                continue
            }
            let writer = try await blobs.makeWriter(blob: segment.blob)
            do {
                var remaining = Int(segment.size)
                while remaining > 0 {
                    let piece = try await reader.read(upTo: remaining)
                    remaining -= piece.readableBytes
                    try await writer.write(piece)
                }
                // Checked before the rename would be cheaper, but BlobWriter computes the
                // CRCs as it writes; a mismatching file is removed again at once.
                let written = try await writer.finish()
                guard written.blockCRCs == segment.blockCRCs, written.size == segment.size else {
                    await blobs.delete([written])
                    throw Failure.checksumMismatch(blob: segment.blob)
                }
            } catch {
                await writer.abort()
                throw error
            }
        }
        return entry
    }
}

/// Reads exact byte counts from a stream of buffers of arbitrary sizes.
struct ChunkReader<Iterator: AsyncIteratorProtocol> where Iterator.Element == ByteBuffer {
    var iterator: Iterator
    var pending = ByteBuffer()

    init(iterator: Iterator) { self.iterator = iterator }

    mutating func fill() async throws {
        guard pending.readableBytes == 0 else { return }
        guard let next = try await iterator.next() else { throw ObjectTransfer.Failure.malformed("body ended early") }
        pending = next
    }

    /// Up to `limit` bytes (at least one).
    mutating func read(upTo limit: Int) async throws -> ByteBuffer {
        try await fill()
        return pending.readSlice(length: min(limit, pending.readableBytes))!
    }

    mutating func read(exactly count: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        while result.readableBytes < count {
            var piece = try await read(upTo: count - result.readableBytes)
            result.writeBuffer(&piece)
        }
        return result
    }

    mutating func skip(_ count: Int) async throws {
        var remaining = count
        while remaining > 0 { remaining -= try await read(upTo: remaining).readableBytes }
    }
}
