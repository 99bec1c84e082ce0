import Foundation

/// An S3 access key: the id clients put in `Credential=`, its secret, a name for humans and
/// whether it may create buckets. Ids look like Garage's: "GK" and 24 hex digits.
public struct AccessKey: Sendable, Equatable, Codable {
    public var id: String
    public var secret: String
    public var name: String
    public var allowCreateBucket: Bool

    public init(id: String, secret: String, name: String, allowCreateBucket: Bool = false) {
        self.id = id
        self.secret = secret
        self.name = name
        self.allowCreateBucket = allowCreateBucket
    }

    /// A new key with random id and secret.
    public static func generate(name: String) -> AccessKey {
        AccessKey(id: "GK" + randomHex(bytes: 12), secret: randomHex(bytes: 32), name: name)
    }
}

func randomHex(bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }.hexString
}

/// What one key may do in one bucket (Garage's three flags).
public struct BucketPermission: Sendable, Equatable, Codable {
    public var read: Bool
    public var write: Bool
    public var owner: Bool

    public init(read: Bool = false, write: Bool = false, owner: Bool = false) {
        self.read = read
        self.write = write
        self.owner = owner
    }

    public static let none = BucketPermission()
    public var isNone: Bool { !read && !write && !owner }
}
