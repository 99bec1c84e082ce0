import Foundation
import Logging

/// What nodes tell each other in every gossip round (and answer with): who they are,
/// whom they know, and digests of the state that must converge (layout, catalog).
public struct GossipMessage: Sendable, Codable, Equatable {
    public var node: String
    public var address: String?
    public var layoutVersion: Int
    public var catalogDigest: String
    /// Node id → RPC address of every peer the sender knows.
    public var peers: [String: String]
}

/// A node as `status` shows it.
public struct KnownNode: Sendable, Codable, Equatable {
    public var id: String
    public var address: String?
    public var isUp: Bool
    public var lastSeenSecsAgo: Int?
}

/// The cluster as this node sees it: the peers it knows (from `bootstrap_peers`,
/// `node connect` and gossip, kept in the `peers` setting), whether each answered the last
/// ping, and the applied layout with its placement ring.
///
/// Every second the node pings each peer with a `GossipMessage`. From the answer it learns
/// peers it did not know, pulls the layout if the peer's is newer, and pulls the catalog
/// (keys, buckets, grants) if the digests differ. A peer coming back up triggers repair.
public actor ClusterMembership {
    public let nodeID: String
    public let address: String?
    public let replicationFactor: Int
    let metadata: MetadataStore
    let layoutManager: LayoutManager
    let rpc: RPCClient
    let logger: Logger
    private var peers: [String: String] = [:]
    private var up: [String: Bool] = [:]
    private var lastSeen: [String: ContinuousClock.Instant] = [:]
    private var layout = AdminModels.Layout(version: 0, roles: [], stagedRoleChanges: [])
    private var ring: PlacementRing?
    private var peerCameBack: [@Sendable (String) -> Void] = []

    public init(nodeID: String, address: String?, replicationFactor: Int, metadata: MetadataStore,
                layoutManager: LayoutManager, rpc: RPCClient, logger: Logger) {
        self.nodeID = nodeID
        self.address = address
        self.replicationFactor = replicationFactor
        self.metadata = metadata
        self.layoutManager = layoutManager
        self.rpc = rpc
        self.logger = logger
    }

    /// Loads the saved peers and layout and adds the bootstrap peers.
    public func load(bootstrapPeers: [String]) async throws {
        if let saved = try await metadata.setting("peers") {
            peers = try JSONCoding.decode([String: String].self, saved)
        }
        for spec in bootstrapPeers {
            if let (id, address) = Self.parsePeer(spec), id != nodeID { peers[id] = address }
        }
        try await reloadLayout()
    }

    /// Calls `observer` with a peer's id whenever that peer answers after having been down
    /// (or for the first time).
    public func onPeerCameBack(_ observer: @escaping @Sendable (String) -> Void) {
        peerCameBack.append(observer)
    }

    static func parsePeer(_ spec: String) -> (String, String)? {
        guard let at = spec.firstIndex(of: "@") else { return nil }
        let id = String(spec[..<at]), address = String(spec[spec.index(after: at)...])
        guard !id.isEmpty, !address.isEmpty else { return nil }
        return (id, address)
    }

    // MARK: queries

    /// The placement ring when this node is part of a multi-node layout; nil otherwise, and
    /// then the node serves everything from its own storage (the single-node fast path).
    public var placement: PlacementRing? { ring }

    public func isUp(_ id: String) -> Bool { id == nodeID || up[id] == true }

    public func peerAddress(_ id: String) -> String? { peers[id] }

    public var knownNodeIDs: [String] { [nodeID] + peers.keys.sorted() }

    /// Every node known, this one first.
    public func knownNodes() -> [KnownNode] {
        let now = ContinuousClock.now
        return [KnownNode(id: nodeID, address: address, isUp: true, lastSeenSecsAgo: nil)]
            + peers.keys.sorted().map { id in
                KnownNode(id: id, address: peers[id], isUp: up[id] == true,
                          lastSeenSecsAgo: lastSeen[id].map { Int((now - $0).components.seconds) })
            }
    }

    /// Storage nodes of the layout (capacity set), sorted by id.
    public var storageNodes: [String] {
        layout.roles.filter { ($0.capacity ?? 0) > 0 }.map(\.id).sorted()
    }

    // MARK: layout

    /// Re-reads the layout and rebuilds the ring when it changed. The ring is kept only when
    /// this node has a role in a layout of more than one storage node.
    func reloadLayout() async throws {
        let current = try await layoutManager.current()
        guard current != layout else { return }
        let versionChanged = current.version != layout.version
        layout = current
        let storage = current.roles.filter { ($0.capacity ?? 0) > 0 }
        guard storage.count > 1, current.roles.contains(where: { $0.id == nodeID }) else {
            ring = nil
            return
        }
        do {
            ring = try PlacementRing(roles: current.roles, replicationFactor: replicationFactor)
            if versionChanged {
                logger.info("cluster layout version \(current.version): \(storage.count) storage nodes, replication factor \(replicationFactor)")
            }
        } catch {
            ring = nil
            logger.error("cluster layout version \(current.version) cannot be used: \(error)")
        }
    }

    // MARK: gossip

    func message() async throws -> GossipMessage {
        GossipMessage(node: nodeID, address: address, layoutVersion: layout.version,
                      catalogDigest: try await metadata.catalogSnapshot().digest, peers: peers)
    }

    /// Handles a peer's gossip and returns this node's own message as the answer.
    public func receive(_ message: GossipMessage) async throws -> GossipMessage {
        if message.node != nodeID, let address = message.address, peers[message.node] != address {
            peers[message.node] = address
            try await savePeers()
        }
        return try await self.message()
    }

    func savePeers() async throws {
        try await metadata.setSetting("peers", try JSONCoding.encode(peers))
    }

    /// Adds a peer after checking that it answers with the id it was given under.
    public func connect(_ spec: String) async throws {
        guard let (id, address) = Self.parsePeer(spec) else {
            throw AdminError(.badRequest, "InvalidRequest", "\(spec) is not <node id>@<host>:<port>")
        }
        let answer = try await rpc.call(address, .POST, "/rpc/gossip", json: try await message(), as: GossipMessage.self,
                                        timeout: .seconds(5))
        guard answer.node.hasPrefix(id) else {
            throw AdminError(.badRequest, "InvalidRequest", "The node at \(address) is \(answer.node), not \(id)")
        }
        peers[answer.node] = address
        try await savePeers()
        await absorb(answer, from: answer.node)
    }

    /// One round: pings every peer concurrently and merges what they answer.
    public func gossipRound() async {
        try? await reloadLayout()
        guard !peers.isEmpty, let own = try? await message() else { return }
        let targets = peers
        let answers = await withTaskGroup(of: (String, GossipMessage?).self) { group in
            for (id, address) in targets {
                group.addTask { [rpc] in
                    (id, try? await rpc.call(address, .POST, "/rpc/gossip", json: own, as: GossipMessage.self, timeout: .seconds(2)))
                }
            }
            var answers: [(String, GossipMessage?)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        for (id, answer) in answers {
            guard let answer, answer.node == id else {
                if up[id] == true { logger.warning("node \(id.prefix(16)) is down") }
                up[id] = false
                continue
            }
            let cameBack = up[id] != true
            up[id] = true
            lastSeen[id] = .now
            if cameBack {
                logger.info("node \(id.prefix(16)) is up")
                for observer in peerCameBack { observer(id) }
            }
            await absorb(answer, from: id)
        }
    }

    /// Learns new peers, a newer layout and a different catalog from a peer's message.
    func absorb(_ answer: GossipMessage, from id: String) async {
        guard let address = peers[id] else { return }
        var learned = false
        for (peer, peerAddress) in answer.peers where peer != nodeID && peers[peer] == nil {
            peers[peer] = peerAddress
            learned = true
        }
        if learned { try? await savePeers() }
        do {
            if answer.layoutVersion > layout.version {
                let newer = try await rpc.call(address, .GET, "/rpc/layout", as: AdminModels.Layout.self)
                if newer.version > (try await layoutManager.current()).version {
                    try await layoutManager.adopt(newer)
                    try await reloadLayout()
                }
            }
            if answer.catalogDigest != (try await metadata.catalogSnapshot().digest) {
                let snapshot = try await rpc.call(address, .GET, "/rpc/catalog", as: CatalogSnapshot.self)
                try await metadata.mergeCatalog(snapshot)
            }
        } catch {
            logger.debug("gossip with \(id.prefix(16)) failed: \(error)")
        }
    }

    /// Sends this node's catalog to every peer that is up (after a local change), so the
    /// change is visible cluster-wide before the next gossip round.
    public func pushCatalog() async {
        guard let snapshot = try? await metadata.catalogSnapshot() else { return }
        let targets = peers.filter { up[$0.key] == true }
        await withTaskGroup(of: Void.self) { group in
            for (_, address) in targets {
                group.addTask { [rpc] in
                    _ = try? await rpc.call(address, .POST, "/rpc/catalog", json: snapshot, as: [String: Bool].self, timeout: .seconds(5))
                }
            }
        }
    }

    /// Runs gossip rounds every `interval` until cancelled.
    public func run(interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            await gossipRound()
            try? await Task.sleep(for: interval)
        }
    }
}
