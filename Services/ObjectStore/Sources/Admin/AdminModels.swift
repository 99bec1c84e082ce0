/// JSON bodies of the admin API, shaped like Garage's admin API v1
/// (https://garagehq.deuxfleurs.fr/api/garage-admin-v1.html) so that its clients can read them.
public enum AdminModels {
    public struct Permissions: Codable, Sendable, Equatable {
        public var read: Bool?
        public var write: Bool?
        public var owner: Bool?

        public init(read: Bool? = nil, write: Bool? = nil, owner: Bool? = nil) {
            self.read = read
            self.write = write
            self.owner = owner
        }
    }

    public struct KeyPermissions: Codable, Sendable, Equatable {
        public var createBucket: Bool?
        public init(createBucket: Bool?) { self.createBucket = createBucket }
    }

    public struct KeyBucket: Codable, Sendable, Equatable {
        public var id: String
        public var globalAliases: [String]
        public var localAliases: [String]
        public var permissions: Permissions
    }

    public struct KeyInfo: Codable, Sendable, Equatable {
        public var name: String
        public var accessKeyId: String
        public var secretAccessKey: String?
        public var permissions: KeyPermissions
        public var buckets: [KeyBucket]
    }

    public struct KeyListItem: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
    }

    public struct CreateKeyRequest: Codable, Sendable {
        public var name: String?
        public init(name: String?) { self.name = name }
    }

    public struct ImportKeyRequest: Codable, Sendable {
        public var accessKeyId: String
        public var secretAccessKey: String
        public var name: String?
        public init(accessKeyId: String, secretAccessKey: String, name: String?) {
            self.accessKeyId = accessKeyId
            self.secretAccessKey = secretAccessKey
            self.name = name
        }
    }

    public struct UpdateKeyRequest: Codable, Sendable {
        public var name: String?
        public var allow: KeyPermissions?
        public var deny: KeyPermissions?
        public init(name: String? = nil, allow: KeyPermissions? = nil, deny: KeyPermissions? = nil) {
            self.name = name
            self.allow = allow
            self.deny = deny
        }
    }

    public struct BucketListItem: Codable, Sendable, Equatable {
        public var id: String
        public var globalAliases: [String]
        public var localAliases: [String]
    }

    public struct BucketKey: Codable, Sendable, Equatable {
        public var accessKeyId: String
        public var name: String
        public var bucketLocalAliases: [String]
        public var permissions: Permissions
    }

    public struct BucketInfo: Codable, Sendable, Equatable {
        public var id: String
        public var globalAliases: [String]
        public var websiteAccess: Bool
        public var keys: [BucketKey]
        public var objects: Int
        public var bytes: Int64
        public var unfinishedUploads: Int
    }

    public struct CreateBucketRequest: Codable, Sendable {
        public var globalAlias: String?
        public init(globalAlias: String?) { self.globalAlias = globalAlias }
    }

    public struct BucketKeyPermissionRequest: Codable, Sendable {
        public var bucketId: String
        public var accessKeyId: String
        public var permissions: Permissions
        public init(bucketId: String, accessKeyId: String, permissions: Permissions) {
            self.bucketId = bucketId
            self.accessKeyId = accessKeyId
            self.permissions = permissions
        }
    }

    public struct NodeRole: Codable, Sendable, Equatable {
        public var id: String
        public var zone: String
        public var capacity: Int64?
        public var tags: [String]
        public init(id: String, zone: String, capacity: Int64?, tags: [String]) {
            self.id = id
            self.zone = zone
            self.capacity = capacity
            self.tags = tags
        }
    }

    public struct Layout: Codable, Sendable, Equatable {
        public var version: Int
        public var roles: [NodeRole]
        public var stagedRoleChanges: [NodeRole]
    }

    public struct ApplyLayoutRequest: Codable, Sendable {
        public var version: Int
        public init(version: Int) { self.version = version }
    }

    public struct Status: Codable, Sendable, Equatable {
        public var node: String
        public var garageVersion: String
        public var dbEngine: String
        public var layoutVersion: Int
        public var rpcPublicAddr: String?
        /// This node first, then every peer it knows.
        public var knownNodes: [KnownNode]
    }

    public struct ConnectResult: Codable, Sendable, Equatable {
        public var success: Bool
        public var error: String?
    }

    public struct ErrorBody: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public var path: String?
    }
}
