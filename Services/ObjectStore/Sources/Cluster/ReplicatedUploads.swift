import Foundation
import NIOCore

/// Multipart uploads in cluster mode. An upload and its parts live on the replicas of the
/// object's (bucket, key), like the object will, so that every call may go through any
/// node (clients behind a load balancer send each part to whichever node). Creation and
/// each part are written to a quorum of the replicas; a part travels with its data, and
/// with the upload record so that a replica that missed the creation learns it.
extension ReplicatedObjects {
    /// The JSON header of a part transfer (`PUT /rpc/part`), followed by the part's bytes.
    public struct PartTransfer: Sendable, Codable {
        public var upload: MultipartUpload
        public var part: UploadedPart
    }

    public func createUpload(_ upload: MultipartUpload, ring: PlacementRing) async throws {
        let nodes = ring.nodes(bucket: upload.bucket, key: upload.key)
        let answers = await ask(nodes, enough: ring.quorum) { [metadata, rpc] _, address in
            if let address {
                _ = try await rpc.call(address, .PUT, "/rpc/upload", json: upload, as: [String: Bool].self)
            } else {
                try await metadata.storeUpload(upload)
            }
        }
        try Self.require(answers, ring.quorum, "CreateMultipartUpload")
    }

    /// Writes a part whose data file this node has just stored to a quorum of the upload's
    /// replicas; when this node is not one of them the file is dropped afterwards.
    public func putPart(_ part: UploadedPart, of upload: MultipartUpload, ring: PlacementRing) async throws {
        let nodes = ring.nodes(bucket: upload.bucket, key: upload.key)
        let staged = nodes.contains(nodeID) ? [] : [part.segment]
        let answers = await ask(nodes, enough: ring.quorum, afterAll: { [data] in await data.discard(staged) }) { [self] node, address in
            if let address {
                try await Self.send(part, of: upload, to: address, rpc: rpc, blobs: data.blobs)
            } else {
                await data.discard(try await metadata.storeReplicatedPart(part, of: upload))
            }
        }
        try Self.require(answers, ring.quorum, "UploadPart")
    }

    /// Sends a part with its data and its upload record to one node (`PUT /rpc/part`).
    static func send(_ part: UploadedPart, of upload: MultipartUpload, to address: String, rpc: RPCClient, blobs: BlobStore) async throws {
        let json = Array(try JSONEncoder().encode(PartTransfer(upload: upload, part: part)))
        let body = ObjectTransfer.Body(json: json, segments: [part.segment], blobs: blobs)
        _ = try await rpc.send(to: address, .PUT, "/rpc/part", headers: [(ObjectTransfer.lengthHeader, String(json.count))],
                               body: .stream(body, length: .known(Int64(json.count) + part.segment.size)), timeout: .seconds(300))
    }

    /// The upload and its parts as a read quorum of its replicas knows them (for each part
    /// number the newest part); `noSuchUpload` when none of them knows the upload, or one
    /// knows it ended (a replica that missed the end is then told to drop it).
    public func upload(id: String, bucket: String, key: String, withParts: Bool, ring: PlacementRing) async throws -> UploadCopy {
        let needed = consistency == .consistent ? ring.quorum : 1
        let answers = await ask(ring.nodes(bucket: bucket, key: key), enough: needed) { [metadata, rpc] _, address in
            if let address {
                return try await rpc.call(address, .GET, "/rpc/upload", query: ["id": id, "bucket": bucket, "key": key, "parts": String(withParts)],
                                          as: UploadAnswer.self)
            }
            return UploadAnswer(copy: try await metadata.replicatedUpload(id: id, bucket: bucket, key: key, withParts: withParts),
                                ended: try await metadata.hasEnded(upload: id))
        }
        try Self.require(answers, needed, "ListParts")
        if answers.successes.values.contains(where: { $0.ended == true }) {
            if answers.successes.values.contains(where: { $0.copy != nil }) {
                await dropUpload(id: id, bucket: bucket, key: key, keeping: [], ring: ring)
            }
            throw StoreError.noSuchUpload(id)
        }
        let copies = answers.successes.values.compactMap(\.copy)
        guard let first = copies.first else {
            try await metadata.requireBucket(bucket)
            throw StoreError.noSuchUpload(id)
        }
        var newest: [Int: UploadedPart] = [:]
        for part in copies.flatMap(\.parts) {
            if let known = newest[part.number],
               !part.isNewer(than: known.lastModified.millisecondsSince1970, etag: known.etag, blob: known.segment.blob) { continue }
            newest[part.number] = part
        }
        return UploadCopy(upload: first.upload, parts: newest.values.sorted { $0.number < $1.number })
    }

    /// Makes the assembled object current on a quorum of its replicas, then drops the
    /// upload on every replica that answers. Part files this node lacks (it is not a
    /// replica, or missed a part) are first fetched from the replicas, CRC-checked.
    public func complete(_ record: ObjectRecord, uploadID: String, ring: PlacementRing) async throws {
        let remote = Self.fetchBlocks(from: ring.nodes(bucket: record.bucket, key: record.key).filter { $0 != nodeID },
                                      membership: membership, rpc: rpc)
        var fetched: [ObjectSegment] = []
        for segment in record.data.segments where segment.size > 0 {
            guard await !data.blobs.exists(segment.blob) else { continue }
            let writer = try await data.blobs.makeWriter(blob: segment.blob)
            do {
                for index in segment.blockCRCs.indices { try await writer.write(try await remote(segment, index)) }
                let written = try await writer.finish()
                guard written.blockCRCs == segment.blockCRCs else {
                    await data.discard([written])
                    throw ObjectTransfer.Failure.checksumMismatch(blob: segment.blob)
                }
                fetched.append(segment)
            } catch {
                await writer.abort()
                await data.discard(fetched)
                throw error
            }
        }
        try await put(record, ring: ring)
        await dropUpload(id: uploadID, bucket: record.bucket, key: record.key, keeping: Set(record.data.segments.map(\.blob)), ring: ring)
    }

    /// Aborts an upload: dropped, with its parts' files, on a quorum of its replicas.
    public func abort(id: String, bucket: String, key: String, ring: PlacementRing) async throws {
        _ = try await upload(id: id, bucket: bucket, key: key, withParts: false, ring: ring)
        let answers = await dropUpload(id: id, bucket: bucket, key: key, keeping: [], ring: ring)
        try Self.require(answers, ring.quorum, "AbortMultipartUpload")
    }

    @discardableResult
    func dropUpload(id: String, bucket: String, key: String, keeping: Set<String>, ring: PlacementRing) async -> Answers<Void> {
        let nodes = ring.nodes(bucket: bucket, key: key)
        return await ask(nodes, enough: nodes.count) { [metadata, data, rpc] _, address in
            if let address {
                _ = try await rpc.call(address, .DELETE, "/rpc/upload", query: ["id": id, "bucket": bucket, "key": key],
                                       json: Array(keeping), as: [String: Bool].self)
            } else {
                await data.discard(try await metadata.dropUpload(id: id, bucket: bucket, key: key, keeping: keeping))
            }
        }
    }

    /// Uploads in progress in a bucket, the union of every storage node's (enough nodes must
    /// answer that each partition has a quorum among them), by key, initiation, id.
    public func listUploads(bucket: String, ring: PlacementRing) async throws -> [MultipartUpload] {
        let nodes = await membership.storageNodes
        let needed = consistency == .consistent ? max(1, nodes.count - (ring.replicationFactor - ring.quorum)) : 1
        let answers = await ask(nodes, enough: nodes.count) { [metadata, rpc] _, address in
            if let address {
                return try await rpc.call(address, .GET, "/rpc/uploads", query: ["bucket": bucket], as: UploadsAnswer.self)
            }
            return UploadsAnswer(uploads: try await metadata.listUploads(bucket: bucket),
                                 ended: try await metadata.endedUploads(bucket: bucket))
        }
        try Self.require(answers, needed, "ListMultipartUploads")
        let ended = Set(answers.successes.values.flatMap(\.ended))
        var byID: [String: MultipartUpload] = [:]
        for upload in answers.successes.values.flatMap(\.uploads) { byID[upload.id] = upload }
        // Copies kept by replicas that missed an upload's end: dropped there now.
        for id in byID.keys where ended.contains(id) {
            let stale = byID.removeValue(forKey: id)!
            await dropUpload(id: id, bucket: stale.bucket, key: stale.key, keeping: [], ring: ring)
        }
        return byID.values.sorted { ($0.key, $0.initiated, $0.id) < ($1.key, $1.initiated, $1.id) }
    }

    static func require<T>(_ answers: Answers<T>, _ needed: Int, _ operation: String) throws {
        guard answers.successes.count >= needed else {
            throw QuorumError(operation: operation, answered: answers.successes.count, needed: needed, failures: answers.failures)
        }
    }
}

/// `GET /rpc/upload`'s answer (wrapped, as `EntryAnswer`); `ended` when the node knows the
/// upload was completed or aborted.
public struct UploadAnswer: Sendable, Codable {
    public var copy: UploadCopy?
    public var ended: Bool?
}

/// `GET /rpc/uploads`'s answer: a node's uploads in a bucket and the ids it knows ended.
public struct UploadsAnswer: Sendable, Codable {
    public var uploads: [MultipartUpload]
    public var ended: [String]
}
