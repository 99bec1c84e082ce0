/// Float-to-text conversions that reproduce Go's `strconv.FormatFloat` with precision -1
/// (shortest digits that round-trip), because the upstream translator writes label values
/// (`le`, `quantile`, double attributes) with it and series identity depends on the exact text.
///
/// Swift's `description` already yields the shortest round-trip digits; only the layout differs
/// (Swift switches to exponent notation at other thresholds), so we re-lay the digits out.
enum GoFloatFormat {
    /// `strconv.FormatFloat(x, 'f', -1, 64)`: plain decimal, never an exponent
    /// (`0.005`, `1`, `1000000`, `0.00001`), `+Inf`, `-Inf`, `NaN`.
    static func fixed(_ x: Double) -> String {
        if let special = nonFinite(x) { return special }
        let d = ShortestDecimal(x)
        var out = d.negative ? "-" : ""
        if d.digits == "0" { return out + "0" }
        let count = d.digits.count
        if d.pointPosition <= 0 {
            out += "0." + String(repeating: "0", count: -d.pointPosition) + d.digits
        } else if d.pointPosition >= count {
            out += d.digits + String(repeating: "0", count: d.pointPosition - count)
        } else {
            let split = d.digits.index(d.digits.startIndex, offsetBy: d.pointPosition)
            out += d.digits[..<split] + "." + d.digits[split...]
        }
        return out
    }

    /// `strconv.FormatFloat(x, 'e', -1, 64)`: `1.5e-07`, `1e+21` (exponent has at least two digits).
    static func exponent(_ x: Double) -> String {
        if let special = nonFinite(x) { return special }
        let d = ShortestDecimal(x)
        var out = d.negative ? "-" : ""
        out.append(d.digits.first!)
        if d.digits.count > 1 {
            out += "." + d.digits.dropFirst()
        }
        let exp = d.digits == "0" ? 0 : d.pointPosition - 1
        out += exp < 0 ? "e-" : "e+"
        let magnitude = String(abs(exp))
        out += magnitude.count < 2 ? "0" + magnitude : magnitude
        return out
    }

    /// The JSON/ES6 number text that pdata's `Value.AsString` produces for doubles:
    /// plain decimal for 1e-6 <= |x| < 1e21, exponent form otherwise with `e-07` shortened
    /// to `e-7`. Non-finite values give pdata's `json: unsupported value: …` text.
    static func es6(_ x: Double) -> String {
        if let special = nonFinite(x) { return "json: unsupported value: " + special }
        let magnitude = abs(x)
        guard magnitude != 0, magnitude < 1e-6 || magnitude >= 1e21 else { return fixed(x) }
        var text = exponent(x)
        let bytes = Array(text.utf8)
        let n = bytes.count
        if n >= 4, bytes[n - 4] == UInt8(ascii: "e"), bytes[n - 3] == UInt8(ascii: "-"), bytes[n - 2] == UInt8(ascii: "0") {
            text = String(decoding: bytes[..<(n - 2)] + bytes[(n - 1)...], as: UTF8.self)
        }
        return text
    }

    private static func nonFinite(_ x: Double) -> String? {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-Inf" : "+Inf" }
        return nil
    }
}

/// A finite double as sign, shortest significant digits and decimal point position:
/// value = 0.<digits> × 10^pointPosition. Zero is `digits == "0"`.
private struct ShortestDecimal {
    var negative: Bool
    var digits: String
    var pointPosition: Int

    init(_ x: Double) {
        negative = x.sign == .minus
        var text = Substring(abs(x).description)
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp = Int(text[text.index(after: e)...])!
            text = text[..<e]
        }
        var integerCount = text.count
        var raw = ""
        if let dot = text.firstIndex(of: ".") {
            integerCount = text.distance(from: text.startIndex, to: dot)
            raw = String(text[..<dot]) + text[text.index(after: dot)...]
        } else {
            raw = String(text)
        }
        var point = integerCount + exp
        var trimmed = Substring(raw)
        while trimmed.first == "0" {
            trimmed = trimmed.dropFirst()
            point -= 1
        }
        while trimmed.last == "0" { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty {
            digits = "0"
            pointPosition = 1
        } else {
            digits = String(trimmed)
            pointPosition = point
        }
    }
}
