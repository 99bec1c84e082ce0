import Crypto
import NIOCore

/// The digests a client may ask to be checked besides MD5: SHA-256 when
/// x-amz-content-sha256 names one, and the x-amz-checksum-* algorithm when the client sent
/// or asked for one.
struct ClientDigests: Sendable {
    var sha256: SHA256?
    var checksum: ChecksumHasher?

    var isEmpty: Bool { sha256 == nil && checksum == nil }

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { raw in
            sha256?.update(bufferPointer: raw)
            checksum?.update(raw)
        }
    }
}

/// What S3 asks of a request body, in body order: its MD5 (the ETag, and Content-MD5)
/// and the client's digests.
struct PayloadDigests: Sendable {
    var md5: [UInt8]
    var client: ClientDigests
}

/// Updates the digests beside the request task instead of on it: received buffers are
/// gathered into batches, and one batch is hashed on other threads while the next one
/// arrives. MD5, the largest CPU cost of a large PUT and impossible to split within one
/// body, goes to the `MultiBufferMD5` engine, which hashes concurrent bodies in SIMD lanes
/// of one thread; the client's digests (rarely asked for) go to a task.
///
/// At most two batches are held (one being hashed, one filling), so the memory per upload
/// stays bounded. A body declared no longer than a batch (most PUTs) is hashed inline,
/// without a task or the engine; so is the first batch's worth of a body of unknown length.
struct PipelinedDigests {
    static let batchBytes = 512 << 10

    private let md5 = MD5Stream()
    private let engine: MultiBufferMD5
    private var md5Job: MD5Job?
    private var client: ClientDigests?
    private var clientTask: Task<ClientDigests, Never>?
    private var batch: [ByteBuffer] = []
    private var batchSize = 0
    private var hashedInline = 0
    private let inlineLimit: Int
    private var pipelined = false

    init(_ client: ClientDigests, declaredLength: Int64? = nil, engine: MultiBufferMD5 = .shared) {
        self.client = client
        self.engine = engine
        // A body known to be large goes to the engine's lanes from its first byte (inline
        // hashing would run at one message's speed on the request task).
        inlineLimit = (declaredLength ?? 0) > Int64(Self.batchBytes) ? 0 : Self.batchBytes
    }

    mutating func add(_ buffer: ByteBuffer) async {
        if !pipelined, hashedInline < inlineLimit {
            md5.update(buffer)
            client!.update(buffer)
            hashedInline += buffer.readableBytes
            return
        }
        batch.append(buffer)
        batchSize += buffer.readableBytes
        if batchSize >= Self.batchBytes { await dispatch() }
    }

    /// Hands the batch over, after the previous one is done.
    private mutating func dispatch() async {
        pipelined = true
        if let md5Job { await engine.wait(for: md5Job) }
        md5Job = engine.submit(batch, to: md5)
        var client = await takeClient()
        if !client.isEmpty {
            let work = batch
            clientTask = Task {
                for buffer in work { client.update(buffer) }
                return client
            }
        } else {
            self.client = client
        }
        batch = []
        batchSize = 0
    }

    private mutating func takeClient() async -> ClientDigests {
        if let clientTask {
            self.clientTask = nil
            return await clientTask.value
        }
        let client = client!
        self.client = nil
        return client
    }

    /// The digests over everything added. Call once.
    mutating func finish() async -> PayloadDigests {
        if !batch.isEmpty { await dispatch() }
        if let md5Job { await engine.wait(for: md5Job) }
        md5Job = nil
        let client = await takeClient()
        self.client = client
        return PayloadDigests(md5: md5.finalize(), client: client)
    }
}
