import ArgumentParser
import Foundation
import ObjectStore
import VigilService

/// `object-store`: Garage's command shape. `object-store -c FILE server` runs a node; the
/// other subcommands administer a running node through its admin API.
@main
struct ObjectStoreCLI {
    static func main() async {
        await ObjectStoreCommand.main(moveConfigOption(Array(CommandLine.arguments.dropFirst())))
    }

    /// Garage takes `-c FILE` before the subcommand (after it, `-c` may mean something else,
    /// as `layout assign -c CAPACITY`). ArgumentParser reads options per subcommand, so the
    /// option is moved to the end as `--config FILE`, where every subcommand's
    /// `GlobalOptions` sees it.
    static func moveConfigOption(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var config: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let argument = arguments[index]
            if (argument == "-c" || argument == "--config"), index + 1 < arguments.count {
                config = ["--config", arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--config=") {
                config = ["--config", String(argument.dropFirst("--config=".count))]
                index += 1
            } else {
                leading.append(argument)
                index += 1
            }
        }
        return leading + arguments[index...] + config
    }
}

struct ObjectStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object-store",
        abstract: "Vigil object store: an S3-compatible object store administered like Garage.",
        subcommands: [ServerCommand.self, StatusCommand.self, NodeCommand.self, BucketCommand.self, KeyCommand.self, LayoutCommand.self])
}

/// `-c FILE` (or GARAGE_CONFIG_FILE), as Garage.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "Path to the configuration file (Garage's TOML format); `-c FILE` before the subcommand.")
    var config: String = ProcessInfo.processInfo.environment["GARAGE_CONFIG_FILE"] ?? "/etc/garage.toml"

    func load() throws -> ObjectStoreConfig {
        do {
            return try ObjectStoreConfig.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func client() throws -> AdminClient { try AdminClient(config: try load()) }
}

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run this node.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .customLong("log.level"), help: "Only log messages with the given severity or above.")
    var logLevel = ProcessInfo.processInfo.environment["RUST_LOG"].flatMap { ["debug", "info", "warn", "error"].contains($0) ? $0 : nil } ?? "info"
    @Option(help: "Request bodies (PutObject, UploadPart) received at once; more are answered 503 SlowDown.")
    var maxConcurrentUploads = 256

    func run() async throws {
        LoggingSetup.bootstrap(level: logLevel)
        let config = try global.load()
        let metrics = SelfMetrics()
        metrics.bootstrapMetricsSystem()
        guard maxConcurrentUploads > 0 else { throw ValidationError("--max-concurrent-uploads must be positive") }
        try await ObjectStoreNode(config: config, maxConcurrentUploads: maxConcurrentUploads, metrics: metrics).run()
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the node and the layout.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let client = try global.client()
        let status = try await client.call("GET", "/v1/status", as: AdminModels.Status.self)
        let layout = try await client.call("GET", "/v1/layout", as: AdminModels.Layout.self)
        func line(_ node: KnownNode, hostname: String) -> String {
            let role = layout.roles.first { $0.id == node.id }
            return "\(node.id.prefix(16))  \(hostname)  \(node.address ?? "-")  \(role.map { "[\($0.tags.joined(separator: ","))]" } ?? "[]")  \(role?.zone ?? "NO ROLE ASSIGNED")  \(role?.capacity.map(formatCapacity) ?? "")"
        }
        print("==== HEALTHY NODES ====")
        print("ID                Hostname  Address  Tags  Zone  Capacity")
        let healthy = status.knownNodes.filter(\.isUp)
        for node in healthy { print(line(node, hostname: node.id == status.node ? ProcessInfo.processInfo.hostName : "-")) }
        let failed = status.knownNodes.filter { !$0.isUp }
        if !failed.isEmpty {
            print("")
            print("==== FAILED NODES ====")
            print("ID                Hostname  Address  Tags  Zone  Capacity  Last seen")
            for node in failed { print(line(node, hostname: "-") + "  " + (node.lastSeenSecsAgo.map { "\($0) seconds ago" } ?? "never seen")) }
        }
    }
}

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Node identity.", subcommands: [NodeID.self, Connect.self])

    struct NodeID: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "id", abstract: "Print this node's id (id@address).")
        @OptionGroup var global: GlobalOptions
        @Flag(name: [.short, .customLong("quiet")]) var quiet = false

        func run() async throws {
            let config = try global.load()
            let status = try await AdminClient(config: config).call("GET", "/v1/status", as: AdminModels.Status.self)
            print(status.node + (config.rpcPublicAddr.map { "@" + $0 } ?? ""))
        }
    }
}

extension NodeCommand {
    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "connect", abstract: "Connect to another node (<id>@<host>:<port>).")
        @OptionGroup var global: GlobalOptions
        @Argument var node: String

        func run() async throws {
            let results = try await global.client().call("POST", "/v1/connect", body: [node], as: [AdminModels.ConnectResult].self)
            guard let result = results.first, result.success else {
                throw CLIError("could not connect to \(node): \(results.first?.error ?? "no answer")")
            }
            print("Success.")
        }
    }
}

func formatCapacity(_ bytes: Int64) -> String {
    let units: [(Int64, String)] = [(1_000_000_000_000, "TB"), (1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")]
    for (size, unit) in units where bytes >= size { return String(format: "%.1f", Double(bytes) / Double(size)) + " " + unit }
    return "\(bytes) B"
}
