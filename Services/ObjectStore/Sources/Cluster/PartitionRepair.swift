import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Anti-entropy between replicas: for every partition this node shares with a peer, the
/// two digests are compared; where they differ, the peer's (bucket, key, version) list is
/// fetched and every entry the peer has in a newer version (objects and tombstones) is
/// pulled with its data (`GET /rpc/object`, CRCs checked) and merged. Each node pulls, so
/// after a round on both sides the two hold the same versions.
///
/// A round runs every `anti_entropy_interval_msec` and whenever a peer comes back up, and
/// ends with a handoff of partitions this node lost in a layout change (`PartitionHandoff`).
public actor PartitionRepair {
    let membership: ClusterMembership
    let metadata: MetadataStore
    let data: ObjectDataStore
    let rpc: RPCClient
    let logger: Logger
    private var wanted = false
    private var wakeUp: CheckedContinuation<Void, Never>?

    public init(membership: ClusterMembership, metadata: MetadataStore, data: ObjectDataStore, rpc: RPCClient, logger: Logger) {
        self.membership = membership
        self.metadata = metadata
        self.data = data
        self.rpc = rpc
        self.logger = logger
    }

    /// Asks for a round as soon as the current one (if any) is over.
    public func trigger() {
        wanted = true
        wakeUp?.resume()
        wakeUp = nil
    }

    /// Runs rounds until cancelled: on `trigger()` or every `interval`.
    public func run(interval: Duration) async {
        while !Task.isCancelled {
            wanted = false
            _ = await round()
            if wanted { continue }
            let sleeper = Task { [weak self] in
                try? await Task.sleep(for: interval)
                await self?.trigger()
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    if wanted || Task.isCancelled { continuation.resume() } else { wakeUp = continuation }
                }
            } onCancel: {
                Task { await self.trigger() }
            }
            sleeper.cancel()
        }
    }

    /// One round against every peer that is up; returns how many entries were pulled.
    @discardableResult
    public func round() async -> Int {
        guard let ring = await membership.placement else { return 0 }
        let me = membership.nodeID
        var pulled = 0
        for peer in await membership.storageNodes where peer != me {
            guard await membership.isUp(peer), let address = await membership.peerAddress(peer) else { continue }
            let shared = (0..<PlacementRing.partitionCount).filter { ring.partitions[$0].contains(me) && ring.partitions[$0].contains(peer) }
            guard !shared.isEmpty else { continue }
            do {
                pulled += try await sync(with: address, partitions: shared)
            } catch {
                logger.warning("repair with node \(peer.prefix(16)) stopped: \(error)")
            }
        }
        if pulled > 0 { logger.info("repair pulled \(pulled) newer entries from other replicas") }
        await handOff()
        return pulled
    }

    func sync(with address: String, partitions: [Int]) async throws -> Int {
        let local = try await metadata.partitionDigests()
        let remote = try await rpc.call(address, .GET, "/rpc/digests", as: [String: String].self)
        var pulled = 0
        for partition in partitions where remote[String(partition)] != nil && remote[String(partition)] != local[partition] {
            let theirs = try await rpc.call(address, .GET, "/rpc/partition/\(partition)", as: [EntryVersion].self)
            var mine: [String: String] = [:]
            for entry in try await metadata.versions(inPartition: partition) { mine[entry.bucket + "/" + entry.key] = entry.version }
            for entry in theirs where VersionOrder.supersedes(entry.version, mine[entry.bucket + "/" + entry.key]) {
                if try await pull(bucket: entry.bucket, key: entry.key, from: address) { pulled += 1 }
            }
        }
        return pulled
    }

    /// Fetches one entry with its data and merges it; false if it was not newer after all.
    func pull(bucket: String, key: String, from address: String) async throws -> Bool {
        let answer = try await rpc.send(to: address, .GET, "/rpc/object", query: ["bucket": bucket, "key": key], timeout: .seconds(300))
        guard let length = answer.headers.first(name: ObjectTransfer.lengthHeader).flatMap(Int.init) else {
            throw RPCError(node: address, message: "answer without \(ObjectTransfer.lengthHeader)")
        }
        let entry = try await ObjectTransfer.receive(answer.body, entryLength: length, blobs: data.blobs)
        let (applied, replaced) = try await metadata.merge([entry])
        await data.discard(replaced)
        if applied == 0 { await data.discard(RPCServer.unreferenced(entry.segments, by: try await metadata.entry(bucket: bucket, key: key))) }
        return applied > 0
    }
}
