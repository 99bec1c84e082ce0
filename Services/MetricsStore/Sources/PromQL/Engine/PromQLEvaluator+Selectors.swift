/// Selectors and subqueries: reading storage once per selector and sliding lookback or
/// range windows over the loaded samples.
extension PromQLEvaluator {
    /// A series with the samples a range function's windows are cut from.
    struct WindowSource {
        var labels: Labels
        var dropName: Bool
        var samples: [Head.Sample]
    }

    /// The inputs of a range function: series, plus where each step's window ends.
    /// Windows are left-open: `(end - range, end]`.
    struct WindowedSeries {
        var series: [WindowSource]
        var range: Int64
        /// Window end (evaluation time minus offset, or the `@` time minus offset) per step.
        var windowEnds: [Int64]
        /// Whether the series come from a subquery (no counter-name check for `rate`).
        var fromSubquery: Bool
    }

    func select(_ matchers: [LabelMatcher], mint: Int64, maxt: Int64) throws(PromQLError) -> [(labels: Labels, samples: [Head.Sample])] {
        do {
            return try storage.select(matchers, mint: mint, maxt: maxt)
        } catch {
            throw .execution("error selecting series: \(error)")
        }
    }

    /// The reference time of step `i` for something with `@`/`offset`.
    func windowEnds(at: Int64?, offset: Int64, _ range: PromQLStepRange) -> [Int64] {
        (0..<range.count).map { (at ?? range.time($0)) - offset }
    }

    // MARK: Instant vector selector

    /// The latest sample at or before each step's reference time, within the lookback
    /// window `(ref - lookback, ref]`, unless it is a staleness marker. Points carry the
    /// step time; with `sampleTimestamps` their value is the sample's own time in seconds
    /// (what `timestamp(selector)` returns).
    func evalVectorSelector(_ sel: PromQLVectorSelector, _ range: PromQLStepRange,
                            sampleTimestamps: Bool = false) throws(PromQLError) -> [PromQLEvalSeries] {
        guard range.count > 0 else { return [] }
        let refs = windowEnds(at: atTime(sel.timestamp, sel.atPreprocessor), offset: sel.offset, range)
        let lookback = options.lookbackDelta
        let loaded = try select(sel.matchers, mint: refs.first! - lookback + 1, maxt: refs.last!)
        let loadedCount = loaded.reduce(0) { $0 + $1.samples.count }
        try retain(loadedCount)
        defer { release(loadedCount) }
        var out: [PromQLEvalSeries] = []
        out.reserveCapacity(loaded.count)
        var counted = [Int](repeating: 0, count: range.count)  // for stats: one per value
        for (labels, samples) in loaded {
            try checkInterrupted()
            var points: [Head.Sample] = []
            var next = 0
            samples.withUnsafeBufferPointer { buffer in
                for step in 0..<range.count {
                    let ref = refs[step]
                    while next < buffer.count, buffer[next].timestamp <= ref { next += 1 }
                    guard next > 0 else { continue }
                    let sample = buffer[next - 1]
                    if sample.timestamp > ref - lookback, !PromQLStaleness.isMarker(sample.value) {
                        if points.isEmpty { points.reserveCapacity(range.count - step) }
                        let value = sampleTimestamps ? Double(sample.timestamp) / 1000 : sample.value
                        points.append(Head.Sample(range.time(step), value))
                        counted[step] += 1
                    }
                }
            }
            if !points.isEmpty {
                try retain(points.count)
                out.append(PromQLEvalSeries(labels: labels, dropName: sampleTimestamps, points: points))
            }
        }
        queryable.add(counted)
        return out
    }

    // MARK: Range vectors

    /// Loads a matrix selector's samples for all steps (stale markers dropped, as they
    /// never appear in range vectors).
    func windowedSelector(_ m: PromQLMatrixSelector, _ range: PromQLStepRange) throws(PromQLError) -> WindowedSeries {
        guard let sel = m.selector else { throw .execution("range selector without a vector selector") }
        let ends = windowEnds(at: atTime(sel.timestamp, sel.atPreprocessor), offset: sel.offset, range)
        guard let first = ends.first, let last = ends.last else {
            return WindowedSeries(series: [], range: m.range, windowEnds: [], fromSubquery: false)
        }
        let loaded = try select(sel.matchers, mint: first - m.range + 1, maxt: last)
        var series: [WindowSource] = []
        series.reserveCapacity(loaded.count)
        var total = 0
        for (labels, samples) in loaded {
            var kept = samples
            if kept.contains(where: { PromQLStaleness.isMarker($0.value) }) { kept.removeAll { PromQLStaleness.isMarker($0.value) } }
            guard !kept.isEmpty else { continue }
            total += kept.count
            series.append(WindowSource(labels: labels, dropName: false, samples: kept))
        }
        try retain(total)
        return WindowedSeries(series: series, range: m.range, windowEnds: ends, fromSubquery: false)
    }

    /// Evaluates a subquery's inner expression once over the aligned steps that cover
    /// every window of `range`.
    func windowedSubquery(_ s: PromQLSubqueryExpr, _ range: PromQLStepRange) throws(PromQLError) -> WindowedSeries {
        let ends = windowEnds(at: atTime(s.timestamp, s.atPreprocessor), offset: s.offset, range)
        guard let first = ends.first, let last = ends.last else {
            return WindowedSeries(series: [], range: s.range, windowEnds: [], fromSubquery: true)
        }
        let step = s.step > 0 ? s.step : options.defaultSubqueryStep
        // First inner step strictly after the first window's start, on a multiple of the step.
        var innerStart = (first - s.range) / step * step
        if innerStart <= first - s.range { innerStart += step }
        let inner = PromQLStepRange(start: innerStart, end: last, interval: step)
        // The inner evaluation counts its samples apart; callers decide what they add up to.
        let outer = queryable
        queryable = PromQLSampleCounter(steps: inner.count)
        defer {
            innerQueryable = queryable.total
            queryable = outer
        }
        let series: [PromQLEvalSeries]
        switch try eval(s.expr, inner) {
        case .vector(let v): series = v
        case .scalar(let values):
            let points = (0..<inner.count).map { Head.Sample(inner.time($0), values[$0]) }
            series = points.isEmpty ? [] : [PromQLEvalSeries(labels: Labels(), points: points)]
        default: throw .execution("subquery of a non-instant expression")
        }
        let sources = series.map { WindowSource(labels: $0.labels, dropName: $0.dropName, samples: $0.points) }
        return WindowedSeries(series: sources, range: s.range, windowEnds: ends, fromSubquery: true)
    }

    func windowed(_ expr: PromQLExpr, _ range: PromQLStepRange) throws(PromQLError) -> WindowedSeries {
        switch expr {
        case .matrixSelector(let m): return try windowedSelector(m, range)
        case .subquery(let s): return try windowedSubquery(s, range)
        case .paren(let p): return try windowed(p.expr, range)
        default: throw .execution("expected range vector, got \(expr.type.documentedName)")
        }
    }

    /// Calls `body` with each series' window at each step (non-empty windows only), and
    /// collects the values it returns into output series at the step times.
    func mapWindows(_ input: WindowedSeries, _ range: PromQLStepRange, dropName: Bool,
                    _ body: (_ window: UnsafeBufferPointer<Head.Sample>, _ step: Int, _ windowEnd: Int64, _ series: Int) throws(PromQLError) -> Double?) throws(PromQLError) -> [PromQLEvalSeries] {
        var out: [PromQLEvalSeries] = []
        let ends = input.windowEnds
        var counted = [Int](repeating: 0, count: range.count)  // for stats: each window's samples
        defer { queryable.add(counted) }
        for (index, source) in input.series.enumerated() {
            try checkInterrupted()
            var points: [Head.Sample] = []
            points.reserveCapacity(min(range.count, source.samples.count + 1))
            var low = 0
            var high = 0
            let samples = source.samples
            try samples.withUnsafeBufferPointer { (buffer) throws(PromQLError) in
                for step in 0..<range.count {
                    let end = ends[step]
                    let start = end - input.range
                    while high < buffer.count, buffer[high].timestamp <= end { high += 1 }
                    while low < high, buffer[low].timestamp <= start { low += 1 }
                    if low >= high { continue }
                    let window = UnsafeBufferPointer(rebasing: buffer[low..<high])
                    counted[step] += window.count
                    if let value = try body(window, step, end, index) {
                        points.append(Head.Sample(range.time(step), value))
                    }
                }
            }
            if !points.isEmpty {
                out.append(PromQLEvalSeries(labels: source.labels, dropName: dropName || source.dropName, points: points))
            }
        }
        try retain(out.reduce(0) { $0 + $1.points.count })
        return out
    }

    // MARK: Range vectors as query results

    func evalMatrixForInstantQuery(_ m: PromQLMatrixSelector, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let series = try rawWindows(try windowedSelector(m, range))
        if range.count > 0 { queryable.add(series.reduce(0) { $0 + $1.points.count }, atStep: 0) }
        return series
    }

    /// Counts, as Prometheus does, what the inner expression read rather than the
    /// subquery's own points.
    func evalSubqueryForInstantQuery(_ s: PromQLSubqueryExpr, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let series = try rawWindows(try windowedSubquery(s, range))
        if range.count > 0 { queryable.add(innerQueryable, atStep: range.count - 1) }
        return series
    }

    /// The samples of the last step's window of each series, as they are.
    private func rawWindows(_ input: WindowedSeries) throws(PromQLError) -> [PromQLEvalSeries] {
        guard let end = input.windowEnds.last else { return [] }
        let start = end - input.range
        return input.series.compactMap { source in
            let points = source.samples.filter { $0.timestamp > start && $0.timestamp <= end }
            return points.isEmpty ? nil : PromQLEvalSeries(labels: source.labels, dropName: source.dropName, points: points)
        }
    }
}
