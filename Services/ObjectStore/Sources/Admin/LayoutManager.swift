import Foundation

/// The cluster layout, Garage-style: roles (zone, capacity, tags) are staged, then applied
/// as a new layout version. Roles may name this node or any node it knows (by id or a
/// unique prefix of it); the layout is kept in the metadata database, and cluster gossip
/// carries an applied layout to every node (`adopt`).
public struct LayoutManager: Sendable {
    let metadata: MetadataStore
    public let rpcPublicAddr: String?
    let replicationFactor: Int
    /// Ids of the other nodes this one knows (empty for a lone node).
    let peers: @Sendable () async -> [String]

    public init(metadata: MetadataStore, rpcPublicAddr: String?, replicationFactor: Int = 1,
                peers: @escaping @Sendable () async -> [String] = { [] }) {
        self.metadata = metadata
        self.rpcPublicAddr = rpcPublicAddr
        self.replicationFactor = replicationFactor
        self.peers = peers
    }

    /// This node's id (64 hex digits), made on first start and kept.
    public func nodeID() async throws -> String {
        if let id = try await metadata.setting("node_id") { return id }
        let id = randomHex(bytes: 32)
        try await metadata.setSetting("node_id", id)
        return id
    }

    public func current() async throws -> AdminModels.Layout {
        guard let text = try await metadata.setting("layout") else {
            return AdminModels.Layout(version: 0, roles: [], stagedRoleChanges: [])
        }
        return try JSONCoding.decode(AdminModels.Layout.self, text)
    }

    func save(_ layout: AdminModels.Layout) async throws {
        try await metadata.setSetting("layout", try JSONCoding.encode(layout))
    }

    /// Adds role changes to the staged set (a later change for a node replaces an earlier one).
    public func stage(_ roles: [AdminModels.NodeRole]) async throws -> AdminModels.Layout {
        let me = try await nodeID()
        let known = [me] + (await peers())
        var layout = try await current()
        for var role in roles {
            let matches = role.id.isEmpty ? [] : known.filter { $0.hasPrefix(role.id) }
            guard matches.count == 1 else {
                let others = known.count == 1 ? "no other node has joined" : "known nodes: " + known.map { String($0.prefix(16)) }.joined(separator: ", ")
                throw AdminError(.badRequest, "InvalidRequest", matches.isEmpty
                    ? "Unknown node \(role.id); this node is \(me) and \(others)"
                    : "\(role.id) matches more than one node; give more of the id")
            }
            guard role.zone.isEmpty == false else { throw AdminError(.badRequest, "InvalidRequest", "A role needs a zone (-z)") }
            if let capacity = role.capacity, capacity <= 0 {
                throw AdminError(.badRequest, "InvalidRequest", "Capacity must be positive")
            }
            role.id = matches[0]
            layout.stagedRoleChanges.removeAll { $0.id == role.id }
            layout.stagedRoleChanges.append(role)
        }
        try await save(layout)
        return layout
    }

    /// Makes the staged roles the layout as `version`, which must be the current one plus one.
    public func apply(version: Int) async throws -> AdminModels.Layout {
        var layout = try await current()
        guard version == layout.version + 1 else {
            throw AdminError(.badRequest, "InvalidRequest", "The new layout version must be \(layout.version + 1), not \(version)")
        }
        guard !layout.stagedRoleChanges.isEmpty else {
            throw AdminError(.badRequest, "InvalidRequest", "There are no staged role changes to apply; use layout assign first")
        }
        for role in layout.stagedRoleChanges {
            layout.roles.removeAll { $0.id == role.id }
            layout.roles.append(role)
        }
        layout.stagedRoleChanges = []
        layout.version = version
        let storage = layout.roles.filter { ($0.capacity ?? 0) > 0 }.count
        if storage > 1 {
            do {
                _ = try PlacementRing(roles: layout.roles, replicationFactor: replicationFactor)
            } catch {
                throw AdminError(.badRequest, "InvalidRequest", "\(error)")
            }
        }
        try await save(layout)
        return layout
    }

    /// Takes a newer layout applied on another node; this node's staged changes stay staged.
    public func adopt(_ newer: AdminModels.Layout) async throws {
        var layout = try await current()
        guard newer.version > layout.version else { return }
        layout.version = newer.version
        layout.roles = newer.roles
        try await save(layout)
    }

    public func revert() async throws -> AdminModels.Layout {
        var layout = try await current()
        layout.stagedRoleChanges = []
        try await save(layout)
        return layout
    }
}
