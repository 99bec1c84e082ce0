import Crypto
import Foundation

/// Keys, buckets and grants: small tables that every node holds whole. Nodes compare a
/// digest of their snapshot in each gossip round and pull the other's snapshot when the
/// digests differ; rows merge one by one by version (`VersionOrder`), deletes travel as
/// tombstones.
public struct CatalogSnapshot: Sendable, Equatable, Codable {
    public struct KeyRow: Sendable, Equatable, Codable {
        public var id: String
        public var secret: String
        public var name: String
        public var createBucket: Bool
        public var created: Int64
        public var version: String
    }

    public struct BucketRow: Sendable, Equatable, Codable {
        public var name: String
        public var id: String
        public var created: Int64
        public var version: String
    }

    public struct GrantRow: Sendable, Equatable, Codable {
        public var bucket: String
        public var keyID: String
        public var read: Bool
        public var write: Bool
        public var owner: Bool
        public var version: String

        /// The name a grant's tombstone is filed under (bucket names cannot contain "/").
        public var tombstoneName: String { Self.tombstoneName(bucket: bucket, keyID: keyID) }
        public static func tombstoneName(bucket: String, keyID: String) -> String { bucket + "/" + keyID }
    }

    /// A deleted key ("key", id), bucket ("bucket", name) or grant ("grant", bucket/key).
    public struct Tombstone: Sendable, Equatable, Codable {
        public var kind: String
        public var name: String
        public var version: String
    }

    public var keys: [KeyRow] = []
    public var buckets: [BucketRow] = []
    public var grants: [GrantRow] = []
    public var tombstones: [Tombstone] = []

    public init() {}

    /// SHA-256 of the canonical JSON (rows sorted by the queries that build the snapshot).
    public var digest: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(self)) ?? Data()
        return Array(SHA256.hash(data: data)).hexString
    }
}
