import Foundation
import Logging
import Synchronization
import VigilService

/// Loads prometheus.yml and hands it to the scrape manager; on reload (SIGHUP,
/// POST /-/reload) a bad file keeps the running configuration and reports the error.
public final class ConfigReloader: Sendable {
    /// The YAML of the configuration in force, for /api/v1/status/config.
    public struct Loaded: Sendable {
        public var config = PrometheusConfig.empty
        public var yaml = ""
        public var time = Date()
        public var lastReloadSucceeded = true
    }

    let path: String
    /// When false, a missing file at `path` means "no scrape configs" (the default path).
    let required: Bool
    let manager: ScrapeManager
    let logger: Logger
    /// Other parts configured by prometheus.yml (rules, alerting), applied before the
    /// scrape configs; one that throws fails the reload.
    let appliers: [Applier]
    private let state = Mutex(Loaded())

    /// Applies a validated configuration read from `path`; throws to refuse it.
    public typealias Applier = @Sendable (_ config: PrometheusConfig, _ path: String) async throws -> Void

    public init(path: String, required: Bool, manager: ScrapeManager, logger: Logger, appliers: [Applier] = []) {
        self.path = path
        self.required = required
        self.manager = manager
        self.logger = logger
        self.appliers = appliers
    }

    public var loaded: Loaded { state.withLock { $0 } }

    /// Reads, validates and applies the file; on error nothing changes.
    public func reload() async throws(ConfigError) {
        let config: PrometheusConfig
        let yaml: String
        do {
            if !required, !FileManager.default.fileExists(atPath: path) {
                logger.info("no configuration file; running without scrape configs", metadata: ["file": "\(path)"])
                (config, yaml) = (.empty, "")
            } else {
                (config, yaml) = try PrometheusConfig.load(path: path)
            }
        } catch {
            state.withLock { $0.lastReloadSucceeded = false }
            logger.error("error loading config", metadata: ["file": "\(path)", "error": "\(error)"])
            throw error
        }
        for apply in appliers {
            do {
                try await apply(config, path)
            } catch {
                state.withLock { $0.lastReloadSucceeded = false }
                logger.error("error applying config", metadata: ["file": "\(path)", "error": "\(error)"])
                throw ConfigError(file: path, keyPath: "", message: "\(error)")
            }
        }
        await manager.apply(config)
        state.withLock { $0 = Loaded(config: config, yaml: yaml, time: Date(), lastReloadSucceeded: true) }
        logger.info("completed loading of configuration file", metadata: ["file": "\(path)", "jobs": "\(config.scrapeConfigs.count)"])
    }

    /// Reloads on every SIGHUP until the task is cancelled.
    public func reloadOnHangup() async {
        let (hangups, continuation) = AsyncStream<Void>.makeStream()
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP)
        source.setEventHandler { continuation.yield() }
        source.resume()
        await withTaskCancellationHandler {
            for await _ in hangups { try? await reload() }
        } onCancel: {
            continuation.finish()
        }
        source.cancel()
    }
}
