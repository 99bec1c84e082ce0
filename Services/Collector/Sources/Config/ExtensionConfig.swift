import VigilService

/// A configured extension: `health_check` or `file_storage` (the persistent queue's home).
public enum ExtensionConfig: Sendable {
    case healthCheck(endpoint: HostPort, path: String)
    case fileStorage(directory: String)

    static let types = ["health_check", "file_storage"]

    enum HealthKeys: String, CodingKey { case endpoint, path, check_collector_pipeline, response_body }
    enum StorageKeys: String, CodingKey { case directory, timeout, create_directory, fsync, compaction }

    init(id: ComponentID, from c: KeyedDecodingContainer<AnyCodingKey>, key: AnyCodingKey) throws {
        let decoder = try c.superDecoder(forKey: key)
        let isNull = decoder.isNull()
        switch id.type {
        case "health_check":
            let defaultEndpoint = HostPort(host: "0.0.0.0", port: 13133)
            guard !isNull else { self = .healthCheck(endpoint: defaultEndpoint, path: "/"); return }
            let h = try decoder.strictContainer(keyedBy: HealthKeys.self)
            self = .healthCheck(endpoint: try h.decodeHostPort(forKey: .endpoint, default: defaultEndpoint),
                                path: try h.decode(.path, default: "/"))
        default:
            let defaultDirectory = "/var/lib/otelcol/file_storage"
            guard !isNull else { self = .fileStorage(directory: defaultDirectory); return }
            let s = try decoder.strictContainer(keyedBy: StorageKeys.self)
            self = .fileStorage(directory: try s.decode(.directory, default: defaultDirectory))
        }
    }
}
