/// Evaluates one query's expression tree over a range of steps. Not shared between
/// queries: it holds the query's sample budget, deadline and annotations.
///
/// Every expression is evaluated once for all steps of its range (Prometheus's
/// `rangeEval` model): selectors read storage once for the whole span and slide their
/// windows over the loaded samples.
final class PromQLEvaluator {
    let storage: any PromQLStorage
    let options: PromQLEngineOptions
    let query: String
    /// Start and end of the whole query, for `@ start()` / `@ end()`.
    let queryStart: Int64
    let queryEnd: Int64
    let deadline: ContinuousClock.Instant
    /// Samples currently held in memory, checked against `options.maxSamples`.
    private(set) var samplesInMemory = 0
    /// The most `samplesInMemory` reached, for `stats`.
    private(set) var peakSamples = 0
    /// Samples the selectors handed over, per step of the range being evaluated, for
    /// `stats` (a subquery's inner evaluation counts into a counter of its own).
    var queryable: PromQLSampleCounter
    /// What the last subquery's inner evaluation counted.
    var innerQueryable = 0
    var annotations = PromQLAnnotations()
    private var checkCounter = 0

    init(storage: any PromQLStorage, options: PromQLEngineOptions, query: String, start: Int64, end: Int64) {
        self.storage = storage
        self.options = options
        self.query = query
        self.queryStart = start
        self.queryEnd = end
        self.deadline = ContinuousClock.now.advanced(by: options.timeout)
        self.queryable = PromQLSampleCounter(steps: 0)
    }

    /// The sample statistics so far.
    var stats: PromQLQueryStats {
        PromQLQueryStats(totalQueryableSamples: queryable.total, totalQueryableSamplesPerStep: queryable.perStep, peakSamples: peakSamples)
    }

    // MARK: Limits

    /// Throws when the query was cancelled or ran past its deadline. Cheap enough to call
    /// per series; reads the clock only every 64 calls.
    func checkInterrupted() throws(PromQLError) {
        if Task.isCancelled { throw .canceled }
        checkCounter &+= 1
        if checkCounter & 63 == 1, ContinuousClock.now > deadline { throw .timeout }
    }

    func retain(_ count: Int) throws(PromQLError) {
        samplesInMemory += count
        if samplesInMemory > peakSamples { peakSamples = samplesInMemory }
        if samplesInMemory > options.maxSamples { throw .tooManySamples }
    }

    func release(_ count: Int) { samplesInMemory -= count }

    // MARK: Dispatch

    /// Evaluates `expr` over `range`. Once a node is done, the samples its children held
    /// are released and only its own output stays counted (as upstream accounts).
    func eval(_ expr: PromQLExpr, _ range: PromQLStepRange) throws(PromQLError) -> PromQLEvalValue {
        try checkInterrupted()
        let before = samplesInMemory
        let value = try evalNode(expr, range)
        samplesInMemory = before
        try retain(value.sampleCount)
        return value
    }

    private func evalNode(_ expr: PromQLExpr, _ range: PromQLStepRange) throws(PromQLError) -> PromQLEvalValue {
        switch expr {
        case .number(let n):
            return .scalar(Array(repeating: n.value, count: range.count))
        case .string(let s):
            return .string(s.value)
        case .paren(let p):
            return try eval(p.expr, range)
        case .unary(let u):
            return try evalUnary(u, range)
        case .vectorSelector(let v):
            return .vector(try evalVectorSelector(v, range))
        case .matrixSelector(let m):
            return .matrix(try evalMatrixForInstantQuery(m, range))
        case .subquery(let s):
            return .matrix(try evalSubqueryForInstantQuery(s, range))
        case .binary(let b):
            return try evalBinary(b, range)
        case .aggregate(let a):
            return .vector(try evalAggregate(a, range))
        case .call(let c):
            return try evalCall(c, range)
        }
    }

    /// Evaluates an expression the type checker guarantees to be an instant vector.
    func evalVector(_ expr: PromQLExpr, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        switch try eval(expr, range) {
        case .vector(let s): return s
        default: throw .execution("expected instant vector for \(expr)")
        }
    }

    /// Evaluates an expression the type checker guarantees to be a scalar.
    func evalScalar(_ expr: PromQLExpr, _ range: PromQLStepRange) throws(PromQLError) -> [Double] {
        switch try eval(expr, range) {
        case .scalar(let v): return v
        default: throw .execution("expected scalar for \(expr)")
        }
    }

    private func evalUnary(_ u: PromQLUnaryExpr, _ range: PromQLStepRange) throws(PromQLError) -> PromQLEvalValue {
        let value = try eval(u.expr, range)
        guard u.op == .sub else { return value }
        switch value {
        case .scalar(let v):
            return .scalar(v.map { -$0 })
        case .vector(var series):
            for i in series.indices {
                series[i].dropName = true
                for j in series[i].points.indices { series[i].points[j].value = -series[i].points[j].value }
            }
            return .vector(series)
        default:
            return value
        }
    }

    /// `@` time of a selector or subquery, with `start()` / `end()` resolved.
    func atTime(_ timestamp: Int64?, _ preprocessor: PromQLAtPreprocessor?) -> Int64? {
        switch preprocessor {
        case .start: return queryStart
        case .end: return queryEnd
        case nil: return timestamp
        }
    }

    /// A position suffix for annotations: `(line:column)` of `range`'s start.
    func position(_ range: PromQLPositionRange) -> String {
        "(" + PromQLParseError(positionRange: range, message: "", query: query).position + ")"
    }
}

/// Warnings and infos of one query, without duplicates, in the order first raised.
struct PromQLAnnotations: Sendable {
    private(set) var warnings: [String] = []
    private(set) var infos: [String] = []
    private var seen: Set<String> = []

    mutating func warn(_ message: String) {
        if seen.insert(message).inserted { warnings.append(message) }
    }

    mutating func info(_ message: String) {
        if seen.insert(message).inserted { infos.append(message) }
    }
}
