import Crypto
import Foundation

/// The replicated object table (cluster mode): versioned entries merged by
/// `VersionOrder.supersedes`, tombstones for deletes, and the per-partition digests and
/// version lists that repair compares between replicas.
extension MetadataStore {
    /// This node's entry for a key (its object or its tombstone), or nil if it has neither.
    public func entry(bucket: String, key: String) async throws -> ObjectEntry? {
        try await db.read { db in try Self.entry(db, bucket: bucket, key: key) }
    }

    static func entry(_ db: SQLiteConnection, bucket: String, key: String) throws -> ObjectEntry? {
        if let row = try db.query("SELECT \(objectColumns), version FROM objects WHERE bucket = ? AND key = ?", .text(bucket), .text(key)).first {
            return ObjectEntry(record: try object(from: row), version: row[11].string ?? "")
        }
        if let row = try db.query("SELECT version FROM object_tombstones WHERE bucket = ? AND key = ?", .text(bucket), .text(key)).first {
            return .tombstone(bucket: bucket, key: key, version: row[0].string ?? "")
        }
        return nil
    }

    static func localVersion(_ db: SQLiteConnection, bucket: String, key: String) throws -> String? {
        if let row = try db.query("SELECT version FROM objects WHERE bucket = ? AND key = ?", .text(bucket), .text(key)).first {
            return row[0].string ?? ""
        }
        return try db.query("SELECT version FROM object_tombstones WHERE bucket = ? AND key = ?", .text(bucket), .text(key)).first?[0].string
    }

    /// Applies each entry that supersedes this node's version of its key, in one
    /// transaction. Returns how many were applied and the data files of the versions they
    /// replaced (for the caller to delete once committed). The bucket need not be known
    /// here yet: the catalog is replicated separately and may arrive later.
    public func merge(_ entries: [ObjectEntry]) async throws -> (applied: Int, replaced: [ObjectSegment]) {
        guard !entries.isEmpty else { return (0, []) }
        for entry in entries { clock.observe(entry.version) }
        return try await db.write { db in
            var applied = 0
            var replaced: [ObjectSegment] = []
            for entry in entries {
                let local = try Self.localVersion(db, bucket: entry.bucket, key: entry.key)
                guard VersionOrder.supersedes(entry.version, local) else { continue }
                let kept = Set(entry.segments.map(\.blob))
                replaced += try Self.segments(db, bucket: entry.bucket, key: entry.key).filter { !kept.contains($0.blob) }
                if let record = entry.record {
                    try db.run("DELETE FROM object_tombstones WHERE bucket = ? AND key = ?", .text(entry.bucket), .text(entry.key))
                    try Self.insert(db, record)
                    try db.run("UPDATE objects SET version = ? WHERE bucket = ? AND key = ?",
                               .text(entry.version), .text(entry.bucket), .text(entry.key))
                    replaced += try Self.dropUploads(db, completedBy: entry)
                } else {
                    try db.run("DELETE FROM objects WHERE bucket = ? AND key = ?", .text(entry.bucket), .text(entry.key))
                    try db.run("INSERT OR REPLACE INTO object_tombstones(bucket, key, version) VALUES (?, ?, ?)",
                               .text(entry.bucket), .text(entry.key), .text(entry.version))
                }
                applied += 1
            }
            return (applied, replaced)
        }
    }

    /// Drops the uploads of the entry's key whose parts it uses: a completion this replica
    /// missed (down, or its drop request lost) reaches it as the object's entry, by a push or
    /// by repair. Returns the data files of those uploads' other parts.
    static func dropUploads(_ db: SQLiteConnection, completedBy entry: ObjectEntry) throws -> [ObjectSegment] {
        let used = Set(entry.segments.map(\.blob))
        guard !used.isEmpty else { return [] }
        var unused: [ObjectSegment] = []
        for row in try db.query("SELECT id FROM uploads WHERE bucket = ? AND key = ?", .text(entry.bucket), .text(entry.key)) {
            let id = row[0].string ?? ""
            let parts = try Self.parts(db, uploadID: id)
            guard parts.contains(where: { used.contains($0.segment.blob) }) else { continue }
            unused += parts.map(\.segment).filter { !used.contains($0.blob) }
            try db.run("DELETE FROM uploads WHERE id = ?", .text(id))
            try db.run("INSERT OR IGNORE INTO ended_uploads(id, bucket, ended) VALUES (?, ?, ?)",
                       .text(id), .text(entry.bucket), .integer(Date().millisecondsSince1970))
        }
        return unused
    }

    /// A page of the bucket in key order with tombstones, for a coordinator that merges the
    /// pages of several replicas.
    public func listEntries(bucket: String, from: String, exclusive: Bool, limit: Int) async throws -> [EntrySummary] {
        try await db.read { db in
            let op = exclusive ? ">" : ">="
            return try db.query("""
                SELECT key, version, 0, size, etag, last_modified FROM objects WHERE bucket = ? AND key \(op) ?
                UNION ALL
                SELECT key, version, 1, 0, '', 0 FROM object_tombstones WHERE bucket = ? AND key \(op) ?
                ORDER BY 1 LIMIT ?
                """, .text(bucket), .text(from), .text(bucket), .text(from), .integer(Int64(limit))).map {
                EntrySummary(key: $0[0].string ?? "", version: $0[1].string ?? "", deleted: $0[2].int == 1,
                             size: $0[3].int ?? 0, etag: $0[4].string ?? "", lastModified: $0[5].int ?? 0)
            }
        }
    }

    /// Every (bucket, key, version) this node holds, objects and tombstones, in key order.
    public func allVersions() async throws -> [EntryVersion] {
        try await db.read { db in
            try db.query("""
                SELECT bucket, key, version FROM objects UNION ALL SELECT bucket, key, version FROM object_tombstones
                ORDER BY 1, 2
                """).map { EntryVersion(bucket: $0[0].string ?? "", key: $0[1].string ?? "", version: $0[2].string ?? "") }
        }
    }

    /// The versions this node holds in one partition of the ring.
    public func versions(inPartition partition: Int) async throws -> [EntryVersion] {
        try await allVersions().filter { PlacementRing.partition(bucket: $0.bucket, key: $0.key) == partition }
    }

    /// A digest of each partition's (bucket, key, version) list: two replicas with the same
    /// digest for a partition hold the same versions in it, so repair skips it.
    public func partitionDigests() async throws -> [Int: String] {
        var hashers = [Int: SHA256]()
        for entry in try await allVersions() {
            let partition = PlacementRing.partition(bucket: entry.bucket, key: entry.key)
            var hasher = hashers[partition] ?? SHA256()
            hasher.update(data: Data("\(entry.bucket)\u{0}\(entry.key)\u{0}\(entry.version)\n".utf8))
            hashers[partition] = hasher
        }
        return hashers.mapValues { Array($0.finalize()).hexString }
    }
}

extension MetadataStore {
    /// Removes entries this node no longer holds a replica of (handed over after a layout
    /// change), each only if it is still at the listed version, without a tombstone.
    /// Returns how many went and their data files.
    public func drop(_ entries: [EntryVersion]) async throws -> (dropped: Int, segments: [ObjectSegment]) {
        try await db.write { db in
            var dropped = 0
            var segments: [ObjectSegment] = []
            for entry in entries {
                guard try Self.localVersion(db, bucket: entry.bucket, key: entry.key) == entry.version else { continue }
                segments += try Self.segments(db, bucket: entry.bucket, key: entry.key)
                try db.run("DELETE FROM objects WHERE bucket = ? AND key = ?", .text(entry.bucket), .text(entry.key))
                try db.run("DELETE FROM object_tombstones WHERE bucket = ? AND key = ?", .text(entry.bucket), .text(entry.key))
                dropped += 1
            }
            return (dropped, segments)
        }
    }
}
