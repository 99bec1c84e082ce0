import Foundation

/// A node's copy of multipart uploads in cluster mode, where an upload and its parts are
/// kept on every replica of its (bucket, key). Unlike the single-node calls these are
/// idempotent and accept an upload created through another node.
extension MetadataStore {
    /// How long an ended upload's id is remembered: longer than a replica is expected to
    /// stay down with a stale copy of it.
    static let endedUploadMemory: Int64 = 7 * 24 * 3600 * 1000

    /// Records an upload created by a coordinator (a no-op if it is already known, or
    /// already ended: a late write must not bring it back).
    public func storeUpload(_ upload: MultipartUpload) async throws {
        try await db.write { db in
            try Self.requireBucket(db, upload.bucket)
            guard try !Self.hasEnded(db, upload.id) else { return }
            try db.run("INSERT OR IGNORE INTO uploads(id, bucket, key, initiated, headers, checksum_algorithm) VALUES (?, ?, ?, ?, ?, ?)",
                       .text(upload.id), .text(upload.bucket), .text(upload.key), .integer(upload.initiated.millisecondsSince1970),
                       .text(try JSONCoding.encode(upload.headers)), upload.checksumAlgorithm.map { .text($0.rawValue) } ?? .null)
        }
    }

    /// Records a part sent by a coordinator, with its upload (a replica that missed the
    /// upload's creation learns it here). A part replaces one with the same number only if
    /// it is newer (`UploadedPart.isNewer`); returns the data files no longer referenced:
    /// the replaced part's, or the received one's when it lost.
    public func storeReplicatedPart(_ part: UploadedPart, of upload: MultipartUpload) async throws -> [ObjectSegment] {
        try await storeUpload(upload)
        return try await db.write { db in
            guard try !Self.hasEnded(db, upload.id) else { return [part.segment] }
            if let row = try db.query("SELECT last_modified, etag, segment FROM parts WHERE upload_id = ? AND number = ?",
                                      .text(upload.id), .integer(Int64(part.number))).first {
                let existing = try JSONCoding.decode(ObjectSegment.self, row[2].string)
                if existing.blob == part.segment.blob { return [] }
                guard part.isNewer(than: row[0].int ?? 0, etag: row[1].string ?? "", blob: existing.blob) else { return [part.segment] }
                try Self.insertPart(db, uploadID: upload.id, part)
                return [existing]
            }
            try Self.insertPart(db, uploadID: upload.id, part)
            return []
        }
    }

    static func insertPart(_ db: SQLiteConnection, uploadID: String, _ part: UploadedPart) throws {
        try db.run("INSERT OR REPLACE INTO parts(upload_id, number, size, etag, last_modified, segment, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   .text(uploadID), .integer(Int64(part.number)), .integer(part.size), .text(part.etag),
                   .integer(part.lastModified.millisecondsSince1970), .text(try JSONCoding.encode(part.segment)),
                   part.checksum.map(SQLValue.text) ?? .null)
    }

    /// This node's copy of an upload and its parts, nil if it does not know the upload.
    public func replicatedUpload(id: String, bucket: String, key: String, withParts: Bool) async throws -> UploadCopy? {
        try await db.read { db in
            guard try !Self.hasEnded(db, id) else { return nil }
            guard let row = try db.query("SELECT id, bucket, key, initiated, headers, checksum_algorithm FROM uploads WHERE id = ?", .text(id)).first else {
                return nil
            }
            let upload = try Self.upload(from: row)
            guard upload.bucket == bucket, upload.key == key else { return nil }
            return UploadCopy(upload: upload, parts: withParts ? try Self.parts(db, uploadID: id) : [])
        }
    }

    /// Every upload this node holds, in all buckets (for the handoff after a layout change).
    public func allUploads() async throws -> [MultipartUpload] {
        try await db.read { db in
            try db.query("SELECT id, bucket, key, initiated, headers, checksum_algorithm FROM uploads ORDER BY bucket, key, id").map(Self.upload(from:))
        }
    }

    /// Drops this node's copy of an upload and returns its parts' data files except those
    /// in `keeping` or in the key's current object. An upload completed or aborted through
    /// any node is remembered as ended (`ended`), even if this node never knew it; one
    /// handed over to other replicas after a layout change is not.
    public func dropUpload(id: String, bucket: String, key: String, keeping: Set<String>, ended: Bool = true) async throws -> [ObjectSegment] {
        try await db.write { db in
            if ended {
                let now = Date().millisecondsSince1970
                try db.run("DELETE FROM ended_uploads WHERE ended < ?", .integer(now - Self.endedUploadMemory))
                try db.run("INSERT OR IGNORE INTO ended_uploads(id, bucket, ended) VALUES (?, ?, ?)", .text(id), .text(bucket), .integer(now))
            }
            guard let row = try db.query("SELECT bucket, key FROM uploads WHERE id = ?", .text(id)).first,
                  row[0].string == bucket, row[1].string == key else { return [] }
            let inUse = keeping.union(try Self.segments(db, bucket: bucket, key: key).map(\.blob))
            let unused = try Self.parts(db, uploadID: id).map(\.segment).filter { !inUse.contains($0.blob) }
            try db.run("DELETE FROM uploads WHERE id = ?", .text(id))
            return unused
        }
    }

    /// Ids of the uploads in `bucket` this node knows to have ended.
    public func endedUploads(bucket: String) async throws -> [String] {
        try await db.read { db in
            try db.query("SELECT id FROM ended_uploads WHERE bucket = ?", .text(bucket)).compactMap { $0[0].string }
        }
    }

    /// Whether this node knows the upload `id` to have ended.
    public func hasEnded(upload id: String) async throws -> Bool {
        try await db.read { db in try Self.hasEnded(db, id) }
    }

    static func hasEnded(_ db: SQLiteConnection, _ id: String) throws -> Bool {
        try !db.query("SELECT 1 FROM ended_uploads WHERE id = ?", .text(id)).isEmpty
    }
}

/// One node's copy of an upload, as `GET /rpc/upload` answers it.
public struct UploadCopy: Sendable, Codable, Equatable {
    public var upload: MultipartUpload
    public var parts: [UploadedPart]
}

extension UploadedPart {
    /// Which of two uploads of the same part number wins on every replica alike: the later
    /// one, then the greater ETag, then the greater data-file id.
    func isNewer(than lastModified: Int64, etag: String, blob: String) -> Bool {
        let mine = self.lastModified.millisecondsSince1970
        if mine != lastModified { return mine > lastModified }
        if self.etag != etag { return self.etag > etag }
        return segment.blob > blob
    }
}
