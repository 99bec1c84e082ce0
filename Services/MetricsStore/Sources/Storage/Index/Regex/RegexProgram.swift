/// A compiled RE2 expression run as a Thompson NFA simulation (the "Pike VM" without
/// captures): all alive states advance together one scalar at a time, so matching costs
/// O(value length × program size) whatever the expression, like RE2. Matches are whole-value
/// only. Before the automaton runs, a required literal prefix and suffix are checked.
final class RegexProgram: Sendable {
    enum Instruction: Sendable {
        case scalar(UInt32)
        case foldedScalar(UInt32)  // compares canonical case folds
        case characterClass(Int)
        case anyScalar
        case anyScalarExceptNewline
        case split(Int, Int)
        case jump(Int)
        case assertion(Assertion)
        case match
    }

    enum Assertion: Sendable {
        case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    }

    /// Go rejects programs that would exceed its size limit with "expression too large";
    /// this limit is lower than Go's, to bound the work per value.
    static let maxInstructions = 100_000

    let instructions: [Instruction]
    let classes: [CharacterClass]
    let requiredPrefix: [UInt8]
    let requiredSuffix: [UInt8]

    init(_ tree: RegexNode) throws(RegexParseError) {
        var builder = Builder()
        try builder.emit(tree)
        builder.instructions.append(.match)
        instructions = builder.instructions
        classes = builder.classes
        (requiredPrefix, requiredSuffix) = RegexProgram.requiredLiterals(FastPath.stripEdgeAnchors(tree))
    }

    func matches(_ value: String) -> Bool {
        UTF8Bytes.withBytes(value) { bytes in
            guard bytes.count >= requiredPrefix.count + requiredSuffix.count,
                  ByteSearch.hasPrefix(bytes, requiredPrefix),
                  ByteSearch.hasSuffix(bytes, requiredSuffix) else { return false }
            return run(bytes)
        }
    }

    // MARK: Compilation

    private struct Builder {
        var instructions: [Instruction] = []
        var classes: [CharacterClass] = []

        mutating func append(_ instruction: Instruction) throws(RegexParseError) -> Int {
            guard instructions.count < RegexProgram.maxInstructions else {
                throw RegexParseError(.tooLarge, "")
            }
            instructions.append(instruction)
            return instructions.count - 1
        }

        mutating func emit(_ node: RegexNode) throws(RegexParseError) {
            switch node {
            case .empty:
                break
            case .literal(let value, let foldCase):
                _ = try append(foldCase ? .foldedScalar(CaseFolding.canonical(value)) : .scalar(value))
            case .anyCharacter:
                _ = try append(.anyScalar)
            case .anyCharacterExceptNewline:
                _ = try append(.anyScalarExceptNewline)
            case .characterClass(let characterClass):
                classes.append(characterClass)
                _ = try append(.characterClass(classes.count - 1))
            case .beginText: _ = try append(.assertion(.beginText))
            case .endText: _ = try append(.assertion(.endText))
            case .beginLine: _ = try append(.assertion(.beginLine))
            case .endLine: _ = try append(.assertion(.endLine))
            case .wordBoundary: _ = try append(.assertion(.wordBoundary))
            case .notWordBoundary: _ = try append(.assertion(.notWordBoundary))
            case .group(let inner):
                try emit(inner)
            case .concatenation(let items):
                for item in items { try emit(item) }
            case .alternation(let branches):
                try emitAlternation(branches)
            case .repetition(let inner, let minimum, let maximum):
                try emitRepetition(inner, minimum: minimum, maximum: maximum)
            }
        }

        private mutating func emitAlternation(_ branches: [RegexNode]) throws(RegexParseError) {
            var exits: [Int] = []
            for branch in branches.dropLast() {
                let split = try append(.split(0, 0))
                try emit(branch)
                exits.append(try append(.jump(0)))
                instructions[split] = .split(split + 1, instructions.count)
            }
            try emit(branches[branches.count - 1])
            for exit in exits { instructions[exit] = .jump(instructions.count) }
        }

        private mutating func emitRepetition(_ inner: RegexNode, minimum: Int, maximum: Int?) throws(RegexParseError) {
            guard let maximum else {
                if minimum == 0 {  // L: split(body, out); body; jump L
                    let loop = try append(.split(0, 0))
                    try emit(inner)
                    _ = try append(.jump(loop))
                    instructions[loop] = .split(loop + 1, instructions.count)
                    return
                }
                for _ in 0..<(minimum - 1) { try emit(inner) }
                let body = instructions.count  // L: body; split(L, out)
                try emit(inner)
                let split = try append(.split(body, 0))
                instructions[split] = .split(body, split + 1)
                return
            }
            for _ in 0..<minimum { try emit(inner) }
            var skips: [Int] = []
            for _ in minimum..<maximum {  // optional copies: split(body, out); body
                skips.append(try append(.split(0, 0)))
                try emit(inner)
            }
            for skip in skips { instructions[skip] = .split(skip + 1, instructions.count) }
        }
    }

    /// Literal text every match must start and end with (top-level concatenation only).
    private static func requiredLiterals(_ tree: RegexNode) -> ([UInt8], [UInt8]) {
        var node = tree
        while case .group(let inner) = node { node = inner }
        guard case .concatenation(let items) = node else { return ([], []) }
        func single(_ item: RegexNode) -> String? {
            guard let strings = FastPath.finiteStrings(item), strings.count == 1 else { return nil }
            return strings[0]
        }
        var prefix = ""
        var prefixItems = 0
        for item in items {
            guard let string = single(item) else { break }
            prefix += string
            prefixItems += 1
        }
        var suffix = ""
        for item in items[prefixItems...].reversed() {
            guard let string = single(item) else { break }
            suffix = string + suffix
        }
        return (Array(prefix.utf8), Array(suffix.utf8))
    }

    // MARK: Simulation

    private static let noScalar = UInt32.max

    private struct StateSet {
        let dense: UnsafeMutablePointer<Int32>
        let sparse: UnsafeMutablePointer<Int32>
        var count = 0

        @inline(__always)
        func contains(_ state: Int) -> Bool {
            let slot = Int(sparse[state])
            return slot < count && dense[slot] == Int32(state)
        }

        @inline(__always)
        mutating func insert(_ state: Int) {
            sparse[state] = Int32(count)
            dense[count] = Int32(state)
            count += 1
        }
    }

    private func run(_ input: UnsafeBufferPointer<UInt8>) -> Bool {
        let size = instructions.count
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 6 * size + 1) { scratch in
            let base = scratch.baseAddress!
            scratch.initialize(repeating: 0)
            var current = StateSet(dense: base, sparse: base + size)
            var next = StateSet(dense: base + 2 * size, sparse: base + 3 * size)
            let stack = base + 4 * size
            return instructions.withUnsafeBufferPointer { program in
                var position = 0
                var previous = Self.noScalar
                var (scalar, width) = Self.decode(input, at: 0)
                addState(0, to: &current, program: program, stack: stack, previous: previous, next: scalar)
                while position < input.count {
                    if current.count == 0 { return false }
                    position += width
                    let following: UInt32
                    (following, width) = Self.decode(input, at: position)
                    var folded = Self.noScalar
                    next.count = 0
                    for slot in 0..<current.count {
                        let state = Int(current.dense[slot])
                        let advances: Bool
                        switch program[state] {
                        case .scalar(let expected):
                            advances = scalar == expected
                        case .foldedScalar(let expected):
                            if folded == Self.noScalar { folded = CaseFolding.canonical(scalar) }
                            advances = folded == expected
                        case .characterClass(let index):
                            advances = classes[index].contains(scalar)
                        case .anyScalar:
                            advances = true
                        case .anyScalarExceptNewline:
                            advances = scalar != 0x0A
                        case .split, .jump, .assertion, .match:
                            advances = false
                        }
                        if advances {
                            addState(state + 1, to: &next, program: program, stack: stack, previous: scalar, next: following)
                        }
                    }
                    swap(&current, &next)
                    previous = scalar
                    scalar = following
                }
                return current.contains(size - 1)
            }
        }
    }

    /// Adds `state` and everything reachable from it without consuming input.
    @inline(__always)
    private func addState(
        _ state: Int, to set: inout StateSet, program: UnsafeBufferPointer<Instruction>,
        stack: UnsafeMutablePointer<Int32>, previous: UInt32, next: UInt32
    ) {
        stack[0] = Int32(state)
        var top = 1
        while top > 0 {
            top -= 1
            let state = Int(stack[top])
            if set.contains(state) { continue }
            set.insert(state)
            switch program[state] {
            case .jump(let target):
                stack[top] = Int32(target)
                top += 1
            case .split(let first, let second):
                stack[top] = Int32(second)
                stack[top + 1] = Int32(first)
                top += 2
            case .assertion(let assertion):
                if Self.holds(assertion, previous: previous, next: next) {
                    stack[top] = Int32(state + 1)
                    top += 1
                }
            default:
                break
            }
        }
    }

    private static func holds(_ assertion: Assertion, previous: UInt32, next: UInt32) -> Bool {
        switch assertion {
        case .beginText: return previous == noScalar
        case .endText: return next == noScalar
        case .beginLine: return previous == noScalar || previous == 0x0A
        case .endLine: return next == noScalar || next == 0x0A
        case .wordBoundary: return isWordCharacter(previous) != isWordCharacter(next)
        case .notWordBoundary: return isWordCharacter(previous) == isWordCharacter(next)
        }
    }

    /// RE2's `\b` is ASCII-only: `[0-9A-Za-z_]`.
    private static func isWordCharacter(_ value: UInt32) -> Bool {
        (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) || value == 0x5F
    }

    /// The scalar starting at `position` and its byte width, or `noScalar` at the end.
    /// Input is a Swift string, so it is valid UTF-8.
    @inline(__always)
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> (UInt32, Int) {
        guard position < bytes.count else { return (noScalar, 0) }
        let lead = UInt32(bytes[position])
        if lead < 0x80 { return (lead, 1) }
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(bytes[position + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            return ((lead & 0x0F) << 12 | UInt32(bytes[position + 1] & 0x3F) << 6 | UInt32(bytes[position + 2] & 0x3F), 3)
        }
        return ((lead & 0x07) << 18 | UInt32(bytes[position + 1] & 0x3F) << 12
            | UInt32(bytes[position + 2] & 0x3F) << 6 | UInt32(bytes[position + 3] & 0x3F), 4)
    }
}
