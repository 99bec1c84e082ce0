import Crypto
import Foundation

/// Where the copies of an object live in a multi-node layout, Garage-style: the key space is
/// split into 256 partitions (by the first byte of SHA-256 of "bucket/key"), and each
/// partition is given `replicationFactor` storage nodes, in as many different zones as
/// there are, chosen by capacity-weighted rendezvous hashing. Rendezvous hashing keeps
/// assignments stable: adding or removing a node moves only the partitions that node
/// gains or loses. `ClusterMembership` builds it from the applied layout; see CLUSTER.md.
public struct PlacementRing: Sendable, Equatable {
    public static let partitionCount = 256

    public let replicationFactor: Int
    /// Node ids for each partition, best first.
    public let partitions: [[String]]

    public enum LayoutError: Error, Equatable, CustomStringConvertible {
        case notEnoughStorageNodes(have: Int, need: Int)
        case invalidReplicationFactor(Int)

        public var description: String {
            switch self {
            case .notEnoughStorageNodes(let have, let need):
                "The layout has \(have) storage node(s) but replication_factor needs \(need); assign more roles with a capacity"
            case .invalidReplicationFactor(let factor): "replication_factor must be 1, 2 or 3, not \(factor)"
            }
        }
    }

    /// Builds the ring from the layout's roles; gateway roles (no capacity) hold no data.
    public init(roles: [AdminModels.NodeRole], replicationFactor: Int) throws(LayoutError) {
        guard (1...3).contains(replicationFactor) else { throw .invalidReplicationFactor(replicationFactor) }
        let storage = roles.filter { ($0.capacity ?? 0) > 0 }.sorted { $0.id < $1.id }
        guard storage.count >= replicationFactor else {
            throw .notEnoughStorageNodes(have: storage.count, need: replicationFactor)
        }
        self.replicationFactor = replicationFactor
        partitions = (0..<Self.partitionCount).map { partition in
            Self.choose(from: storage, partition: partition, count: replicationFactor)
        }
    }

    /// The partition of an object.
    public static func partition(bucket: String, key: String) -> Int {
        Int(Array(SHA256.hash(data: Data("\(bucket)/\(key)".utf8)))[0])
    }

    /// The nodes holding an object, best first.
    public func nodes(bucket: String, key: String) -> [String] {
        partitions[Self.partition(bucket: bucket, key: key)]
    }

    /// Writes need this many acknowledgements (a majority: 2 of 3), and reads ask as many,
    /// so every read meets at least one node that has every acknowledged write.
    public var quorum: Int { replicationFactor / 2 + 1 }

    /// Weighted rendezvous score: capacity / -ln(u), u uniform in (0, 1) from the hash of
    /// (node, partition). The highest score wins; a node with twice the capacity wins about
    /// twice as often.
    static func score(_ role: AdminModels.NodeRole, partition: Int) -> Double {
        let digest = SHA256.hash(data: Data("\(role.id)#\(partition)".utf8))
        var bits: UInt64 = 0
        for byte in digest.prefix(8) { bits = bits << 8 | UInt64(byte) }
        let u = (Double(bits >> 11) + 0.5) / Double(1 << 53)
        return Double(role.capacity ?? 0) / -log(u)
    }

    /// The best node of each zone first (zone diversity), then the next best overall.
    static func choose(from roles: [AdminModels.NodeRole], partition: Int, count: Int) -> [String] {
        let ranked = roles.map { ($0, score($0, partition: partition)) }.sorted { $0.1 > $1.1 }.map(\.0)
        var chosen: [String] = []
        var zones = Set<String>()
        for role in ranked where chosen.count < count && !zones.contains(role.zone) {
            chosen.append(role.id)
            zones.insert(role.zone)
        }
        for role in ranked where chosen.count < count && !chosen.contains(role.id) {
            chosen.append(role.id)
        }
        return chosen
    }
}
