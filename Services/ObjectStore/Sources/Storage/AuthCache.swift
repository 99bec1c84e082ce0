/// Access keys and bucket permissions as the per-request checks see them. They change only
/// through this node's own admin calls, which call `invalidate()` after committing, so
/// every S3 request does not have to ask the database twice.
///
/// A lookup that raced with a change is not stored: values are stored only if no
/// invalidation happened since the lookup began (the generation is unchanged).
final class AuthCache: Sendable {
    private struct State {
        var generation = 0
        var keys: [String: AccessKey?] = [:]
        var permissions: [String: BucketPermission?] = [:]
    }

    private let state = LockedValue(State())
    static let maxEntries = 10_000

    var generation: Int { state.withLock { $0.generation } }

    func invalidate() {
        state.withLock {
            $0.generation += 1
            $0.keys.removeAll()
            $0.permissions.removeAll()
        }
    }

    /// `.some(nil)` caches "no such key".
    func key(_ id: String) -> AccessKey?? { state.withLock { $0.keys[id] } }

    func store(key: AccessKey?, id: String, generation: Int) {
        state.withLock {
            guard $0.generation == generation else { return }
            if $0.keys.count >= Self.maxEntries { $0.keys.removeAll() }
            $0.keys[id] = .some(key)
        }
    }

    /// `.some(nil)` caches "no such bucket".
    func permission(bucket: String, key: String) -> BucketPermission?? {
        state.withLock { $0.permissions[bucket + "\u{0}" + key] }
    }

    func store(permission: BucketPermission?, bucket: String, key: String, generation: Int) {
        state.withLock {
            guard $0.generation == generation else { return }
            if $0.permissions.count >= Self.maxEntries { $0.permissions.removeAll() }
            $0.permissions[bucket + "\u{0}" + key] = .some(permission)
        }
    }
}
