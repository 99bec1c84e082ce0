import Foundation
import OTLP

/// Text of an OTLP attribute value as a Prometheus label value.
///
/// The OTel compatibility spec ("Metric Attributes") requires non-string values to be
/// stringified per the attribute spec; the collector does it with pdata's `Value.AsString`,
/// which this reproduces: booleans `true`/`false`, integers in decimal, doubles as ES6/JSON
/// numbers, bytes as standard base64, arrays and maps as compact JSON (map keys sorted,
/// no HTML escaping), an empty value as "".
enum AttributeText {
    static func string(_ value: AnyValue) -> String {
        switch value.value {
        case nil, .stringValueStrindex?:
            return ""
        case .stringValue(let s)?:
            return s
        case .boolValue(let b)?:
            return b ? "true" : "false"
        case .intValue(let i)?:
            return String(i)
        case .doubleValue(let d)?:
            return GoFloatFormat.es6(d)
        case .bytesValue(let data)?:
            return data.base64EncodedString()
        case .arrayValue, .kvlistValue:
            // encoding/json refuses NaN and ±Inf; pdata then returns an empty string.
            var out = ""
            return appendJSON(value, to: &out) ? out : ""
        }
    }

    /// Appends the JSON form of `value`; false if it holds a non-finite double.
    private static func appendJSON(_ value: AnyValue, to out: inout String) -> Bool {
        switch value.value {
        case nil, .stringValueStrindex?:
            out += "null"
        case .stringValue(let s)?:
            appendJSONString(s, to: &out)
        case .boolValue(let b)?:
            out += b ? "true" : "false"
        case .intValue(let i)?:
            out += String(i)
        case .doubleValue(let d)?:
            guard d.isFinite else { return false }
            out += GoFloatFormat.es6(d)
        case .bytesValue(let data)?:
            appendJSONString(data.base64EncodedString(), to: &out)
        case .arrayValue(let array)?:
            out += "["
            for (i, element) in array.values.enumerated() {
                if i > 0 { out += "," }
                guard appendJSON(element, to: &out) else { return false }
            }
            out += "]"
        case .kvlistValue(let list)?:
            // pdata goes through a Go map: the last duplicate key wins and keys come out sorted.
            var entries: [String: AnyValue] = [:]
            for kv in list.values { entries[kv.key] = kv.value }
            out += "{"
            for (i, key) in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                appendJSONString(key, to: &out)
                out += ":"
                guard appendJSON(entries[key]!, to: &out) else { return false }
            }
            out += "}"
        }
        return true
    }

    private static func appendJSONString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension Array where Element == KeyValue {
    /// The first value stored under `key`, as pdata's `Map.Get` finds it.
    func firstValue(forKey key: String) -> AnyValue? {
        first(where: { $0.key == key })?.value
    }
}
