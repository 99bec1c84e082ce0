import Foundation

/// The contents of a block's `meta.json`, with Prometheus's field names
/// (`tsdb.BlockMeta`). `maxTime` is exclusive: one past the last sample's timestamp.
public struct BlockMeta: Sendable, Equatable, Codable {
    public struct Stats: Sendable, Equatable, Codable {
        public var numSamples: UInt64
        public var numSeries: UInt64
        public var numChunks: UInt64
    }

    public struct Compaction: Sendable, Equatable, Codable {
        public var level: Int
        public var sources: [String]
    }

    /// Only version 1 exists upstream.
    public static let currentVersion = 1

    public var ulid: String
    public var minTime: Int64
    public var maxTime: Int64
    public var stats: Stats
    public var compaction: Compaction
    public var version: Int

    func encoded() throws(BlockError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return Array(try encoder.encode(self)) + [0x0A]
        } catch {
            throw .invalidInput("meta.json encoding failed: \(error)")
        }
    }

    static func decode(_ bytes: [UInt8], path: String) throws(BlockError) -> BlockMeta {
        let meta: BlockMeta
        do {
            meta = try JSONDecoder().decode(BlockMeta.self, from: Data(bytes))
        } catch {
            throw .invalidMeta(path: path, reason: "\(error)")
        }
        guard meta.version == currentVersion else {
            throw .unsupportedVersion(file: path, version: meta.version)
        }
        guard ULID(meta.ulid) != nil else { throw .invalidMeta(path: path, reason: "ulid \"\(meta.ulid)\" is not a ULID") }
        return meta
    }
}
