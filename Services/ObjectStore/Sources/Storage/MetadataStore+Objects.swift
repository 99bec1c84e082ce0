import Foundation

/// An entry of a bucket listing.
public struct ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var etag: String
    public var lastModified: Date
}

extension MetadataStore {
    static let objectColumns = "bucket, key, size, etag, last_modified, headers, checksum, inline, inline_crc, segments, part_sizes"

    static func object(from row: [SQLValue]) throws -> ObjectRecord {
        let data: ObjectData
        if let inline = row[7].bytes {
            data = .inline(inline, crc: UInt32(truncatingIfNeeded: row[8].int ?? 0))
        } else {
            data = .segments(try JSONCoding.decode([ObjectSegment].self, row[9].string))
        }
        return ObjectRecord(
            bucket: row[0].string ?? "", key: row[1].string ?? "", size: row[2].int ?? 0, etag: row[3].string ?? "",
            lastModified: Date(millisecondsSince1970: row[4].int ?? 0),
            headers: try JSONCoding.decode([String: String].self, row[5].string), checksum: row[6].string, data: data,
            partSizes: try row[10].string.map { try JSONCoding.decode([Int64].self, $0) } ?? [])
    }

    static func requireBucket(_ db: SQLiteConnection, _ bucket: String) throws {
        guard try !db.query("SELECT 1 FROM buckets WHERE name = ?", .text(bucket)).isEmpty else { throw StoreError.noSuchBucket(bucket) }
    }

    public func object(bucket: String, key: String) async throws -> ObjectRecord {
        try await db.read { db in
            guard let row = try db.query("SELECT \(Self.objectColumns) FROM objects WHERE bucket = ? AND key = ?", .text(bucket), .text(key)).first else {
                try Self.requireBucket(db, bucket)
                throw StoreError.noSuchKey(bucket: bucket, key: key)
            }
            return try Self.object(from: row)
        }
    }

    /// Makes `record` the current version of its key and returns the data files of the
    /// version it replaced (to be deleted once this has committed).
    public func putObject(_ record: ObjectRecord) async throws -> [ObjectSegment] {
        try await db.write { db in
            try Self.requireBucket(db, record.bucket)
            let replaced = try Self.segments(db, bucket: record.bucket, key: record.key)
            try Self.insert(db, record)
            return replaced
        }
    }

    static func insert(_ db: SQLiteConnection, _ record: ObjectRecord) throws {
        var inline = SQLValue.null, inlineCRC = SQLValue.null, segments = SQLValue.null
        switch record.data {
        case .inline(let bytes, let crc):
            inline = .blob(bytes)
            inlineCRC = .integer(Int64(crc))
        case .segments(let list):
            segments = .text(try JSONCoding.encode(list))
        }
        try db.run("INSERT OR REPLACE INTO objects(\(objectColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            .text(record.bucket), .text(record.key), .integer(record.size), .text(record.etag),
            .integer(record.lastModified.millisecondsSince1970), .text(try JSONCoding.encode(record.headers)),
            record.checksum.map(SQLValue.text) ?? .null, inline, inlineCRC, segments,
            record.partSizes.isEmpty ? .null : .text(try JSONCoding.encode(record.partSizes)),
        ])
    }

    static func segments(_ db: SQLiteConnection, bucket: String, key: String) throws -> [ObjectSegment] {
        guard let row = try db.query("SELECT segments FROM objects WHERE bucket = ? AND key = ?", .text(bucket), .text(key)).first,
              let text = row[0].string else { return [] }
        return try JSONCoding.decode([ObjectSegment].self, text)
    }

    /// Removes a key (S3 answers success when it did not exist) and returns its data files.
    public func deleteObject(bucket: String, key: String) async throws -> [ObjectSegment] {
        try await db.write { db in
            try Self.requireBucket(db, bucket)
            let replaced = try Self.segments(db, bucket: bucket, key: key)
            try db.run("DELETE FROM objects WHERE bucket = ? AND key = ?", .text(bucket), .text(key))
            return replaced
        }
    }

    /// Removes several keys in one transaction (DeleteObjects).
    public func deleteObjects(bucket: String, keys: [String]) async throws -> [ObjectSegment] {
        try await db.write { db in
            try Self.requireBucket(db, bucket)
            var replaced: [ObjectSegment] = []
            for key in keys {
                replaced += try Self.segments(db, bucket: bucket, key: key)
                try db.run("DELETE FROM objects WHERE bucket = ? AND key = ?", .text(bucket), .text(key))
            }
            return replaced
        }
    }

    /// Up to `limit` entries in key order, with keys `>= from` (or `> from` when
    /// `exclusive`). Key order is UTF-8 byte order, as S3's.
    public func listObjects(bucket: String, from: String, exclusive: Bool, limit: Int) async throws -> [ObjectSummary] {
        try await db.read { db in
            try Self.requireBucket(db, bucket)
            let op = exclusive ? ">" : ">="
            return try db.query("SELECT key, size, etag, last_modified FROM objects WHERE bucket = ? AND key \(op) ? ORDER BY key LIMIT ?",
                                .text(bucket), .text(from), .integer(Int64(limit))).map {
                ObjectSummary(key: $0[0].string ?? "", size: $0[1].int ?? 0, etag: $0[2].string ?? "",
                              lastModified: Date(millisecondsSince1970: $0[3].int ?? 0))
            }
        }
    }

    /// Every data file the metadata refers to (objects and parts), for the start-up sweep
    /// that removes files left behind by a crash.
    public func referencedBlobs() async throws -> Set<String> {
        try await db.read { db in
            var blobs = Set<String>()
            for row in try db.query("SELECT segments FROM objects WHERE segments IS NOT NULL") {
                for segment in try JSONCoding.decode([ObjectSegment].self, row[0].string) { blobs.insert(segment.blob) }
            }
            for row in try db.query("SELECT segment FROM parts") {
                blobs.insert(try JSONCoding.decode(ObjectSegment.self, row[0].string).blob)
            }
            return blobs
        }
    }
}

extension MetadataStore {
    /// Throws `noSuchBucket` unless the bucket is in this node's catalog.
    public func requireBucket(_ bucket: String) async throws {
        try await db.read { db in try Self.requireBucket(db, bucket) }
    }
}
