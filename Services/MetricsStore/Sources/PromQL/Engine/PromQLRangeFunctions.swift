import Foundation

/// The `*_over_time`, rate-like and regression functions over one window of samples
/// (Prometheus's `functions.go` semantics; windows are non-empty, stale markers removed).
enum PromQLRangeFunctions {
    typealias Window = UnsafeBufferPointer<Head.Sample>

    /// `rate`, `increase` and `delta`: the change over the window, extrapolated towards the
    /// window's edges (at most half an average sample interval past the samples, and for
    /// counters never below zero).
    ///
    /// `mayReset: false` promises that the series never decreases, which skips the scan for
    /// counter resets (the common case, and most of the work).
    static func extrapolatedRate(_ w: Window, windowEnd: Int64, range: Int64, isCounter: Bool, isRate: Bool,
                                 mayReset: Bool = true) -> Double? {
        guard w.count >= 2 else { return nil }
        let rangeStart = windowEnd - range
        let first = w[0], last = w[w.count - 1]
        var result = last.value - first.value
        if isCounter && mayReset {
            var previous = first.value
            for i in 1..<w.count {
                let current = w[i].value
                if current < previous { result += previous }
                previous = current
            }
        }
        var durationToStart = Double(first.timestamp - rangeStart) / 1000
        var durationToEnd = Double(windowEnd - last.timestamp) / 1000
        let sampledInterval = Double(last.timestamp - first.timestamp) / 1000
        let averageInterval = sampledInterval / Double(w.count - 1)
        let threshold = averageInterval * 1.1
        if durationToStart >= threshold { durationToStart = averageInterval / 2 }
        if isCounter && result > 0 && first.value >= 0 {
            let durationToZero = sampledInterval * (first.value / result)
            if durationToZero < durationToStart { durationToStart = durationToZero }
        }
        if durationToEnd >= threshold { durationToEnd = averageInterval / 2 }
        var factor = sampledInterval != 0 ? (sampledInterval + durationToStart + durationToEnd) / sampledInterval : 1
        if isRate { factor /= Double(range) / 1000 }
        return result * factor
    }

    /// `irate` and `idelta`: from the last two samples.
    static func instantDelta(_ w: Window, isRate: Bool) -> Double? {
        guard w.count >= 2 else { return nil }
        let last = w[w.count - 1], previous = w[w.count - 2]
        var result = last.value - previous.value
        if isRate && last.value < previous.value { result = last.value }
        let interval = last.timestamp - previous.timestamp
        if interval == 0 { return nil }
        if isRate { result /= Double(interval) / 1000 }
        return result
    }

    /// Least-squares fit of value over time (seconds relative to `interceptTime`).
    static func linearRegression(_ w: Window, interceptTime: Int64) -> (slope: Double, intercept: Double) {
        var n = 0.0
        var x = PromQLKahanSum(), y = PromQLKahanSum(), xy = PromQLKahanSum(), x2 = PromQLKahanSum()
        let initial = w[0].value
        var constant = true
        for (i, s) in w.enumerated() {
            if constant && i > 0 && s.value != initial { constant = false }
            n += 1
            let t = Double(s.timestamp - interceptTime) / 1000
            x.add(t)
            y.add(s.value)
            xy.add(t * s.value)
            x2.add(t * t)
        }
        if constant {
            if initial.isInfinite { return (.nan, .nan) }
            return (0, initial)
        }
        let sumX = x.value, sumY = y.value, sumXY = xy.value, sumX2 = x2.value
        let covXY = sumXY - sumX * sumY / n
        let varX = sumX2 - sumX * sumX / n
        let slope = covXY / varX
        return (slope, sumY / n - slope * sumX / n)
    }

    static func deriv(_ w: Window) -> Double? {
        guard w.count >= 2 else { return nil }
        return linearRegression(w, interceptTime: w[0].timestamp).slope
    }

    static func predictLinear(_ w: Window, evaluationTime: Int64, duration: Double) -> Double? {
        guard w.count >= 2 else { return nil }
        let (slope, intercept) = linearRegression(w, interceptTime: evaluationTime)
        return slope * duration + intercept
    }

    /// Whether any sample is lower than the one before it (or NaN), i.e. a counter reset
    /// may fall inside some window.
    static func mayDecrease(_ samples: [Head.Sample]) -> Bool {
        guard samples.count > 1 else { return false }
        for i in 1..<samples.count where !(samples[i].value >= samples[i - 1].value) { return true }
        return false
    }

    static func changes(_ w: Window) -> Double {
        var changes = 0.0
        var previous = w[0].value
        for i in 1..<w.count {
            let current = w[i].value
            if current != previous && !(current.isNaN && previous.isNaN) { changes += 1 }
            previous = current
        }
        return changes
    }

    static func resets(_ w: Window) -> Double {
        var resets = 0.0
        var previous = w[0].value
        for i in 1..<w.count {
            let current = w[i].value
            if current < previous { resets += 1 }
            previous = current
        }
        return resets
    }

    static func sum(_ w: Window) -> Double {
        var sum = PromQLKahanSum()
        for s in w { sum.add(s.value) }
        return sum.value
    }

    /// Direct mean with compensated summation, switching to an incremental mean only when
    /// the running sum would overflow (as upstream does).
    static func average(_ w: Window) -> Double {
        var sum = w[0].value, c = 0.0, mean = 0.0
        var incremental = false
        var count = 1.0
        for i in 1..<max(w.count, 1) {
            let f = w[i].value
            count = Double(i + 1)
            if !incremental {
                let (newSum, newC) = PromQLKahanSum.increment(f, sum, c)
                if !newSum.isInfinite {
                    sum = newSum
                    c = newC
                    continue
                }
                incremental = true
                mean = sum / (count - 1)
                c /= count - 1
            }
            let q = (count - 1) / count
            (mean, c) = PromQLKahanSum.increment(f / count, q * mean, q * c)
        }
        return incremental ? mean + c : sum / count + c / count
    }

    static func minimum(_ w: Window) -> Double {
        var m = w[0].value
        for s in w where m > s.value || m.isNaN { m = s.value }
        return m
    }

    static func maximum(_ w: Window) -> Double {
        var m = w[0].value
        for s in w where m < s.value || m.isNaN { m = s.value }
        return m
    }

    static func variance(_ w: Window) -> Double {
        var count = 0.0, mean = 0.0, cMean = 0.0, aux = 0.0, cAux = 0.0
        for s in w {
            count += 1
            let delta = s.value - (mean + cMean)
            (mean, cMean) = PromQLKahanSum.increment(delta / count, mean, cMean)
            (aux, cAux) = PromQLKahanSum.increment(delta * (s.value - (mean + cMean)), aux, cAux)
        }
        return (aux + cAux) / count
    }

    static func quantile(_ q: Double, _ w: Window) -> Double {
        var values = w.map(\.value)
        return promQLQuantile(q, &values)
    }

    /// Median absolute deviation from the median.
    static func medianAbsoluteDeviation(_ w: Window) -> Double {
        var values = w.map(\.value)
        if values.contains(where: \.isNaN) { return .nan }
        let median = promQLQuantile(0.5, &values)
        var deviations = values.map { abs($0 - median) }
        return promQLQuantile(0.5, &deviations)
    }

    /// Holt's double exponential smoothing (`double_exponential_smoothing`).
    static func doubleExponentialSmoothing(_ w: Window, smoothing sf: Double, trend tf: Double) -> Double? {
        guard w.count >= 2 else { return nil }
        var s0 = 0.0
        var s1 = w[0].value
        var b = w[1].value - w[0].value
        for i in 1..<w.count {
            let x = sf * w[i].value
            if i > 1 { b = tf * (s1 - s0) + (1 - tf) * b }
            let y = (1 - sf) * (s1 + b)
            s0 = s1
            s1 = x + y
        }
        return s1
    }
}
