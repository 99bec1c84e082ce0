import Foundation
import VigilService

/// The node's configuration, read from a file in Garage's `garage.toml` format so that a
/// Garage deployment's file works unchanged (https://garagehq.deuxfleurs.fr/documentation/reference-manual/configuration/).
///
/// Keys Garage knows but this store does not act on (compression, block size, the web
/// endpoint, K2V) are accepted and ignored; any other key is an error naming it.
public struct ObjectStoreConfig: Sendable, Equatable {
    public var metadataDir: String
    public var dataDir: String
    public var replicationFactor: Int = 1
    public var rpcBindAddr: String?
    public var rpcPublicAddr: String?
    public var rpcSecret: String?
    /// Other nodes to contact at start, as "<node id>@<host>:<port>" (Garage's form).
    public var bootstrapPeers: [String] = []
    public var consistencyMode: ConsistencyMode = .consistent
    /// How often replicas compare their partitions and pull what they miss (besides
    /// whenever a peer comes back). Not a Garage key; Garage's table sync runs every 10 min.
    public var antiEntropyIntervalMsec: Int = 10_000
    /// How often every data file this node holds is read back and checked against its
    /// CRC-32 (a bad one is fetched again from another replica). Not a Garage key; Garage's
    /// scrub runs about monthly, one day here since there is no rate limit to tune yet.
    public var scrubIntervalMsec: Int = 86_400_000
    public var s3Region: String = "garage"
    public var s3BindAddr: String = "[::]:3900"
    public var s3RootDomain: String?
    public var adminBindAddr: String = "[::]:3903"
    public var adminToken: String?
    public var metricsToken: String?
    /// Whether data files and metadata commits are fsynced before a write is acknowledged.
    /// Garage's `data_fsync`/`metadata_fsync` default to false; here durability is the
    /// default and both can only be turned off explicitly.
    public var dataFsync: Bool = true
    public var metadataFsync: Bool = true

    public init(metadataDir: String, dataDir: String) {
        self.metadataDir = metadataDir
        self.dataDir = dataDir
    }

    /// Keys accepted and ignored, for compatibility with Garage's files.
    static let ignoredKeys: Set<String> = [
        "db_engine", "block_size", "block_ram_buffer_max", "compression_level",
        "sled_cache_capacity", "sled_flush_every_ms", "lmdb_map_size",
        "metadata_auto_snapshot_interval", "metadata_snapshots_dir", "disable_scrub", "use_local_tz",
        "rpc_bind_outgoing", "rpc_ping_timeout_msec", "rpc_timeout_msec", "allow_world_readable_secrets",
        "allow_punycode", "s3_web.bind_addr", "s3_web.root_domain", "s3_web.index", "s3_web.add_host_to_metrics",
        "k2v_api.api_bind_addr", "admin.trace_sink", "kubernetes_discovery.namespace",
        "kubernetes_discovery.service_name", "kubernetes_discovery.skip_crd", "consul_discovery.api",
        "consul_discovery.consul_http_addr", "consul_discovery.service_name",
    ]

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(ConfigError) -> ObjectStoreConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, keyPath: "", message: "cannot read the configuration file: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses and validates configuration text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> ObjectStoreConfig {
        let document: TOMLDocument
        do {
            document = try TOMLDocument(parsing: text)
        } catch {
            throw ConfigError(file: file, keyPath: "", message: "\(error)")
        }
        var reader = ConfigReader(document: document, file: file)
        guard let metadataDir = try reader.string("metadata_dir") else {
            throw ConfigError(file: file, keyPath: "metadata_dir", message: "missing; set the directory for metadata (e.g. metadata_dir = \"/var/lib/garage/meta\")")
        }
        guard let dataDir = try reader.string("data_dir") else {
            throw ConfigError(file: file, keyPath: "data_dir", message: "missing; set the directory for object data (e.g. data_dir = \"/var/lib/garage/data\")")
        }
        var config = ObjectStoreConfig(metadataDir: metadataDir, dataDir: dataDir)
        if let factor = try reader.integer("replication_factor") {
            guard factor == 1 || factor == 2 || factor == 3 else {
                throw reader.error("replication_factor", "must be 1, 2 or 3, not \(factor)")
            }
            config.replicationFactor = Int(factor)
        }
        if let mode = try reader.string("replication_mode") {
            // Garage before 1.0 wrote the factor as a string ("none", "2", "3").
            guard let factor = ["none": 1, "1": 1, "2": 2, "3": 3][mode] else {
                throw reader.error("replication_mode", "must be \"none\", \"2\" or \"3\", not \"\(mode)\"")
            }
            config.replicationFactor = factor
        }
        config.rpcBindAddr = try reader.string("rpc_bind_addr")
        config.rpcPublicAddr = try reader.string("rpc_public_addr")
        config.rpcSecret = try reader.string("rpc_secret")
        if let fromFile = try reader.fileContents("rpc_secret_file") { config.rpcSecret = fromFile }
        if let secret = config.rpcSecret {
            guard secret.count == 64, secret.allSatisfy(\.isHexDigit) else {
                throw reader.error(document.entries["rpc_secret"] != nil ? "rpc_secret" : "rpc_secret_file",
                                   "must be 32 bytes written as 64 hex digits (openssl rand -hex 32)")
            }
        }
        if let bind = try reader.string("rpc_bind_addr") { try reader.checkAddress("rpc_bind_addr", bind) }
        if let peers = try reader.stringArray("bootstrap_peers") {
            for peer in peers {
                guard let at = peer.firstIndex(of: "@"), peer[..<at].count == 64, peer[..<at].allSatisfy(\.isHexDigit) else {
                    throw reader.error("bootstrap_peers", "\"\(peer)\" is not <node id>@<host>:<port> (the id is 64 hex digits, as `object-store node id` prints)")
                }
                try reader.checkAddress("bootstrap_peers", String(peer[peer.index(after: at)...]))
            }
            config.bootstrapPeers = peers
        }
        if let mode = try reader.string("consistency_mode") {
            guard let parsed = ConsistencyMode(rawValue: mode) else {
                throw reader.error("consistency_mode", "must be \"consistent\" or \"degraded\", not \"\(mode)\"")
            }
            config.consistencyMode = parsed
        }
        if let interval = try reader.integer("anti_entropy_interval_msec") {
            guard interval >= 100 else { throw reader.error("anti_entropy_interval_msec", "must be at least 100") }
            config.antiEntropyIntervalMsec = Int(interval)
        }
        if let interval = try reader.integer("scrub_interval_msec") {
            guard interval >= 100 else { throw reader.error("scrub_interval_msec", "must be at least 100") }
            config.scrubIntervalMsec = Int(interval)
        }
        config.s3Region = try reader.string("s3_api.s3_region") ?? config.s3Region
        config.s3BindAddr = try reader.string("s3_api.api_bind_addr") ?? config.s3BindAddr
        try reader.checkAddress("s3_api.api_bind_addr", config.s3BindAddr)
        config.s3RootDomain = try reader.string("s3_api.root_domain")
        config.adminBindAddr = try reader.string("admin.api_bind_addr") ?? config.adminBindAddr
        try reader.checkAddress("admin.api_bind_addr", config.adminBindAddr)
        config.adminToken = try reader.string("admin.admin_token")
        if let fromFile = try reader.fileContents("admin.admin_token_file") { config.adminToken = fromFile }
        config.metricsToken = try reader.string("admin.metrics_token")
        if let fromFile = try reader.fileContents("admin.metrics_token_file") { config.metricsToken = fromFile }
        config.dataFsync = try reader.boolean("data_fsync") ?? true
        config.metadataFsync = try reader.boolean("metadata_fsync") ?? true
        for key in document.orderedKeys where !reader.used.contains(key) && !ignoredKeys.contains(key) {
            throw ConfigError(file: file, keyPath: key, message: "unknown key (line \(document.entries[key]!.line))")
        }
        return config
    }
}

/// Garage's `consistency_mode`: `consistent` reads and writes at a quorum of the replicas;
/// `degraded` still writes at a quorum but reads from the first replica that answers
/// (so reads go on with a majority of replicas down, perhaps returning older data).
public enum ConsistencyMode: String, Sendable, Equatable {
    case consistent
    case degraded
}

/// Typed access to a `TOMLDocument` that remembers which keys were read.
struct ConfigReader {
    let document: TOMLDocument
    let file: String
    var used: Set<String> = []

    init(document: TOMLDocument, file: String) {
        self.document = document
        self.file = file
    }

    func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, keyPath: key, message: message)
    }

    mutating func value(_ key: String) -> TOMLValue? {
        used.insert(key)
        return document.entries[key]?.value
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let s) = value else { throw error(key, "must be a string, not \(value.typeName)") }
        return s
    }

    mutating func integer(_ key: String) throws(ConfigError) -> Int64? {
        guard let value = value(key) else { return nil }
        guard case .integer(let i) = value else { throw error(key, "must be an integer, not \(value.typeName)") }
        return i
    }

    mutating func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw error(key, "must be an array of strings, not \(value.typeName)") }
        var strings: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw error(key, "must be an array of strings, not of \(item.typeName)") }
            strings.append(s)
        }
        return strings
    }

    mutating func boolean(_ key: String) throws(ConfigError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .boolean(let b) = value else { throw error(key, "must be true or false, not \(value.typeName)") }
        return b
    }

    /// A secret given as a file path (`*_file` keys), read and trimmed.
    mutating func fileContents(_ key: String) throws(ConfigError) -> String? {
        guard let path = try string(key) else { return nil }
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw self.error(key, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    func checkAddress(_ key: String, _ text: String) throws(ConfigError) {
        do {
            _ = try HostPort(parsing: text)
        } catch {
            throw self.error(key, error.message)
        }
    }
}
