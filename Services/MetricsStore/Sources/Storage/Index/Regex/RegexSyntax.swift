import Synchronization

/// A parsed RE2 expression with flags already applied to each node.
indirect enum RegexNode: Sendable {
    case empty
    /// A scalar value (a surrogate is representable, as in Go, and matches nothing).
    case literal(UInt32, foldCase: Bool)
    case anyCharacter
    case anyCharacterExceptNewline
    case characterClass(CharacterClass)
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    case concatenation([RegexNode])
    case alternation([RegexNode])
    case group(RegexNode)
    /// `maximum == nil` is unbounded.
    case repetition(RegexNode, minimum: Int, maximum: Int?)
}

/// A bracket expression, Perl class (`\d`), POSIX class or Unicode class (`\pL`).
///
/// As in Go's parser, under `(?i)` each item is case-folded before its own negation
/// (`\W`, `[:^lower:]`, `\PL`), and the whole class is negated (`[^...]`) last.
struct CharacterClass: Sendable {
    /// A negated or non-range item.
    struct Group: Sendable {
        enum Members: Sendable {
            case ranges([ClosedRange<UInt32>])
            case property(UnicodeProperty)
        }

        let members: Members
        let negated: Bool

        func contains(_ value: UInt32) -> Bool {
            switch members {
            case .ranges(let ranges): return CharacterClass.rangesContain(ranges, value)
            case .property(let property): return property.contains(value)
            }
        }
    }

    /// Union of the plain items (characters, ranges, positive Perl and POSIX classes):
    /// sorted, non-overlapping, non-adjacent.
    let ranges: [ClosedRange<UInt32>]
    let groups: [Group]
    let negated: Bool
    let foldCase: Bool
    /// Membership of the 128 ASCII scalars, precomputed.
    private var ascii: (UInt64, UInt64) = (0, 0)

    init(ranges: [ClosedRange<UInt32>], groups: [Group] = [], negated: Bool = false, foldCase: Bool) {
        self.ranges = CharacterClass.normalize(ranges)
        self.groups = groups
        self.negated = negated
        self.foldCase = foldCase
        var low: UInt64 = 0
        var high: UInt64 = 0
        for value in UInt32(0)..<128 where slowContains(value) {
            if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
        }
        ascii = (low, high)
    }

    /// Whether the class has only plain items, so its scalars can be listed.
    var isPlainRanges: Bool { groups.isEmpty && !negated && !foldCase }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return ascii.0 & (1 << UInt64(value)) != 0 }
        if value < 128 { return ascii.1 & (1 << UInt64(value - 64)) != 0 }
        return slowContains(value)
    }

    private func slowContains(_ value: UInt32) -> Bool {
        itemsContain(value) != negated
    }

    private func itemsContain(_ value: UInt32) -> Bool {
        if !ranges.isEmpty && folded(value, { CharacterClass.rangesContain(ranges, $0) }) { return true }
        return groups.contains { group in folded(value, group.contains) != group.negated }
    }

    /// Whether `value` or, under `(?i)`, any scalar of its case orbit passes `test`.
    @inline(__always)
    private func folded(_ value: UInt32, _ test: (UInt32) -> Bool) -> Bool {
        foldCase ? CaseFolding.anyInOrbit(value, test) : test(value)
    }

    static func rangesContain(_ ranges: [ClosedRange<UInt32>], _ value: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound < value { low = mid + 1 } else { high = mid }
        }
        return low < ranges.count && ranges[low].contains(value)
    }

    static func normalize(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}

/// `\p{...}` classes: `Any`, general categories (Go's names: `L`, `Lu`, ..., `Zs`) from
/// Swift's Unicode tables, and scripts (`Greek`, `Han`, ...), for which Swift has no public
/// table, so membership of one scalar is asked of a one-class Swift `Regex` (linear: one
/// class, one scalar).
enum UnicodeProperty: Sendable {
    case any
    case categories(UInt32)
    case script(ScriptTable)

    func contains(_ value: UInt32) -> Bool {
        switch self {
        case .any:
            return true
        case .categories(let mask):
            guard let scalar = Unicode.Scalar(value) else { return false }
            return mask & UnicodeProperty.bit(scalar.properties.generalCategory) != 0
        case .script(let table):
            guard let scalar = Unicode.Scalar(value) else { return false }
            return table.contains(scalar)
        }
    }

    /// Go accepts `Any`, general category names and script names; anything else is an error.
    static func named(_ name: String) -> UnicodeProperty? {
        if name == "Any" { return .any }
        if let mask = categoryMasks[name] { return .categories(mask) }
        let isIdentifier = name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) }
        guard isIdentifier, let first = name.unicodeScalars.first, ("A"..."Z").contains(first),
              let table = ScriptTable(name) else { return nil }
        return .script(table)
    }

    private static let categoryOrder: [(String, Unicode.GeneralCategory)] = [
        ("Lu", .uppercaseLetter), ("Ll", .lowercaseLetter), ("Lt", .titlecaseLetter),
        ("Lm", .modifierLetter), ("Lo", .otherLetter),
        ("Mn", .nonspacingMark), ("Mc", .spacingMark), ("Me", .enclosingMark),
        ("Nd", .decimalNumber), ("Nl", .letterNumber), ("No", .otherNumber),
        ("Pc", .connectorPunctuation), ("Pd", .dashPunctuation), ("Ps", .openPunctuation),
        ("Pe", .closePunctuation), ("Pi", .initialPunctuation), ("Pf", .finalPunctuation),
        ("Po", .otherPunctuation),
        ("Sm", .mathSymbol), ("Sc", .currencySymbol), ("Sk", .modifierSymbol), ("So", .otherSymbol),
        ("Zs", .spaceSeparator), ("Zl", .lineSeparator), ("Zp", .paragraphSeparator),
        ("Cc", .control), ("Cf", .format), ("Cs", .surrogate), ("Co", .privateUse),
    ]

    private static func bit(_ category: Unicode.GeneralCategory) -> UInt32 {
        categoryBits[category] ?? 0  // unassigned (Cn), which Go has no name for
    }

    private static let categoryBits: [Unicode.GeneralCategory: UInt32] = {
        var bits: [Unicode.GeneralCategory: UInt32] = [:]
        for (index, entry) in categoryOrder.enumerated() { bits[entry.1] = 1 << UInt32(index) }
        return bits
    }()

    /// Two-letter categories and their one-letter groups (Go's `C` has no `Cn`).
    private static let categoryMasks: [String: UInt32] = {
        var masks: [String: UInt32] = [:]
        for (index, entry) in categoryOrder.enumerated() {
            masks[entry.0] = 1 << UInt32(index)
            masks[String(entry.0.prefix(1)), default: 0] |= 1 << UInt32(index)
        }
        return masks
    }()
}

/// Script membership (`Script`, not `Script_Extensions`, as in Go) via Swift's own tables.
/// `Regex` is not `Sendable`; the mutex makes the shared instance safe for concurrent
/// queries.
final class ScriptTable: Sendable {
    private let regex: Mutex<Regex<AnyRegexOutput>>

    init?(_ name: String) {
        guard let compiled = try? Regex("\\p{sc=\(name)}").matchingSemantics(.unicodeScalar) else { return nil }
        regex = Mutex(compiled)
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let text = String(scalar)
        return regex.withLock { (try? $0.wholeMatch(in: text)) != nil }
    }
}

/// Case-insensitive (`(?i)`) matching with RE2's Unicode simple case folding orbits.
/// Every member of an orbit has the same canonical form, the lowercase of its uppercase
/// (single-scalar mappings from Swift's tables); an orbit is that form, its uppercase and
/// the few extra members listed below (from Unicode's CaseFolding.txt, the orbits Go's
/// `unicode.SimpleFold` cycles through). U+0130 and U+0131 (Turkish i) fold only to
/// themselves, as in RE2.
enum CaseFolding {
    static func canonical(_ value: UInt32) -> UInt32 {
        if value < 0x80 { return (0x41...0x5A).contains(value) ? value + 0x20 : value }
        if value == 0x130 || value == 0x131 { return value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        let upper = single(scalar.properties.uppercaseMapping) ?? scalar
        return (single(upper.properties.lowercaseMapping) ?? upper).value
    }

    static func upper(_ value: UInt32) -> UInt32 {
        if value < 0x80 { return (0x61...0x7A).contains(value) ? value - 0x20 : value }
        if value == 0x131 { return value }
        guard let scalar = Unicode.Scalar(value) else { return value }
        return (single(scalar.properties.uppercaseMapping) ?? scalar).value
    }

    static func hasOtherCase(_ value: UInt32) -> Bool {
        let folded = canonical(value)
        return folded != value || upper(folded) != value || extraMembers[folded] != nil
    }

    /// Whether any scalar case-equivalent to `value` passes `test`.
    static func anyInOrbit(_ value: UInt32, _ test: (UInt32) -> Bool) -> Bool {
        if test(value) { return true }
        let folded = canonical(value)
        if test(folded) || test(upper(folded)) { return true }
        return extraMembers[folded]?.contains(where: test) ?? false
    }

    /// Orbit members that are neither the canonical form nor its uppercase, by canonical form.
    private static let extraMembers: [UInt32: [UInt32]] = [
        0x006B: [0x212A],  // k K KELVIN SIGN
        0x0073: [0x017F],  // s S LONG S
        0x00E5: [0x212B],  // å Å ANGSTROM SIGN
        0x00DF: [0x1E9E],  // ß CAPITAL SHARP S
        0x01C6: [0x01C5], 0x01C9: [0x01C8], 0x01CC: [0x01CB], 0x01F3: [0x01F2],  // titlecase digraphs
        0x03B2: [0x03D0], 0x03B5: [0x03F5], 0x03B8: [0x03D1, 0x03F4], 0x03B9: [0x0345, 0x1FBE],
        0x03BA: [0x03F0], 0x03BC: [0x00B5], 0x03C0: [0x03D6], 0x03C1: [0x03F1], 0x03C3: [0x03C2],
        0x03C6: [0x03D5], 0x03C9: [0x2126],  // Greek symbol variants, MICRO SIGN, OHM SIGN
        0x0432: [0x1C80], 0x0434: [0x1C81], 0x043E: [0x1C82], 0x0441: [0x1C83], 0x0442: [0x1C84, 0x1C85],
        0x044A: [0x1C86], 0x0463: [0x1C87], 0xA64B: [0x1C88],  // Cyrillic small variants
        0x1E61: [0x1E9B],  // ṡ ẛ
    ]

    private static func single(_ string: String) -> Unicode.Scalar? {
        var scalars = string.unicodeScalars.makeIterator()
        guard let first = scalars.next(), scalars.next() == nil else { return nil }
        return first
    }
}
