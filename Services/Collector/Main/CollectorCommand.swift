import ArgumentParser
import Collector
import Foundation
import Prometheus
import VigilService

/// `collector`: the command line follows otelcol's: `collector --config=FILE` runs,
/// `collector validate --config=FILE` checks a configuration and exits.
@main
struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collector",
        abstract: "Vigil collector: receives OTLP, batches, and exports to OTLP and Prometheus remote-write backends.",
        subcommands: [Run.self, Validate.self],
        defaultSubcommand: Run.self)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .customLong("config"), help: "Path to the collector's YAML configuration (otelcol format).")
    var path: String
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the collector (the default).")
    @OptionGroup var config: ConfigOption

    func run() async throws {
        let loaded: CollectorConfig
        do {
            loaded = try CollectorConfig.load(path: config.path)
        } catch {
            FileHandle.standardError.write(Data("collector: invalid configuration: \(error)\n".utf8))
            throw ExitCode(1)
        }
        LoggingSetup.bootstrap(level: loaded.service.telemetry.logLevel)
        let metrics = SelfMetrics()
        metrics.bootstrapMetricsSystem()
        let collector = try Collector(config: loaded, registry: metrics.registry)
        try await collector.run()
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check a configuration and exit.")
    @OptionGroup var config: ConfigOption

    func run() async throws {
        do {
            _ = try CollectorConfig.load(path: config.path)
        } catch {
            FileHandle.standardError.write(Data("collector: invalid configuration: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print("configuration \(config.path) is valid")
    }
}
