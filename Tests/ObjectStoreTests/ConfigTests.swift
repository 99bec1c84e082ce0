import Testing
import VigilService
@testable import ObjectStore

struct ConfigTests {
    static let garageExample = """
        metadata_dir = "/var/lib/garage/meta"
        data_dir = "/var/lib/garage/data"
        db_engine = "lmdb"
        replication_factor = 3
        compression_level = 2

        rpc_bind_addr = "[::]:3901"
        rpc_public_addr = "10.0.0.1:3901"
        rpc_secret = "1799bccfd7411eddcf9ebd316bc1f5287ad12a68094e1c6ac6abde7e6feae1ec" # openssl rand -hex 32
        bootstrap_peers = [
          "563e1ac825ee3323aa441e72c26d1030d6d4414aeb3dd25287c531e7fc2bc95d@[fc00:1::1]:3901",
        ]

        [s3_api]
        s3_region = "garage"
        api_bind_addr = "[::]:3900"
        root_domain = ".s3.garage"

        [s3_web]
        bind_addr = "[::]:3902"
        root_domain = ".web.garage"
        index = "index.html"

        [admin]
        api_bind_addr = "0.0.0.0:3903"
        admin_token = 'literal-token'
        """

    @Test func readsGaragesExampleConfiguration() throws {
        let config = try ObjectStoreConfig.parse(Self.garageExample, file: "garage.toml")
        #expect(config.metadataDir == "/var/lib/garage/meta")
        #expect(config.dataDir == "/var/lib/garage/data")
        #expect(config.replicationFactor == 3)
        #expect(config.rpcPublicAddr == "10.0.0.1:3901")
        #expect(config.s3Region == "garage")
        #expect(config.s3BindAddr == "[::]:3900")
        #expect(config.s3RootDomain == ".s3.garage")
        #expect(config.adminBindAddr == "0.0.0.0:3903")
        #expect(config.adminToken == "literal-token")
    }

    @Test func defaultsMatchGarage() throws {
        let config = try ObjectStoreConfig.parse("metadata_dir = \"m\"\ndata_dir = \"d\"", file: "f")
        #expect(config.s3BindAddr == "[::]:3900" && config.adminBindAddr == "[::]:3903" && config.replicationFactor == 1)
        #expect(config.adminToken == nil)
    }

    func error(_ text: String) -> ConfigError? {
        do {
            _ = try ObjectStoreConfig.parse(text, file: "garage.toml")
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownKeysAreNamed() {
        let failure = error("metadata_dir = \"m\"\ndata_dir = \"d\"\n[s3_api]\ns3_regoin = \"x\"")
        #expect(failure?.keyPath == "s3_api.s3_regoin")
        #expect(failure?.description.contains("unknown key (line 4)") == true)
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\n[nonsense]\na = 1")?.keyPath == "nonsense.a")
    }

    @Test func missingAndMistypedValuesAreNamed() {
        #expect(error("data_dir = \"d\"")?.keyPath == "metadata_dir")
        #expect(error("metadata_dir = \"m\"")?.keyPath == "data_dir")
        #expect(error("metadata_dir = 5\ndata_dir = \"d\"")?.message == "must be a string, not integer")
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nreplication_factor = 4")?.keyPath == "replication_factor")
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nrpc_secret = \"short\"")?.keyPath == "rpc_secret")
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\n[s3_api]\napi_bind_addr = \"nohost\"")?.keyPath == "s3_api.api_bind_addr")
    }

    @Test func clusterKeysAreReadAndChecked() throws {
        let config = try ObjectStoreConfig.parse(Self.garageExample + "\n", file: "garage.toml")
        #expect(config.bootstrapPeers == ["563e1ac825ee3323aa441e72c26d1030d6d4414aeb3dd25287c531e7fc2bc95d@[fc00:1::1]:3901"])
        #expect(config.consistencyMode == .consistent)
        let degraded = try ObjectStoreConfig.parse("metadata_dir = \"m\"\ndata_dir = \"d\"\nconsistency_mode = \"degraded\"", file: "f")
        #expect(degraded.consistencyMode == .degraded)
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nconsistency_mode = \"dangerous\"")?.keyPath == "consistency_mode")
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nbootstrap_peers = [\"nodeid@host:1\"]")?.keyPath == "bootstrap_peers")
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nbootstrap_peers = \"x\"")?.message.contains("array") == true)
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nanti_entropy_interval_msec = 5")?.keyPath == "anti_entropy_interval_msec")
        #expect(error("metadata_dir = \"m\"\ndata_dir = \"d\"\nscrub_interval_msec = 5")?.keyPath == "scrub_interval_msec")
    }

    @Test func syntaxErrorsGiveTheLine() {
        #expect(error("metadata_dir = \"m\"\ndata_dir = unquoted")?.message.hasPrefix("line 2:") == true)
        #expect(error("metadata_dir = \"m\"\nmetadata_dir = \"again\"")?.message.contains("defined twice") == true)
        #expect(error("[s3_api\nx = 1")?.message.hasPrefix("line 1:") == true)
        #expect(error("a = \"unterminated\nb = 1")?.message.contains("unterminated string") == true)
    }

    @Test func tomlValuesOfEveryKind() throws {
        let document = try TOMLDocument(parsing: """
            a = 1_000
            b = 0x1F
            c = -2.5
            d = true
            e = "tab\\tquote\\" \\u00e9"
            f = '''
            raw \\n'''
            "quoted key".g = [1, 2,
              3,] # comment
            """)
        #expect(document.entries["a"]?.value == .integer(1000))
        #expect(document.entries["b"]?.value == .integer(31))
        #expect(document.entries["c"]?.value == .float(-2.5))
        #expect(document.entries["d"]?.value == .boolean(true))
        #expect(document.entries["e"]?.value == .string("tab\tquote\" é"))
        #expect(document.entries["f"]?.value == .string("raw \\n"))
        #expect(document.entries["quoted key.g"]?.value == .array([.integer(1), .integer(2), .integer(3)]))
    }
}
