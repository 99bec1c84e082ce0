/// Applies relabel rules to a label set, as Prometheus's `relabel.Process` does for target
/// relabeling (`relabel_configs`) and sample relabeling (`metric_relabel_configs`).
///
/// Rules run in order on a working copy; the first `keep`/`drop`/`keepequal`/`dropequal`
/// that rejects the set ends processing. As in Prometheus's `labels.Builder`, setting a label
/// to the empty value deletes it, and labels that arrive with an empty value are absent from
/// the result.
public enum Relabeler {
    /// The relabeled set, or nil when a rule dropped it.
    public static func process(_ labels: Labels, _ configs: [RelabelConfig]) -> Labels? {
        var builder = WorkingLabels(labels)
        for config in configs {
            guard apply(config, to: &builder) else { return nil }
        }
        return builder.result()
    }

    /// One rule; false when it drops the set.
    private static func apply(_ config: RelabelConfig, to labels: inout WorkingLabels) -> Bool {
        let value = labels.joinedValues(of: config.sourceLabels, separator: config.separator)
        switch config.action {
        case .drop:
            return !config.regex.matches(value)
        case .keep:
            return config.regex.matches(value)
        case .dropEqual:
            return !UTF8Bytes.equal(labels.value(of: config.targetLabel), value)
        case .keepEqual:
            return UTF8Bytes.equal(labels.value(of: config.targetLabel), value)
        case .replace:
            replace(config, value, in: &labels)
        case .lowercase:
            labels.set(config.targetLabel, GoCaseMapping.lowercased(value))
        case .uppercase:
            labels.set(config.targetLabel, GoCaseMapping.uppercased(value))
        case .hashmod:
            labels.set(config.targetLabel, String(hashmod(value, config.modulus)))
        case .labelmap:
            for label in labels.snapshot() where config.regex.matches(label.name) {
                let name = expand(config.replacement, matching: label.name, config.regex)
                // Prometheus would add a label with an empty name here; it cannot be stored.
                if !name.isEmpty { labels.set(name, label.value) }
            }
        case .labeldrop:
            for label in labels.snapshot() where config.regex.matches(label.name) {
                labels.delete(label.name)
            }
        case .labelkeep:
            for label in labels.snapshot() where !config.regex.matches(label.name) {
                labels.delete(label.name)
            }
        }
        return true
    }

    /// No match: nothing changes. Otherwise the expanded target, if a valid name, gets the
    /// expanded replacement; an empty replacement deletes it.
    private static func replace(_ config: RelabelConfig, _ value: String, in labels: inout WorkingLabels) {
        guard config.regex.matches(value) else { return }
        var target = config.targetLabel
        var replacement = config.replacement
        if hasReference(target) || hasReference(replacement) {
            let match = config.regex.submatches(of: value)
            target = expand(target, match)
            replacement = expand(replacement, match)
        }
        guard config.nameValidationScheme.isValidLabelName(target) else { return }
        labels.set(target, replacement)
    }

    /// MD5 of the value; the last 8 digest bytes, big-endian, modulo `modulus` (Prometheus
    /// keeps those bytes "to give the same result as earlier versions").
    static func hashmod(_ value: String, _ modulus: UInt64) -> UInt64 {
        let digest = MD5.digest(Array(value.utf8))
        let low = digest[8...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return low % modulus
    }

    // MARK: Templates

    private static func hasReference(_ template: String) -> Bool {
        template.utf8.contains(UInt8(ascii: "$"))
    }

    /// `template` with group references filled from the match of `regex` on `value`.
    private static func expand(_ template: String, matching value: String, _ regex: RelabelRegex) -> String {
        guard hasReference(template) else { return template }
        return expand(template, regex.submatches(of: value))
    }

    /// Go's `Regexp.Expand`: `$$` is `$`; `$name` takes the longest run of letters, digits
    /// and `_` (so `$1x` is the group named `1x`, which does not exist, and expands empty);
    /// `${name}` is delimited; an all-digit name without a leading zero is a group number;
    /// an unknown or unmatched group is empty; a `$` not followed by a name is literal.
    static func expand(_ template: String, _ match: RelabelRegex.Submatches) -> String {
        let bytes = template.utf8
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + (match.groups[0]?.utf8.count ?? 0))
        var index = bytes.startIndex
        while let dollar = bytes[index...].firstIndex(of: UInt8(ascii: "$")) {
            out.append(contentsOf: bytes[index..<dollar])
            index = bytes.index(after: dollar)
            if index < bytes.endIndex && bytes[index] == UInt8(ascii: "$") {
                out.append(UInt8(ascii: "$"))
                index = bytes.index(after: index)
                continue
            }
            guard let (name, end) = reference(in: template, from: index) else {
                out.append(UInt8(ascii: "$"))
                continue
            }
            index = end
            let group = groupNumber(name).map { match.group($0) } ?? match.group(named: String(name))
            if let group { out.append(contentsOf: group.utf8) }
        }
        out.append(contentsOf: bytes[index...])
        return String(decoding: out, as: UTF8.self)
    }

    /// The name of a `name` or `{name}` reference starting at `start` (just after `$`), and
    /// where the reference ends.
    private static func reference(in template: String, from start: String.Index) -> (Substring, String.Index)? {
        let scalars = template.unicodeScalars
        var position = start
        let braced = position < scalars.endIndex && scalars[position] == "{"
        if braced { position = scalars.index(after: position) }
        let nameStart = position
        while position < scalars.endIndex && isNameScalar(scalars[position]) { position = scalars.index(after: position) }
        guard position > nameStart else { return nil }
        let name = Substring(scalars[nameStart..<position])
        if braced {
            guard position < scalars.endIndex && scalars[position] == "}" else { return nil }
            position = scalars.index(after: position)
        }
        return (name, position)
    }

    /// Go's `unicode.IsLetter || unicode.IsDigit || '_'`.
    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = UInt8(scalar.value)
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) || value == 0x5F
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return false
        }
    }

    /// Go's rule: ASCII digits only, no leading zero, below 10^8 while parsing.
    private static func groupNumber(_ name: Substring) -> Int? {
        var number = 0
        for byte in name.utf8 {
            guard (0x30...0x39).contains(byte), number < 100_000_000 else { return nil }
            number = number * 10 + Int(byte - 0x30)
        }
        if name.utf8.count > 1 && name.utf8.first == UInt8(ascii: "0") { return nil }
        return number
    }
}

// MARK: - Working label set

/// Prometheus's `labels.Builder`, whose exact behaviour relabeling depends on: a base set,
/// a list of deleted names and a list of added labels in the order they were set.
/// Iteration (for labelmap, labeldrop, labelkeep) sees the base labels still present, by
/// name, then the added ones in insertion order, so when two labels map to one name the
/// later one wins exactly as in Prometheus.
private struct WorkingLabels {
    private let base: Labels
    private var deleted: [String] = []
    private var added: [Label] = []

    init(_ base: Labels) {
        self.base = base
        for label in base where label.value.isEmpty { deleted.append(label.name) }
    }

    /// The value of `name`, or "" when absent.
    func value(of name: String) -> String {
        if let label = added.first(where: { UTF8Bytes.equal($0.name, name) }) { return label.value }
        if deleted.contains(where: { UTF8Bytes.equal($0, name) }) { return "" }
        return base[name] ?? ""
    }

    func joinedValues(of names: [String], separator: String) -> String {
        switch names.count {
        case 0: return ""
        case 1: return value(of: names[0])
        default: return names.map(value(of:)).joined(separator: separator)
        }
    }

    mutating func set(_ name: String, _ value: String) {
        guard !value.isEmpty else { return delete(name) }
        if let index = added.firstIndex(where: { UTF8Bytes.equal($0.name, name) }) {
            added[index].value = value
        } else {
            added.append(Label(name: name, value: value))
        }
    }

    mutating func delete(_ name: String) {
        added.removeAll { UTF8Bytes.equal($0.name, name) }
        deleted.append(name)
    }

    /// The current labels, in iteration order; later changes do not affect it.
    func snapshot() -> [Label] {
        var labels: [Label] = []
        labels.reserveCapacity(base.count + added.count)
        for index in base.indices where isBaseLabelLive(base[index]) { labels.append(base[index]) }
        labels.append(contentsOf: added)
        return labels
    }

    /// The live base labels (already sorted) merged with the sorted additions.
    func result() -> Labels {
        if deleted.isEmpty && added.isEmpty { return base }
        let additions = added.sorted { UTF8Bytes.compare($0.name, $1.name) < 0 }
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(base.count + additions.count)
        var next = 0
        for index in base.indices {
            let label = base[index]
            guard isBaseLabelLive(label) else { continue }
            while next < additions.count && UTF8Bytes.compare(additions[next].name, label.name) < 0 {
                pairs.append((name: additions[next].name, value: additions[next].value))
                next += 1
            }
            pairs.append((name: label.name, value: label.value))
        }
        for addition in additions[next...] { pairs.append((name: addition.name, value: addition.value)) }
        return Labels(sortedPairs: pairs)
    }

    private func isBaseLabelLive(_ label: Label) -> Bool {
        !deleted.contains { UTF8Bytes.equal($0, label.name) } && !added.contains { UTF8Bytes.equal($0.name, label.name) }
    }
}

// MARK: - Case mapping

/// Go's `strings.ToLower`/`ToUpper`: each scalar through Unicode's simple (one-to-one) case
/// mapping, so `ß` stays `ß` in upper case where Swift's `uppercased()` gives `SS`.
/// Swift exposes only the full mappings; they agree with the simple ones wherever the full
/// mapping is a single scalar, and the exceptions are listed in Unicode's SpecialCasing.txt.
enum GoCaseMapping {
    static func lowercased(_ value: String) -> String {
        map(value) { scalar in
            if scalar.isASCII { return scalar.properties.isUppercase ? Unicode.Scalar(scalar.value + 0x20)! : scalar }
            if scalar.value == 0x130 { return "i" }  // İ: full mapping is i + U+0307
            return single(scalar.properties.lowercaseMapping) ?? scalar
        }
    }

    static func uppercased(_ value: String) -> String {
        map(value) { scalar in
            if scalar.isASCII { return scalar.properties.isLowercase ? Unicode.Scalar(scalar.value - 0x20)! : scalar }
            switch scalar.value {
            // Greek letters with ypogegrammeni: the simple mapping is the prosgegrammeni form.
            case 0x1F80...0x1F87, 0x1F90...0x1F97, 0x1FA0...0x1FA7: return Unicode.Scalar(scalar.value + 8)!
            case 0x1FB3, 0x1FC3, 0x1FF3: return Unicode.Scalar(scalar.value + 9)!
            default: return single(scalar.properties.uppercaseMapping) ?? scalar
            }
        }
    }

    private static func map(_ value: String, _ transform: (Unicode.Scalar) -> Unicode.Scalar) -> String {
        var out = String.UnicodeScalarView()
        for scalar in value.unicodeScalars { out.append(transform(scalar)) }
        return String(out)
    }

    private static func single(_ mapping: String) -> Unicode.Scalar? {
        let scalars = mapping.unicodeScalars
        guard let first = scalars.first, scalars.index(after: scalars.startIndex) == scalars.endIndex else { return nil }
        return first
    }
}

// MARK: - MD5

/// MD5 (RFC 1321), for `hashmod` only: Prometheus hashes with it, so shard assignments agree.
/// Not for anything that needs a secure hash.
enum MD5 {
    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ]

    /// floor(|sin(i + 1)| × 2^32), RFC 1321 section 3.4.
    private static let sines: [UInt32] = [
        0xD76AA478, 0xE8C7B756, 0x242070DB, 0xC1BDCEEE,
        0xF57C0FAF, 0x4787C62A, 0xA8304613, 0xFD469501,
        0x698098D8, 0x8B44F7AF, 0xFFFF5BB1, 0x895CD7BE,
        0x6B901122, 0xFD987193, 0xA679438E, 0x49B40821,
        0xF61E2562, 0xC040B340, 0x265E5A51, 0xE9B6C7AA,
        0xD62F105D, 0x02441453, 0xD8A1E681, 0xE7D3FBC8,
        0x21E1CDE6, 0xC33707D6, 0xF4D50D87, 0x455A14ED,
        0xA9E3E905, 0xFCEFA3F8, 0x676F02D9, 0x8D2A4C8A,
        0xFFFA3942, 0x8771F681, 0x6D9D6122, 0xFDE5380C,
        0xA4BEEA44, 0x4BDECFA9, 0xF6BB4B60, 0xBEBFBC70,
        0x289B7EC6, 0xEAA127FA, 0xD4EF3085, 0x04881D05,
        0xD9D4D039, 0xE6DB99E5, 0x1FA27CF8, 0xC4AC5665,
        0xF4292244, 0x432AFF97, 0xAB9423A7, 0xFC93A039,
        0x655B59C3, 0x8F0CCC92, 0xFFEFF47D, 0x85845DD1,
        0x6FA87E4F, 0xFE2CE6E0, 0xA3014314, 0x4E0811A1,
        0xF7537E82, 0xBD3AF235, 0x2AD7D2BB, 0xEB86D391,
    ]

    /// The 16-byte digest of `message`.
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) &* 8
        for shift in stride(from: 0, to: 64, by: 8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }

        var state: (UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
        var words = [UInt32](repeating: 0, count: 16)
        for blockStart in stride(from: 0, to: padded.count, by: 64) {
            for word in 0..<16 {
                let offset = blockStart + word * 4
                words[word] = UInt32(padded[offset]) | UInt32(padded[offset + 1]) << 8
                    | UInt32(padded[offset + 2]) << 16 | UInt32(padded[offset + 3]) << 24
            }
            var (a, b, c, d) = state
            for step in 0..<64 {
                let mixed: UInt32
                let word: Int
                switch step {
                case 0..<16: (mixed, word) = ((b & c) | (~b & d), step)
                case 16..<32: (mixed, word) = ((d & b) | (~d & c), (5 * step + 1) % 16)
                case 32..<48: (mixed, word) = (b ^ c ^ d, (3 * step + 5) % 16)
                default: (mixed, word) = (c ^ (b | ~d), (7 * step) % 16)
                }
                let sum = a &+ mixed &+ sines[step] &+ words[word]
                (a, d, c) = (d, c, b)
                b = b &+ (sum << shifts[step] | sum >> (32 - shifts[step]))
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
        }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for word in [state.0, state.1, state.2, state.3] {
            for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return out
    }
}
