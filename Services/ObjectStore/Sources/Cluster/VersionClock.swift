import Foundation

/// Versions of replicated entries (objects, keys, buckets, grants): a fixed-width hex
/// timestamp in microseconds, then the writing node's id, so plain string order is
/// "later write wins, node id breaks ties". The empty version is older than any write
/// (rows written before the node joined a cluster).
///
/// The clock never goes backwards on one node (each version is above the last one it
/// gave), but versions of different nodes are only as ordered as their clocks are.
public final class VersionClock: Sendable {
    private let state = LockedValue<(last: UInt64, node: String)>((0, ""))

    public init() {}

    /// Sets the node id written into versions (its first 16 hex digits).
    public func setNode(_ id: String) {
        state.withLock { $0.node = String(id.prefix(16)) }
    }

    /// A version later than every one this clock has given before.
    public func next() -> String {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return state.withLock { state in
            state.last = max(now, state.last + 1)
            return Self.format(micros: state.last, node: state.node)
        }
    }

    /// Moves the clock past a version seen from another node, so a later local write to
    /// the same entry wins even when this node's clock is behind.
    public func observe(_ version: String) {
        guard let micros = Self.micros(of: version) else { return }
        state.withLock { $0.last = max($0.last, micros) }
    }

    static func format(micros: UInt64, node: String) -> String {
        let hex = String(micros, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + "-" + node
    }

    static func micros(of version: String) -> UInt64? {
        UInt64(version.prefix(16), radix: 16)
    }
}

/// The merge rule shared by every replicated table: an incoming entry replaces the local
/// one only when its version is strictly greater (equal versions are the same write, so
/// applying twice changes nothing), and anything replaces nothing.
public enum VersionOrder {
    public static func supersedes(_ incoming: String, _ local: String?) -> Bool {
        guard let local else { return true }
        return incoming.utf8.lexicographicallyPrecedes(local.utf8) == false && incoming != local
    }

    /// The newest of several versions (nil when there are none).
    public static func newest(_ versions: [String]) -> String? {
        versions.max { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
