/// Numbers as Prometheus writes them: in API JSON, Go's strconv.FormatFloat(v, 'f', -1, 64)
/// (positional notation, the fewest digits that read back to the same value); in the text
/// exposition format (federation), Go's 'g' with the same shortest digits. Both spell
/// the special values "NaN", "+Inf" and "-Inf". The digits come from the PromQL engine's
/// `PromQLShortestDigits`.
enum PrometheusNumber {
    /// Go's 'f', -1: "1000000", "0.0000001", "1.5".
    static func format(_ value: Double) -> String {
        // Whole numbers are most values; skip the digit search for them.
        if value == value.rounded(), abs(value) < 1e15, value != 0 || value.sign == .plus { return String(Int64(value)) }
        return formatPlain(value)
    }

    /// Go's 'g', -1: exponent notation when the decimal exponent is below -4 or at least
    /// 6 ("1e+06", "1.5e-05"), positional otherwise ("123456", "0.0001").
    static func formatText(_ value: Double) -> String {
        formatGo(value)
    }
}

extension Double {
    /// Prometheus's staleness marker: a NaN with this exact bit pattern.
    var isStaleMarker: Bool { bitPattern == 0x7ff0_0000_0000_0002 }
}
