import Foundation
import OTLP

/// OTLP exemplar → Prometheus exemplar (OTel spec, "Exemplar Conversion").
enum PrometheusExemplars {
    /// OpenMetrics 1.0 limits the label names and values of an exemplar to 128 UTF-8 characters.
    static let maxLabelCharacters = 128

    /// - `trace_id` / `span_id` labels in lowercase hex when the ids are present (not all zero);
    /// - the filtered attributes as further labels (keys as given, like upstream), unless they
    ///   would push the label text past 128 characters, in which case only the ids are kept;
    ///   attributes named `trace_id`/`span_id` give way to the real ids (the spec's precedence);
    /// - the timestamp in milliseconds; the value as a double (0 if the exemplar has none).
    static func convert(_ exemplar: Exemplar) -> Prometheus_Exemplar {
        var result = Prometheus_Exemplar()
        result.timestamp = milliseconds(exemplar.timeUnixNano)
        switch exemplar.value {
        case .asInt(let i)?: result.value = Double(i)
        case .asDouble(let d)?: result.value = d
        case nil: result.value = 0
        }

        var characters = 0
        var idNames: Set<String> = []
        for (name, id) in [("trace_id", exemplar.traceID), ("span_id", exemplar.spanID)] where !isEmptyID(id) {
            let value = lowercaseHex(id)
            characters += name.unicodeScalars.count + value.unicodeScalars.count
            result.labels.append(label(name, value))
            idNames.insert(name)
        }

        var attributeLabels: [Prometheus_Label] = []
        for attribute in exemplar.filteredAttributes where !idNames.contains(attribute.key) {
            let value = AttributeText.string(attribute.value)
            characters += attribute.key.unicodeScalars.count + value.unicodeScalars.count
            attributeLabels.append(label(attribute.key, value))
        }
        if characters <= maxLabelCharacters {
            result.labels.append(contentsOf: attributeLabels)
        }
        return result
    }

    private static func isEmptyID(_ id: Data) -> Bool {
        id.allSatisfy { $0 == 0 }
    }

    private static func lowercaseHex(_ bytes: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func label(_ name: String, _ value: String) -> Prometheus_Label {
        var l = Prometheus_Label()
        l.name = name
        l.value = value
        return l
    }
}
