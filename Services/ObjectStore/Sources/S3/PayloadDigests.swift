import Crypto
import NIOCore

/// The digests S3 asks of a request body, updated in body order: MD5 (the ETag, and
/// Content-MD5), SHA-256 when x-amz-content-sha256 names one, and the x-amz-checksum-*
/// algorithm when the client sent or asked for one.
struct PayloadDigests: Sendable {
    var md5 = Insecure.MD5()
    var sha256: SHA256?
    var checksum: ChecksumHasher?

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { raw in
            md5.update(bufferPointer: raw)
            sha256?.update(bufferPointer: raw)
            checksum?.update(raw)
        }
    }
}

/// Updates `PayloadDigests` beside the request task instead of on it: received buffers are
/// gathered into batches, and one batch is hashed on another thread while the next one
/// arrives, so a single upload hashes on one core and receives and writes on the other
/// (MD5 is the largest CPU cost of a large PUT, and cannot be split within one body).
///
/// At most two batches are held (one being hashed, one filling), so the memory per upload
/// stays bounded. The first batch's worth of every body is hashed inline, without a task.
struct PipelinedDigests {
    static let batchBytes = 512 << 10

    private var idle: PayloadDigests?
    private var inFlight: Task<PayloadDigests, Never>?
    private var batch: [ByteBuffer] = []
    private var batchSize = 0
    private var hashedInline = 0

    init(_ digests: PayloadDigests) { idle = digests }

    mutating func add(_ buffer: ByteBuffer) async {
        // The first batch's worth is hashed inline: a small body (most PUTs) never pays for
        // a task or a gathered batch; pipelining starts once a body is past it.
        if inFlight == nil, batch.isEmpty, hashedInline < Self.batchBytes, idle != nil {
            idle!.update(buffer)
            hashedInline += buffer.readableBytes
            return
        }
        batch.append(buffer)
        batchSize += buffer.readableBytes
        if batchSize >= Self.batchBytes { await dispatch() }
    }

    /// Hands the batch to a task, after taking the digests back from the previous one.
    private mutating func dispatch() async {
        let digests = await take()
        let work = batch
        batch = []
        batchSize = 0
        inFlight = Task {
            var digests = digests
            for buffer in work { digests.update(buffer) }
            return digests
        }
    }

    private mutating func take() async -> PayloadDigests {
        if let inFlight {
            self.inFlight = nil
            return await inFlight.value
        }
        let digests = idle!
        idle = nil
        return digests
    }

    /// The digests over everything added; the last (partial) batch is hashed inline.
    mutating func finish() async -> PayloadDigests {
        var digests = await take()
        for buffer in batch { digests.update(buffer) }
        batch = []
        batchSize = 0
        idle = digests
        return digests
    }
}
