import VigilService

/// A configured processor: `batch` or `memory_limiter`.
public enum ProcessorConfig: Sendable {
    case batch(BatchConfig)
    case memoryLimiter(MemoryLimiterConfig)

    static let types = ["batch", "memory_limiter"]

    init(id: ComponentID, from c: KeyedDecodingContainer<AnyCodingKey>, key: AnyCodingKey) throws {
        let isNull = try c.decodeNil(forKey: key)
        switch id.type {
        case "batch":
            self = .batch(isNull ? BatchConfig() : try c.decode(BatchConfig.self, forKey: key))
        default:
            guard !isNull else { throw c.invalid(key, "memory_limiter needs limit_mib or limit_percentage") }
            self = .memoryLimiter(try c.decode(MemoryLimiterConfig.self, forKey: key))
        }
    }
}

/// `batch` processor settings, with otelcol's defaults and meaning: a batch is sent when
/// it reaches `sendBatchSize` items or `timeout` after its first item; no batch sent
/// holds more than `sendBatchMaxSize` items (0 = no limit).
public struct BatchConfig: Decodable, Sendable {
    public var timeout = GoDuration.milliseconds(200)
    public var sendBatchSize = 8192
    public var sendBatchMaxSize = 0

    public init(timeout: GoDuration = .milliseconds(200), sendBatchSize: Int = 8192, sendBatchMaxSize: Int = 0) {
        self.timeout = timeout
        self.sendBatchSize = sendBatchSize
        self.sendBatchMaxSize = sendBatchMaxSize
    }

    enum CodingKeys: String, CodingKey { case timeout, send_batch_size, send_batch_max_size, metadata_keys, metadata_cardinality_limit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        timeout = try c.decode(.timeout, default: timeout)
        sendBatchSize = try c.decode(.send_batch_size, default: sendBatchSize)
        sendBatchMaxSize = try c.decode(.send_batch_max_size, default: sendBatchMaxSize)
        if sendBatchMaxSize > 0, sendBatchMaxSize < sendBatchSize {
            throw c.invalid(.send_batch_max_size, "send_batch_max_size must be greater or equal to send_batch_size")
        }
        if sendBatchSize < 0 { throw c.invalid(.send_batch_size, "must not be negative") }
        if let keys = try c.decodeIfPresent([String].self, forKey: .metadata_keys), !keys.isEmpty {
            throw c.invalid(.metadata_keys, "batching by metadata keys is not supported")
        }
    }
}

/// `memory_limiter` settings: refuse data while resident memory is above the soft limit
/// (limit minus spike), as otelcol does.
public struct MemoryLimiterConfig: Decodable, Sendable {
    public var checkInterval = GoDuration.seconds(1)
    public var limitMiB = 0
    public var spikeLimitMiB = 0
    public var limitPercentage = 0
    public var spikeLimitPercentage = 0

    enum CodingKeys: String, CodingKey { case check_interval, limit_mib, spike_limit_mib, limit_percentage, spike_limit_percentage }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        checkInterval = try c.decode(.check_interval, default: checkInterval)
        limitMiB = try c.decode(.limit_mib, default: 0)
        spikeLimitMiB = try c.decode(.spike_limit_mib, default: limitMiB / 5)
        limitPercentage = try c.decode(.limit_percentage, default: 0)
        spikeLimitPercentage = try c.decode(.spike_limit_percentage, default: 0)
        if limitMiB == 0, limitPercentage == 0 {
            throw c.invalid(.limit_mib, "memory_limiter needs limit_mib or limit_percentage")
        }
        if limitMiB > 0, spikeLimitMiB >= limitMiB {
            throw c.invalid(.spike_limit_mib, "spike_limit_mib must be smaller than limit_mib")
        }
    }

    /// The soft limit in bytes given the machine's total memory.
    public func softLimitBytes(totalMemory: Int) -> Int {
        if limitMiB > 0 { return (limitMiB - spikeLimitMiB) << 20 }
        return totalMemory / 100 * (limitPercentage - spikeLimitPercentage)
    }
}
