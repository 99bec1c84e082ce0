import Foundation

/// Go's float formatting as Prometheus's templates print numbers: `%v` and `%.4g`.
enum GoNumberFormat {
    /// `fmt.Sprint(float64)`: strconv.FormatFloat(v, 'g', -1, 64).
    ///
    /// The shortest digits that round-trip; strconv's 'g' with precision -1 switches to
    /// exponent form when the decimal exponent is below -4 or at least 6, so
    /// `{{ $value }}` of 1234567 prints `1.234567e+06`, as in Prometheus's alerts.
    static func shortest(_ value: Double) -> String {
        if value == 0, value.sign == .minus { return "-0" }
        return formatGo(value)
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
}
