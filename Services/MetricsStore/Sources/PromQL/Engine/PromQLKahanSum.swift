/// Kahan–Neumaier compensated summation, as Prometheus sums floats (`kahansum.Inc`), so
/// that `sum`, `avg` and `*_over_time` agree with it to the last bit on awkward inputs.
struct PromQLKahanSum {
    var sum: Double = 0
    var compensation: Double = 0

    @inline(__always)
    static func increment(_ inc: Double, _ sum: Double, _ c: Double) -> (Double, Double) {
        let t = sum + inc
        var c = c
        if t.isInfinite {
            c = 0
        } else if abs(sum) >= abs(inc) {
            c += (sum - t) + inc
        } else {
            c += (inc - t) + sum
        }
        return (t, c)
    }

    @inline(__always) mutating func add(_ value: Double) {
        (sum, compensation) = Self.increment(value, sum, compensation)
    }

    var value: Double { sum + compensation }
}

/// Prometheus's `quantile`: linear interpolation between the two nearest ranks; NaN
/// sorts first. `values` is sorted in place.
func promQLQuantile(_ q: Double, _ values: inout [Double]) -> Double {
    if values.isEmpty || q.isNaN { return .nan }
    if q < 0 { return -.infinity }
    if q > 1 { return .infinity }
    values.sort { ($0.isNaN && !$1.isNaN) || $0 < $1 }
    let n = Double(values.count)
    let rank = q * (n - 1)
    let lower = max(0, rank.rounded(.down))
    let upper = min(n - 1, lower + 1)
    let weight = rank - rank.rounded(.down)
    return values[Int(lower)] * (1 - weight) + values[Int(upper)] * weight
}
