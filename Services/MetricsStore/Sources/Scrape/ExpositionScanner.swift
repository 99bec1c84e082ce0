#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A cursor over the UTF-8 bytes of a scrape body, one line at a time, with the lexical
/// pieces both text formats share and the errors they raise.
///
/// Invariant: `lineStart <= position <= lineEnd <= bytes.count`, and `lineEnd` is the index
/// of the line's `\n` or the end of the body. Nothing here allocates except error messages.
struct ExpositionScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var lineStart = 0
    private(set) var lineEnd = 0
    private(set) var lineNumber = 0
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: Lines

    /// Moves to the next line; false when the body is exhausted. A body ending in `\n`
    /// has no further (empty) line after it.
    mutating func nextLine() -> Bool {
        let start = lineNumber == 0 ? 0 : lineEnd + 1
        guard start < bytes.count else { return false }
        lineNumber += 1
        lineStart = start
        position = start
        let base = bytes.baseAddress!
        if let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
            lineEnd = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        } else {
            lineEnd = bytes.count
        }
        return true
    }

    /// Whether the current line is followed by a newline character.
    var lineHasNewline: Bool { lineEnd < bytes.count }

    /// The 1-based number of the line after the last one, where an expected end marker
    /// was missing.
    var lineAfterLast: Int {
        guard lineNumber > 0 else { return 1 }
        return lineHasNewline ? lineNumber + 1 : lineNumber
    }

    // MARK: Bytes

    var atLineEnd: Bool { position >= lineEnd }

    /// The byte at the cursor, or nil at the end of the line.
    @inline(__always)
    var current: UInt8? { position < lineEnd ? bytes[position] : nil }

    @inline(__always)
    func isAt(_ byte: UInt8) -> Bool { position < lineEnd && bytes[position] == byte }

    /// Skips spaces and tabs; returns how many.
    @inline(__always)
    @discardableResult
    mutating func skipBlanks() -> Int {
        let start = position
        while position < lineEnd, bytes[position] == UInt8(ascii: " ") || bytes[position] == UInt8(ascii: "\t") {
            position += 1
        }
        return position - start
    }

    /// Whether the rest of the line starts with `word`.
    func hasPrefix(_ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard lineEnd - position >= length else { return false }
        return memcmp(bytes.baseAddress! + position, word.utf8Start, length) == 0
    }

    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[range])
    }

    /// The bytes from the cursor up to the next space (or tab, or `{`, as asked) or the
    /// end of the line; the cursor moves past them.
    @inline(__always)
    mutating func scanToken(stoppingAtBrace: Bool, stoppingAtTab: Bool) -> Range<Int> {
        let start = position
        while position < lineEnd {
            let byte = bytes[position]
            if byte == UInt8(ascii: " ") || (stoppingAtTab && byte == UInt8(ascii: "\t"))
                || (stoppingAtBrace && byte == UInt8(ascii: "{")) {
                break
            }
            position += 1
        }
        return start..<position
    }

    // MARK: Names

    // Byte classes as bit sets over ASCII (bit n set: byte n is in the class), tested
    // with one shift instead of a chain of comparisons; the hottest loop of the parser.
    /// `A-Z`, `_`, `a-z` (all above 64).
    private static let lettersAndUnderscore: UInt64 = 0x07FF_FFFE_87FF_FFFE
    private static let digits: UInt64 = 0x03FF_0000_0000_0000
    private static let colon: UInt64 = 0x0400_0000_0000_0000

    @inline(__always)
    private static func isIn(_ byte: UInt8, low: UInt64, high: UInt64) -> Bool {
        if byte < 64 { return (low >> UInt64(byte)) & 1 != 0 }
        if byte < 128 { return (high >> UInt64(byte &- 64)) & 1 != 0 }
        return false
    }

    @inline(__always)
    static func isLabelNameStart(_ byte: UInt8) -> Bool {
        isIn(byte, low: 0, high: lettersAndUnderscore)
    }

    @inline(__always)
    static func isLabelNameByte(_ byte: UInt8) -> Bool {
        isIn(byte, low: digits, high: lettersAndUnderscore)
    }

    @inline(__always)
    static func isMetricNameStart(_ byte: UInt8) -> Bool {
        isIn(byte, low: colon, high: lettersAndUnderscore)
    }

    @inline(__always)
    static func isMetricNameByte(_ byte: UInt8) -> Bool {
        isIn(byte, low: digits | colon, high: lettersAndUnderscore)
    }

    /// A legacy metric name `[a-zA-Z_:][a-zA-Z0-9_:]*` at the cursor (empty if none).
    mutating func scanMetricName() -> Range<Int> {
        let start = position
        guard position < lineEnd, Self.isMetricNameStart(bytes[position]) else { return start..<start }
        position += 1
        while position < lineEnd, Self.isMetricNameByte(bytes[position]) { position += 1 }
        return start..<position
    }

    /// A legacy label name `[a-zA-Z_][a-zA-Z0-9_]*` at the cursor (empty if none).
    mutating func scanLabelName() -> Range<Int> {
        let start = position
        guard position < lineEnd, Self.isLabelNameStart(bytes[position]) else { return start..<start }
        position += 1
        while position < lineEnd, Self.isLabelNameByte(bytes[position]) { position += 1 }
        return start..<position
    }

    /// The inside of a double-quoted string starting at the cursor, and whether it holds a
    /// backslash escape. A string must close on its own line: the text format's spec
    /// requires newlines in label values to be written `\n`, and OpenMetrics forbids raw
    /// ones. (Prometheus's text lexer would let a raw newline through; we do not.)
    mutating func scanQuoted() throws(ExpositionParseError) -> (range: Range<Int>, escaped: Bool) {
        let open = position
        position += 1
        var escaped = false
        while position < lineEnd {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return (open + 1..<position - 1, escaped)
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                position += 1
            }
            position += 1
        }
        position = lineEnd
        throw error(
            .unterminatedQuotedString,
            "unterminated quoted string, missing closing '\"' while parsing: \(quotedLine(upTo: lineEnd))",
            )
    }

    // MARK: Errors

    func error(_ kind: ExpositionParseError.Kind, _ message: String) -> ExpositionParseError {
        ExpositionParseError(line: lineNumber, kind: kind, message: message)
    }

    /// Prometheus's parse error: `<expected>, got "<token>" while parsing: "<line so far>"`.
    func unexpected(_ expected: String, kind: ExpositionParseError.Kind = .unexpectedToken) -> ExpositionParseError {
        let tokenEnd = offendingTokenEnd()
        let got: String
        if position >= lineEnd {
            got = lineHasNewline ? GoQuote.quote("\n") : "end of input"
        } else {
            got = quote(position..<tokenEnd)
        }
        let message = "\(expected), got \(got) while parsing: \(quotedLine(upTo: tokenEnd))"
        return ExpositionParseError(line: lineNumber, kind: kind, message: message)
    }

    /// The end of the token at the cursor, for messages: up to the next blank or the end
    /// of the line, and at most 40 bytes.
    private func offendingTokenEnd() -> Int {
        var end = position
        while end < lineEnd, end - position < 40 {
            let byte = bytes[end]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { break }
            end += 1
        }
        return max(end, min(position + 1, lineEnd))
    }

    /// The current line from its start to `end`, quoted, and cut to its last 120 bytes.
    func quotedLine(upTo end: Int) -> String {
        quote(max(lineStart, end - 120)..<min(end, lineEnd))
    }

    func quote(_ range: Range<Int>) -> String {
        GoQuote.quote(String(decoding: slice(range), as: UTF8.self))
    }
}
