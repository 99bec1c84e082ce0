import Foundation
import NIOCore

/// After a layout change, entries this node holds in partitions it is no longer a replica
/// of are handed to the partition's current replicas: each replica's version list is
/// fetched, every entry it lacks (or holds older) is pushed with its data like a write
/// (`PUT /rpc/object`), and once every current replica has confirmed the partition, this
/// node drops its copy (rows and data files, no tombstone). Partitions whose replicas are
/// not all reachable are kept for a later round. Multipart uploads in progress are handed
/// over the same way.
extension PartitionRepair {
    /// One handoff pass; returns how many entries were dropped here after being handed over.
    @discardableResult
    public func handOff() async -> Int {
        guard let ring = await membership.placement, let all = try? await metadata.allVersions() else { return 0 }
        let me = membership.nodeID
        var foreign: [Int: [EntryVersion]] = [:]
        for entry in all {
            let partition = PlacementRing.partition(bucket: entry.bucket, key: entry.key)
            if !ring.partitions[partition].contains(me) { foreign[partition, default: []].append(entry) }
        }
        var dropped = 0
        for (partition, entries) in foreign.sorted(by: { $0.key < $1.key }) {
            do {
                guard try await handOff(entries, partition: partition, to: ring.partitions[partition]) else { continue }
                let (count, segments) = try await metadata.drop(entries)
                await data.discard(segments)
                dropped += count
            } catch {
                // Most likely a replica that stopped answering: the next round tries again,
                // rather than this one waiting out a timeout per partition.
                logger.warning("handoff of partition \(partition) stopped: \(error)")
                break
            }
        }
        if dropped > 0 { logger.info("handed \(dropped) entries over to their new replicas after a layout change") }
        await handOffUploads(ring: ring)
        return dropped
    }

    /// The same for multipart uploads in progress: each one of a key this node no longer
    /// holds goes, with every part, to all of the key's current replicas, then is dropped here.
    func handOffUploads(ring: PlacementRing) async {
        guard let uploads = try? await metadata.allUploads() else { return }
        for upload in uploads where !ring.nodes(bucket: upload.bucket, key: upload.key).contains(membership.nodeID) {
            do {
                guard let copy = try await metadata.replicatedUpload(id: upload.id, bucket: upload.bucket, key: upload.key, withParts: true) else { continue }
                var handed = true
                for node in ring.nodes(bucket: upload.bucket, key: upload.key) {
                    guard await membership.isUp(node), let address = await membership.peerAddress(node) else { handed = false; break }
                    _ = try await rpc.call(address, .PUT, "/rpc/upload", json: copy.upload, as: [String: Bool].self)
                    for part in copy.parts {
                        try await ReplicatedObjects.send(part, of: copy.upload, to: address, rpc: rpc, blobs: data.blobs)
                    }
                }
                guard handed else { continue }
                await data.discard(try await metadata.dropUpload(id: upload.id, bucket: upload.bucket, key: upload.key, keeping: [], ended: false))
                logger.info("handed upload \(upload.id) of \(upload.bucket)/\(upload.key) over to its new replicas")
            } catch {
                logger.warning("handoff of upload \(upload.id) stopped: \(error)")
                break
            }
        }
    }

    /// Pushes what each replica lacks; true once all of them hold every entry (or newer).
    func handOff(_ entries: [EntryVersion], partition: Int, to replicas: [String]) async throws -> Bool {
        guard !replicas.isEmpty else { return false }
        for node in replicas {
            guard await membership.isUp(node), let address = await membership.peerAddress(node) else { return false }
            let theirs = try await rpc.call(address, .GET, "/rpc/partition/\(partition)", as: [EntryVersion].self)
            var known: [String: String] = [:]
            for entry in theirs { known[entry.bucket + "\u{0}" + entry.key] = entry.version }
            for entry in entries where VersionOrder.supersedes(entry.version, known[entry.bucket + "\u{0}" + entry.key]) {
                guard let local = try await metadata.entry(bucket: entry.bucket, key: entry.key) else { continue }
                let json = Array(try JSONEncoder().encode(local))
                let body = ObjectTransfer.Body(json: json, entry: local, blobs: data.blobs)
                _ = try await rpc.send(to: address, .PUT, "/rpc/object", headers: [(ObjectTransfer.lengthHeader, String(json.count))],
                                       body: .stream(body, length: .known(ObjectTransfer.length(json: json, entry: local))),
                                       timeout: .seconds(300))
            }
        }
        return true
    }
}
