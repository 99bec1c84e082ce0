import Foundation

/// One stored file of object data. Its bytes are checked in blocks of `blockSize` against
/// `blockCRCs` (CRC-32 of each block) whenever they are read.
public struct ObjectSegment: Sendable, Equatable, Codable {
    public static let blockSize = 1 << 20

    public var blob: String
    public var size: Int64
    public var blockCRCs: [UInt32]

    public init(blob: String, size: Int64, blockCRCs: [UInt32]) {
        self.blob = blob
        self.size = size
        self.blockCRCs = blockCRCs
    }
}

/// Where an object's bytes are: inline in the metadata row (small objects, as Garage
/// inlines those under 3 KiB; here up to `ObjectData.inlineLimit`) or in data files.
public enum ObjectData: Sendable, Equatable {
    case inline([UInt8], crc: UInt32)
    case segments([ObjectSegment])

    /// Objects up to this size live in the metadata database: one transaction makes them
    /// durable, so concurrent small PUTs share an fsync (see `MetadataDatabase`).
    public static let inlineLimit = 64 * 1024

    public var segments: [ObjectSegment] {
        if case .segments(let s) = self { return s }
        return []
    }
}

/// The current version of an object: what HEAD and GET report, and where its data is.
public struct ObjectRecord: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var size: Int64
    /// Without quotes: an MD5 in hex, or MD5-of-MD5s "-N" for multipart uploads.
    public var etag: String
    public var lastModified: Date
    /// Content-Type, the other stored representation headers, and x-amz-meta-* entries,
    /// by lower-case header name.
    public var headers: [String: String]
    /// "ALGORITHM:base64" when the client sent an x-amz-checksum-* value.
    public var checksum: String?
    public var data: ObjectData
    /// Sizes of the parts of a multipart upload (empty for a single PUT).
    public var partSizes: [Int64]

    public init(bucket: String, key: String, size: Int64, etag: String, lastModified: Date,
                headers: [String: String], checksum: String?, data: ObjectData, partSizes: [Int64] = []) {
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.headers = headers
        self.checksum = checksum
        self.data = data
        self.partSizes = partSizes
    }

    public var contentType: String { headers["content-type"] ?? "binary/octet-stream" }
}

/// A multipart upload in progress.
public struct MultipartUpload: Sendable, Equatable, Codable {
    public var id: String
    public var bucket: String
    public var key: String
    public var initiated: Date
    public var headers: [String: String]
    public var checksumAlgorithm: ChecksumAlgorithm?
}

/// A part uploaded to a multipart upload.
public struct UploadedPart: Sendable, Equatable, Codable {
    public var number: Int
    public var size: Int64
    public var etag: String
    public var lastModified: Date
    public var segment: ObjectSegment
    public var checksum: String?
}
