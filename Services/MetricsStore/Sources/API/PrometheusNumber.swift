/// Numbers as Prometheus writes them in JSON strings and the text format: Go's
/// strconv.FormatFloat(v, 'f', -1, 64) for ordinary values, "NaN", "+Inf", "-Inf".
enum PrometheusNumber {
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension Double {
    /// Prometheus's staleness marker: a NaN with this exact bit pattern.
    var isStaleMarker: Bool { bitPattern == 0x7ff0_0000_0000_0002 }
}
