/// A bound on request bodies being received at once (PutObject, UploadPart). Each holds
/// up to two 1 MiB blocks being written and two 512 KiB batches being hashed (about 3 MiB),
/// so the bound caps memory under overload; requests past
/// it are answered 503 SlowDown with Retry-After, as S3 does, instead of queueing.
final class UploadSlots: Sendable {
    let limit: Int
    private let inUse = LockedValue(0)

    init(limit: Int) { self.limit = limit }

    func acquire() throws(S3Error) {
        let granted = inUse.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard granted else { throw S3Error("SlowDown", "Please reduce your request rate.", status: .serviceUnavailable) }
    }

    func release() { inUse.withLock { $0 -= 1 } }
}
