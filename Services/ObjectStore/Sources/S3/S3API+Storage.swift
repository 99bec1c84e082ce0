import Foundation

/// Where the S3 operations read and write objects: this node's storage alone (single node,
/// or a one-node layout: the fast path) or, in cluster mode, the object's replicas through
/// `ReplicatedObjects`. Operations call these instead of the metadata store directly.
extension S3API {
    /// The current version of an object (newest among a read quorum in cluster mode).
    func currentObject(bucket: String, key: String) async throws -> ObjectRecord {
        if let cluster, let ring = await cluster.ring() {
            return try await cluster.read(bucket: bucket, key: key, ring: ring)
        }
        return try await metadata.object(bucket: bucket, key: key)
    }

    /// Opens a record's data; in cluster mode, blocks missing here come from other replicas.
    func openData(_ record: ObjectRecord, range: ClosedRange<Int64>?) async throws -> ObjectDataReader {
        try await data.open(record.data, range: range, remote: await remoteBlocks(record))
    }

    func copyData(_ record: ObjectRecord, range: ClosedRange<Int64>?, forceFile: Bool = false) async throws -> (ObjectData, md5: [UInt8]) {
        try await data.copy(record.data, range: range, forceFile: forceFile, remote: await remoteBlocks(record))
    }

    func remoteBlocks(_ record: ObjectRecord) async -> ObjectDataStore.RemoteBlocks? {
        guard let cluster, let ring = await cluster.ring() else { return nil }
        return cluster.remoteBlocks(bucket: record.bucket, key: record.key, ring: ring)
    }

    /// Makes `record` (data already stored here) the object's current version. When the
    /// write fails before anything was committed its data files are removed again; a
    /// cluster write that missed its quorum keeps them, since some replicas (this one
    /// included) may have committed the entry that refers to them.
    func commit(_ record: ObjectRecord) async throws {
        if let cluster, let ring = await cluster.ring() {
            do {
                try await metadata.requireBucket(record.bucket)
            } catch {
                await data.discard(record.data.segments)
                throw error
            }
            try await cluster.put(record, ring: ring)
            return
        }
        do {
            await data.discard(try await metadata.putObject(record))
        } catch {
            await data.discard(record.data.segments)
            throw error
        }
    }

    func removeObject(bucket: String, key: String) async throws {
        if let cluster, let ring = await cluster.ring() {
            try await cluster.delete(bucket: bucket, key: key, ring: ring)
        } else {
            await data.discard(try await metadata.deleteObject(bucket: bucket, key: key))
        }
    }

    func removeObjects(bucket: String, keys: [String]) async throws {
        guard let cluster, let ring = await cluster.ring() else {
            await data.discard(try await metadata.deleteObjects(bucket: bucket, keys: keys))
            return
        }
        for key in keys { try await cluster.delete(bucket: bucket, key: key, ring: ring) }
    }

    /// A page of keys for `BucketListing.build`.
    func listPage(bucket: String, from: String, exclusive: Bool, limit: Int) async throws -> [ObjectSummary] {
        if let cluster, let ring = await cluster.ring() {
            return try await cluster.list(bucket: bucket, from: from, exclusive: exclusive, limit: limit, ring: ring)
        }
        return try await metadata.listObjects(bucket: bucket, from: from, exclusive: exclusive, limit: limit)
    }

    /// In cluster mode a bucket's objects are spread over the nodes, so emptiness is
    /// checked with a cluster listing before the (local) catalog delete.
    func requireEmptyBucket(_ bucket: String) async throws {
        guard let cluster, let ring = await cluster.ring() else { return }
        let any = try await cluster.list(bucket: bucket, from: "", exclusive: false, limit: 1, ring: ring)
        guard any.isEmpty else { throw StoreError.bucketNotEmpty(bucket) }
    }
}

