import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The node-to-node API on `rpc_bind_addr`. Every route needs a valid RPC signature
/// (`RPCAuthentication`); handlers only touch this node's own storage, the coordinator
/// logic that combines several nodes' answers is in `ReplicatedObjects` and `PartitionRepair`.
///
/// | route | does |
/// |---|---|
/// | `POST /rpc/gossip` | exchange `GossipMessage`s |
/// | `GET /rpc/layout` | the applied layout |
/// | `GET`/`POST /rpc/catalog` | read / merge a `CatalogSnapshot` |
/// | `PUT /rpc/object` | receive an entry with its data (`ObjectTransfer`) and merge it |
/// | `GET /rpc/object?bucket=&key=` | send this node's entry with its data (404 if none) |
/// | `GET /rpc/entry?bucket=&key=` | this node's entry, without data (`null` if none) |
/// | `GET /rpc/block/<blob>/<index>?size=&crc=` | one verified block of a data file |
/// | `GET /rpc/list?bucket=&from=&exclusive=&limit=` | a listing page with tombstones |
/// | `GET /rpc/digests` | per-partition digests |
/// | `GET /rpc/partition/<p>` | the (bucket, key, version) list of a partition |
///
/// Multipart upload routes are in `RPCServer+Uploads.swift`.
public struct RPCServer: Sendable {
    let membership: ClusterMembership
    let metadata: MetadataStore
    let data: ObjectDataStore
    let auth: RPCAuthentication

    public init(membership: ClusterMembership, metadata: MetadataStore, data: ObjectDataStore, secret: String) {
        self.membership = membership
        self.metadata = metadata
        self.data = data
        auth = RPCAuthentication(secret: secret)
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RPCAuthMiddleware(auth: auth))
        let rpc = router.group("rpc")
        rpc.post("gossip") { request, _ in
            try Self.json(try await membership.receive(try await Self.decode(GossipMessage.self, request)))
        }
        rpc.get("layout") { _, _ in try Self.json(try await LayoutManager(metadata: metadata, rpcPublicAddr: nil).current()) }
        rpc.get("catalog") { _, _ in try Self.json(try await metadata.catalogSnapshot()) }
        rpc.post("catalog") { request, _ in
            let changed = try await metadata.mergeCatalog(try await Self.decode(CatalogSnapshot.self, request))
            return try Self.json(["changed": changed])
        }
        rpc.put("object") { request, _ in
            guard let length = request.headers[HTTPField.Name(ObjectTransfer.lengthHeader)!].flatMap(Int.init) else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "missing \(ObjectTransfer.lengthHeader)")))
            }
            let entry = try await ObjectTransfer.receive(request.body, entryLength: length, blobs: data.blobs)
            let (applied, replaced) = try await metadata.merge([entry])
            await data.discard(replaced)
            if applied == 0 { await data.discard(Self.unreferenced(entry.segments, by: try await metadata.entry(bucket: entry.bucket, key: entry.key))) }
            return try Self.json(["applied": applied])
        }
        rpc.get("object") { request, _ in
            let (bucket, key) = try Self.objectName(request)
            guard let entry = try await metadata.entry(bucket: bucket, key: key) else { return Response(status: .notFound) }
            let json = Array(try JSONEncoder().encode(entry))
            let body = ObjectTransfer.Body(json: json, entry: entry, blobs: data.blobs)
            var headers = HTTPFields()
            headers[HTTPField.Name(ObjectTransfer.lengthHeader)!] = String(json.count)
            return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: Int(ObjectTransfer.length(json: json, entry: entry))) { writer in
                for try await buffer in body { try await writer.write(buffer) }
                try await writer.finish(nil)
            })
        }
        rpc.get("entry") { request, _ in
            let (bucket, key) = try Self.objectName(request)
            return try Self.json(EntryAnswer(entry: try await metadata.entry(bucket: bucket, key: key)))
        }
        rpc.get("block/:blob/:index") { request, context in
            let blob = try context.parameters.require("blob")
            let index = try context.parameters.require("index", as: Int.self)
            let query = request.uri.queryParameters
            guard blob.utf8.count == 32, blob.allSatisfy(\.isHexDigit), let size = query["size"].flatMap({ Int64(String($0)) }), let crc = query["crc"].flatMap({ UInt32(String($0)) }),
                  index >= 0 else {
                return Response(status: .badRequest)
            }
            // Only the CRC of the wanted block is known here; the others are never read.
            var crcs = [UInt32](repeating: 0, count: index + 1)
            crcs[index] = crc
            let block = try await data.blobs.readBlock(ObjectSegment(blob: blob, size: size, blockCRCs: crcs), index: index)
            return Response(status: .ok, body: .init(byteBuffer: block))
        }
        rpc.get("list") { request, _ in
            let query = request.uri.queryParameters
            guard let bucket = query["bucket"], let limit = query["limit"].flatMap({ Int(String($0)) }) else { return Response(status: .badRequest) }
            return try Self.json(try await metadata.listEntries(bucket: String(bucket), from: String(query["from"] ?? ""),
                                                                exclusive: query["exclusive"] == "true", limit: min(limit, 10_000)))
        }
        rpc.get("digests") { _, _ in
            try Self.json(Dictionary(uniqueKeysWithValues: try await metadata.partitionDigests().map { (String($0.key), $0.value) }))
        }
        rpc.get("partition/:p") { _, context in
            try Self.json(try await metadata.versions(inPartition: try context.parameters.require("p", as: Int.self)))
        }
        addUploadRoutes(to: rpc)
        return router
    }

    /// Segments a received entry brought that the stored entry does not use (the transfer
    /// lost to a newer version).
    static func unreferenced(_ segments: [ObjectSegment], by stored: ObjectEntry?) -> [ObjectSegment] {
        let used = Set(stored?.segments.map(\.blob) ?? [])
        return segments.filter { !used.contains($0.blob) }
    }

    static func objectName(_ request: Request) throws -> (String, String) {
        let query = request.uri.queryParameters
        guard let bucket = query["bucket"], let key = query["key"] else {
            throw HTTPError(.badRequest, message: "bucket and key are required")
        }
        return (String(bucket), String(key))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let body = try await request.body.collect(upTo: 64 << 20)
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "body is not a \(type): \(error)")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
    }
}

/// `GET /rpc/entry`'s answer (an object wrapper, since a bare JSON `null` is not every
/// decoder's idea of a document).
public struct EntryAnswer: Sendable, Codable {
    public var entry: ObjectEntry?
}

/// Refuses (403) every request without a valid RPC signature.
struct RPCAuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let auth: RPCAuthentication

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            try auth.verify(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                            time: request.headers[HTTPField.Name(RPCAuthentication.timeHeader)!],
                            signature: request.headers[HTTPField.Name(RPCAuthentication.signatureHeader)!])
        } catch {
            return Response(status: .forbidden, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: error.description + "\n")))
        }
        return try await next(request, context)
    }
}
