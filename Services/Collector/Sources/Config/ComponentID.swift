import VigilService

/// A component's id as written in otelcol YAML: "type" or "type/name" ("otlp/tempo").
public struct ComponentID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var type: String
    public var name: String

    public init(type: String, name: String = "") {
        self.type = type
        self.name = name
    }

    public init(parsing text: String) throws(ConfigValueError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let type = String(parts[0]).trimmingCharacters(in: .whitespaces)
        guard !type.isEmpty else { throw ConfigValueError("id \"\(text)\" has an empty type") }
        if parts.count == 2, parts[1].isEmpty { throw ConfigValueError("id \"\(text)\" has an empty name after \"/\"") }
        self.type = type
        self.name = parts.count == 2 ? String(parts[1]) : ""
    }

    public var description: String { name.isEmpty ? type : "\(type)/\(name)" }
    public static func < (a: ComponentID, b: ComponentID) -> Bool { a.description < b.description }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// Decodes a mapping of component ids to configs whose type is chosen by the id's type,
    /// refusing types the collector does not have (as otelcol does).
    func decodeComponents<Config>(
        kind: String,
        knownTypes: [String],
        decodeOne: (ComponentID, AnyCodingKey) throws -> Config
    ) throws -> [ComponentID: Config] {
        var result: [ComponentID: Config] = [:]
        for key in allKeys {
            let id: ComponentID
            do { id = try ComponentID(parsing: key.stringValue) } catch {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: error.message, underlyingError: error))
            }
            guard knownTypes.contains(id.type) else {
                let message = "unknown \(kind) type \"\(id.type)\" for id \"\(id)\" (valid values: \(knownTypes.joined(separator: ", ")))"
                throw invalid(key, message)
            }
            result[id] = try decodeOne(id, key)
        }
        return result
    }
}
