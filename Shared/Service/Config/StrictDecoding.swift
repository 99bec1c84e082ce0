/// A coding key for any string: used to list the keys a YAML mapping really has.
public struct AnyCodingKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
    public init(_ string: String) { self.stringValue = string }
}

extension Decoder {
    /// A keyed container that refuses keys the type does not know. Upstream components
    /// (otelcol, Prometheus) reject misspelt keys instead of silently ignoring them, and so
    /// do we: the error names the unknown key.
    public func strictContainer<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let all = try container(keyedBy: AnyCodingKey.self)
        for key in all.allKeys where Key(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [key],
                debugDescription: "unknown key \"\(key.stringValue)\"",
                underlyingError: ConfigValueError("unknown key \"\(key.stringValue)\"")))
        }
        return try container(keyedBy: type)
    }

    /// True when the value here is YAML null (a key written with nothing after the colon).
    public func isNull() -> Bool {
        (try? singleValueContainer().decodeNil()) ?? false
    }
}

extension KeyedDecodingContainer {
    /// A configuration error at `key` below this container, with a message that names the
    /// problem; configuration loaders print the key path with it.
    public func invalid(_ key: Key, _ message: String) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: message,
                                          underlyingError: ConfigValueError(message)))
    }

    /// Decodes an optional section where `key:` with no value means "present, all
    /// defaults" (as in otelcol's `protocols: { grpc: }`), and an absent key means nil.
    public func decodeSection<T: Decodable>(_ type: T.Type, forKey key: Key, default makeDefault: () -> T) throws -> T? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return makeDefault() }
        return try decode(type, forKey: key)
    }
}
