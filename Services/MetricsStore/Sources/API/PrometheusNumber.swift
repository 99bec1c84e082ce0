/// Numbers as Prometheus writes them: in API JSON, Go's strconv.FormatFloat(v, 'f', -1, 64)
/// (positional notation, the fewest digits that read back to the same value); in the text
/// exposition format (federation), Go's 'g' with the same shortest digits. Both spell
/// the special values "NaN", "+Inf" and "-Inf".
enum PrometheusNumber {
    /// Go's 'f', -1: "1000000", "0.0000001", "1.5".
    static func format(_ value: Double) -> String {
        if let special = special(value) { return special }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let (negative, digits, point) = shortestDigits(value)
        var out = negative ? "-" : ""
        if point <= 0 {
            out += "0." + String(repeating: "0", count: -point) + digits
        } else if point >= digits.count {
            out += digits + String(repeating: "0", count: point - digits.count)
        } else {
            let split = digits.index(digits.startIndex, offsetBy: point)
            out += digits[..<split] + "." + digits[split...]
        }
        return out
    }

    /// Go's 'g', -1: exponent notation when the decimal exponent is below -4 or at least
    /// 6 ("1e+06", "1.5e-05"), positional otherwise ("123456", "0.0001").
    static func formatText(_ value: Double) -> String {
        if let special = special(value) { return special }
        let (negative, digits, point) = shortestDigits(value)
        let exponent = point - 1
        guard exponent < -4 || exponent >= 6 else { return format(value) }
        var out = negative ? "-" : ""
        out += String(digits.prefix(1))
        if digits.count > 1 { out += "." + digits.dropFirst() }
        out += exponent < 0 ? "e-" : "e+"
        let magnitude = abs(exponent)
        out += magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
        return out
    }

    private static func special(_ value: Double) -> String? {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        return nil
    }

    /// The shortest decimal digits that round-trip (Swift's `description` finds them, as
    /// Go's strconv does) and the decimal point's position: value = 0.digits × 10^point.
    static func shortestDigits(_ value: Double) -> (negative: Bool, digits: String, point: Int) {
        if value == 0 { return (value.sign == .minus, "0", 1) }
        var text = Substring(abs(value).description)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var integer = text
        var fraction: Substring = ""
        if let dot = text.firstIndex(of: ".") {
            integer = text[..<dot]
            fraction = text[text.index(after: dot)...]
        }
        var digits = String(integer) + fraction
        var point = integer.count + exponent
        while digits.first == "0", digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0", digits.count > 1 { digits.removeLast() }
        return (value < 0, digits, point)
    }
}

extension Double {
    /// Prometheus's staleness marker: a NaN with this exact bit pattern.
    var isStaleMarker: Bool { bitPattern == 0x7ff0_0000_0000_0002 }
}
