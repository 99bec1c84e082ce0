import Foundation
import Yams

/// Loads a YAML configuration file into a typed `Decodable` value. Every failure becomes a
/// `ConfigError` naming the file and the dotted key path, so a user can find the line.
public enum ConfigFile {
    public static func load<T: Decodable>(_ type: T.Type, path: String) throws(ConfigError) -> T {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, keyPath: "", message: "cannot read file: \(error.localizedDescription)")
        }
        return try parse(type, yaml: text, file: path)
    }

    public static func parse<T: Decodable>(_ type: T.Type, yaml: String, file: String = "<config>") throws(ConfigError) -> T {
        do {
            return try YAMLDecoder().decode(type, from: yaml)
        } catch let error as DecodingError {
            throw describe(error, file: file)
        } catch let error as ConfigValueError {
            throw ConfigError(file: file, keyPath: "", message: error.message)
        } catch let error as YamlError {
            throw ConfigError(file: file, keyPath: "", message: "invalid YAML: \(error)")
        } catch {
            throw ConfigError(file: file, keyPath: "", message: "\(error)")
        }
    }

    static func describe(_ error: DecodingError, file: String) -> ConfigError {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return ConfigError(file: file, keyPath: path(context.codingPath + [key]), message: "required key is missing")
        case .typeMismatch(let type, let context):
            return ConfigError(file: file, keyPath: path(context.codingPath), message: "expected \(friendlyName(type)); \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return ConfigError(file: file, keyPath: path(context.codingPath), message: "expected \(friendlyName(type)), found nothing")
        case .dataCorrupted(let context) where context.underlyingError is YamlError:
            return ConfigError(file: file, keyPath: path(context.codingPath), message: "invalid YAML: \(context.underlyingError!)")
        case .dataCorrupted(let context):
            let message = (context.underlyingError as? ConfigValueError)?.message ?? context.debugDescription
            return ConfigError(file: file, keyPath: path(context.codingPath), message: message)
        @unknown default:
            return ConfigError(file: file, keyPath: "", message: "\(error)")
        }
    }

    private static func friendlyName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is UInt64.Type, is Int64.Type, is UInt32.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        default: return "\(type)"
        }
    }
}
