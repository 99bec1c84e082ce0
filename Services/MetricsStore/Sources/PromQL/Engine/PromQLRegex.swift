/// A fully anchored regular expression with capture groups, for `label_replace`.
///
/// The pattern is first checked by the RE2 parser the label matchers use, so that only
/// RE2 syntax is accepted; matching and captures then use Swift's `Regex` on Unicode
/// scalars, which agrees with RE2 on that syntax.
struct PromQLRegex {
    private let regex: Regex<AnyRegexOutput>

    init(anchoring pattern: String) throws {
        _ = try LabelMatcher.regex("_", pattern)
        regex = try Regex("^(?s:" + pattern + ")$").matchingSemantics(.unicodeScalar)
    }

    /// The template expanded with the match's groups (`$1`, `${1}`, `$name`, `$$`), or nil
    /// when `value` does not match. An unknown group expands to nothing, as in Go.
    func replace(_ value: String, with template: String) -> String? {
        guard let match = try? regex.wholeMatch(in: value) else { return nil }
        let output = match.output
        var result = ""
        let scalars = Array(template.unicodeScalars)
        var i = 0
        func isNameScalar(_ s: Unicode.Scalar) -> Bool {
            s == "_" || (s.value < 128 && (s.properties.isAlphabetic || ("0"..."9").contains(s)))
        }
        while i < scalars.count {
            let s = scalars[i]
            guard s == "$", i + 1 < scalars.count else {
                result.unicodeScalars.append(s)
                i += 1
                continue
            }
            if scalars[i + 1] == "$" {
                result += "$"
                i += 2
                continue
            }
            var name = ""
            var next = i + 1
            if scalars[next] == "{" {
                var end = next + 1
                while end < scalars.count, isNameScalar(scalars[end]) { end += 1 }
                guard end < scalars.count, scalars[end] == "}", end > next + 1 else {
                    result += "$"
                    i += 1
                    continue
                }
                name = String(String.UnicodeScalarView(scalars[(next + 1)..<end]))
                next = end + 1
            } else {
                var end = next
                while end < scalars.count, isNameScalar(scalars[end]) { end += 1 }
                guard end > next else {
                    result += "$"
                    i += 1
                    continue
                }
                name = String(String.UnicodeScalarView(scalars[next..<end]))
                next = end
            }
            if let number = Int(name) {
                if number < output.count, let sub = output[number].substring { result += sub }
            } else if let element = output[name], let sub = element.substring {
                result += sub
            }
            i = next
        }
        return result
    }
}
