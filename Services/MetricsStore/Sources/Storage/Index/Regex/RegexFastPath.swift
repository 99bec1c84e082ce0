/// Recognises expressions that need no automaton, as Prometheus's `FastRegexMatcher` does.
enum FastPath {
    /// Prometheus's `maxSetMatches`.
    static let maxSetSize = 256

    static func pattern(for tree: RegexNode) -> ValuePattern? {
        let tree = stripEdgeAnchors(tree)
        if let strings = finiteStrings(tree), !strings.isEmpty {
            return strings.count == 1 ? .literal(strings[0]) : .set(LiteralSet(strings))
        }
        return glob(tree)
    }

    /// `^` and `$` (and `\A`, `\z`, multi-line forms) at the very start or end of a
    /// top-level branch are no-ops under whole-value matching.
    static func stripEdgeAnchors(_ node: RegexNode) -> RegexNode {
        switch node {
        case .group(let inner):
            return stripEdgeAnchors(inner)
        case .alternation(let branches):
            return .alternation(branches.map(stripEdgeAnchors))
        case .beginText, .beginLine, .endText, .endLine:
            return .empty
        case .concatenation(var items):
            while let first = items.first, isStartAnchor(first) { items.removeFirst() }
            while let last = items.last, isEndAnchor(last) { items.removeLast() }
            return items.count == 1 ? items[0] : items.isEmpty ? .empty : .concatenation(items)
        default:
            return node
        }
    }

    private static func isStartAnchor(_ node: RegexNode) -> Bool {
        if case .beginText = node { return true }
        if case .beginLine = node { return true }
        return false
    }

    private static func isEndAnchor(_ node: RegexNode) -> Bool {
        if case .endText = node { return true }
        if case .endLine = node { return true }
        return false
    }

    /// Every string the expression matches, if there are at most `maxSetSize`, found by
    /// expanding literals, alternations, small classes and bounded repeats (`x(a|b)?`).
    static func finiteStrings(_ node: RegexNode) -> [String]? {
        switch node {
        case .empty:
            return [""]
        case .literal(let value, let foldCase):
            guard !foldCase, let scalar = Unicode.Scalar(value) else { return nil }
            return [String(scalar)]
        case .group(let inner):
            return finiteStrings(inner)
        case .concatenation(let items):
            var result = [""]
            for item in items {
                guard let next = finiteStrings(item), result.count * next.count <= maxSetSize else { return nil }
                result = result.flatMap { head in next.map { head + $0 } }
            }
            return result
        case .alternation(let branches):
            var result: [String] = []
            var seen = Set<UTF8Key>()
            for branch in branches {
                guard let strings = finiteStrings(branch) else { return nil }
                for string in strings where seen.insert(UTF8Key(string)).inserted { result.append(string) }
                if result.count > maxSetSize { return nil }
            }
            return result
        case .characterClass(let characterClass):
            guard characterClass.isPlainRanges, characterClass.ranges.reduce(0, { $0 + $1.count }) <= 16 else {
                return nil
            }
            return characterClass.ranges.flatMap { $0 }.compactMap { Unicode.Scalar($0).map(String.init) }
        case .repetition(let inner, let minimum, let maximum):
            guard let maximum, let strings = finiteStrings(inner) else { return nil }
            var result: [String] = []
            var seen = Set<UTF8Key>()
            var power = [""]  // `inner` repeated `count` times
            for count in 0...maximum {
                if count >= minimum {
                    for string in power where seen.insert(UTF8Key(string)).inserted { result.append(string) }
                    if result.count > maxSetSize { return nil }
                }
                if count < maximum {
                    power = Array(Set(power.flatMap { head in strings.map { UTF8Key(head + $0) } })).map(\.string)
                    if power.count > maxSetSize { return nil }
                }
            }
            return result
        default:
            return nil
        }
    }

    private enum Piece {
        case text(String)
        case gap(Int)
    }

    /// Literals and `.*`/`.+`/`.{n,}` gaps in sequence; at least one gap.
    static func glob(_ node: RegexNode) -> ValuePattern? {
        var pieces: [Piece] = []
        guard flatten(node, into: &pieces) else { return nil }
        var texts: [[UInt8]] = [[]]
        var gaps: [Int] = []
        var gapOpen = false
        for piece in pieces {
            switch piece {
            case .text(let string):
                if gapOpen {
                    texts.append([])
                    gapOpen = false
                }
                texts[texts.count - 1] += Array(string.utf8)
            case .gap(let minimum):
                if gapOpen {
                    gaps[gaps.count - 1] += minimum
                } else {
                    gaps.append(minimum)
                    gapOpen = true
                }
            }
        }
        guard !gaps.isEmpty else { return nil }
        if gapOpen { texts.append([]) }
        if texts.allSatisfy(\.isEmpty) && gaps == [0] { return .anything }
        return .glob(Glob(prefix: texts[0], middles: Array(texts.dropFirst().dropLast()), gaps: gaps, suffix: texts[texts.count - 1]))
    }

    private static func flatten(_ node: RegexNode, into pieces: inout [Piece]) -> Bool {
        switch node {
        case .group(let inner):
            return flatten(inner, into: &pieces)
        case .concatenation(let items):
            return items.allSatisfy { flatten($0, into: &pieces) }
        case .repetition(let inner, let minimum, nil) where isAnyCharacter(inner):
            pieces.append(.gap(minimum))
            return true
        default:
            guard let strings = finiteStrings(node), strings.count == 1 else { return false }
            pieces.append(.text(strings[0]))
            return true
        }
    }

    private static func isAnyCharacter(_ node: RegexNode) -> Bool {
        switch node {
        case .anyCharacter: return true
        case .group(let inner): return isAnyCharacter(inner)
        default: return false
        }
    }
}
