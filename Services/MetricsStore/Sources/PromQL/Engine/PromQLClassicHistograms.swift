import Foundation

/// `histogram_quantile` and `histogram_fraction` over classic histograms: series that
/// differ only in their `le` label form one histogram per step.
extension PromQLEvaluator {
    struct Bucket {
        var upperBound: Double
        var count: Double
    }

    func histogramQuantile(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let q = try evalScalar(c.args[0], range)
        let input = try evalVector(c.args[1], range)
        warnInvalidQuantiles(Array(Set(q.map(\.bitPattern))).map { Double(bitPattern: $0) }, c.args[0])
        return try perHistogram(input, c.args[1], range) { step, buckets, metricName in
            let (value, forced) = Self.bucketQuantile(q[step], &buckets)
            if forced { monotonicityInfo(metricName, c.args[1]) }
            return value
        }
    }

    /// `histogram_quantiles(v, "label", q1, q2, …)`: one output series per quantile, told
    /// apart by `label` (the quantile in OpenMetrics float format).
    func histogramQuantiles(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let input = try evalVector(c.args[0], range)
        let label = stringArgument(c.args[1])
        var collector = PromQLSeriesCollector(range: range)
        for arg in c.args.dropFirst(2) {
            let q = try evalScalar(arg, range)
            warnInvalidQuantiles(Array(Set(q.map(\.bitPattern))).map { Double(bitPattern: $0) }, arg)
            let series = try perHistogram(input, c.args[0], range) { step, buckets, metricName in
                let (value, forced) = Self.bucketQuantile(q[step], &buckets)
                if forced { monotonicityInfo(metricName, c.args[0]) }
                return value
            }
            for s in series {
                for p in s.points {
                    let step = range.step(of: p.timestamp)
                    try collector.add(s.labels.setting(label, formatOpenMetrics(q[step])), dropName: true,
                                      step: step, time: p.timestamp, value: p.value)
                }
            }
        }
        return collector.series
    }

    private func monotonicityInfo(_ metricName: String, _ arg: PromQLExpr) {
        let suffix = metricName.isEmpty ? "" : " for metric name \(GoQuote.quote(metricName))"
        annotations.info("PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)\(suffix) \(position(arg.positionRange))")
    }

    func histogramFraction(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let lower = try evalScalar(c.args[0], range)
        let upper = try evalScalar(c.args[1], range)
        let input = try evalVector(c.args[2], range)
        return try perHistogram(input, c.args[2], range) { step, buckets, _ in
            Self.bucketFraction(lower[step], upper[step], &buckets)
        }
    }

    /// Groups the series by their labels without `le` once, then hands each step's
    /// buckets of each group to `body`.
    private func perHistogram(_ input: [PromQLEvalSeries], _ arg: PromQLExpr, _ range: PromQLStepRange,
                              _ body: (Int, inout [Bucket], String) throws(PromQLError) -> Double) throws(PromQLError) -> [PromQLEvalSeries] {
        var groupOf: [Labels: Int] = [:]
        var groupLabels: [Labels] = []
        var groupNames: [String] = []
        var seriesGroup = [Int](repeating: -1, count: input.count)
        var upperBounds = [Double](repeating: 0, count: input.count)
        var badBuckets: [Int] = []
        for (i, s) in input.enumerated() {
            guard let bound = Self.parseGoFloat(s.labels["le"] ?? "") else {
                badBuckets.append(i)
                continue
            }
            upperBounds[i] = bound
            let key = s.labels.removing(["le"], dropName: false)
            if let g = groupOf[key] {
                seriesGroup[i] = g
            } else {
                groupOf[key] = groupLabels.count
                seriesGroup[i] = groupLabels.count
                groupLabels.append(key)
                groupNames.append(s.labels[Labels.metricName] ?? "")
            }
        }
        for i in badBuckets {
            let name = input[i].labels[Labels.metricName] ?? ""
            let suffix = name.isEmpty ? "" : " for metric name \(GoQuote.quote(name))"
            annotations.warn("PromQL warning: bucket label \"le\" is missing or has a malformed value of \(GoQuote.quote(input[i].labels["le"] ?? ""))\(suffix) \(position(arg.positionRange))")
        }
        let steps = PromQLStepIndex(input, range)
        var buckets = [[Bucket]](repeating: [], count: groupLabels.count)
        var points = [[Head.Sample]](repeating: [], count: groupLabels.count)
        var touched: [Int] = []
        for step in 0..<range.count {
            try checkInterrupted()
            touched.removeAll(keepingCapacity: true)
            for e in steps.entries(at: step) {
                let s = Int(steps.series[e])
                let g = seriesGroup[s]
                guard g >= 0 else { continue }
                if buckets[g].isEmpty { touched.append(g) }
                buckets[g].append(Bucket(upperBound: upperBounds[s], count: steps.values[e]))
            }
            for g in touched {
                let value = try body(step, &buckets[g], groupNames[g])
                points[g].append(Head.Sample(range.time(step), value))
                buckets[g].removeAll(keepingCapacity: true)
            }
        }
        var out: [PromQLEvalSeries] = []
        for g in groupLabels.indices where !points[g].isEmpty {
            out.append(PromQLEvalSeries(labels: groupLabels[g], dropName: true, points: points[g]))
        }
        return out
    }

    /// Go's `strconv.ParseFloat` for bucket bounds (accepts `+Inf`, `Inf`, `NaN`, hex).
    static func parseGoFloat(_ text: String) -> Double? {
        var t = Substring(text)
        var negative = false
        if t.hasPrefix("+") { t = t.dropFirst() } else if t.hasPrefix("-") { negative = true; t = t.dropFirst() }
        let lower = t.lowercased()
        if lower == "inf" || lower == "infinity" { return negative ? -.infinity : .infinity }
        if lower == "nan" { return .nan }
        guard !t.isEmpty, t.allSatisfy({ $0.isASCII && ($0.isHexDigit || "._xXpP+-".contains($0)) }) else { return nil }
        guard let v = Double(String(t).replacingOccurrences(of: "_", with: "")) else { return nil }
        return negative ? -v : v
    }

    /// Sorts and coalesces buckets of equal bound.
    private static func normalize(_ buckets: inout [Bucket]) {
        buckets.sort { $0.upperBound < $1.upperBound }
        var merged: [Bucket] = []
        merged.reserveCapacity(buckets.count)
        for b in buckets {
            if let last = merged.last, last.upperBound == b.upperBound {
                merged[merged.count - 1].count += b.count
            } else {
                merged.append(b)
            }
        }
        buckets = merged
    }

    /// Prometheus's `BucketQuantile`; also returns whether counts had to be made monotonic.
    static func bucketQuantile(_ q: Double, _ buckets: inout [Bucket]) -> (Double, Bool) {
        if q.isNaN { return (.nan, false) }
        if q < 0 { return (-.infinity, false) }
        if q > 1 { return (.infinity, false) }
        buckets.sort { $0.upperBound < $1.upperBound }
        guard let last = buckets.last, last.upperBound == .infinity else { return (.nan, false) }
        normalize(&buckets)
        var forced = false
        var previous = buckets[0].count
        for i in 1..<buckets.count {
            let current = buckets[i].count
            if current == previous { continue }
            if PromQLAlmostEqual.equal(previous, current, epsilon: 1e-12) {
                buckets[i].count = previous
                continue
            }
            if current < previous {
                buckets[i].count = previous
                forced = true
                continue
            }
            previous = current
        }
        guard buckets.count >= 2 else { return (.nan, forced) }
        let observations = buckets[buckets.count - 1].count
        guard observations != 0 else { return (.nan, forced) }
        var rank = q * observations
        var b = 0
        while b < buckets.count - 1 && !(buckets[b].count >= rank) { b += 1 }
        if b == buckets.count - 1 { return (buckets[buckets.count - 2].upperBound, forced) }
        if b == 0 && buckets[0].upperBound <= 0 { return (buckets[0].upperBound, forced) }
        var start = 0.0
        let end = buckets[b].upperBound
        var count = buckets[b].count
        if b > 0 {
            start = buckets[b - 1].upperBound
            count -= buckets[b - 1].count
            rank -= buckets[b - 1].count
        }
        return (start + (end - start) * (rank / count), forced)
    }

    /// Prometheus's `BucketFraction`: the share of observations in `(lower, upper]`,
    /// interpolating linearly inside buckets.
    static func bucketFraction(_ lower: Double, _ upper: Double, _ buckets: inout [Bucket]) -> Double {
        buckets.sort { $0.upperBound < $1.upperBound }
        guard let last = buckets.last, last.upperBound == .infinity else { return .nan }
        normalize(&buckets)
        let count = buckets[buckets.count - 1].count
        if count == 0 || lower.isNaN || upper.isNaN { return .nan }
        if lower >= upper { return 0 }
        var rank = 0.0, lowerRank = 0.0, upperRank = 0.0
        var lowerSet = false, upperSet = false
        var lowerBound = buckets[0].upperBound <= 0 ? -Double.infinity : 0
        for (i, b) in buckets.enumerated() {
            if i > 0 { lowerBound = buckets[i - 1].upperBound }
            let upperBound = b.upperBound
            func interpolate(_ v: Double) -> Double {
                if lowerBound == -.infinity { return b.count }
                return rank + (b.count - rank) * (v - lowerBound) / (upperBound - lowerBound)
            }
            if !lowerSet && lowerBound >= lower { lowerRank = rank; lowerSet = true }
            if !upperSet && lowerBound >= upper { upperRank = rank; upperSet = true }
            if lowerSet && upperSet { break }
            if !lowerSet && lowerBound < lower && upperBound > lower { lowerRank = interpolate(lower); lowerSet = true }
            if !upperSet && lowerBound < upper && upperBound > upper { upperRank = interpolate(upper); upperSet = true }
            if lowerSet && upperSet { break }
            rank = b.count
        }
        if !lowerSet || lowerRank > count { lowerRank = count }
        if !upperSet || upperRank > count { upperRank = count }
        return (upperRank - lowerRank) / count
    }
}

/// `util/almost.Equal`: relative tolerance, NaN equals NaN, stale markers only each other.
enum PromQLAlmostEqual {
    static let minNormal = Double(bitPattern: 0x0010_0000_0000_0000)

    static func equal(_ a: Double, _ b: Double, epsilon: Double) -> Bool {
        if PromQLStaleness.isMarker(a) || PromQLStaleness.isMarker(b) { return PromQLStaleness.isMarker(a) && PromQLStaleness.isMarker(b) }
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        let absSum = abs(a) + abs(b)
        let diff = abs(a - b)
        if a == 0 || b == 0 || absSum < minNormal { return diff < epsilon * minNormal }
        return diff / min(absSum, Double.greatestFiniteMagnitude) < epsilon
    }
}
