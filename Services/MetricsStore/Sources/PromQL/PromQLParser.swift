/// Parses PromQL expressions into ``PromQLExpr`` trees, as Prometheus 3.x's
/// `promql/parser` does: same grammar, operator precedence and associativity, the same
/// type checks (run after a successful parse) and the same error texts and positions.
///
/// Precedence, lowest first: `or` < `and`/`unless` < comparisons < `+ -` < `* / % atan2`
/// < `^` (right-associative). Unary `+`/`-` binds like `*`, so `-a ^ b` is `-(a ^ b)`.
/// `offset`, `@` and `[...]` bind tighter than every operator.
///
/// Not supported (experimental upstream, off by default there): duration arithmetic
/// such as `[5m+1m]` or `offset step()`, `anchored`/`smoothed` selectors, binop `fill()`
/// modifiers, the `</` and `>/` trim operators.
public struct PromQLParser: Sendable {
    public struct Options: Sendable {
        /// Allows functions and aggregations upstream marks experimental (`limitk`,
        /// `sort_by_label`, `info`, `double_exponential_smoothing`, ...).
        public var experimentalFunctions: Bool

        public init(experimentalFunctions: Bool = false) {
            self.experimentalFunctions = experimentalFunctions
        }
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// Parses and type-checks `query`; throws the first error upstream would report.
    public func parse(_ query: String) throws(PromQLParseError) -> PromQLExpr {
        var state = PromQLParserState(query: query, options: options)
        return try state.parseQuery()
    }

    public static func parse(_ query: String, options: Options = Options()) throws(PromQLParseError) -> PromQLExpr {
        try PromQLParser(options: options).parse(query)
    }
}

/// The mutable state of one parse. Syntax errors are thrown (the parse stops, as upstream's
/// yacc parser does); semantic errors are collected and the first one is reported.
struct PromQLParserState {
    let query: String
    let tokens: [PromQLToken]
    let options: PromQLParser.Options
    var index = 0
    var errors: [PromQLParseError] = []
    /// End of the last `)`, `}`, `]`, number or duration consumed (upstream's `lastClosing`).
    var lastClosing = 0

    init(query: String, options: PromQLParser.Options) {
        self.query = query
        self.options = options
        self.tokens = PromQLLexer.tokenize(query)
    }

    var current: PromQLToken { tokens[index] }
    var next: PromQLToken { index + 1 < tokens.count ? tokens[index + 1] : tokens[index] }

    @discardableResult
    mutating func advance() -> PromQLToken {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        switch t.kind {
        case .rightBrace, .rightParen, .rightBracket, .number, .duration: lastClosing = t.end
        default: break
        }
        return t
    }

    mutating func addError(_ range: PromQLPositionRange, _ message: String) {
        errors.append(PromQLParseError(positionRange: range, message: message, query: query))
    }

    func error(_ range: PromQLPositionRange, _ message: String) -> PromQLParseError {
        PromQLParseError(positionRange: range, message: message, query: query)
    }

    /// Upstream's `unexpected(context, expected)`; a lexer error wins over it.
    func unexpected(_ context: String = "", _ expected: String = "") -> PromQLParseError {
        let t = current
        if t.kind == .error {
            return error(PromQLPositionRange(start: t.position, end: query.utf8.count), t.text)
        }
        var message = "unexpected " + t.errorDescription
        if !context.isEmpty { message += " in " + context }
        if !expected.isEmpty { message += ", expected " + expected }
        return error(t.range, message)
    }

    // MARK: Entry

    mutating func parseQuery() throws(PromQLParseError) -> PromQLExpr {
        if current.kind == .eof {
            throw error(PromQLPositionRange(start: 0, end: 0), "no expression found in input")
        }
        let expr: PromQLExpr
        do throws(PromQLParseError) {
            expr = try parseExpr(minPrecedence: 0)
            if current.kind != .eof { throw unexpected() }
        } catch {
            throw errors.first ?? error
        }
        if let first = errors.first { throw first }
        var checked = expr
        _ = checkAST(&checked)
        if let first = errors.first { throw first }
        return checked
    }

    // MARK: Binary expressions (precedence climbing)

    private func binaryOperator(_ t: PromQLToken) -> PromQLOperator? {
        switch t.kind {
        case .op(let o) where o.precedence != nil: return o
        case .keyword(.and): return .land
        case .keyword(.or): return .lor
        case .keyword(.unless): return .lunless
        case .keyword(.atan2): return .atan2
        default: return nil
        }
    }

    mutating func parseExpr(minPrecedence: Int) throws(PromQLParseError) -> PromQLExpr {
        var lhs = try parseUnary()
        while let op = binaryOperator(current), let prec = op.precedence, prec >= minPrecedence {
            advance()
            var binary = PromQLBinaryExpr(op: op, lhs: lhs, rhs: lhs, vectorMatching: PromQLVectorMatching(), returnBool: false)
            try parseBinaryModifiers(&binary)
            binary.rhs = try parseExpr(minPrecedence: op.isRightAssociative ? prec : prec + 1)
            lhs = .binary(binary)
        }
        return lhs
    }

    /// `bool`, `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)`.
    private mutating func parseBinaryModifiers(_ b: inout PromQLBinaryExpr) throws(PromQLParseError) {
        if current.kind == .keyword(.bool) {
            advance()
            b.returnBool = true
        }
        let on: Bool
        switch current.kind {
        case .keyword(.on): on = true
        case .keyword(.ignoring): on = false
        default: return
        }
        advance()
        b.vectorMatching?.on = on
        b.vectorMatching?.matchingLabels = try parseGroupingLabels()
        let card: PromQLVectorMatchCardinality
        switch current.kind {
        case .keyword(.groupLeft): card = .manyToOne
        case .keyword(.groupRight): card = .oneToMany
        default: return
        }
        advance()
        b.vectorMatching?.cardinality = card
        if current.kind == .leftParen {
            b.vectorMatching?.include = try parseGroupingLabels()
        }
    }

    // MARK: Unary and postfix

    mutating func parseUnary() throws(PromQLParseError) -> PromQLExpr {
        guard case .op(let op) = current.kind, op == .add || op == .sub else {
            return try parsePostfix(try parsePrimary())
        }
        let start = advance().position
        // Same precedence as `*`: only `^` binds tighter.
        let operand = try parseExpr(minPrecedence: PromQLOperator.pow.precedence!)
        if case .number(var n) = operand {
            if op == .sub { n.value = -n.value }
            n.positionRange.start = start
            return .number(n)
        }
        return .unary(PromQLUnaryExpr(op: op, expr: operand, startPosition: start))
    }

    mutating func parsePostfix(_ base: PromQLExpr) throws(PromQLParseError) -> PromQLExpr {
        var expr = base
        while true {
            switch current.kind {
            case .leftBracket: expr = try parseRangeOrSubquery(expr)
            case .keyword(.offset): try parseOffset(&expr)
            case .op(.at): try parseAt(&expr)
            default: return expr
            }
        }
    }

    // MARK: Primary expressions

    mutating func parsePrimary() throws(PromQLParseError) -> PromQLExpr {
        let t = current
        switch t.kind {
        case .number:
            advance()
            let v = try number(t)
            return .number(PromQLNumberLiteral(value: v, isDuration: false, positionRange: t.range))
        case .duration:
            advance()
            switch PromQLLiterals.durationMilliseconds(t.text) {
            case .success(let ms):
                return .number(PromQLNumberLiteral(value: Double(ms) / 1000, isDuration: true, positionRange: t.range))
            case .failure(let e):
                throw error(t.range, e.message)
            }
        case .string:
            advance()
            return .string(PromQLStringLiteral(value: unquote(t), positionRange: t.range))
        case .leftParen:
            advance()
            let inner = try parseExpr(minPrecedence: 0)
            guard current.kind == .rightParen else { throw unexpected() }
            let close = advance()
            return .paren(PromQLParenExpr(expr: inner, positionRange: PromQLPositionRange(start: t.position, end: close.end)))
        case .leftBrace:
            return try parseVectorSelector(name: nil)
        case .identifier:
            if next.kind == .leftParen { return try parseCall() }
            advance()
            return try parseVectorSelector(name: t)
        case .metricIdentifier:
            advance()
            return try parseVectorSelector(name: t)
        case .keyword(let kw):
            if let agg = PromQLAggregateOp(rawValue: kw.rawValue),
               next.kind == .leftParen || next.kind == .keyword(.by) || next.kind == .keyword(.without) {
                return try parseAggregate(agg)
            }
            if kw.isPreprocessor, next.kind == .leftParen { return try parseCall() }
            if kw.canBeMetricName {
                advance()
                return try parseVectorSelector(name: t)
            }
            throw unexpected()
        default:
            throw unexpected()
        }
    }

    /// A NUMBER token's value, with strconv's messages for what Go cannot parse.
    func number(_ t: PromQLToken) throws(PromQLParseError) -> Double {
        guard let v = PromQLLiterals.number(t.text) else {
            throw error(t.range, "error parsing number: strconv.ParseFloat: parsing \(GoQuote.quote(t.text)): invalid syntax")
        }
        if v.isInfinite, !t.text.lowercased().hasSuffix("inf") {
            throw error(t.range, "error parsing number: strconv.ParseFloat: parsing \(GoQuote.quote(t.text)): value out of range")
        }
        return v
    }

    mutating func unquote(_ t: PromQLToken) -> String {
        if let s = PromQLLiterals.unquote(t.text) { return s }
        addError(t.range, "error unquoting string \(GoQuote.quote(t.text)): invalid syntax")
        return ""
    }

    // MARK: Function calls and aggregations

    /// `(args)`; returns the arguments and records trailing-comma errors as upstream.
    mutating func parseCallBody(context: String) throws(PromQLParseError) -> [PromQLExpr] {
        guard current.kind == .leftParen else { throw unexpected(context) }
        advance()
        var args: [PromQLExpr] = []
        if current.kind == .rightParen { advance(); return args }
        while true {
            args.append(try parseExpr(minPrecedence: 0))
            if current.kind == .rightParen { advance(); return args }
            guard current.kind == .comma else { throw unexpected() }
            let comma = advance()
            if current.kind == .rightParen {
                addError(comma.range, "trailing commas not allowed in function call args")
                advance()
                return args
            }
        }
    }

    mutating func parseCall() throws(PromQLParseError) -> PromQLExpr {
        let nameToken = advance()
        let name = nameToken.text
        let function = PromQLFunction.named(name)
        if function == nil {
            addError(nameToken.range, "unknown function with name \(GoQuote.quote(name))")
        } else if function!.experimental, !options.experimentalFunctions {
            addError(nameToken.range, "function \(GoQuote.quote(name)) is not enabled")
        }
        let args = try parseCallBody(context: "")
        let range = PromQLPositionRange(start: nameToken.position, end: lastClosing)
        let placeholder = PromQLFunction(name, [], variadic: 0, returns: .none)
        return .call(PromQLCall(function: function ?? placeholder, args: args, positionRange: range))
    }

    mutating func parseAggregate(_ op: PromQLAggregateOp) throws(PromQLParseError) -> PromQLExpr {
        let opToken = advance()
        var grouping: [String] = []
        var without = false
        var args: [PromQLExpr]
        if current.kind == .keyword(.by) || current.kind == .keyword(.without) {
            without = advance().kind == .keyword(.without)
            grouping = try parseGroupingLabels()
            args = try parseCallBody(context: "aggregation")
        } else {
            args = try parseCallBody(context: "aggregation")
            if current.kind == .keyword(.by) || current.kind == .keyword(.without) {
                without = advance().kind == .keyword(.without)
                grouping = try parseGroupingLabels()
            }
        }
        let range = PromQLPositionRange(start: opToken.position, end: lastClosing)
        var aggregate = PromQLAggregateExpr(op: op, expr: .number(PromQLNumberLiteral(value: 0, isDuration: false, positionRange: range)),
                                            parameter: nil, grouping: grouping, without: without, positionRange: range)
        if args.isEmpty {
            addError(range, "no arguments for aggregate expression provided")
            return .aggregate(aggregate)
        }
        var wanted = 1
        if op.hasParameter {
            if op.isExperimental, !options.experimentalFunctions {
                addError(range, "\(op.rawValue)() is experimental and must be enabled with --enable-feature=promql-experimental-functions")
                return .aggregate(aggregate)
            }
            wanted = 2
            aggregate.parameter = args[0]
        }
        if args.count != wanted {
            addError(range, "wrong number of arguments for aggregate expression provided, expected \(wanted), got \(args.count)")
            return .aggregate(aggregate)
        }
        aggregate.expr = args[wanted - 1]
        return .aggregate(aggregate)
    }

    /// `(label, "quoted.label", ...)` with an optional trailing comma.
    mutating func parseGroupingLabels() throws(PromQLParseError) -> [String] {
        guard current.kind == .leftParen else { throw unexpected("grouping opts", "\"(\"") }
        advance()
        var labels: [String] = []
        if current.kind == .rightParen { advance(); return labels }
        while true {
            let t = current
            switch t.kind {
            case .identifier, .metricIdentifier, .keyword:
                advance()
                labels.append(t.text)
            case .string:
                advance()
                let name = unquote(t)
                if name.isEmpty {
                    addError(t.range, "invalid label name for grouping: \(GoQuote.quote(name))")
                }
                labels.append(name)
            default:
                throw unexpected("grouping opts", "label")
            }
            if current.kind == .rightParen { advance(); return labels }
            guard current.kind == .comma else { throw unexpected("grouping opts", "\",\" or \")\"") }
            advance()
            if current.kind == .rightParen { advance(); return labels }
        }
    }

    // MARK: Selectors

    /// `name`, `name{...}` or `{...}`; `name` is the already consumed metric-name token.
    mutating func parseVectorSelector(name: PromQLToken?) throws(PromQLParseError) -> PromQLExpr {
        var matchers: [LabelMatcher] = []
        var range = name?.range ?? current.range
        if current.kind == .leftBrace {
            let open = advance()
            if name == nil { range.start = open.position }
            matchers = try parseLabelMatchers()
            range.end = lastClosing
        }
        let metricName = name?.text ?? ""
        if !metricName.isEmpty { matchers.append(.equal("__name__", metricName)) }
        return .vectorSelector(PromQLVectorSelector(name: metricName, matchers: matchers, positionRange: range))
    }

    /// The list after `{`, up to and including `}`.
    mutating func parseLabelMatchers() throws(PromQLParseError) -> [LabelMatcher] {
        var matchers: [LabelMatcher] = []
        if current.kind == .rightBrace { advance(); return matchers }
        while true {
            let nameToken = current
            let label: String
            switch nameToken.kind {
            case .identifier: label = nameToken.text
            case .string: label = unquote(nameToken)
            default: throw unexpected("label matching", "identifier or \"}\"")
            }
            advance()
            let type: LabelMatcher.MatchType?
            switch current.kind {
            case .assign: type = .equal
            case .op(.neq): type = .notEqual
            case .op(.eqlRegex): type = .regexMatch
            case .op(.neqRegex): type = .regexNoMatch
            default: type = nil
            }
            if let type {
                advance()
                guard current.kind == .string else { throw unexpected("label matching", "string") }
                let valueToken = advance()
                let value = unquote(valueToken)
                do {
                    matchers.append(try LabelMatcher(type, label, value))
                } catch {
                    addError(PromQLPositionRange(start: nameToken.position, end: valueToken.end), error.description)
                }
            } else if nameToken.kind == .string {
                // A lone quoted name: `{"metric.name"}`.
                matchers.append(.equal("__name__", label))
            } else {
                throw unexpected("label matching", "label matching operator")
            }
            if current.kind == .rightBrace { advance(); return matchers }
            guard current.kind == .comma else { throw unexpected("label matching", "\",\" or \"}\"") }
            advance()
            if current.kind == .rightBrace { advance(); return matchers }
        }
    }

    // MARK: Ranges, subqueries, offset and @

    /// A positive or signed number/duration literal in seconds, or nil if none is next.
    mutating func parseDurationLiteral(allowSign: Bool) throws(PromQLParseError) -> (seconds: Double, range: PromQLPositionRange)? {
        var sign = 1.0
        var start = current.position
        var signs = 0
        while allowSign, case .op(let op) = current.kind, op == .add || op == .sub {
            if op == .sub { sign = -sign }
            if signs == 0 { start = current.position }
            signs += 1
            advance()
        }
        let t = current
        let value: Double
        switch t.kind {
        case .number:
            advance()
            let v = try number(t)
            value = v
        case .duration:
            advance()
            switch PromQLLiterals.durationMilliseconds(t.text) {
            case .success(let ms): value = Double(ms) / 1000
            case .failure(let e): throw error(t.range, e.message)
            }
        default:
            if signs > 0 { throw unexpected() }
            return nil
        }
        let range = PromQLPositionRange(start: signs > 0 ? start : t.position, end: t.end)
        return (sign * value, range)
    }

    /// `step()`, `range()`, `min_of(...)`, `max_of(...)` are experimental duration
    /// expressions; a bare `step` is a syntax error at the token after it.
    private mutating func rejectDurationFunction() throws(PromQLParseError) {
        guard case .keyword(let k) = current.kind, [.step, .range, .maxOf, .minOf].contains(k) else { return }
        let keyword = current
        if next.kind == .leftParen { throw error(keyword.range, "experimental duration expression is not enabled") }
        advance()
    }

    private static let maxDurationSeconds = 9_223_372_036.854775807

    /// `[range]` or `[range:step]` / `[range:]` after `base`.
    mutating func parseRangeOrSubquery(_ base: PromQLExpr) throws(PromQLParseError) -> PromQLExpr {
        let open = advance()
        guard let rangeLit = try parseDurationLiteral(allowSign: true) else {
            try rejectDurationFunction()
            throw unexpected("subquery or range selector", "number, duration, step(), or range()")
        }
        if binaryOperator(current) != nil || current.kind == .leftParen {
            throw error(rangeLit.range, "experimental duration expression is not enabled")
        }
        let rangeMs = positiveDuration(rangeLit)
        if current.kind == .rightBracket {
            let close = advance()
            var message: String?
            if case .vectorSelector(let vs) = base {
                if vs.offset != 0 { message = "no offset modifiers allowed before range" }
                else if vs.timestamp != nil || vs.atPreprocessor != nil { message = "no @ modifiers allowed before range" }
            } else {
                message = "ranges only allowed for vector selectors"
            }
            if let message { addError(PromQLPositionRange(start: open.position, end: close.end), message) }
            return .matrixSelector(PromQLMatrixSelector(vectorSelector: base, range: rangeMs, endPosition: lastClosing))
        }
        guard current.kind == .colon else { throw unexpected("subquery or range", "\":\" or \"]\"") }
        advance()
        var stepMs: Int64 = 0
        if current.kind != .rightBracket {
            guard let stepLit = try parseDurationLiteral(allowSign: true) else {
                throw unexpected("subquery selector", "number, duration, step(), range(), or \"]\"")
            }
            stepMs = positiveDuration(stepLit)
            guard current.kind == .rightBracket else { throw unexpected("subquery selector", "\"]\"") }
        }
        let close = advance()
        return .subquery(PromQLSubqueryExpr(expr: base, range: rangeMs, step: stepMs, endPosition: close.end))
    }

    private mutating func positiveDuration(_ lit: (seconds: Double, range: PromQLPositionRange)) -> Int64 {
        if abs(lit.seconds) > Self.maxDurationSeconds {
            addError(lit.range, "duration out of range")
            return 0
        }
        if lit.seconds <= 0 {
            addError(lit.range, "duration must be greater than 0")
            return 0
        }
        return Int64((lit.seconds * 1000).rounded())
    }

    mutating func parseOffset(_ expr: inout PromQLExpr) throws(PromQLParseError) {
        advance()
        guard let lit = try parseDurationLiteral(allowSign: true) else {
            try rejectDurationFunction()
            throw unexpected("offset", "number, duration, step(), or range()")
        }
        var offsetMs: Int64 = 0
        if abs(lit.seconds) > Self.maxDurationSeconds {
            addError(lit.range, "duration out of range")
        } else {
            offsetMs = Int64((lit.seconds * 1000).rounded())
        }
        let range = expr.positionRange
        let end = lastClosing
        let multiple = "offset may not be set multiple times"
        switch expr {
        case .vectorSelector(var vs):
            if vs.offset != 0 { addError(range, multiple); return }
            vs.offset = offsetMs
            vs.positionRange.end = end
            expr = .vectorSelector(vs)
        case .matrixSelector(var m):
            guard case .vectorSelector(var vs) = m.vectorSelector else {
                addError(range, "ranges only allowed for vector selectors")
                return
            }
            if vs.offset != 0 { addError(range, multiple); return }
            vs.offset = offsetMs
            m.vectorSelector = .vectorSelector(vs)
            m.endPosition = end
            expr = .matrixSelector(m)
        case .subquery(var s):
            if s.offset != 0 { addError(range, multiple); return }
            s.offset = offsetMs
            s.endPosition = end
            expr = .subquery(s)
        default:
            addError(range, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery")
        }
    }

    mutating func parseAt(_ expr: inout PromQLExpr) throws(PromQLParseError) {
        advance()
        var timestamp: Int64?
        var preprocessor: PromQLAtPreprocessor?
        if case .keyword(let k) = current.kind, k == .start || k == .end {
            advance()
            guard current.kind == .leftParen else { throw unexpected() }
            advance()
            guard current.kind == .rightParen else { throw unexpected() }
            advance()
            preprocessor = k == .start ? .start : .end
        } else if let lit = try parseDurationLiteral(allowSign: true) {
            let ts = lit.seconds
            if !ts.isFinite || ts >= 9.223372036854775807e18 || ts <= -9.223372036854775808e18 {
                addError(expr.positionRange, "timestamp out of bounds for @ modifier: \(String(format6: ts))")
            } else {
                timestamp = Int64((ts * 1000).rounded())
            }
        } else {
            throw unexpected("@", "timestamp")
        }
        let range = expr.positionRange
        let end = lastClosing
        let multiple = "@ <timestamp> may not be set multiple times"
        switch expr {
        case .vectorSelector(var vs):
            if vs.timestamp != nil || vs.atPreprocessor != nil { addError(range, multiple); return }
            vs.timestamp = timestamp
            vs.atPreprocessor = preprocessor
            vs.positionRange.end = end
            expr = .vectorSelector(vs)
        case .matrixSelector(var m):
            guard case .vectorSelector(var vs) = m.vectorSelector else {
                addError(range, "ranges only allowed for vector selectors")
                return
            }
            if vs.timestamp != nil || vs.atPreprocessor != nil { addError(range, multiple); return }
            vs.timestamp = timestamp
            vs.atPreprocessor = preprocessor
            m.vectorSelector = .vectorSelector(vs)
            m.endPosition = end
            expr = .matrixSelector(m)
        case .subquery(var s):
            if s.timestamp != nil || s.atPreprocessor != nil { addError(range, multiple); return }
            s.timestamp = timestamp
            s.atPreprocessor = preprocessor
            s.endPosition = end
            expr = .subquery(s)
        default:
            addError(range, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery")
        }
    }
}

extension String {
    /// Go's `%f`: six decimals.
    init(format6 value: Double) {
        if !value.isFinite { self = value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf"); return }
        let scaled = (value.magnitude * 1_000_000).rounded()
        let intPart = (scaled / 1_000_000).rounded(.down)
        let frac = Int(scaled - intPart * 1_000_000)
        let fracText = String(frac)
        self = (value < 0 ? "-" : "") + PromQLLiterals.formatFloat(intPart) + "." + String(repeating: "0", count: 6 - fracText.count) + fracText
    }
}
