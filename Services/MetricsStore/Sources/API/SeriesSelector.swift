/// The series selectors of the metadata APIs' `match[]` and of exemplar queries, read by
/// the PromQL parser so their syntax and error messages are exactly PromQL's.
public enum SeriesSelector {
    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case promql(String)
        case notASelector(String)

        public var description: String {
            switch self {
            case .promql(let message): return message
            case .notASelector(let text): return "\"\(text)\" is not a series selector"
            }
        }
    }

    /// Matchers of a plain vector selector (`name{…}`, no offset, @ or range).
    public static func parse(_ text: String) throws(ParseError) -> [LabelMatcher] {
        let expr = try parseExpression(text)
        guard case .vectorSelector(let selector) = expr, selector.offset == 0, selector.timestamp == nil,
              selector.atPreprocessor == nil else {
            throw .notASelector(text)
        }
        return selector.matchers
    }

    /// The matchers of every vector selector in a PromQL expression, as Prometheus's
    /// exemplar API uses them.
    public static func selectors(inQuery text: String) throws(ParseError) -> [[LabelMatcher]] {
        var found: [[LabelMatcher]] = []
        collect(try parseExpression(text), into: &found)
        return found
    }

    private static func parseExpression(_ text: String) throws(ParseError) -> PromQLExpr {
        do {
            return try PromQLParser.parse(text)
        } catch {
            throw .promql(error.description)
        }
    }

    private static func collect(_ expr: PromQLExpr, into found: inout [[LabelMatcher]]) {
        switch expr {
        case .number, .string: break
        case .vectorSelector(let s): found.append(s.matchers)
        case .matrixSelector(let m): collect(m.vectorSelector, into: &found)
        case .subquery(let s): collect(s.expr, into: &found)
        case .aggregate(let a):
            collect(a.expr, into: &found)
            if let parameter = a.parameter { collect(parameter, into: &found) }
        case .binary(let b):
            collect(b.lhs, into: &found)
            collect(b.rhs, into: &found)
        case .unary(let u): collect(u.expr, into: &found)
        case .paren(let p): collect(p.expr, into: &found)
        case .call(let c): for argument in c.args { collect(argument, into: &found) }
        }
    }
}
