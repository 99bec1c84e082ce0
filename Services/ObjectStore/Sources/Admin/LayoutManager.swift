import Foundation

/// The cluster layout, Garage-style: roles (zone, capacity, tags) are staged, then applied
/// as a new layout version. This node knows only itself, so roles may name only its id
/// (or a unique prefix of it); the layout is kept in the metadata database.
public struct LayoutManager: Sendable {
    let metadata: MetadataStore
    public let rpcPublicAddr: String?

    public init(metadata: MetadataStore, rpcPublicAddr: String?) {
        self.metadata = metadata
        self.rpcPublicAddr = rpcPublicAddr
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
        var layout = try await current()
        for var role in roles {
            guard !role.id.isEmpty, me.hasPrefix(role.id) else {
                throw AdminError(.badRequest, "InvalidRequest", "Unknown node \(role.id); this node is \(me) and no other node has joined")
            }
            guard role.zone.isEmpty == false else { throw AdminError(.badRequest, "InvalidRequest", "A role needs a zone (-z)") }
            if let capacity = role.capacity, capacity <= 0 {
                throw AdminError(.badRequest, "InvalidRequest", "Capacity must be positive")
            }
            role.id = me
            layout.stagedRoleChanges.removeAll { $0.id == me }
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
        try await save(layout)
        return layout
    }

    public func revert() async throws -> AdminModels.Layout {
        var layout = try await current()
        layout.stagedRoleChanges = []
        try await save(layout)
        return layout
    }
}
