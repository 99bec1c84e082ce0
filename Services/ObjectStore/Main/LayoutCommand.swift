import ArgumentParser
import ObjectStore

/// `object-store layout assign|apply|show|revert`, as Garage's.
struct LayoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layout", abstract: "Cluster layout operations.", subcommands: [Assign.self, Apply.self, Show.self, Revert.self])

    static func show(_ layout: AdminModels.Layout) {
        print("==== CURRENT CLUSTER LAYOUT ====")
        print("ID                Tags  Zone  Capacity")
        for role in layout.roles { print("\(role.id.prefix(16))  [\(role.tags.joined(separator: ","))]  \(role.zone)  \(role.capacity.map(formatCapacity) ?? "gateway")") }
        print("")
        print("Current cluster layout version: \(layout.version)")
        if !layout.stagedRoleChanges.isEmpty {
            print("")
            print("==== STAGED ROLE CHANGES ====")
            print("ID                Tags  Zone  Capacity")
            for role in layout.stagedRoleChanges { print("\(role.id.prefix(16))  [\(role.tags.joined(separator: ","))]  \(role.zone)  \(role.capacity.map(formatCapacity) ?? "gateway")") }
            print("")
            print("To apply these changes, run: object-store layout apply --version \(layout.version + 1)")
        }
    }

    /// "1G", "100GB", "10T", "512MiB" or a plain number of bytes.
    static func parseCapacity(_ text: String) throws -> Int64 {
        let units: [(String, Double)] = [("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024),
                                         ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3),
                                         ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3), ("B", 1)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.uppercased().hasSuffix(suffix.uppercased()) {
            if let number = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number > 0 {
                return Int64(number * factor)
            }
        }
        guard let bytes = Int64(trimmed), bytes > 0 else { throw ValidationError("Cannot read capacity \"\(text)\"; write it like 1G or 500GB") }
        return bytes
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stage a role (zone, capacity, tags) for a node.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .customLong("zone")]) var zone: String
        @Option(name: [.short, .customLong("capacity")]) var capacity: String?
        @Flag(name: [.short, .customLong("gateway")]) var gateway = false
        @Option(name: [.short, .customLong("tag")]) var tags: [String] = []
        @Argument var nodeID: String

        func run() async throws {
            let bytes = gateway ? nil : try capacity.map(LayoutCommand.parseCapacity)
            guard gateway || bytes != nil else { throw ValidationError("Give a capacity (-c) or --gateway") }
            let id = String(nodeID.split(separator: "@").first ?? "")
            let layout = try await global.client().call("POST", "/v1/layout",
                                                         body: [AdminModels.NodeRole(id: id, zone: zone, capacity: bytes, tags: tags)],
                                                         as: AdminModels.Layout.self)
            print("Role changes are staged but not yet committed.")
            print("Use `object-store layout show` to view staged role changes,")
            print("and `object-store layout apply --version \(layout.version + 1)` to enact staged changes.")
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply the staged role changes as a new layout version.")
        @OptionGroup var global: GlobalOptions
        @Option var version: Int

        func run() async throws {
            let layout = try await global.client().call("POST", "/v1/layout/apply", body: AdminModels.ApplyLayoutRequest(version: version),
                                                        as: AdminModels.Layout.self)
            print("New cluster layout with updated role assignment has been applied in cluster.")
            print("Data will now be moved around between nodes accordingly.")
            print("Current cluster layout version: \(layout.version)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the layout and staged changes.")
        @OptionGroup var global: GlobalOptions

        func run() async throws { LayoutCommand.show(try await global.client().call("GET", "/v1/layout", as: AdminModels.Layout.self)) }
    }

    struct Revert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop the staged role changes.")
        @OptionGroup var global: GlobalOptions
        @Flag var yes = false

        func run() async throws {
            _ = try await global.client().call("POST", "/v1/layout/revert", as: AdminModels.Layout.self)
            print("All proposed role changes in cluster layout have been canceled.")
        }
    }
}
