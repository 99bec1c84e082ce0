/// Turns OTLP attribute keys into classic Prometheus label names (`[a-zA-Z_][a-zA-Z0-9_]*`).
///
/// Rules, as the collector applies them (prometheus/otlptranslator `LabelNamer` with the
/// collector's defaults: `pkg.translator.prometheus.PermissiveLabelSanitization` is beta, so
/// neither the `key` prefix for a leading `_` nor the preservation of `__` runs is on):
/// - every character other than ASCII letters and digits becomes `_`, and a run of such
///   characters (underscores included) becomes a single `_` (OTel spec, "Metric Attributes":
///   "Multiple consecutive `_` characters SHOULD be replaced with a single `_`");
/// - a reserved name `__x__` keeps its double underscores around the sanitised inside;
/// - a name starting with a digit gets the prefix `key_`;
/// - an empty key, or one that sanitises to underscores only, is an error (upstream drops
///   the data point that carries it).
enum PrometheusLabelNamer {
    static func build(_ label: String) throws(TranslationError) -> String {
        guard !label.isEmpty else { throw .emptyLabelName }
        if isAlreadyValid(label) { return label }

        var inner = Substring(label)
        let bytes = label.utf8
        let reserved = bytes.count >= 4 && label.hasPrefix("__") && label.hasSuffix("__")
        if reserved {
            inner = inner.dropFirst(2).dropLast(2)
        }

        var name = reserved ? "__" : ""
        var previousWasUnderscore = false
        for scalar in inner.unicodeScalars {
            if scalar.isASCIIAlphanumeric {
                name.unicodeScalars.append(scalar)
                previousWasUnderscore = false
            } else if !previousWasUnderscore {
                name += "_"
                previousWasUnderscore = true
            }
        }
        if reserved { name += "__" }

        if let first = name.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            name = "key_" + name
        }
        if name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") }) {
            throw .invalidLabelName(original: label, normalized: name)
        }
        return name
    }

    /// True when `build` would return `label` unchanged: ASCII letters, digits and single
    /// underscores, not starting with a digit, not only underscores. Most keys take this path.
    private static func isAlreadyValid(_ label: String) -> Bool {
        var previousWasUnderscore = false
        var sawOther = false
        for byte in label.utf8 {
            switch byte {
            case UInt8(ascii: "_"):
                if previousWasUnderscore { return false }
                previousWasUnderscore = true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasUnderscore = false
                sawOther = true
            default:
                return false
            }
        }
        let first = label.utf8.first!
        return sawOther && !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
    }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        switch value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }

    /// Characters allowed in a classic metric name besides `_`: ASCII letters, digits and `:`.
    var isMetricNameCharacter: Bool {
        isASCIIAlphanumeric || self == ":"
    }
}
