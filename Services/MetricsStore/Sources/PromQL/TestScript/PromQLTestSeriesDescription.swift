/// Readers for the two halves of a test-script series line, `metric{label="v"} <points>`:
/// the label set, and the "expanding notation" of the points (the same notation as
/// `promtool test rules`, documented in Prometheus's `docs/configuration/unit_testing_rules.md`).
enum PromQLTestSeriesDescription {
    /// One point before timestamps are assigned: a float (nil = `_`), or raw histogram text.
    enum Point: Equatable {
        case float(Double?)
        case histogram(String)
    }

    // MARK: Labels

    /// Reads `name`, `name{…}`, `{…}` (with an optional `@st` suffix) from the start of
    /// `text`; returns the labels, whether the `@st` suffix was present and the remainder.
    /// Inside braces: `name="v"`, `"quoted name"="v"`, and a bare `"metric name"`, comma
    /// separated, trailing comma allowed. Values may use `"`, `'` or backquotes.
    static func readLabels(_ text: Substring, line: Int) throws(PromQLTestScriptError) -> (labels: Labels, startTimestamps: Bool, rest: Substring) {
        var rest = text
        var pairs: [(name: String, value: String)] = []
        let name = rest.prefix { isNameByte($0, first: false) }
        if let first = name.first, !isNameByte(first, first: true) {
            throw PromQLTestScriptError(line: line, message: "invalid metric name in series \"\(text)\"")
        }
        if !name.isEmpty { pairs.append((Labels.metricName, String(name))) }
        rest = rest.dropFirst(name.count)
        if rest.first == "{" {
            rest = rest.dropFirst()
            try readBraces(&rest, into: &pairs, line: line)
        }
        guard !pairs.isEmpty || text.hasPrefix("{") else {
            throw PromQLTestScriptError(line: line, message: "expected a series selector, got \"\(text)\"")
        }
        var startTimestamps = false
        if rest.hasPrefix("@st") {
            startTimestamps = true
            rest = rest.dropFirst(3)
        }
        if let next = rest.first, !next.isWhitespace {
            throw PromQLTestScriptError(line: line, message: "unexpected \"\(next)\" after series selector in \"\(text)\"")
        }
        let labels = Labels(sorting: pairs)
        var seen = Set<String>()
        for label in labels where !seen.insert(label.name).inserted {
            throw PromQLTestScriptError(line: line, message: "duplicate label name \"\(label.name)\" in \"\(text)\"")
        }
        return (labels, startTimestamps, rest.drop { $0.isWhitespace })
    }

    private static func readBraces(_ rest: inout Substring, into pairs: inout [(name: String, value: String)], line: Int) throws(PromQLTestScriptError) {
        while true {
            rest = rest.drop { $0.isWhitespace }
            guard let c = rest.first else {
                throw PromQLTestScriptError(line: line, message: "unterminated label set")
            }
            if c == "}" { rest = rest.dropFirst(); return }
            let name: String
            if c == "\"" || c == "'" || c == "`" {
                name = try readQuoted(&rest, line: line)
            } else {
                let raw = rest.prefix { isNameByte($0, first: false) }
                guard let f = raw.first, isNameByte(f, first: true), !raw.contains(":") else {
                    throw PromQLTestScriptError(line: line, message: "invalid label name at \"\(rest.prefix(20))\"")
                }
                name = String(raw)
                rest = rest.dropFirst(raw.count)
            }
            rest = rest.drop { $0.isWhitespace }
            if rest.first == "=" {
                rest = rest.dropFirst().drop { $0.isWhitespace }
                guard let q = rest.first, q == "\"" || q == "'" || q == "`" else {
                    throw PromQLTestScriptError(line: line, message: "expected a quoted value for label \"\(name)\"")
                }
                pairs.append((name, try readQuoted(&rest, line: line)))
            } else if c == "\"" || c == "'" || c == "`" {
                pairs.append((Labels.metricName, name)) // `{"metric.name", …}`
            } else {
                throw PromQLTestScriptError(line: line, message: "expected \"=\" after label name \"\(name)\" (series lines take only equality matchers)")
            }
            rest = rest.drop { $0.isWhitespace }
            if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" {
                throw PromQLTestScriptError(line: line, message: "expected \",\" or \"}\" at \"\(rest.prefix(20))\"")
            }
        }
    }

    /// Reads one quoted string (with escapes) from the start of `rest`.
    static func readQuoted(_ rest: inout Substring, line: Int) throws(PromQLTestScriptError) -> String {
        guard let quote = rest.first else { throw PromQLTestScriptError(line: line, message: "expected a string") }
        var i = rest.index(after: rest.startIndex)
        while i < rest.endIndex, rest[i] != quote {
            if rest[i] == "\\", quote != "`" { i = rest.index(after: i) }
            if i < rest.endIndex { i = rest.index(after: i) }
        }
        guard i < rest.endIndex else {
            throw PromQLTestScriptError(line: line, message: "unterminated string \(rest.prefix(30))")
        }
        let end = rest.index(after: i)
        guard let value = PromQLLiterals.unquote(String(rest[..<end])) else {
            throw PromQLTestScriptError(line: line, message: "invalid string \(rest[..<end])")
        }
        rest = rest[end...]
        return value
    }

    private static func isNameByte(_ c: Character, first: Bool) -> Bool {
        guard c.isASCII else { return false }
        if c.isLetter || c == "_" || c == ":" { return true }
        return !first && c.isNumber
    }

    // MARK: Points

    /// Expands a points description: space-separated `a`, `a+bxN`, `a-bxN`, `axN` (N+1
    /// values), `_`, `_xN` (N missing), `stale`, `{{…}}`, `{{…}}xN`, `{{…}}+{{…}}xN`.
    ///
    /// `a+bxN` accumulates (`a`, `a+b`, `(a+b)+b`, …) as upstream does, so float rounding
    /// matches its expected values. In this notation `0x10` is 0 repeated, never hex:
    /// upstream's lexer turns hex off inside series descriptions.
    static func expand(_ text: Substring, line: Int) throws(PromQLTestScriptError) -> [Point] {
        var points: [Point] = []
        for token in try tokens(text, line: line) {
            if token.hasPrefix("{{") {
                points.append(contentsOf: expandHistogram(token))
                continue
            }
            if token == "_" { points.append(.float(nil)); continue }
            if token == "stale" { points.append(.float(PromQLTestSample.staleNaN)); continue }
            guard let (head, times) = splitTimes(token) else {
                guard let v = number(token) else {
                    throw PromQLTestScriptError(line: line, message: "invalid point \"\(token)\"")
                }
                points.append(.float(v))
                continue
            }
            if head == "_" {
                points.append(contentsOf: repeatElement(.float(nil), count: times))
                continue
            }
            guard let (start, step) = splitStep(head) else {
                throw PromQLTestScriptError(line: line, message: "invalid expanding notation \"\(token)\"")
            }
            var v = start
            for _ in 0...times {
                points.append(.float(v))
                v += step
            }
        }
        return points
    }

    /// Whitespace-separated tokens, keeping a `{{ … }}` literal (which holds spaces) whole.
    private static func tokens(_ text: Substring, line: Int) throws(PromQLTestScriptError) -> [Substring] {
        var out: [Substring] = []
        var i = text.startIndex
        while i < text.endIndex {
            if text[i].isWhitespace { i = text.index(after: i); continue }
            let start = i
            var depth = 0
            while i < text.endIndex, depth > 0 || !text[i].isWhitespace {
                if text[i...].hasPrefix("{{") { depth += 1; i = text.index(i, offsetBy: 2); continue }
                if text[i...].hasPrefix("}}"), depth > 0 { depth -= 1; i = text.index(i, offsetBy: 2); continue }
                i = text.index(after: i)
            }
            if depth > 0 { throw PromQLTestScriptError(line: line, message: "unterminated histogram literal \"\(text[start...].prefix(40))\"") }
            out.append(text[start..<i])
        }
        return out
    }

    /// `…xN` → (`…`, N) when the token ends in `x` and digits.
    private static func splitTimes(_ token: Substring) -> (Substring, Int)? {
        guard let x = token.lastIndex(of: "x") else { return nil }
        let digits = token[token.index(after: x)...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        let head = token[..<x]
        return head.isEmpty ? nil : (head, n)
    }

    /// `a`, `a+b`, `a-b` → (a, ±b). The sign splitting them is not the leading one nor an
    /// exponent's (`1e-3+1`).
    private static func splitStep(_ head: Substring) -> (Double, Double)? {
        if let v = number(head) { return (v, 0) }
        var i = head.index(after: head.startIndex)
        while i < head.endIndex {
            let c = head[i]
            let prev = head[head.index(before: i)]
            if c == "+" || c == "-", prev != "e", prev != "E",
               let a = number(head[..<i]), let b = number(head[head.index(after: i)...]) {
                return (a, c == "+" ? b : -b)
            }
            i = head.index(after: i)
        }
        return nil
    }

    private static func expandHistogram(_ token: Substring) -> [Point] {
        if let (head, times) = splitTimes(token), head.hasSuffix("}}") {
            return Array(repeating: .histogram(String(token)), count: times + 1)
        }
        return [.histogram(String(token))]
    }

    /// A float as the series-description lexer reads it: decimal, `Inf`, `NaN` (any case,
    /// optional sign), no hex.
    static func number(_ text: Substring) -> Double? {
        let lower = text.lowercased()
        if lower.contains("x") { return nil }
        // A sign inside the token separates `a+b`; only a leading or exponent sign is part of a number.
        var previous: Character = "e"
        for c in lower {
            if (c == "+" || c == "-") && previous != "e" { return nil }
            previous = c
        }
        return PromQLLiterals.number(String(text))
    }
}
