import Foundation
import Logging
import NIOCore

/// A cluster operation that could not reach enough replicas.
public struct QuorumError: Error, CustomStringConvertible {
    public var operation: String
    public var answered: Int
    public var needed: Int
    public var failures: [String]

    public var description: String {
        "\(operation) reached \(answered) of the \(needed) nodes it needs"
            + (failures.isEmpty ? "" : " (" + failures.joined(separator: "; ") + ")")
    }
}

/// Object reads and writes in cluster mode, coordinated by the node that received the S3
/// request. An object's entry and data live on the `replicationFactor` nodes the ring gives
/// its (bucket, key); writes are acknowledged once a quorum of them has committed, reads
/// take the newest version among a quorum (one node in `degraded` mode), listings merge
/// the pages of every storage node.
public struct ReplicatedObjects: Sendable {
    let membership: ClusterMembership
    let metadata: MetadataStore
    let data: ObjectDataStore
    let rpc: RPCClient
    let consistency: ConsistencyMode
    let resync: DataResync?
    let logger: Logger

    public init(membership: ClusterMembership, metadata: MetadataStore, data: ObjectDataStore, rpc: RPCClient,
                consistency: ConsistencyMode, resync: DataResync? = nil, logger: Logger) {
        self.membership = membership
        self.resync = resync
        self.metadata = metadata
        self.data = data
        self.rpc = rpc
        self.consistency = consistency
        self.logger = logger
    }

    /// The ring when the node serves in cluster mode, nil for the single-node path.
    public func ring() async -> PlacementRing? { await membership.placement }

    var nodeID: String { membership.nodeID }

    // MARK: writes

    /// Makes `record` (its data already stored on this node) the current version on a
    /// quorum of its replicas.
    public func put(_ record: ObjectRecord, ring: PlacementRing) async throws {
        let entry = ObjectEntry(record: record, version: metadata.clock.next())
        let nodes = ring.nodes(bucket: record.bucket, key: record.key)
        let staged = nodes.contains(nodeID) ? [] : record.data.segments
        // When this node is not a replica it only staged the data, until every push is over.
        try await write(entry, to: nodes, quorum: ring.quorum, operation: "PutObject") { [data] in await data.discard(staged) }
    }

    /// Writes a tombstone for the key on a quorum of its replicas.
    public func delete(bucket: String, key: String, ring: PlacementRing) async throws {
        let entry = ObjectEntry.tombstone(bucket: bucket, key: key, version: metadata.clock.next())
        try await write(entry, to: ring.nodes(bucket: bucket, key: key), quorum: ring.quorum, operation: "DeleteObject")
    }

    /// Writes an entry to `nodes` and returns once `quorum` of them have committed it; the
    /// other writes go on in the background, then `afterAll` runs.
    func write(_ entry: ObjectEntry, to nodes: [String], quorum: Int, operation: String,
               afterAll: @escaping @Sendable () async -> Void = {}) async throws {
        let json = Array(try JSONEncoder().encode(entry))
        let answers = await ask(nodes, enough: quorum, afterAll: afterAll) { [self] node, address in
            do {
                if let address {
                    try await push(entry, json: json, to: address)
                } else {
                    let (_, replaced) = try await metadata.merge([entry])
                    await data.discard(replaced)
                }
            } catch {
                logger.warning("\(operation) \(entry.bucket)/\(entry.key) on node \(node.prefix(16)) failed: \(error)")
                throw error
            }
        }
        guard answers.successes.count >= quorum else {
            throw QuorumError(operation: operation, answered: answers.successes.count, needed: quorum, failures: answers.failures)
        }
    }

    /// Sends an entry with its data to one replica (`PUT /rpc/object`).
    func push(_ entry: ObjectEntry, json: [UInt8], to address: String) async throws {
        let body = ObjectTransfer.Body(json: json, entry: entry, blobs: data.blobs)
        _ = try await rpc.send(to: address, .PUT, "/rpc/object", headers: [(ObjectTransfer.lengthHeader, String(json.count))],
                               body: .stream(body, length: .known(ObjectTransfer.length(json: json, entry: entry))),
                               timeout: .seconds(300))
    }

    // MARK: reads

    /// The newest version of an object among a read quorum of its replicas; a tombstone or
    /// no entry at all is `noSuchKey`.
    public func read(bucket: String, key: String, ring: PlacementRing) async throws -> ObjectRecord {
        let nodes = ring.nodes(bucket: bucket, key: key)
        let needed = consistency == .consistent ? ring.quorum : 1
        let answers = await ask(nodes, enough: needed) { [metadata] node, address in
            if let address {
                return try await rpc.call(address, .GET, "/rpc/entry", query: ["bucket": bucket, "key": key], as: EntryAnswer.self,
                                          timeout: .seconds(10)).entry
            }
            return try await metadata.entry(bucket: bucket, key: key)
        }
        guard answers.successes.count >= needed else {
            throw QuorumError(operation: "GetObject", answered: answers.successes.count, needed: needed, failures: answers.failures)
        }
        let entries = answers.successes.values.compactMap { $0 }
        guard let newest = entries.max(by: { $0.version.utf8.lexicographicallyPrecedes($1.version.utf8) }),
              let record = newest.record else {
            throw StoreError.noSuchKey(bucket: bucket, key: key)
        }
        return record
    }

    /// Fetches blocks this node lacks from the object's other replicas, verified against
    /// their CRC-32. When this node is itself a replica its file is missing or corrupt:
    /// the object is queued for resync, which puts the file back.
    public func remoteBlocks(bucket: String, key: String, ring: PlacementRing) -> ObjectDataStore.RemoteBlocks {
        let nodes = ring.nodes(bucket: bucket, key: key)
        let fetch = Self.fetchBlocks(from: nodes.filter { $0 != nodeID }, membership: membership, rpc: rpc)
        guard let resync, nodes.contains(nodeID) else { return fetch }
        return { segment, index in
            await resync.enqueue(bucket: bucket, key: key)
            return try await fetch(segment, index)
        }
    }

    /// Reads blocks from the first of `nodes` that is up and sends one matching its CRC-32.
    static func fetchBlocks(from nodes: [String], membership: ClusterMembership, rpc: RPCClient) -> ObjectDataStore.RemoteBlocks {
        return { segment, index in
            var failures: [String] = []
            for node in nodes {
                guard await membership.isUp(node), let address = await membership.peerAddress(node) else { continue }
                do {
                    let response = try await rpc.send(to: address, .GET, "/rpc/block/\(segment.blob)/\(index)",
                                                      query: ["size": String(segment.size), "crc": String(segment.blockCRCs[index])])
                    let block = try await response.body.collect(upTo: ObjectSegment.blockSize)
                    let expectedLength = Int(min(Int64(ObjectSegment.blockSize), segment.size - Int64(index) * Int64(ObjectSegment.blockSize)))
                    var crc = CRC32()
                    block.withUnsafeReadableBytes { crc.update($0) }
                    guard block.readableBytes == expectedLength, crc.value == segment.blockCRCs[index] else {
                        failures.append("\(node.prefix(16)) sent a block that fails its CRC-32")
                        continue
                    }
                    return block
                } catch {
                    failures.append("\(error)")
                }
            }
            throw StoreError.corruptData("block \(index) of data file \(segment.blob) is on no reachable replica (\(failures.joined(separator: "; ")))")
        }
    }

    // MARK: listings

    /// Up to `limit` live keys of a bucket in key order from `from`, merged from the pages of
    /// every storage node (a key's newest version wins, tombstones hide it). A page only
    /// counts up to the last key of any replica's full page, beyond which that replica's
    /// entries are unknown; the loop goes on from there until `limit` keys are found.
    public func list(bucket: String, from: String, exclusive: Bool, limit: Int, ring: PlacementRing) async throws -> [ObjectSummary] {
        let nodes = await membership.storageNodes
        // Every partition keeps a quorum among the nodes that answer when at most
        // rf - quorum nodes are missing.
        let needed = consistency == .consistent ? max(1, nodes.count - (ring.replicationFactor - ring.quorum)) : 1
        var live: [ObjectSummary] = []
        var cursor = from, cursorExclusive = exclusive
        while true {
            let pages = await ask(nodes, enough: needed) { [metadata, cursor, cursorExclusive] node, address in
                if let address {
                    return try await rpc.call(address, .GET, "/rpc/list", query: ["bucket": bucket, "from": cursor,
                                                                                   "exclusive": String(cursorExclusive), "limit": String(limit)],
                                              as: [EntrySummary].self, timeout: .seconds(30))
                }
                return try await metadata.listEntries(bucket: bucket, from: cursor, exclusive: cursorExclusive, limit: limit)
            }
            guard pages.successes.count >= needed else {
                throw QuorumError(operation: "ListObjects", answered: pages.successes.count, needed: needed, failures: pages.failures)
            }
            let (merged, bound) = Self.mergePages(Array(pages.successes.values), limit: limit)
            live += merged.filter { !$0.deleted }.map(\.summary)
            guard let bound, live.count < limit else { return Array(live.prefix(limit)) }
            cursor = bound
            cursorExclusive = true
        }
    }

    /// Merges replicas' listing pages: the newest entry per key, in key byte order, up to
    /// the bound (the smallest last key of a full page; nil when no page was full).
    public static func mergePages(_ pages: [[EntrySummary]], limit: Int) -> (entries: [EntrySummary], bound: String?) {
        var bound: String?
        for page in pages where page.count >= limit {
            if let last = page.last?.key, bound.map({ last.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true { bound = last }
        }
        var newest: [String: EntrySummary] = [:]
        for page in pages {
            for entry in page {
                if let bound, bound.utf8.lexicographicallyPrecedes(entry.key.utf8) { continue }
                if let existing = newest[entry.key], !VersionOrder.supersedes(entry.version, existing.version) { continue }
                newest[entry.key] = entry
            }
        }
        let sorted = newest.values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return (sorted, bound)
    }

    // MARK: fan-out

    struct Answers<T: Sendable>: Sendable {
        var successes: [String: T] = [:]
        var failures: [String] = []
    }

    /// Runs `body` for each node concurrently: with nil for this node, with the peer's
    /// address for a peer that is up; peers that are down count as failures at once.
    /// Returns as soon as `enough` calls have succeeded (or all have ended), so one slow
    /// replica does not hold a request that a quorum has answered; the remaining calls run
    /// on, and `afterAll` runs once every call has ended.
    func ask<T: Sendable>(_ nodes: [String], enough: Int, afterAll: @escaping @Sendable () async -> Void = {},
                          _ body: @escaping @Sendable (String, String?) async throws -> T) async -> Answers<T> {
        var targets: [(String, String?)] = []
        var answers = Answers<T>()
        for node in nodes {
            if node == nodeID {
                targets.append((node, nil))
            } else if await membership.isUp(node), let address = await membership.peerAddress(node) {
                targets.append((node, address))
            } else {
                answers.failures.append("node \(node.prefix(16)) is down")
            }
        }
        let (results, continuation) = AsyncStream<(String, Result<T, Error>)>.makeStream()
        Task { [targets] in
            await withTaskGroup(of: Void.self) { group in
                for (node, address) in targets {
                    group.addTask {
                        do { continuation.yield((node, .success(try await body(node, address)))) } catch { continuation.yield((node, .failure(error))) }
                    }
                }
            }
            continuation.finish()
            await afterAll()
        }
        for await (node, result) in results {
            switch result {
            case .success(let value): answers.successes[node] = value
            case .failure(let error): answers.failures.append("\(node.prefix(16)): \(error)")
            }
            if answers.successes.count >= enough { break }
        }
        return answers
    }
}
