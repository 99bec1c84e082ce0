import Foundation

/// Function calls: dispatch by name to range-vector functions, element-wise functions,
/// label functions and the special cases (`absent`, `scalar`, `vector`, `timestamp`, …).
extension PromQLEvaluator {
    func evalCall(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> PromQLEvalValue {
        let name = c.function.name
        if c.function.experimental && !options.experimentalFunctions {
            throw .execution("function \(name) is experimental and not enabled")
        }
        switch name {
        case "time": return .scalar((0..<range.count).map { Double(range.time($0)) / 1000 })
        case "pi": return .scalar(Array(repeating: Double.pi, count: range.count))
        case "start": return .scalar(Array(repeating: Double(queryStart) / 1000, count: range.count))
        case "end": return .scalar(Array(repeating: Double(queryEnd) / 1000, count: range.count))
        case "range": return .scalar(Array(repeating: Double(queryEnd - queryStart) / 1000, count: range.count))
        case "step": return .scalar(Array(repeating: Double(range.count > 1 ? range.interval : 0) / 1000, count: range.count))
        case "vector":
            let values = try evalScalar(c.args[0], range)
            let points = (0..<range.count).map { Head.Sample(range.time($0), values[$0]) }
            return .vector(points.isEmpty ? [] : [PromQLEvalSeries(labels: Labels(), points: points)])
        case "scalar":
            return .scalar(try scalarOf(try evalVector(c.args[0], range), range))
        case "min_of", "max_of":
            let l = try evalScalar(c.args[0], range), r = try evalScalar(c.args[1], range)
            return .scalar(zip(l, r).map { name == "min_of" ? goMin($0, $1) : goMax($0, $1) })
        case "absent":
            return .vector(try absent(c, range))
        case "absent_over_time":
            return .vector(try absentOverTime(c, range))
        case "label_replace":
            return .vector(try labelReplace(c, range))
        case "label_join":
            return .vector(try labelJoin(c, range))
        case "sort", "sort_desc", "sort_by_label", "sort_by_label_desc":
            return .vector(try sortFunction(c, range))
        case "timestamp":
            return .vector(try timestampFunction(c, range))
        case "histogram_quantile":
            return .vector(try histogramQuantile(c, range))
        case "histogram_fraction":
            return .vector(try histogramFraction(c, range))
        case "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar":
            // Only native histograms have these; float series give no result.
            _ = try evalVector(c.args[0], range)
            return .vector([])
        case "histogram_quantiles":
            return .vector(try histogramQuantiles(c, range))
        case "info", "start_timestamp":
            throw .execution("function \(name) is not supported")
        case "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year":
            return .vector(try dateFunction(c, range))
        default:
            break
        }
        if c.function.argTypes.contains(.matrix) {
            return .vector(try rangeFunction(c, range))
        }
        return .vector(try elementFunction(c, range))
    }

    // MARK: Range-vector functions

    private func rangeFunction(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let name = c.function.name
        let matrixIndex = c.function.argTypes.firstIndex(of: .matrix)!
        var scalars: [[Double]] = []
        for (i, arg) in c.args.enumerated() where i != matrixIndex {
            scalars.append(try evalScalar(arg, range))
        }
        let input = try windowed(c.args[matrixIndex], range)
        defer { release(input.series.reduce(0) { $0 + $1.samples.count }) }
        let keepsName = name == "last_over_time" || name == "first_over_time"
        if name == "quantile_over_time" { warnInvalidQuantiles(scalars[0], c.args[0]) }
        if name == "double_exponential_smoothing" {
            for (values, what) in [(scalars[0], "smoothing"), (scalars[1], "trend")] {
                if let bad = values.first(where: { $0 <= 0 || $0 >= 1 || $0.isNaN }) {
                    throw .execution("invalid \(what) factor. Expected: 0 < \(what == "smoothing" ? "sf" : "tf") < 1, got: \(String(format: "%f", bad))")
                }
            }
        }
        let result: [PromQLEvalSeries]
        if name == "rate" || name == "increase" {
            // Counter resets are rare: find the series that have none once, not per window.
            let mayReset = input.series.map { PromQLRangeFunctions.mayDecrease($0.samples) }
            let r = input.range, isRate = name == "rate"
            result = try mapWindows(input, range, dropName: true) { (w, _, end, series) throws(PromQLError) -> Double? in
                PromQLRangeFunctions.extrapolatedRate(w, windowEnd: end, range: r, isCounter: true, isRate: isRate, mayReset: mayReset[series])
            }
        } else {
            let kernel = try Self.rangeKernel(name, range: input.range, scalars: scalars, steps: range)
            result = try mapWindows(input, range, dropName: !keepsName) { (w, step, end, _) throws(PromQLError) -> Double? in
                kernel(w, step, end)
            }
        }
        if (name == "rate" || name == "increase"), !input.fromSubquery {
            for series in result {
                guard let metric = series.labels[Labels.metricName], !metric.isEmpty else { continue }
                if !(metric.hasSuffix("_total") || metric.hasSuffix("_sum") || metric.hasSuffix("_count") || metric.hasSuffix("_bucket")) {
                    annotations.info("PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \(GoQuote.quote(metric)) \(position(c.args[matrixIndex].positionRange))")
                }
            }
        }
        return result
    }

    typealias RangeKernel = (_ window: UnsafeBufferPointer<Head.Sample>, _ step: Int, _ windowEnd: Int64) -> Double?

    /// The per-window computation of a range-vector function, chosen once per call.
    static func rangeKernel(_ name: String, range r: Int64, scalars: [[Double]], steps: PromQLStepRange) throws(PromQLError) -> RangeKernel {
        typealias F = PromQLRangeFunctions
        switch name {
        case "rate": return { w, _, end in F.extrapolatedRate(w, windowEnd: end, range: r, isCounter: true, isRate: true) }
        case "increase": return { w, _, end in F.extrapolatedRate(w, windowEnd: end, range: r, isCounter: true, isRate: false) }
        case "delta": return { w, _, end in F.extrapolatedRate(w, windowEnd: end, range: r, isCounter: false, isRate: false) }
        case "irate": return { w, _, _ in F.instantDelta(w, isRate: true) }
        case "idelta": return { w, _, _ in F.instantDelta(w, isRate: false) }
        case "deriv": return { w, _, _ in F.deriv(w) }
        case "predict_linear": return { w, step, _ in F.predictLinear(w, evaluationTime: steps.time(step), duration: scalars[0][step]) }
        case "changes": return { w, _, _ in F.changes(w) }
        case "resets": return { w, _, _ in F.resets(w) }
        case "avg_over_time": return { w, _, _ in F.average(w) }
        case "sum_over_time": return { w, _, _ in F.sum(w) }
        case "count_over_time": return { w, _, _ in Double(w.count) }
        case "min_over_time": return { w, _, _ in F.minimum(w) }
        case "max_over_time": return { w, _, _ in F.maximum(w) }
        case "last_over_time": return { w, _, _ in w[w.count - 1].value }
        case "first_over_time": return { w, _, _ in w[0].value }
        case "present_over_time": return { _, _, _ in 1 }
        case "stddev_over_time": return { w, _, _ in F.variance(w).squareRoot() }
        case "stdvar_over_time": return { w, _, _ in F.variance(w) }
        case "quantile_over_time": return { w, step, _ in F.quantile(scalars[0][step], w) }
        case "mad_over_time": return { w, _, _ in F.medianAbsoluteDeviation(w) }
        case "double_exponential_smoothing":
            return { w, step, _ in F.doubleExponentialSmoothing(w, smoothing: scalars[0][step], trend: scalars[1][step]) }
        case "ts_of_first_over_time": return { w, _, _ in Double(w[0].timestamp) / 1000 }
        case "ts_of_last_over_time": return { w, _, _ in Double(w[w.count - 1].timestamp) / 1000 }
        case "ts_of_min_over_time": return { w, _, _ in Double(extremeTimestamp(w, max: false)) / 1000 }
        case "ts_of_max_over_time": return { w, _, _ in Double(extremeTimestamp(w, max: true)) / 1000 }
        default: throw .execution("function \(name) is not supported")
        }
    }

    /// Timestamp of the last minimum (or maximum) sample; NaN values only win when all are NaN.
    static func extremeTimestamp(_ w: UnsafeBufferPointer<Head.Sample>, max: Bool) -> Int64 {
        var best = w[0]
        for s in w.dropFirst() {
            if best.value.isNaN || (max ? s.value >= best.value : s.value <= best.value) { best = s }
        }
        return best.timestamp
    }

    func warnInvalidQuantiles(_ values: [Double], _ arg: PromQLExpr) {
        for q in values where q.isNaN || q < 0 || q > 1 {
            annotations.warn("PromQL warning: quantile value should be between 0 and 1, got \(formatGo(q)) \(position(arg.positionRange))")
        }
    }

    private func absentOverTime(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let input = try windowed(c.args[0], range)
        defer { release(input.series.reduce(0) { $0 + $1.samples.count }) }
        var present = [Bool](repeating: false, count: range.count)
        for series in try mapWindows(input, range, dropName: true, { (_, _, _, _) throws(PromQLError) -> Double? in 1 }) {
            for p in series.points { present[range.step(of: p.timestamp)] = true }
        }
        return absentResult(present, labels: Self.absentLabels(c.args[0]), range)
    }

    // MARK: Element-wise functions

    private func elementFunction(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let name = c.function.name
        var scalars: [[Double]] = []
        for arg in c.args.dropFirst() { scalars.append(try evalScalar(arg, range)) }
        var series = try evalVector(c.args[0], range)
        if name == "clamp" {
            // No output at steps where max < min.
            for i in series.indices {
                series[i].points.removeAll { scalars[1][range.step(of: $0.timestamp)] < scalars[0][range.step(of: $0.timestamp)] }
            }
            series.removeAll { $0.points.isEmpty }
        }
        let transform: (Double, Int) -> Double
        switch name {
        case "abs": transform = { v, _ in abs(v) }
        case "ceil": transform = { v, _ in Foundation.ceil(v) }
        case "floor": transform = { v, _ in Foundation.floor(v) }
        case "exp": transform = { v, _ in Foundation.exp(v) }
        case "sqrt": transform = { v, _ in v.squareRoot() }
        case "ln": transform = { v, _ in Foundation.log(v) }
        case "log2": transform = { v, _ in Foundation.log2(v) }
        case "log10": transform = { v, _ in Foundation.log10(v) }
        case "sin": transform = { v, _ in Foundation.sin(v) }
        case "cos": transform = { v, _ in Foundation.cos(v) }
        case "tan": transform = { v, _ in Foundation.tan(v) }
        case "asin": transform = { v, _ in Foundation.asin(v) }
        case "acos": transform = { v, _ in Foundation.acos(v) }
        case "atan": transform = { v, _ in Foundation.atan(v) }
        case "sinh": transform = { v, _ in Foundation.sinh(v) }
        case "cosh": transform = { v, _ in Foundation.cosh(v) }
        case "tanh": transform = { v, _ in Foundation.tanh(v) }
        case "asinh": transform = { v, _ in Foundation.asinh(v) }
        case "acosh": transform = { v, _ in Foundation.acosh(v) }
        case "atanh": transform = { v, _ in Foundation.atanh(v) }
        case "deg": transform = { v, _ in v * 180 / Double.pi }
        case "rad": transform = { v, _ in v * Double.pi / 180 }
        case "sgn": transform = { v, _ in v < 0 ? -1 : (v > 0 ? 1 : v) }
        case "round":
            let nearest = scalars.first
            transform = { v, step in
                let inverse = 1 / (nearest?[step] ?? 1)
                return Foundation.floor(v * inverse + 0.5) / inverse
            }
        case "clamp": transform = { v, step in goMax(scalars[0][step], goMin(scalars[1][step], v)) }
        case "clamp_max": transform = { v, step in goMin(scalars[0][step], v) }
        case "clamp_min": transform = { v, step in goMax(scalars[0][step], v) }
        default: throw .execution("function \(name) is not supported")
        }
        for i in series.indices {
            series[i].dropName = true
            for j in series[i].points.indices {
                let p = series[i].points[j]
                series[i].points[j].value = transform(p.value, range.step(of: p.timestamp))
            }
        }
        return series
    }

    private func dateFunction(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        var series: [PromQLEvalSeries]
        if c.args.isEmpty {
            let points = (0..<range.count).map { Head.Sample(range.time($0), Double(range.time($0)) / 1000) }
            series = points.isEmpty ? [] : [PromQLEvalSeries(labels: Labels(), points: points)]
        } else {
            series = try evalVector(c.args[0], range)
        }
        let name = c.function.name
        for i in series.indices {
            series[i].dropName = true
            for j in series[i].points.indices {
                let v = series[i].points[j].value
                guard !v.isNaN, !v.isInfinite else { continue }
                series[i].points[j].value = PromQLCivilTime(unixSeconds: Int64(v)).field(name)
            }
        }
        return series
    }

    private func timestampFunction(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        var arg = c.args[0]
        while case .paren(let p) = arg { arg = p.expr }
        if case .vectorSelector(let sel) = arg {
            return try evalVectorSelector(sel, range, sampleTimestamps: true)
        }
        var series = try evalVector(arg, range)
        for i in series.indices {
            series[i].dropName = true
            for j in series[i].points.indices { series[i].points[j].value = Double(series[i].points[j].timestamp) / 1000 }
        }
        return series
    }

    // MARK: Vector/scalar conversions

    private func scalarOf(_ series: [PromQLEvalSeries], _ range: PromQLStepRange) throws(PromQLError) -> [Double] {
        var values = [Double](repeating: .nan, count: range.count)
        var counts = [Int](repeating: 0, count: range.count)
        for s in series {
            for p in s.points {
                let step = range.step(of: p.timestamp)
                counts[step] += 1
                values[step] = p.value
            }
        }
        for step in 0..<range.count where counts[step] != 1 { values[step] = .nan }
        return values
    }

    private func absent(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let input = try evalVector(c.args[0], range)
        var present = [Bool](repeating: false, count: range.count)
        for s in input { for p in s.points { present[range.step(of: p.timestamp)] = true } }
        return absentResult(present, labels: Self.absentLabels(c.args[0]), range)
    }

    private func absentResult(_ present: [Bool], labels: Labels, _ range: PromQLStepRange) -> [PromQLEvalSeries] {
        let points = (0..<range.count).filter { !present[$0] }.map { Head.Sample(range.time($0), 1) }
        return points.isEmpty ? [] : [PromQLEvalSeries(labels: labels, dropName: true, points: points)]
    }

    /// `absent(x{a="b"})` reports the labels fixed by equality matchers; a label matched
    /// more than once, or not by equality, is left out (upstream's long-standing rule).
    static func absentLabels(_ expr: PromQLExpr) -> Labels {
        var matchers: [LabelMatcher]
        switch expr {
        case .vectorSelector(let v): matchers = v.matchers
        case .matrixSelector(let m): matchers = m.selector?.matchers ?? []
        default: return Labels()
        }
        var values: [String: String] = [:]
        var seen: Set<String> = []
        for m in matchers where m.name != Labels.metricName {
            if m.type == .equal && !seen.contains(m.name) {
                values[m.name] = m.value
                seen.insert(m.name)
            } else {
                values[m.name] = nil
            }
        }
        return Labels(values.filter { !$0.value.isEmpty })
    }
}

/// Go's `math.Max` / `math.Min`: NaN wins.
@inline(__always) func goMax(_ a: Double, _ b: Double) -> Double {
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return a.sign == .plus ? a : b }
    return a > b ? a : b
}

@inline(__always) func goMin(_ a: Double, _ b: Double) -> Double {
    if a.isNaN || b.isNaN { return .nan }
    if a == 0 && b == 0 { return a.sign == .minus ? a : b }
    return a < b ? a : b
}
