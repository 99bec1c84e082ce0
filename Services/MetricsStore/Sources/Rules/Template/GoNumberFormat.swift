import Foundation

/// Go's float formatting as Prometheus's templates print numbers: `%v` and `%.4g`.
enum GoNumberFormat {
    /// `fmt.Sprint(float64)`: strconv.FormatFloat(v, 'g', -1, 64).
    ///
    /// The shortest digits that round-trip; strconv's 'g' with precision -1 switches to
    /// exponent form when the decimal exponent is below -4 or at least 6, so
    /// `{{ $value }}` of 1234567 prints `1.234567e+06`, as in Prometheus's alerts.
    static func shortest(_ value: Double) -> String {
        if let special = special(value) { return special }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let (negative, digits, exponent) = decimalDigits(value)
        let sign = negative ? "-" : ""
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.first!)
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            return sign + mantissa + exponentSuffix(exponent)
        }
        if exponent < 0 {
            return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits
        }
        if digits.count <= exponent + 1 {
            return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count)
        }
        let split = digits.index(digits.startIndex, offsetBy: exponent + 1)
        return sign + digits[..<split] + "." + digits[split...]
    }

    /// `fmt.Sprintf("%.Ng", v)` (C's %g agrees except for Go's NaN/Inf spelling).
    static func g(_ value: Double, precision: Int = 4) -> String {
        if let special = special(value) { return special }
        return String(format: "%.\(precision)g", value)
    }

    static func special(_ value: Double) -> String? {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        return nil
    }

    static func exponentSuffix(_ exponent: Int) -> String {
        let magnitude = abs(exponent)
        return (exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
    }

    /// The shortest round-trip decimal digits of a finite non-zero value, with the
    /// decimal exponent of the first digit. Swift's `description` already finds the
    /// shortest digits; this only normalises its layout.
    static func decimalDigits(_ value: Double) -> (negative: Bool, digits: String, exponent: Int) {
        var text = "\(abs(value))"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integer + fraction
        var pointPosition = integer.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (value < 0, digits, pointPosition - 1)
    }
}
