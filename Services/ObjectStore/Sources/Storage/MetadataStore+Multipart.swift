import Foundation

extension MetadataStore {
    public func createUpload(bucket: String, key: String, headers: [String: String],
                             checksumAlgorithm: ChecksumAlgorithm?) async throws -> MultipartUpload {
        let upload = MultipartUpload(id: randomHex(bytes: 16), bucket: bucket, key: key, initiated: Date(),
                                     headers: headers, checksumAlgorithm: checksumAlgorithm)
        try await db.write { db in
            try Self.requireBucket(db, bucket)
            try db.run("INSERT INTO uploads(id, bucket, key, initiated, headers, checksum_algorithm) VALUES (?, ?, ?, ?, ?, ?)",
                       .text(upload.id), .text(bucket), .text(key), .integer(upload.initiated.millisecondsSince1970),
                       .text(try JSONCoding.encode(headers)), checksumAlgorithm.map { .text($0.rawValue) } ?? .null)
        }
        return upload
    }

    static func upload(from row: [SQLValue]) throws -> MultipartUpload {
        MultipartUpload(id: row[0].string ?? "", bucket: row[1].string ?? "", key: row[2].string ?? "",
                        initiated: Date(millisecondsSince1970: row[3].int ?? 0),
                        headers: try JSONCoding.decode([String: String].self, row[4].string),
                        checksumAlgorithm: row[5].string.flatMap(ChecksumAlgorithm.init(rawValue:)))
    }

    static func upload(_ db: SQLiteConnection, id: String, bucket: String, key: String) throws -> MultipartUpload {
        guard let row = try db.query("SELECT id, bucket, key, initiated, headers, checksum_algorithm FROM uploads WHERE id = ?", .text(id)).first else {
            try requireBucket(db, bucket)
            throw StoreError.noSuchUpload(id)
        }
        let upload = try Self.upload(from: row)
        guard upload.bucket == bucket, upload.key == key else { throw StoreError.noSuchUpload(id) }
        return upload
    }

    /// The upload `id` for `bucket`/`key`; `noSuchUpload` if it is unknown or for another key.
    public func upload(id: String, bucket: String, key: String) async throws -> MultipartUpload {
        try await db.read { db in try Self.upload(db, id: id, bucket: bucket, key: key) }
    }

    /// Records a part, replacing one with the same number; returns the replaced data file.
    public func putPart(uploadID: String, bucket: String, key: String, part: UploadedPart) async throws -> [ObjectSegment] {
        try await db.write { db in
            _ = try Self.upload(db, id: uploadID, bucket: bucket, key: key)
            var replaced: [ObjectSegment] = []
            if let row = try db.query("SELECT segment FROM parts WHERE upload_id = ? AND number = ?", .text(uploadID), .integer(Int64(part.number))).first {
                replaced.append(try JSONCoding.decode(ObjectSegment.self, row[0].string))
            }
            try db.run("INSERT OR REPLACE INTO parts(upload_id, number, size, etag, last_modified, segment, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       .text(uploadID), .integer(Int64(part.number)), .integer(part.size), .text(part.etag),
                       .integer(part.lastModified.millisecondsSince1970), .text(try JSONCoding.encode(part.segment)),
                       part.checksum.map(SQLValue.text) ?? .null)
            return replaced
        }
    }

    static func parts(_ db: SQLiteConnection, uploadID: String) throws -> [UploadedPart] {
        try db.query("SELECT number, size, etag, last_modified, segment, checksum FROM parts WHERE upload_id = ? ORDER BY number", .text(uploadID)).map {
            UploadedPart(number: Int($0[0].int ?? 0), size: $0[1].int ?? 0, etag: $0[2].string ?? "",
                         lastModified: Date(millisecondsSince1970: $0[3].int ?? 0),
                         segment: try JSONCoding.decode(ObjectSegment.self, $0[4].string), checksum: $0[5].string)
        }
    }

    public func parts(uploadID: String, bucket: String, key: String) async throws -> (MultipartUpload, [UploadedPart]) {
        try await db.read { db in
            let upload = try Self.upload(db, id: uploadID, bucket: bucket, key: key)
            return (upload, try Self.parts(db, uploadID: uploadID))
        }
    }

    /// Uploads in progress in a bucket, ordered by key then initiation time.
    public func listUploads(bucket: String) async throws -> [MultipartUpload] {
        try await db.read { db in
            try Self.requireBucket(db, bucket)
            return try db.query("SELECT id, bucket, key, initiated, headers, checksum_algorithm FROM uploads WHERE bucket = ? ORDER BY key, initiated, id",
                                .text(bucket)).map(Self.upload(from:))
        }
    }

    /// Turns an upload into the object's current version. `build` receives the uploaded
    /// parts and returns the record (it validates the client's part list); the data files of
    /// parts left out and of the replaced version are returned for deletion.
    public func completeUpload(uploadID: String, bucket: String, key: String,
                               build: @escaping @Sendable (MultipartUpload, [UploadedPart]) throws -> ObjectRecord) async throws -> [ObjectSegment] {
        try await db.write { db in
            let upload = try Self.upload(db, id: uploadID, bucket: bucket, key: key)
            let parts = try Self.parts(db, uploadID: uploadID)
            let record = try build(upload, parts)
            let used = Set(record.data.segments.map(\.blob))
            var unused = parts.map(\.segment).filter { !used.contains($0.blob) }
            unused += try Self.segments(db, bucket: bucket, key: key)
            try Self.insert(db, record)
            try db.run("DELETE FROM uploads WHERE id = ?", .text(uploadID))
            return unused
        }
    }

    /// Drops an upload and returns its parts' data files.
    public func abortUpload(uploadID: String, bucket: String, key: String) async throws -> [ObjectSegment] {
        try await db.write { db in
            _ = try Self.upload(db, id: uploadID, bucket: bucket, key: key)
            let segments = try Self.parts(db, uploadID: uploadID).map(\.segment)
            try db.run("DELETE FROM uploads WHERE id = ?", .text(uploadID))
            return segments
        }
    }
}
