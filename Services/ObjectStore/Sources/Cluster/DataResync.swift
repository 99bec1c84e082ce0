import Foundation
import Logging
import NIOCore

/// Puts back data files that this node should hold but lost or holds corrupted: repair
/// (`PartitionRepair`) compares versions only, so a file gone bad under an entry that is
/// already current would otherwise stay bad here and be served from other replicas for ever.
///
/// An object is checked when a read had to fetch one of its blocks from another replica
/// although this node is a replica (queued by `ReplicatedObjects.remoteBlocks`), and every
/// object of this node's partitions is checked by a scrub every `scrub_interval_msec`.
/// Checking reads every block against its CRC-32; a file that fails is fetched whole from
/// the other replicas, block by block with each CRC checked, and renamed over the bad one.
public actor DataResync {
    let membership: ClusterMembership
    let metadata: MetadataStore
    let data: ObjectDataStore
    let rpc: RPCClient
    let logger: Logger
    private var queued: [(bucket: String, key: String)] = []
    private var queuedNames: Set<String> = []
    private var wakeUp: CheckedContinuation<Void, Never>?

    public init(membership: ClusterMembership, metadata: MetadataStore, data: ObjectDataStore, rpc: RPCClient, logger: Logger) {
        self.membership = membership
        self.metadata = metadata
        self.data = data
        self.rpc = rpc
        self.logger = logger
    }

    /// Queues an object for a check (once, however many reads ask).
    public func enqueue(bucket: String, key: String) {
        guard queuedNames.insert(bucket + "\u{0}" + key).inserted else { return }
        queued.append((bucket, key))
        wakeUp?.resume()
        wakeUp = nil
    }

    /// Works the queue until cancelled.
    public func run() async {
        while !Task.isCancelled {
            if queued.isEmpty {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        if !queued.isEmpty || Task.isCancelled { continuation.resume() } else { wakeUp = continuation }
                    }
                } onCancel: {
                    Task { await self.wake() }
                }
                continue
            }
            let next = queued.removeFirst()
            queuedNames.remove(next.bucket + "\u{0}" + next.key)
            await check(bucket: next.bucket, key: next.key)
        }
    }

    private func wake() {
        wakeUp?.resume()
        wakeUp = nil
    }

    /// Scrubs every `interval` until cancelled: queues each object of the partitions this
    /// node holds.
    public func scrub(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let ring = await membership.placement else { continue }
            guard let entries = try? await metadata.allVersions() else { continue }
            for entry in entries where ring.nodes(bucket: entry.bucket, key: entry.key).contains(membership.nodeID) {
                enqueue(bucket: entry.bucket, key: entry.key)
            }
        }
    }

    /// Verifies this node's copy of an object and restores each data file that fails.
    @discardableResult
    public func check(bucket: String, key: String) async -> Int {
        guard let ring = await membership.placement, ring.nodes(bucket: bucket, key: key).contains(membership.nodeID),
              let entry = try? await metadata.entry(bucket: bucket, key: key) else { return 0 }
        let peers = ring.nodes(bucket: bucket, key: key).filter { $0 != membership.nodeID }
        var count = 0
        for segment in entry.segments where segment.size > 0 {
            guard await !isIntact(segment) else { continue }
            do {
                try await restore(segment, from: peers)
                count += 1
                logger.warning("restored data file \(segment.blob) of \(bucket)/\(key) from another replica")
            } catch {
                logger.error("data file \(segment.blob) of \(bucket)/\(key) is missing or corrupt here and could not be restored: \(error)")
            }
        }
        return count
    }

    func isIntact(_ segment: ObjectSegment) async -> Bool {
        for index in segment.blockCRCs.indices {
            do { _ = try await data.blobs.readBlock(segment, index: index) } catch { return false }
        }
        return true
    }

    func restore(_ segment: ObjectSegment, from peers: [String]) async throws {
        let fetch = ReplicatedObjects.fetchBlocks(from: peers, membership: membership, rpc: rpc)
        let writer = try await data.blobs.makeWriter(blob: segment.blob)
        do {
            for index in segment.blockCRCs.indices { try await writer.write(try await fetch(segment, index)) }
        } catch {
            await writer.abort()
            throw error
        }
        // Renamed over the bad file only once every block arrived and matched.
        let written = try await writer.finish()
        guard written.blockCRCs == segment.blockCRCs, written.size == segment.size else {
            throw ObjectTransfer.Failure.checksumMismatch(blob: segment.blob)
        }
    }
}
