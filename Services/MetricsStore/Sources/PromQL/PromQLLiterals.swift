/// Conversions of PromQL literal text to values, following Go's strconv and
/// prometheus/common's model.ParseDuration, which upstream's parser uses.
enum PromQLLiterals {
    /// `strconv.ParseInt(s, 0, 64)` then `strconv.ParseFloat(s, 64)`: so `010` is octal 8,
    /// `0x1F` hex, `1_000` allowed, `Inf`/`NaN` case-insensitive.
    static func number(_ text: String) -> Double? {
        let s = String(text.filter { $0 != "_" })
        if let i = goParseIntBase0(s) { return Double(i) }
        switch s.lowercased() {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default: break
        }
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { return nil } // Go requires a p exponent for hex floats.
        guard s.utf8.allSatisfy({ PromQLLexer.isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }) else { return nil }
        return Double(s)
    }

    private static func goParseIntBase0(_ s: String) -> Int64? {
        var digits = Substring(s)
        var radix = 10
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { radix = 16; digits = digits.dropFirst(2) }
        else if lower.hasPrefix("0o") { radix = 8; digits = digits.dropFirst(2) }
        else if lower.hasPrefix("0b") { radix = 2; digits = digits.dropFirst(2) }
        else if s.count > 1, s.hasPrefix("0") { radix = 8; digits = digits.dropFirst() }
        guard !digits.isEmpty else { return radix == 8 && s == "0" ? 0 : nil }
        return Int64(digits, radix: radix)
    }

    static let durationUnits: [(String, Int64)] = [
        ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
        ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// model.ParseDuration: `1y2w3d4h5m6s7ms`, units descending, each once; `0` allowed.
    /// Returns milliseconds or the upstream message.
    static func durationMilliseconds(_ text: String) -> Result<Int64, PromQLLiteralError> {
        if text == "0" { return .success(0) }
        let invalid = PromQLLiteralError(message: "not a valid duration string: \(GoQuote.quote(text))")
        var rest = Substring(text)
        var total: Int64 = 0
        var nextUnit = 0
        guard !rest.isEmpty else { return .failure(invalid) }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let n = Int64(digits) else { return .failure(invalid) }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let index = durationUnits.indices.first(where: { durationUnits[$0].0 == unit }) else {
                return .failure(PromQLLiteralError(message: "unknown unit \(GoQuote.quote(String(unit))) in duration \(GoQuote.quote(text))"))
            }
            guard index >= nextUnit else { return .failure(invalid) }
            let (product, overflow) = n.multipliedReportingOverflow(by: durationUnits[index].1)
            guard !overflow, total <= Int64.max / 1_000_000 - product / 1_000_000 else {
                return .failure(PromQLLiteralError(message: "duration out of range"))
            }
            total += product
            nextUnit = index + 1
        }
        return .success(total)
    }

    /// model.Duration.String: largest units first, zero units left out, `0s` for zero.
    static func formatDuration(milliseconds: Int64) -> String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds.magnitude
        var out = milliseconds < 0 ? "-" : ""
        for (unit, size) in durationUnits where rest >= UInt64(size) {
            out += "\(rest / UInt64(size))\(unit)"
            rest %= UInt64(size)
        }
        return out
    }

    /// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip,
    /// never in exponent form; `+Inf`, `-Inf`, `NaN`.
    static func formatFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        var text = "\(value.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var intPart = text
        var fracPart = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot])
            fracPart = String(text[text.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var pointPos = intPart.count + exponent
        // Normalise: strip leading zeros (keeping the point position right).
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); pointPos -= 1 }
        while digits.count > 1, digits.last == "0", digits.count > max(pointPos, 1) { digits.removeLast() }
        var out: String
        if pointPos <= 0 {
            out = "0." + String(repeating: "0", count: -pointPos) + digits
        } else if pointPos >= digits.count {
            out = digits + String(repeating: "0", count: pointPos - digits.count)
        } else {
            let i = digits.index(digits.startIndex, offsetBy: pointPos)
            out = digits[..<i] + "." + digits[i...]
        }
        if out.contains(".") {
            while out.last == "0" { out.removeLast() }
            if out.last == "." { out.removeLast() }
        }
        if out.isEmpty { out = "0" }
        return (value.sign == .minus && value != 0 ? "-" : (value.sign == .minus ? "-" : "")) + out
    }

    /// strutil.Unquote: Go's strconv.Unquote, but single-quoted strings may hold many
    /// characters. The lexer has validated the escapes already.
    static func unquote(_ raw: String) -> String? {
        var bytes = Array(raw.utf8)
        guard bytes.count >= 2, let quote = bytes.first, bytes.last == quote else { return nil }
        bytes = Array(bytes[1..<(bytes.count - 1)])
        if quote == UInt8(ascii: "`") {
            return String(decoding: bytes.filter { $0 != 0x0D }, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        func hexValue(_ count: Int, base: UInt32) -> UInt32? {
            guard i + count <= bytes.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<count {
                guard let d = PromQLLexer.digitValue(bytes[i + k]), d < base else { return nil }
                v = v * base + d
            }
            i += count
            return v
        }
        func appendScalar(_ v: UInt32) -> Bool {
            guard let s = Unicode.Scalar(v) else { return false }
            out.append(contentsOf: Array(String(Character(s)).utf8))
            return true
        }
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == quote { return nil }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard i < bytes.count else { return nil }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), quote: out.append(e)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                i -= 1
                guard let v = hexValue(3, base: 8), v <= 255 else { return nil }
                out.append(UInt8(v))
            case UInt8(ascii: "x"):
                guard let v = hexValue(2, base: 16) else { return nil }
                out.append(UInt8(v))
            case UInt8(ascii: "u"):
                guard let v = hexValue(4, base: 16), appendScalar(v) else { return nil }
            case UInt8(ascii: "U"):
                guard let v = hexValue(8, base: 16), appendScalar(v) else { return nil }
            default: return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

struct PromQLLiteralError: Error, Sendable {
    var message: String
}
