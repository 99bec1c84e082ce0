import Foundation

/// Catalog replication (cluster mode): the whole keys/buckets/grants state with versions and
/// tombstones, and the row-by-row merge of another node's snapshot.
extension MetadataStore {
    public func catalogSnapshot() async throws -> CatalogSnapshot {
        try await db.read { db in
            var snapshot = CatalogSnapshot()
            snapshot.keys = try db.query("SELECT id, secret, name, create_bucket, created, version FROM keys ORDER BY id").map {
                .init(id: $0[0].string ?? "", secret: $0[1].string ?? "", name: $0[2].string ?? "", createBucket: $0[3].int == 1,
                      created: $0[4].int ?? 0, version: $0[5].string ?? "")
            }
            snapshot.buckets = try db.query("SELECT name, id, created, version FROM buckets ORDER BY name").map {
                .init(name: $0[0].string ?? "", id: $0[1].string ?? "", created: $0[2].int ?? 0, version: $0[3].string ?? "")
            }
            snapshot.grants = try db.query("SELECT bucket, key_id, read, write, owner, version FROM grants ORDER BY bucket, key_id").map {
                .init(bucket: $0[0].string ?? "", keyID: $0[1].string ?? "", read: $0[2].int == 1, write: $0[3].int == 1,
                      owner: $0[4].int == 1, version: $0[5].string ?? "")
            }
            snapshot.tombstones = try db.query("SELECT kind, name, version FROM catalog_tombstones ORDER BY kind, name").map {
                .init(kind: $0[0].string ?? "", name: $0[1].string ?? "", version: $0[2].string ?? "")
            }
            return snapshot
        }
    }

    /// Merges another node's catalog: each row or tombstone is applied when it supersedes
    /// what this node has for the same name. Returns whether anything changed.
    @discardableResult
    public func mergeCatalog(_ other: CatalogSnapshot) async throws -> Bool {
        for row in other.keys { clock.observe(row.version) }
        for row in other.buckets { clock.observe(row.version) }
        let changed = try await db.write { db in
            var changed = false
            for tombstone in other.tombstones {
                changed = try Self.mergeTombstone(db, tombstone) || changed
            }
            for row in other.keys where try Self.supersedes(db, kind: "key", name: row.id, version: row.version,
                                                            rowVersion: "SELECT version FROM keys WHERE id = ?") {
                try db.run("""
                    INSERT INTO keys(id, secret, name, create_bucket, created, version) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET secret = excluded.secret, name = excluded.name,
                        create_bucket = excluded.create_bucket, created = excluded.created, version = excluded.version
                    """, .text(row.id), .text(row.secret), .text(row.name), .integer(row.createBucket ? 1 : 0),
                           .integer(row.created), .text(row.version))
                changed = true
            }
            for row in other.buckets where try Self.supersedes(db, kind: "bucket", name: row.name, version: row.version,
                                                               rowVersion: "SELECT version FROM buckets WHERE name = ?") {
                try db.run("DELETE FROM buckets WHERE id = ? AND name <> ?", .text(row.id), .text(row.name))
                try db.run("""
                    INSERT INTO buckets(name, id, created, version) VALUES (?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET id = excluded.id, created = excluded.created, version = excluded.version
                    """, .text(row.name), .text(row.id), .integer(row.created), .text(row.version))
                changed = true
            }
            for row in other.grants {
                let known = try !db.query("SELECT 1 FROM buckets WHERE name = ?", .text(row.bucket)).isEmpty
                    && !db.query("SELECT 1 FROM keys WHERE id = ?", .text(row.keyID)).isEmpty
                guard known, try Self.supersedes(db, kind: "grant", name: row.tombstoneName, version: row.version,
                                                 rowVersion: "SELECT version FROM grants WHERE bucket || '/' || key_id = ?") else { continue }
                try db.run("""
                    INSERT INTO grants(bucket, key_id, read, write, owner, version) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(bucket, key_id) DO UPDATE SET read = excluded.read, write = excluded.write,
                        owner = excluded.owner, version = excluded.version
                    """, .text(row.bucket), .text(row.keyID), .integer(row.read ? 1 : 0), .integer(row.write ? 1 : 0),
                           .integer(row.owner ? 1 : 0), .text(row.version))
                changed = true
            }
            return changed
        }
        if changed { authCache.invalidate() }
        return changed
    }

    /// Whether a row at `version` beats both this node's row (found by `rowVersion`) and its
    /// tombstone for the same name.
    static func supersedes(_ db: SQLiteConnection, kind: String, name: String, version: String, rowVersion: String) throws -> Bool {
        let local = try db.query(rowVersion, .text(name)).first?[0].string
        let tombstone = try db.query("SELECT version FROM catalog_tombstones WHERE kind = ? AND name = ?", .text(kind), .text(name)).first?[0].string
        return VersionOrder.supersedes(version, local) && VersionOrder.supersedes(version, tombstone)
    }

    /// Records a tombstone newer than the local one and deletes the row it covers if that
    /// row is older.
    static func mergeTombstone(_ db: SQLiteConnection, _ tombstone: CatalogSnapshot.Tombstone) throws -> Bool {
        let existing = try db.query("SELECT version FROM catalog_tombstones WHERE kind = ? AND name = ?",
                                    .text(tombstone.kind), .text(tombstone.name)).first?[0].string
        guard VersionOrder.supersedes(tombstone.version, existing) else { return false }
        try db.run("INSERT OR REPLACE INTO catalog_tombstones(kind, name, version) VALUES (?, ?, ?)",
                   .text(tombstone.kind), .text(tombstone.name), .text(tombstone.version))
        let (table, column) = switch tombstone.kind {
        case "key": ("keys", "id")
        case "bucket": ("buckets", "name")
        default: ("grants", "bucket || '/' || key_id")
        }
        try db.run("DELETE FROM \(table) WHERE \(column) = ? AND version < ?", .text(tombstone.name), .text(tombstone.version))
        return true
    }

    /// Files a tombstone for a catalog row deleted on this node.
    static func bury(_ db: SQLiteConnection, kind: String, name: String, version: String) throws {
        try db.run("INSERT OR REPLACE INTO catalog_tombstones(kind, name, version) VALUES (?, ?, ?)",
                   .text(kind), .text(name), .text(version))
    }
}
