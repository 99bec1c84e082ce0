import VigilService

extension KeyedDecodingContainer {
    /// Decodes "host:port", reporting a bad value at its own key path.
    func decodeHostPort(forKey key: Key, default fallback: HostPort) throws -> HostPort {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return fallback }
        do { return try HostPort(parsing: text) } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: error.message)
        }
    }

    func decode<T: Decodable>(_ key: Key, default fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }

    /// A nested section decoded with a strict container; absent or null gives nil.
    func strictSection<SectionKey: CodingKey>(_ key: Key, keyedBy: SectionKey.Type) throws -> KeyedDecodingContainer<SectionKey>? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try superDecoder(forKey: key).strictContainer(keyedBy: SectionKey.self)
    }
}
