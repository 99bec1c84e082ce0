import Foundation

/// One versioned row of the replicated object table: the current version of a key, or a
/// tombstone saying it was deleted. Tombstones are kept (never collected in this build) so
/// a replica that missed a delete cannot bring the object back during repair.
public struct ObjectEntry: Sendable, Equatable, Codable {
    public var bucket: String
    public var key: String
    public var version: String
    /// nil for a tombstone.
    public var object: StoredObject?

    public init(bucket: String, key: String, version: String, object: StoredObject?) {
        self.bucket = bucket
        self.key = key
        self.version = version
        self.object = object
    }

    public init(record: ObjectRecord, version: String) {
        self.init(bucket: record.bucket, key: record.key, version: version, object: StoredObject(record))
    }

    public static func tombstone(bucket: String, key: String, version: String) -> ObjectEntry {
        ObjectEntry(bucket: bucket, key: key, version: version, object: nil)
    }

    public var isTombstone: Bool { object == nil }

    public var record: ObjectRecord? { object?.record(bucket: bucket, key: key) }

    /// Data files this entry refers to (none for tombstones and inline data).
    public var segments: [ObjectSegment] { object?.segments ?? [] }
}

/// An object version as it travels between nodes (JSON): `ObjectRecord` with its data
/// either inline (base64) or as data-file segments.
public struct StoredObject: Sendable, Equatable, Codable {
    public var size: Int64
    public var etag: String
    public var lastModified: Int64
    public var headers: [String: String]
    public var checksum: String?
    public var inline: String?
    public var inlineCRC: UInt32?
    public var segments: [ObjectSegment]?
    public var partSizes: [Int64]

    public init(_ record: ObjectRecord) {
        size = record.size
        etag = record.etag
        lastModified = record.lastModified.millisecondsSince1970
        headers = record.headers
        checksum = record.checksum
        partSizes = record.partSizes
        switch record.data {
        case .inline(let bytes, let crc):
            inline = Data(bytes).base64EncodedString()
            inlineCRC = crc
        case .segments(let list):
            segments = list
        }
    }

    public func record(bucket: String, key: String) -> ObjectRecord {
        let data: ObjectData
        if let inline {
            data = .inline(Array(Data(base64Encoded: inline) ?? Data()), crc: inlineCRC ?? 0)
        } else {
            data = .segments(segments ?? [])
        }
        return ObjectRecord(bucket: bucket, key: key, size: size, etag: etag, lastModified: Date(millisecondsSince1970: lastModified),
                            headers: headers, checksum: checksum, data: data, partSizes: partSizes)
    }
}

/// A key's version in one replica's table, without its contents: what repair compares.
public struct EntryVersion: Sendable, Equatable, Codable {
    public var bucket: String
    public var key: String
    public var version: String

    public init(bucket: String, key: String, version: String) {
        self.bucket = bucket
        self.key = key
        self.version = version
    }
}

/// A listing row from one replica, tombstones included so that the coordinator can drop
/// keys another replica still lists after missing their delete.
public struct EntrySummary: Sendable, Equatable, Codable {
    public var key: String
    public var version: String
    public var deleted: Bool
    public var size: Int64
    public var etag: String
    public var lastModified: Int64

    public var summary: ObjectSummary {
        ObjectSummary(key: key, size: size, etag: etag, lastModified: Date(millisecondsSince1970: lastModified))
    }
}
