import CMultiBufferMD5
import Crypto
import NIOCore
import Testing
@testable import ObjectStore

/// The multi-buffer MD5: every SIMD engine gives the scalar engine's chaining values, a
/// stream gives `Insecure.MD5`'s digest whatever the pieces, and concurrent streams of
/// unequal lengths hashed in the engine's shared lanes each get their own digest.
struct MultiBufferMD5Tests {
    static let edgeLengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 100_003, (3 << 20) + 17]

    static func randomBytes(_ count: Int, using rng: inout some RandomNumberGenerator) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        for i in stride(from: 0, to: count, by: 8) {
            let word = rng.next()
            for j in i..<min(i + 8, count) { bytes[j] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(j - i))) }
        }
        return bytes
    }

    static func referenceMD5(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }

    /// Cuts `bytes` into pieces of random sizes (some empty, some under a block).
    static func pieces(of bytes: [UInt8], using rng: inout some RandomNumberGenerator) -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        var offset = 0
        while offset < bytes.count {
            let limits = [0, 1, 63, 64, 65, 1000, 70_001, 300_000]
            let n = min(Int.random(in: 0...limits.randomElement(using: &rng)!, using: &rng), bytes.count - offset)
            pieces.append(ByteBuffer(bytes: bytes[offset..<offset + n]))
            offset += n
        }
        return pieces
    }

    @Test func streamMatchesInsecureMD5AtEveryEdgeLength() {
        var rng = SystemRandomNumberGenerator()
        for length in Self.edgeLengths {
            let bytes = Self.randomBytes(length, using: &rng)
            let stream = MD5Stream()
            for piece in Self.pieces(of: bytes, using: &rng) { stream.update(piece) }
            #expect(stream.finalize() == Self.referenceMD5(bytes), "length \(length)")
        }
    }

    @Test func knownDigests() {
        let stream = MD5Stream()
        stream.update(ByteBuffer(string: "The quick brown fox jumps over the lazy dog"))
        #expect(stream.finalize().hexString == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(MD5Stream().finalize().hexString == "d41d8cd98f00b204e9800998ecf8427e")
    }

    /// Lane counts below, at and above each engine's width, each lane a different message.
    @Test(arguments: [16, 8])
    func simdEngineGivesTheScalarChainingValues(width: Int) {
        guard Int(mbmd5_lane_width()) >= width else { return }  // the CPU lacks this engine
        var rng = SystemRandomNumberGenerator()
        for lanes in [2, 3, width - 1, width, width + 1, 2 * width + 3] {
            let blocks = Int.random(in: 1...40, using: &rng)
            let messages = (0..<lanes).map { _ in Self.randomBytes(blocks * 64, using: &rng) }
            let simd = Self.chainingValues(of: messages, blocks: blocks, width: Int32(width))
            let scalar = Self.chainingValues(of: messages, blocks: blocks, width: 1)
            #expect(simd == scalar, "width \(width), \(lanes) lanes of \(blocks) blocks")
        }
    }

    static func chainingValues(of messages: [[UInt8]], blocks: Int, width: Int32) -> [[UInt32]] {
        let states = messages.map { _ in UnsafeMutablePointer<mbmd5_state>.allocate(capacity: 1) }
        defer { states.forEach { $0.deallocate() } }
        states.forEach { mbmd5_state_init($0) }
        let copies = messages.map { message in
            let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: message.count)
            copy.initialize(from: message, count: message.count)
            return copy
        }
        defer { copies.forEach { $0.deallocate() } }
        var lanes = states.map { Optional($0) }
        // Two calls, so the chaining values also go out and back in between.
        var starts = copies.map { Optional(UnsafePointer($0)) }
        mbmd5_update_with_width(width, &lanes, &starts, messages.count, 1)
        starts = copies.map { Optional(UnsafePointer($0 + 64)) }
        mbmd5_update_with_width(width, &lanes, &starts, messages.count, blocks - 1)
        return states.map { state in
            let (a, b, c, d) = state.pointee.word
            return [a, b, c, d]
        }
    }

    @Test func concurrentStreamsOfUnequalLengthShareTheLanes() async {
        let engine = MultiBufferMD5()
        defer { engine.shutdown() }
        var rng = SystemRandomNumberGenerator()
        let bodies = (Self.edgeLengths + Self.edgeLengths.reversed()).map { Self.randomBytes($0, using: &rng) }
        let pieces = bodies.map { Self.pieces(of: $0, using: &rng) }
        let digests = await withTaskGroup(of: (Int, [UInt8]).self) { group in
            for (index, bodyPieces) in pieces.enumerated() {
                group.addTask {
                    let stream = MD5Stream()
                    var job: MD5Job?
                    var batch: [ByteBuffer] = []
                    for (n, piece) in bodyPieces.enumerated() {
                        batch.append(piece)
                        guard n % 3 == 2 else { continue }
                        if let job { await engine.wait(for: job) }
                        job = engine.submit(batch, to: stream)
                        batch = []
                    }
                    if let job { await engine.wait(for: job) }
                    job = engine.submit(batch, to: stream)
                    await engine.wait(for: job!)
                    return (index, stream.finalize())
                }
            }
            var digests: [Int: [UInt8]] = [:]
            for await (index, digest) in group { digests[index] = digest }
            return digests
        }
        for (index, body) in bodies.enumerated() {
            #expect(digests[index] == Self.referenceMD5(body), "body \(index) of \(body.count) bytes")
        }
    }

    /// With and without Content-Length: a body declared large skips the inline hashing.
    @Test(arguments: [0, 600_000, (2 << 20) + 5], [false, true])
    func payloadReaderETagIsTheBodysMD5(size: Int, declared: Bool) async throws {
        var rng = SystemRandomNumberGenerator()
        let bytes = Self.randomBytes(size, using: &rng)
        let expected = Self.referenceMD5(bytes)
        let summary = try await Self.read(Self.pieces(of: bytes, using: &rng), contentMD5: expected,
                                          contentLength: declared ? size : nil)
        #expect(summary.md5 == expected)
        #expect(summary.size == Int64(size))
    }

    @Test func payloadReaderRejectsAWrongContentMD5OfALargeBody() async throws {
        var rng = SystemRandomNumberGenerator()
        let bytes = Self.randomBytes(1 << 20, using: &rng)
        var wrong = Self.referenceMD5(bytes)
        wrong[0] ^= 1
        await #expect(throws: S3Error.self) {
            _ = try await Self.read(Self.pieces(of: bytes, using: &rng), contentMD5: wrong)
        }
    }

    static func read(_ pieces: [ByteBuffer], contentMD5: [UInt8], contentLength: Int? = nil) async throws -> PayloadSummary {
        let body = AsyncStream<ByteBuffer> { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish()
        }
        var headers = ["content-md5": Base64.encode(contentMD5)]
        if let contentLength { headers["content-length"] = String(contentLength) }
        var reader = try PayloadReader(body: body, headers: headers, auth: nil)
        while try await reader.next() != nil {}
        return try #require(reader.summary)
    }
}
