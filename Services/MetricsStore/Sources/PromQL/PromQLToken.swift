/// One lexical item of a PromQL expression (`promql/parser/lex.go`'s `Item`).
///
/// `position` is a byte offset into the UTF-8 query, as upstream's positions are, so error
/// columns match Prometheus's (`1:5: parse error: ...`).
struct PromQLToken: Sendable, Equatable {
    var kind: PromQLTokenKind
    var position: Int
    /// The raw text (for strings: with quotes; for errors: the message).
    var text: String

    var end: Int { position + text.utf8.count }
    var range: PromQLPositionRange { PromQLPositionRange(start: position, end: end) }

    /// How upstream's `Item.desc()` names a token in "unexpected ..." messages.
    var errorDescription: String {
        switch kind {
        case .eof: return "end of input"
        case .error: return text
        case .identifier: return "identifier " + GoQuote.quote(text)
        case .metricIdentifier: return "metric identifier " + GoQuote.quote(text)
        case .string: return "string " + Self.truncatedQuote(text)
        case .number: return "number " + Self.truncatedQuote(text)
        case .duration: return "duration " + Self.truncatedQuote(text)
        case .keyword(let k):
            if k.isAggregator { return "<aggr:\(text)>" }
            if k.isOperatorKeyword { return "<op:\(text)>" }
            if k.isPreprocessor { return GoQuote.quote(text) }
            return "<\(text)>"
        case .op: return "<op:\(text)>"
        default: return Self.truncatedQuote(text)
        }
    }

    /// Go's `%.10q...` for long values, `%q` otherwise.
    private static func truncatedQuote(_ s: String) -> String {
        s.unicodeScalars.count > 10 ? GoQuote.quote(String(String.UnicodeScalarView(s.unicodeScalars.prefix(10)))) + "..." : GoQuote.quote(s)
    }
}

enum PromQLTokenKind: Sendable, Equatable {
    case eof
    case error
    case identifier
    case metricIdentifier
    case string
    case number
    case duration
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
    case comma, colon
    /// `=` (label matching only).
    case assign
    case op(PromQLOperator)
    case keyword(PromQLKeyword)
}

/// Binary, unary and matching operators with their source spelling.
public enum PromQLOperator: String, Sendable, Hashable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^"
    case eqlc = "==", neq = "!=", lte = "<=", lss = "<", gte = ">=", gtr = ">"
    case eqlRegex = "=~", neqRegex = "!~"
    /// Native-histogram trim operators: drop observations above / below a bound.
    case trimUpper = "</", trimLower = ">/"
    case at = "@"
    case land = "and", lor = "or", lunless = "unless", atan2 = "atan2"

    public var isComparison: Bool {
        switch self {
        case .eqlc, .neq, .lte, .lss, .gte, .gtr: return true
        default: return false
        }
    }

    public var isSetOperator: Bool { self == .land || self == .lor || self == .lunless }

    /// Upstream's yacc precedence levels (`%left LOR` lowest … `%right POW` highest).
    var precedence: Int? {
        switch self {
        case .lor: return 1
        case .land, .lunless: return 2
        case .eqlc, .neq, .lte, .lss, .gte, .gtr, .trimUpper, .trimLower: return 3
        case .add, .sub: return 4
        case .mul, .div, .mod, .atan2: return 5
        case .pow: return 6
        case .eqlRegex, .neqRegex, .at: return nil
        }
    }

    var isRightAssociative: Bool { self == .pow }
}

/// Words the lexer recognises case-insensitively (`key` in lex.go).
enum PromQLKeyword: String, Sendable, Equatable, CaseIterable {
    case and, or, unless, atan2
    case sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk
    case countValues = "count_values", quantile, limitk
    case limitRatio = "limit_ratio"
    case offset, smoothed, anchored, by, without, on, ignoring
    case groupLeft = "group_left", groupRight = "group_right"
    case fill
    case fillLeft = "fill_left", fillRight = "fill_right"
    case bool
    case start, end, step, range
    case maxOf = "max_of", minOf = "min_of"

    var isAggregator: Bool { PromQLAggregateOp(rawValue: rawValue) != nil }
    var isOperatorKeyword: Bool { self == .and || self == .or || self == .unless || self == .atan2 }
    var isPreprocessor: Bool { [.start, .end, .step, .range, .maxOf, .minOf].contains(self) }

    /// Keywords that may also name a metric (`metric_identifier` in the grammar).
    var canBeMetricName: Bool {
        switch self {
        case .atan2, .on, .ignoring, .groupLeft, .groupRight, .bool: return false
        default: return true
        }
    }
}
