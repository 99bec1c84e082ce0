import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The routes for replicated multipart uploads (`ReplicatedUploads`):
///
/// | route | does |
/// |---|---|
/// | `PUT /rpc/upload` | store an upload record (JSON) |
/// | `GET /rpc/upload?id=&bucket=&key=&parts=` | this node's copy of an upload, or that it ended (`UploadAnswer`) |
/// | `DELETE /rpc/upload?id=&bucket=&key=` | drop an upload; the body lists data files to keep |
/// | `GET /rpc/uploads?bucket=` | this node's uploads in a bucket and the ids of those it knows ended (`UploadsAnswer`) |
/// | `PUT /rpc/part` | receive a part with its data (`PartTransfer`, then the bytes) |
extension RPCServer {
    func addUploadRoutes(to rpc: RouterGroup<BasicRequestContext>) {
        rpc.put("upload") { request, _ in
            try await metadata.storeUpload(try await Self.decode(MultipartUpload.self, request))
            return try Self.json(["stored": true])
        }
        rpc.get("upload") { request, _ in
            let (bucket, key) = try Self.objectName(request)
            guard let id = request.uri.queryParameters["id"] else { return Response(status: .badRequest) }
            return try Self.json(UploadAnswer(
                copy: try await metadata.replicatedUpload(id: String(id), bucket: bucket, key: key,
                                                          withParts: request.uri.queryParameters["parts"] != "false"),
                ended: try await metadata.hasEnded(upload: String(id))))
        }
        rpc.delete("upload") { request, _ in
            let (bucket, key) = try Self.objectName(request)
            guard let id = request.uri.queryParameters["id"] else { return Response(status: .badRequest) }
            let keeping = try await Self.decode([String].self, request)
            await data.discard(try await metadata.dropUpload(id: String(id), bucket: bucket, key: key, keeping: Set(keeping)))
            return try Self.json(["dropped": true])
        }
        rpc.get("uploads") { request, _ in
            guard let bucket = request.uri.queryParameters["bucket"] else { return Response(status: .badRequest) }
            return try Self.json(UploadsAnswer(uploads: try await metadata.listUploads(bucket: String(bucket)),
                                               ended: try await metadata.endedUploads(bucket: String(bucket))))
        }
        rpc.put("part") { request, _ in
            guard let length = request.headers[HTTPField.Name(ObjectTransfer.lengthHeader)!].flatMap(Int.init) else {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "missing \(ObjectTransfer.lengthHeader)")))
            }
            let transfer = try await ObjectTransfer.receive(request.body, entryLength: length, blobs: data.blobs,
                                                            as: ReplicatedObjects.PartTransfer.self, segments: { [$0.part.segment] })
            await data.discard(try await metadata.storeReplicatedPart(transfer.part, of: transfer.upload))
            return try Self.json(["stored": true])
        }
    }
}
