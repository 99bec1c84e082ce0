import Foundation
import HTTPTypes
import Hummingbird
import VigilService

/// An admin API failure: HTTP status, Garage's error code and a message.
public struct AdminError: Error, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var description: String { "\(code): \(message)" }

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    init(_ error: StoreError) {
        switch error {
        case .noSuchBucket: self.init(.notFound, "NoSuchBucket", error.description)
        case .noSuchAccessKey: self.init(.notFound, "NoSuchAccessKey", error.description)
        case .bucketAlreadyExists, .bucketAlreadyOwnedByYou: self.init(.conflict, "BucketAlreadyExists", error.description)
        case .bucketNotEmpty: self.init(.conflict, "BucketNotEmpty", error.description)
        default: self.init(.badRequest, "InvalidRequest", error.description)
        }
    }
}

/// The admin HTTP API (Garage's v1 paths): keys, buckets, permissions, layout and status,
/// behind `Authorization: Bearer <admin_token>`; `/health` and `/metrics` need no token
/// unless a metrics token is configured. The CLI is a client of this API.
public struct AdminAPI: Sendable {
    let metadata: MetadataStore
    let layout: LayoutManager
    let adminToken: String?
    let metricsToken: String?
    let metrics: SelfMetrics
    /// The cluster view, when the node has an RPC address and secret.
    let membership: ClusterMembership?

    public init(metadata: MetadataStore, layout: LayoutManager, adminToken: String?, metricsToken: String?, metrics: SelfMetrics,
                membership: ClusterMembership? = nil) {
        self.membership = membership
        self.metadata = metadata
        self.layout = layout
        self.adminToken = adminToken
        self.metricsToken = metricsToken
        self.metrics = metrics
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "Object store is fully operational\n")))
        }
        let registry = metrics.registry
        router.get("/metrics") { [metricsToken] request, _ in
            if let metricsToken, request.headers[.authorization] != "Bearer \(metricsToken)" {
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "metrics token required\n")))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let v1 = router.group("v1")
        v1.get("status") { request, _ in try await handle(request) { try await status() } }
        v1.get("key") { request, _ in try await handle(request) { try await getKey(request) } }
        v1.post("key") { request, _ in try await handle(request) { try await postKey(request) } }
        v1.post("key/import") { request, _ in try await handle(request) { try await importKey(request) } }
        v1.delete("key") { request, _ in try await handle(request) { try await deleteKey(request) } }
        v1.get("bucket") { request, _ in try await handle(request) { try await getBucket(request) } }
        v1.post("bucket") { request, _ in try await handle(request) { try await createBucket(request) } }
        v1.delete("bucket") { request, _ in try await handle(request) { try await deleteBucket(request) } }
        v1.post("bucket/allow") { request, _ in try await handle(request) { try await changeGrant(request, allow: true) } }
        v1.post("bucket/deny") { request, _ in try await handle(request) { try await changeGrant(request, allow: false) } }
        v1.get("layout") { request, _ in try await handle(request) { try await layout.current() } }
        v1.post("layout") { request, _ in
            try await handle(request) { try await layout.stage(try await decode([AdminModels.NodeRole].self, request)) }
        }
        v1.post("layout/apply") { request, _ in
            try await handle(request) { try await layout.apply(version: try await decode(AdminModels.ApplyLayoutRequest.self, request).version) }
        }
        v1.post("layout/revert") { request, _ in try await handle(request) { try await layout.revert() } }
        v1.post("connect") { request, _ in try await handle(request) { try await connect(request) } }
    }

    /// Checks the bearer token, runs `body` and encodes its result (or error) as JSON.
    func handle<T: Encodable>(_ request: Request, _ body: () async throws -> T) async throws -> Response {
        do {
            guard let adminToken else {
                throw AdminError(.forbidden, "Forbidden", "The admin API is disabled: set admin_token in the [admin] section")
            }
            guard request.headers[.authorization] == "Bearer \(adminToken)" else {
                throw AdminError(.forbidden, "Forbidden", "Invalid or missing bearer token")
            }
            return try Self.json(try await body())
        } catch let error as AdminError {
            return try Self.json(AdminModels.ErrorBody(code: error.code, message: error.message, path: request.uri.path), status: error.status)
        } catch let error as StoreError {
            let admin = AdminError(error)
            return try Self.json(AdminModels.ErrorBody(code: admin.code, message: admin.message, path: request.uri.path), status: admin.status)
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let body = try await request.body.collect(upTo: 1 << 20)
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw AdminError(.badRequest, "InvalidRequest", "The request body is not a valid \(type) JSON document: \(error)")
        }
    }

    func status() async throws -> AdminModels.Status {
        let me = try await layout.nodeID()
        let nodes = await membership?.knownNodes() ?? [KnownNode(id: me, address: layout.rpcPublicAddr, isUp: true, lastSeenSecsAgo: nil)]
        return AdminModels.Status(node: me, garageVersion: "vigil-object-store", dbEngine: "sqlite",
                                  layoutVersion: try await layout.current().version, rpcPublicAddr: layout.rpcPublicAddr,
                                  knownNodes: nodes)
    }

    /// POST /v1/connect with `["<id>@<host>:<port>", ...]`, as Garage's: one result per peer.
    func connect(_ request: Request) async throws -> [AdminModels.ConnectResult] {
        guard let membership else {
            throw AdminError(.badRequest, "InvalidRequest", "This node has no rpc_bind_addr and rpc_secret, so it cannot join a cluster")
        }
        var results: [AdminModels.ConnectResult] = []
        for peer in try await decode([String].self, request) {
            do {
                try await membership.connect(peer)
                results.append(.init(success: true, error: nil))
            } catch {
                results.append(.init(success: false, error: "\(error)"))
            }
        }
        return results
    }

    // MARK: keys

    func keyInfo(_ key: AccessKey, showSecret: Bool) async throws -> AdminModels.KeyInfo {
        var buckets: [AdminModels.KeyBucket] = []
        for grant in try await metadata.grants(forKey: key.id) {
            let bucket = try await metadata.bucket(named: grant.bucket)
            buckets.append(.init(id: bucket.id, globalAliases: [bucket.name], localAliases: [],
                                 permissions: .init(read: grant.permission.read, write: grant.permission.write, owner: grant.permission.owner)))
        }
        return AdminModels.KeyInfo(name: key.name, accessKeyId: key.id, secretAccessKey: showSecret ? key.secret : nil,
                                   permissions: .init(createBucket: key.allowCreateBucket), buckets: buckets)
    }

    func getKey(_ request: Request) async throws -> AdminKeyAnswer {
        let query = request.uri.queryParameters
        let showSecret = query["showSecretKey"].map { $0 == "true" } ?? false
        if let id = query["id"] {
            guard let key = try await metadata.key(id: String(id)) else { throw StoreError.noSuchAccessKey(String(id)) }
            return .info(try await keyInfo(key, showSecret: showSecret))
        }
        if let search = query["search"] {
            return .info(try await keyInfo(try await metadata.findKey(String(search)), showSecret: showSecret))
        }
        return .list(try await metadata.listKeys().map { .init(id: $0.id, name: $0.name) })
    }

    /// POST /v1/key creates a key; POST /v1/key?id=… updates one (name is kept, flags change).
    func postKey(_ request: Request) async throws -> AdminModels.KeyInfo {
        if let id = request.uri.queryParameters["id"] {
            let update = try await decode(AdminModels.UpdateKeyRequest.self, request)
            guard let key = try await metadata.key(id: String(id)) else { throw StoreError.noSuchAccessKey(String(id)) }
            if update.allow?.createBucket == true { try await metadata.setKey(id: key.id, allowCreateBucket: true) }
            if update.deny?.createBucket == true { try await metadata.setKey(id: key.id, allowCreateBucket: false) }
            return try await keyInfo(try await metadata.key(id: key.id) ?? key, showSecret: false)
        }
        let create = try await decode(AdminModels.CreateKeyRequest.self, request)
        let key = try await metadata.createKey(name: create.name ?? "Unnamed key")
        return try await keyInfo(key, showSecret: true)
    }

    func importKey(_ request: Request) async throws -> AdminModels.KeyInfo {
        let body = try await decode(AdminModels.ImportKeyRequest.self, request)
        guard body.accessKeyId.hasPrefix("GK"), body.accessKeyId.count == 26, body.accessKeyId.dropFirst(2).allSatisfy(\.isHexDigit) else {
            throw AdminError(.badRequest, "InvalidRequest", "An access key id is GK followed by 24 hex digits")
        }
        guard body.secretAccessKey.count == 64, body.secretAccessKey.allSatisfy(\.isHexDigit) else {
            throw AdminError(.badRequest, "InvalidRequest", "A secret key is 64 hex digits")
        }
        if try await metadata.key(id: body.accessKeyId) != nil {
            throw AdminError(.conflict, "KeyAlreadyExists", "Key \(body.accessKeyId) already exists")
        }
        let key = AccessKey(id: body.accessKeyId, secret: body.secretAccessKey, name: body.name ?? "Imported key")
        try await metadata.importKey(key)
        return try await keyInfo(key, showSecret: true)
    }

    func deleteKey(_ request: Request) async throws -> [String: String] {
        guard let id = request.uri.queryParameters["id"] else { throw AdminError(.badRequest, "InvalidRequest", "id is required") }
        try await metadata.deleteKey(id: String(id))
        return [:]
    }

    // MARK: buckets

    func bucketName(_ request: Request) async throws -> String {
        let query = request.uri.queryParameters
        if let id = query["id"] {
            guard let name = try await metadata.bucketName(id: String(id)) else { throw StoreError.noSuchBucket(String(id)) }
            return name
        }
        if let alias = query["globalAlias"] { return String(alias) }
        throw AdminError(.badRequest, "InvalidRequest", "Give the bucket as ?id= or ?globalAlias=")
    }

    func bucketInfo(_ name: String) async throws -> AdminModels.BucketInfo {
        let bucket = try await metadata.bucket(named: name)
        let usage = try await metadata.usage(bucket: name)
        var keys: [AdminModels.BucketKey] = []
        for (keyID, permission) in bucket.grants.sorted(by: { $0.key < $1.key }) {
            let key = try await metadata.key(id: keyID)
            keys.append(.init(accessKeyId: keyID, name: key?.name ?? "", bucketLocalAliases: [],
                              permissions: .init(read: permission.read, write: permission.write, owner: permission.owner)))
        }
        return AdminModels.BucketInfo(id: bucket.id, globalAliases: [bucket.name], websiteAccess: false, keys: keys,
                                      objects: usage.objects, bytes: usage.bytes, unfinishedUploads: usage.uploads)
    }

    func getBucket(_ request: Request) async throws -> AdminBucketAnswer {
        let query = request.uri.queryParameters
        if query["id"] != nil || query["globalAlias"] != nil {
            return .info(try await bucketInfo(try await bucketName(request)))
        }
        return .list(try await metadata.listBuckets().map { .init(id: $0.id, globalAliases: [$0.name], localAliases: []) })
    }

    func createBucket(_ request: Request) async throws -> AdminModels.BucketInfo {
        let body = try await decode(AdminModels.CreateBucketRequest.self, request)
        guard let name = body.globalAlias else {
            throw AdminError(.badRequest, "InvalidRequest", "globalAlias is required (buckets without a global alias are not supported)")
        }
        try await metadata.createBucket(name: name)
        return try await bucketInfo(name)
    }

    func deleteBucket(_ request: Request) async throws -> [String: String] {
        let name = try await bucketName(request)
        _ = try await metadata.deleteBucket(name: name)
        return [:]
    }

    func changeGrant(_ request: Request, allow: Bool) async throws -> AdminModels.BucketInfo {
        let body = try await decode(AdminModels.BucketKeyPermissionRequest.self, request)
        guard let name = try await metadata.bucketName(id: body.bucketId) else { throw StoreError.noSuchBucket(body.bucketId) }
        let flags = BucketPermission(read: body.permissions.read ?? false, write: body.permissions.write ?? false, owner: body.permissions.owner ?? false)
        try await metadata.changeGrant(bucket: name, keyID: body.accessKeyId, flags: flags, allow: allow)
        return try await bucketInfo(name)
    }
}

/// GET /v1/key answers a list, or one key's info when given ?id= or ?search=.
enum AdminKeyAnswer: Encodable {
    case list([AdminModels.KeyListItem])
    case info(AdminModels.KeyInfo)

    func encode(to encoder: Encoder) throws {
        switch self {
        case .list(let items): try items.encode(to: encoder)
        case .info(let info): try info.encode(to: encoder)
        }
    }
}

/// GET /v1/bucket answers a list, or one bucket's info when given ?id= or ?globalAlias=.
enum AdminBucketAnswer: Encodable {
    case list([AdminModels.BucketListItem])
    case info(AdminModels.BucketInfo)

    func encode(to encoder: Encoder) throws {
        switch self {
        case .list(let items): try items.encode(to: encoder)
        case .info(let info): try info.encode(to: encoder)
        }
    }
}
