/// A byte range `[start, end)` in the query text.
public struct PromQLPositionRange: Sendable, Hashable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// The value types of PromQL (`ValueType` in upstream's ast.go).
public enum PromQLValueType: String, Sendable, Hashable {
    case none
    case vector
    case scalar
    case matrix
    case string

    /// The names used in user-facing messages (`DocumentedType`).
    public var documentedName: String {
        switch self {
        case .vector: return "instant vector"
        case .matrix: return "range vector"
        default: return rawValue
        }
    }
}

/// `@ start()` / `@ end()`.
public enum PromQLAtPreprocessor: String, Sendable, Hashable {
    case start, end
}

/// A parsed PromQL expression. The tree is immutable once the parser returns it.
///
/// Durations (ranges, offsets, subquery steps) are in milliseconds, the TSDB's time unit;
/// `@` timestamps are Unix milliseconds.
public indirect enum PromQLExpr: Sendable, Hashable {
    case number(PromQLNumberLiteral)
    case string(PromQLStringLiteral)
    case vectorSelector(PromQLVectorSelector)
    case matrixSelector(PromQLMatrixSelector)
    case subquery(PromQLSubqueryExpr)
    case aggregate(PromQLAggregateExpr)
    case binary(PromQLBinaryExpr)
    case unary(PromQLUnaryExpr)
    case paren(PromQLParenExpr)
    case call(PromQLCall)

    /// The static type (`Expr.Type()` upstream).
    public var type: PromQLValueType {
        switch self {
        case .number: return .scalar
        case .string: return .string
        case .vectorSelector, .aggregate: return .vector
        case .matrixSelector, .subquery: return .matrix
        case .binary(let b): return b.lhs.type == .scalar && b.rhs.type == .scalar ? .scalar : .vector
        case .unary(let u): return u.expr.type
        case .paren(let p): return p.expr.type
        case .call(let c): return c.function.returnType
        }
    }

    public var positionRange: PromQLPositionRange {
        switch self {
        case .number(let n): return n.positionRange
        case .string(let s): return s.positionRange
        case .vectorSelector(let v): return v.positionRange
        case .matrixSelector(let m): return PromQLPositionRange(start: m.vectorSelector.positionRange.start, end: m.endPosition)
        case .subquery(let s): return PromQLPositionRange(start: s.expr.positionRange.start, end: s.endPosition)
        case .aggregate(let a): return a.positionRange
        case .binary(let b): return PromQLPositionRange(start: b.lhs.positionRange.start, end: b.rhs.positionRange.end)
        case .unary(let u): return PromQLPositionRange(start: u.startPosition, end: u.expr.positionRange.end)
        case .paren(let p): return p.positionRange
        case .call(let c): return c.positionRange
        }
    }
}

public struct PromQLNumberLiteral: Sendable, Hashable {
    public var value: Double
    /// Written as a duration (`5m`), so printed back as one.
    public var isDuration: Bool
    public var positionRange: PromQLPositionRange

    public static func == (a: Self, b: Self) -> Bool {
        (a.value == b.value || (a.value.isNaN && b.value.isNaN)) && a.isDuration == b.isDuration && a.positionRange == b.positionRange
    }
    public func hash(into h: inout Hasher) { h.combine(value.isNaN ? .nan : value); h.combine(isDuration) }
}

public struct PromQLStringLiteral: Sendable, Hashable {
    public var value: String
    public var positionRange: PromQLPositionRange
}

/// `name{matchers} @ t offset d`. When `name` is set, the last matcher is `__name__="name"`
/// (upstream appends it too), so `matchers` alone selects the series.
public struct PromQLVectorSelector: Sendable, Hashable {
    public var name: String
    public var matchers: [LabelMatcher]
    /// Offset as written, in milliseconds (negative offsets look ahead).
    public var offset: Int64 = 0
    public var timestamp: Int64?
    public var atPreprocessor: PromQLAtPreprocessor?
    public var positionRange: PromQLPositionRange
    /// Set for `info()`'s second argument, which may match only empty values.
    public var bypassEmptyMatcherCheck = false
}

/// `selector[range]`. Offset and `@` live on the inner selector, as upstream.
public struct PromQLMatrixSelector: Sendable, Hashable {
    public var vectorSelector: PromQLExpr
    public var range: Int64
    public var endPosition: Int

    /// The inner selector (always a vector selector once the type checker passed).
    public var selector: PromQLVectorSelector? {
        if case .vectorSelector(let v) = vectorSelector { return v }
        return nil
    }
}

/// `expr[range:step] @ t offset d`; `step == 0` means the default resolution.
public struct PromQLSubqueryExpr: Sendable, Hashable {
    public var expr: PromQLExpr
    public var range: Int64
    public var step: Int64
    public var offset: Int64 = 0
    public var timestamp: Int64?
    public var atPreprocessor: PromQLAtPreprocessor?
    public var endPosition: Int
}

public enum PromQLAggregateOp: String, Sendable, Hashable, CaseIterable {
    case sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk
    case countValues = "count_values", quantile, limitk
    case limitRatio = "limit_ratio"

    /// Takes a parameter before the vector (`topk(3, x)`).
    public var hasParameter: Bool { [.topk, .bottomk, .countValues, .quantile, .limitk, .limitRatio].contains(self) }
    public var isExperimental: Bool { self == .limitk || self == .limitRatio }
}

public struct PromQLAggregateExpr: Sendable, Hashable {
    public var op: PromQLAggregateOp
    public var expr: PromQLExpr
    public var parameter: PromQLExpr?
    public var grouping: [String]
    /// `without (...)` rather than `by (...)`.
    public var without: Bool
    public var positionRange: PromQLPositionRange
}

public enum PromQLVectorMatchCardinality: String, Sendable, Hashable {
    case oneToOne = "one-to-one", manyToOne = "many-to-one", oneToMany = "one-to-many", manyToMany = "many-to-many"
}

/// How the two sides of a vector/vector binary operation are matched.
public struct PromQLVectorMatching: Sendable, Hashable {
    public var cardinality: PromQLVectorMatchCardinality = .oneToOne
    /// Labels of `on(...)` / `ignoring(...)`.
    public var matchingLabels: [String] = []
    /// `on` rather than `ignoring`.
    public var on = false
    /// Extra labels of `group_left(...)` / `group_right(...)`.
    public var include: [String] = []
}

public struct PromQLBinaryExpr: Sendable, Hashable {
    public var op: PromQLOperator
    public var lhs: PromQLExpr
    public var rhs: PromQLExpr
    /// nil unless both sides are instant vectors (cleared by the type checker otherwise).
    public var vectorMatching: PromQLVectorMatching?
    public var returnBool: Bool
}

public struct PromQLUnaryExpr: Sendable, Hashable {
    /// `.add` or `.sub`.
    public var op: PromQLOperator
    public var expr: PromQLExpr
    public var startPosition: Int
}

public struct PromQLParenExpr: Sendable, Hashable {
    public var expr: PromQLExpr
    public var positionRange: PromQLPositionRange
}

public struct PromQLCall: Sendable, Hashable {
    public var function: PromQLFunction
    public var args: [PromQLExpr]
    public var positionRange: PromQLPositionRange
}
