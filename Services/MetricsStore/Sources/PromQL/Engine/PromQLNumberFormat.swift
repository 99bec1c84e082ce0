/// Go's float formatting where Prometheus's output depends on it: label values made from
/// numbers (`strconv.FormatFloat(f, 'f', -1, 64)`) and `%g` in messages. Both use the
/// shortest digits that round-trip, which Swift's `description` also produces.
struct PromQLShortestDigits {
    var negative: Bool
    /// Significant digits without leading/trailing zeros ("" for zero).
    var digits: [UInt8]
    /// Position of the decimal point relative to the digits' start (Go's `decimalPoint`).
    var point: Int

    init(_ value: Double) {
        negative = value.sign == .minus
        let text = abs(value).description   // "1.5", "1e-05", "1.2345e+20", "0.0"
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits: [UInt8] = []
        var point = 0
        var seenPoint = false
        for c in mantissa.utf8 {
            if c == UInt8(ascii: ".") { seenPoint = true; continue }
            digits.append(c)
            if !seenPoint { point += 1 }
        }
        // Trim leading zeros (moving the point) and trailing zeros.
        while let first = digits.first, first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0") { digits.removeLast() }
        self.digits = digits
        self.point = digits.isEmpty ? 0 : point + exponent
    }

    /// `'f'` with the shortest precision.
    var plain: String {
        var out = negative ? "-" : ""
        if digits.isEmpty { return out + "0" }
        if point <= 0 {
            out += "0." + String(repeating: "0", count: -point) + String(decoding: digits, as: UTF8.self)
        } else if point >= digits.count {
            out += String(decoding: digits, as: UTF8.self) + String(repeating: "0", count: point - digits.count)
        } else {
            out += String(decoding: digits[..<point], as: UTF8.self) + "." + String(decoding: digits[point...], as: UTF8.self)
        }
        return out
    }

    /// `'e'` with the shortest precision, Go style (`1e+06`, `1.5e-07`).
    var scientific: String {
        var out = negative ? "-" : ""
        guard !digits.isEmpty else { return out + "0e+00" }
        out += String(UnicodeScalar(digits[0]))
        if digits.count > 1 { out += "." + String(decoding: digits[1...], as: UTF8.self) }
        let exponent = point - 1
        out += exponent < 0 ? "e-" : "e+"
        let magnitude = abs(exponent)
        out += magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
        return out
    }
}

/// `strconv.FormatFloat(v, 'f', -1, 64)`.
func formatPlain(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
    return PromQLShortestDigits(value).plain
}

/// `fmt.Sprintf("%g", v)` (`exponentLimit` 6) or `%v` (21): exponent form when the
/// exponent is below -4 or at least the limit.
func formatGo(_ value: Double, exponentLimit limit: Int = 6) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
    let d = PromQLShortestDigits(value)
    let exponent = d.point - 1
    if !d.digits.isEmpty && (exponent < -4 || exponent >= limit) { return d.scientific }
    return d.plain
}

/// Prometheus's `FormatOpenMetricsFloat`: `%g`-style, with `.0` added to integral values.
func formatOpenMetrics(_ value: Double) -> String {
    let text = formatGo(value)
    if text.contains(where: { $0 == "." || $0 == "e" || $0 == "I" || $0 == "N" }) { return text }
    return text + ".0"
}
