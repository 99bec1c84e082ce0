/// A configuration file that could not be used, with what a user needs to fix it: the
/// file, the dotted path of the offending key, and what is wrong with it.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var keyPath: String
    public var message: String

    public init(file: String, keyPath: String, message: String) {
        self.file = file
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        keyPath.isEmpty ? "\(file): \(message)" : "\(file): \(keyPath): \(message)"
    }
}

/// Raised by config types' own validation; `ConfigFile` adds the file name and the key
/// path of the value being decoded.
public struct ConfigValueError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
