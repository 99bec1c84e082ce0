import Foundation

/// Keys, buckets and permissions in the metadata database. Objects and multipart uploads
/// are in `MetadataStore+Objects.swift` and `MetadataStore+Multipart.swift`.
public final class MetadataStore: Sendable {
    let db: MetadataDatabase
    let authCache = AuthCache()
    /// Versions written on catalog rows (and by the cluster on object entries).
    public let clock = VersionClock()

    public init(directory: String, fsync: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        db = try MetadataDatabase(path: (directory as NSString).appendingPathComponent("metadata.sqlite"), fsync: fsync)
    }

    public func close() { db.close() }

    private let catalogObservers = LockedValue<[@Sendable () -> Void]>([])

    /// Calls `observer` after every local change to keys, buckets or grants (the cluster
    /// pushes the catalog to its peers then, rather than waiting for the next gossip round).
    public func onCatalogChange(_ observer: @escaping @Sendable () -> Void) {
        catalogObservers.withLock { $0.append(observer) }
    }

    func catalogChanged() {
        authCache.invalidate()
        for observer in catalogObservers.withLock({ $0 }) { observer() }
    }

    // MARK: keys

    public func createKey(name: String) async throws -> AccessKey {
        let key = AccessKey.generate(name: name)
        try await importKey(key)
        return key
    }

    public func importKey(_ key: AccessKey) async throws {
        let version = clock.next()
        _ = try await db.write { db in
            try db.run("INSERT INTO keys(id, secret, name, create_bucket, created, version) VALUES (?, ?, ?, ?, ?, ?)",
                       .text(key.id), .text(key.secret), .text(key.name), .integer(key.allowCreateBucket ? 1 : 0),
                       .integer(Date().millisecondsSince1970), .text(version))
        }
        catalogChanged()
    }

    public func listKeys() async throws -> [AccessKey] {
        try await db.read { db in
            try db.query("SELECT id, secret, name, create_bucket FROM keys ORDER BY name, id").map(Self.key(from:))
        }
    }

    /// The key with this exact id, or nil (used on every authenticated request, so cached).
    public func key(id: String) async throws -> AccessKey? {
        if let cached = authCache.key(id) { return cached }
        let generation = authCache.generation
        let key = try await db.read { db in
            try db.query("SELECT id, secret, name, create_bucket FROM keys WHERE id = ?", .text(id)).first.map(Self.key(from:))
        }
        authCache.store(key: key, id: id, generation: generation)
        return key
    }

    /// Garage's lookup for admin commands: an exact id, a unique id prefix, or a unique name.
    public func findKey(_ pattern: String) async throws -> AccessKey {
        let keys = try await listKeys()
        if let exact = keys.first(where: { $0.id == pattern }) { return exact }
        let matches = keys.filter { $0.id.hasPrefix(pattern) || $0.name == pattern }
        guard !matches.isEmpty else { throw StoreError.noSuchAccessKey(pattern) }
        guard matches.count == 1 else { throw StoreError.ambiguousAccessKey(pattern) }
        return matches[0]
    }

    public func setKey(id: String, allowCreateBucket: Bool) async throws {
        let version = clock.next()
        let changed = try await db.write { db in
            try db.run("UPDATE keys SET create_bucket = ?, version = ? WHERE id = ?", .integer(allowCreateBucket ? 1 : 0),
                       .text(version), .text(id))
        }
        catalogChanged()
        if changed == 0 { throw StoreError.noSuchAccessKey(id) }
    }

    public func deleteKey(id: String) async throws {
        let version = clock.next()
        let changed = try await db.write { db in
            let changed = try db.run("DELETE FROM keys WHERE id = ?", .text(id))
            if changed > 0 { try Self.bury(db, kind: "key", name: id, version: version) }
            return changed
        }
        catalogChanged()
        if changed == 0 { throw StoreError.noSuchAccessKey(id) }
    }

    /// Buckets a key has any permission on, with that permission.
    public func grants(forKey id: String) async throws -> [(bucket: String, permission: BucketPermission)] {
        try await db.read { db in
            try db.query("SELECT bucket, read, write, owner FROM grants WHERE key_id = ? ORDER BY bucket", .text(id)).map { row in
                (row[0].string ?? "", BucketPermission(read: row[1].int == 1, write: row[2].int == 1, owner: row[3].int == 1))
            }
        }
    }

    static func key(from row: [SQLValue]) -> AccessKey {
        AccessKey(id: row[0].string ?? "", secret: row[1].string ?? "", name: row[2].string ?? "", allowCreateBucket: row[3].int == 1)
    }

    // MARK: buckets

    /// Creates a bucket; `owner`, when given, gets read, write and owner on it (as S3's
    /// CreateBucket does for the creating key).
    @discardableResult
    public func createBucket(name: String, owner: String? = nil) async throws -> Bucket {
        guard Bucket.isValidName(name) else { throw StoreError.invalidBucketName(name) }
        let bucket = Bucket(name: name, id: randomHex(bytes: 32), created: Date())
        let version = clock.next()
        try await db.write { db in
            if let existing = try db.query("SELECT name FROM buckets WHERE name = ?", .text(name)).first, existing.count > 0 {
                if let owner, try db.query("SELECT owner FROM grants WHERE bucket = ? AND key_id = ?", .text(name), .text(owner)).first?[0].int == 1 {
                    throw StoreError.bucketAlreadyOwnedByYou(name)
                }
                throw StoreError.bucketAlreadyExists(name)
            }
            try db.run("INSERT INTO buckets(name, id, created, version) VALUES (?, ?, ?, ?)",
                       .text(name), .text(bucket.id), .integer(bucket.created.millisecondsSince1970), .text(version))
            if let owner {
                try db.run("INSERT INTO grants(bucket, key_id, read, write, owner, version) VALUES (?, ?, 1, 1, 1, ?)",
                           .text(name), .text(owner), .text(version))
            }
        }
        catalogChanged()
        return bucket
    }

    public func bucket(named name: String) async throws -> Bucket {
        try await db.read { db in
            guard let row = try db.query("SELECT name, id, created FROM buckets WHERE name = ?", .text(name)).first else {
                throw StoreError.noSuchBucket(name)
            }
            var bucket = Bucket(name: name, id: row[1].string ?? "", created: Date(millisecondsSince1970: row[2].int ?? 0))
            for grant in try db.query("SELECT key_id, read, write, owner FROM grants WHERE bucket = ?", .text(name)) {
                bucket.grants[grant[0].string ?? ""] = BucketPermission(read: grant[1].int == 1, write: grant[2].int == 1, owner: grant[3].int == 1)
            }
            return bucket
        }
    }

    /// The permission of one key on one bucket; throws `noSuchBucket` when it does not exist.
    /// Asked on every S3 request, so cached (see `AuthCache`).
    public func permission(bucket: String, key: String) async throws -> BucketPermission {
        if let cached = authCache.permission(bucket: bucket, key: key) {
            guard let cached else { throw StoreError.noSuchBucket(bucket) }
            return cached
        }
        let generation = authCache.generation
        let permission: BucketPermission? = try await db.read { db in
            guard try !db.query("SELECT 1 FROM buckets WHERE name = ?", .text(bucket)).isEmpty else { return nil }
            guard let row = try db.query("SELECT read, write, owner FROM grants WHERE bucket = ? AND key_id = ?", .text(bucket), .text(key)).first else {
                return BucketPermission.none
            }
            return BucketPermission(read: row[0].int == 1, write: row[1].int == 1, owner: row[2].int == 1)
        }
        authCache.store(permission: permission, bucket: bucket, key: key, generation: generation)
        guard let permission else { throw StoreError.noSuchBucket(bucket) }
        return permission
    }

    public func listBuckets() async throws -> [Bucket] {
        try await db.read { db in
            try db.query("SELECT name, id, created FROM buckets ORDER BY name").map {
                Bucket(name: $0[0].string ?? "", id: $0[1].string ?? "", created: Date(millisecondsSince1970: $0[2].int ?? 0))
            }
        }
    }

    /// Object count and total bytes, for the admin API's bucket info.
    public func usage(bucket: String) async throws -> (objects: Int, bytes: Int64, uploads: Int) {
        try await db.read { db in
            let row = try db.query("SELECT count(*), coalesce(sum(size), 0) FROM objects WHERE bucket = ?", .text(bucket)).first ?? []
            let uploads = try db.query("SELECT count(*) FROM uploads WHERE bucket = ?", .text(bucket)).first?[0].int ?? 0
            return (Int(row[0].int ?? 0), row[1].int ?? 0, Int(uploads))
        }
    }

    /// Deletes an empty bucket; its unfinished multipart uploads go with it, and the data
    /// files of their parts are returned for the caller to remove.
    public func deleteBucket(name: String) async throws -> [ObjectSegment] {
        let version = clock.next()
        let segments = try await db.write { db in
            guard try !db.query("SELECT 1 FROM buckets WHERE name = ?", .text(name)).isEmpty else { throw StoreError.noSuchBucket(name) }
            guard try db.query("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", .text(name)).isEmpty else {
                throw StoreError.bucketNotEmpty(name)
            }
            let segments = try db.query("SELECT p.segment FROM parts p JOIN uploads u ON p.upload_id = u.id WHERE u.bucket = ?", .text(name))
                .compactMap { try? JSONCoding.decode(ObjectSegment.self, $0[0].string) }
            try db.run("DELETE FROM uploads WHERE bucket = ?", .text(name))
            try db.run("DELETE FROM buckets WHERE name = ?", .text(name))
            try Self.bury(db, kind: "bucket", name: name, version: version)
            return segments
        }
        catalogChanged()
        return segments
    }

    /// Adds (`allow`) or removes (`deny`) the flags set in `flags` for a key on a bucket.
    public func changeGrant(bucket: String, keyID: String, flags: BucketPermission, allow: Bool) async throws {
        let version = clock.next()
        try await db.write { db in
            guard try !db.query("SELECT 1 FROM buckets WHERE name = ?", .text(bucket)).isEmpty else { throw StoreError.noSuchBucket(bucket) }
            guard try !db.query("SELECT 1 FROM keys WHERE id = ?", .text(keyID)).isEmpty else { throw StoreError.noSuchAccessKey(keyID) }
            var current = BucketPermission.none
            if let row = try db.query("SELECT read, write, owner FROM grants WHERE bucket = ? AND key_id = ?", .text(bucket), .text(keyID)).first {
                current = BucketPermission(read: row[0].int == 1, write: row[1].int == 1, owner: row[2].int == 1)
            }
            if flags.read { current.read = allow }
            if flags.write { current.write = allow }
            if flags.owner { current.owner = allow }
            if current.isNone {
                try db.run("DELETE FROM grants WHERE bucket = ? AND key_id = ?", .text(bucket), .text(keyID))
                try Self.bury(db, kind: "grant", name: CatalogSnapshot.GrantRow.tombstoneName(bucket: bucket, keyID: keyID), version: version)
            } else {
                try db.run("INSERT OR REPLACE INTO grants(bucket, key_id, read, write, owner, version) VALUES (?, ?, ?, ?, ?, ?)",
                           .text(bucket), .text(keyID), .integer(current.read ? 1 : 0), .integer(current.write ? 1 : 0),
                           .integer(current.owner ? 1 : 0), .text(version))
            }
        }
        catalogChanged()
    }

    // MARK: settings

    public func setting(_ name: String) async throws -> String? {
        try await db.read { db in try db.query("SELECT value FROM settings WHERE name = ?", .text(name)).first?[0].string }
    }

    public func setSetting(_ name: String, _ value: String) async throws {
        _ = try await db.write { db in
            try db.run("INSERT OR REPLACE INTO settings(name, value) VALUES (?, ?)", .text(name), .text(value))
        }
    }
}

extension Date {
    var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(millisecondsSince1970 ms: Int64) { self.init(timeIntervalSince1970: Double(ms) / 1000) }
}

/// JSON for the small structured columns (headers, segments).
enum JSONCoding {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) throws -> T {
        try JSONDecoder().decode(type, from: Data((text ?? "null").utf8))
    }
}

extension MetadataStore {
    /// A bucket by its id (the admin API's handle), or nil.
    public func bucketName(id: String) async throws -> String? {
        try await db.read { db in try db.query("SELECT name FROM buckets WHERE id = ?", .text(id)).first?[0].string }
    }
}
