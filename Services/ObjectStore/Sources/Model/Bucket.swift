import Foundation

/// A bucket: its globally unique name (Garage's global alias), an id, when it was made,
/// and the keys granted access to it.
public struct Bucket: Sendable, Equatable {
    public var name: String
    public var id: String
    public var created: Date
    public var grants: [String: BucketPermission]

    public init(name: String, id: String, created: Date, grants: [String: BucketPermission] = [:]) {
        self.name = name
        self.id = id
        self.created = created
        self.grants = grants
    }

    /// S3's bucket naming rules (3–63 characters of lower-case letters, digits, '.' and
    /// '-', starting and ending with a letter or digit, not an IP address).
    public static func isValidName(_ name: String) -> Bool {
        guard (3...63).contains(name.utf8.count) else { return false }
        let allowed = name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
        guard allowed, let first = name.utf8.first, let last = name.utf8.last else { return false }
        guard first != 0x2E, first != 0x2D, last != 0x2E, last != 0x2D, !name.contains("..") else { return false }
        let parts = name.split(separator: ".")
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return false }
        return true
    }
}
