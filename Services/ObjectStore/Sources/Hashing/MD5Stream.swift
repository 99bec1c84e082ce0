import CMultiBufferMD5
import NIOCore

/// The MD5 of one message fed in pieces of any size (RFC 1321), hashed either right here
/// (`update`) or in a lane of a `MultiBufferMD5` engine beside other messages
/// (`MultiBufferMD5.submit`). Digests are those of `Insecure.MD5`.
///
/// Ownership: one task at a time feeds a stream, and while an engine job of the stream is
/// outstanding the engine alone touches its chaining value, so the owner waits for the job
/// before its next `update`, `submit` or `finalize` (hence `@unchecked Sendable`).
public final class MD5Stream: @unchecked Sendable {
    /// The chaining value; written by the engine's thread during a job.
    let state: UnsafeMutablePointer<mbmd5_state>
    /// Bytes of a block not yet complete (fewer than 64), kept by the owner.
    private let partial: UnsafeMutableRawPointer
    private var partialCount = 0
    private var length: UInt64 = 0
    /// Set by the engine the first time the stream is submitted, so it counts the stream
    /// among the messages that will bring more work until it is finalized.
    var engine: MultiBufferMD5?

    public init() {
        state = .allocate(capacity: 1)
        mbmd5_state_init(state)
        partial = .allocate(byteCount: 64, alignment: 64)
    }

    deinit {
        engine?.streamClosed()
        state.deallocate()
        partial.deallocate()
    }

    /// Hashes `bytes` on the calling thread.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        if partialCount > 0 {
            rest = fillPartial(from: rest)
            if partialCount == 64 {
                hashHere(UnsafeRawPointer(partial), blocks: 1)
                partialCount = 0
            }
        }
        let whole = rest.count / 64
        if whole > 0, let base = rest.baseAddress { hashHere(base, blocks: whole) }
        keepTail(of: UnsafeRawBufferPointer(rebasing: rest[(whole * 64)...]))
        length += UInt64(bytes.count)
    }

    public func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update($0) }
    }

    /// The digest of everything fed so far; the stream is spent afterwards.
    public func finalize() -> [UInt8] {
        var last = [UInt8](repeating: 0, count: 128)
        last.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: partial, byteCount: partialCount) }
        last[partialCount] = 0x80
        let padded = partialCount < 56 ? 64 : 128
        let bits = length &* 8
        for i in 0..<8 { last[padded - 8 + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i))) }
        last.withUnsafeBytes { hashHere($0.baseAddress!, blocks: padded / 64) }
        engine?.streamClosed()
        engine = nil
        let (a, b, c, d) = state.pointee.word
        return [a, b, c, d].flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
    }

    /// Splits `buffers` into runs of whole blocks for an engine job: the blocks inside each
    /// buffer are hashed where they lie, blocks straddling two buffers are copied into
    /// `MD5Job.Stitches`, and the last incomplete block waits here for the next buffers.
    func cutBlocks(of buffers: [ByteBuffer]) -> (runs: [MD5Job.Run], stitches: MD5Job.Stitches, storage: [Unmanaged<AnyObject>]) {
        let stitches = MD5Job.Stitches(capacity: buffers.count)
        var runs: [MD5Job.Run] = []
        var storage: [Unmanaged<AnyObject>] = []
        runs.reserveCapacity(2 * buffers.count)
        for buffer in buffers {
            buffer.withUnsafeReadableBytesWithStorageManagement { bytes, owner in
                var rest = bytes
                if partialCount > 0 {
                    rest = fillPartial(from: rest)
                    if partialCount == 64 {
                        runs.append(MD5Job.Run(start: stitches.append(UnsafeRawPointer(partial)), blocks: 1))
                        partialCount = 0
                    }
                }
                let whole = rest.count / 64
                if whole > 0, let base = rest.baseAddress {
                    // The run points into the buffer's storage; holding a reference keeps
                    // it alive (and unmoved: nobody writes to a received buffer) until
                    // the job is done.
                    storage.append(owner.retain())
                    runs.append(MD5Job.Run(start: base, blocks: whole))
                }
                keepTail(of: UnsafeRawBufferPointer(rebasing: rest[(whole * 64)...]))
            }
            length += UInt64(buffer.readableBytes)
        }
        return (runs, stitches, storage)
    }

    private func hashHere(_ data: UnsafeRawPointer, blocks: Int) {
        var lane: UnsafeMutablePointer<mbmd5_state>? = state
        var start: UnsafePointer<UInt8>? = data.assumingMemoryBound(to: UInt8.self)
        mbmd5_update(&lane, &start, 1, blocks)
    }

    /// Tops up the incomplete block from the front of `bytes`; returns what is left.
    private func fillPartial(from bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let n = min(64 - partialCount, bytes.count)
        if n > 0 { (partial + partialCount).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        partialCount += n
        return UnsafeRawBufferPointer(rebasing: bytes[n...])
    }

    private func keepTail(of bytes: UnsafeRawBufferPointer) {
        precondition(partialCount + bytes.count < 64)
        if let base = bytes.baseAddress, bytes.count > 0 { (partial + partialCount).copyMemory(from: base, byteCount: bytes.count) }
        partialCount += bytes.count
    }
}
