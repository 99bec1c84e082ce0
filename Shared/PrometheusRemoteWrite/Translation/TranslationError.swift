/// Why part of an OTLP request could not be translated. The descriptions reuse the wording
/// of the upstream Go translator so that logs read the same in both stacks.
enum TranslationError: Error, Equatable, CustomStringConvertible {
    case invalidTemporality(metric: String)
    case emptyDataPoints(metric: String)
    case emptyMetricName(original: String)
    case invalidMetricName(original: String, normalized: String)
    case emptyLabelName
    case invalidLabelName(original: String, normalized: String)
    case exponentialScaleTooSmall(scale: Int32)
    case invalidExternalLabel(name: String)

    var description: String {
        switch self {
        case .invalidTemporality(let metric):
            return "invalid temporality and type combination for metric \(quoted(metric))"
        case .emptyDataPoints(let metric):
            return "empty data points. \(metric) is dropped"
        case .emptyMetricName(let original):
            return "normalization for metric \(quoted(original)) resulted in empty name"
        case .invalidMetricName(let original, let normalized):
            return "normalization for metric \(quoted(original)) resulted in invalid name \(quoted(normalized))"
        case .emptyLabelName:
            return "label name is empty"
        case .invalidLabelName(let original, let normalized):
            return "normalization for label name \(quoted(original)) resulted in invalid name \(quoted(normalized))"
        case .exponentialScaleTooSmall(let scale):
            return "cannot convert exponential to native histogram. Scale must be >= -4, was \(scale)"
        case .invalidExternalLabel(let name):
            return "external label \(quoted(name)) has an empty or invalid name or an empty value; it is ignored"
        }
    }
}

private func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
