/// Canonical text of an expression, as upstream's `printer.go` (`Expr.String()`) writes it;
/// `/api/v1/format_query` returns this. Parsing the output gives the same tree.
extension PromQLExpr: CustomStringConvertible {
    public var description: String {
        switch self {
        case .number(let n):
            if n.isDuration {
                return PromQLLiterals.formatDuration(milliseconds: Int64((n.value * 1000).rounded()))
            }
            return PromQLLiterals.formatFloat(n.value)
        case .string(let s):
            return GoQuote.quote(s.value)
        case .vectorSelector(let vs):
            return Self.selectorText(vs) + Self.atText(vs.timestamp, vs.atPreprocessor) + Self.offsetText(vs.offset)
        case .matrixSelector(let m):
            guard let vs = m.selector else { return "\(m.vectorSelector)[\(PromQLLiterals.formatDuration(milliseconds: m.range))]" }
            return Self.selectorText(vs) + "[\(PromQLLiterals.formatDuration(milliseconds: m.range))]"
                + Self.atText(vs.timestamp, vs.atPreprocessor) + Self.offsetText(vs.offset)
        case .subquery(let s):
            let step = s.step == 0 ? "" : PromQLLiterals.formatDuration(milliseconds: s.step)
            return "\(s.expr)[\(PromQLLiterals.formatDuration(milliseconds: s.range)):\(step)]"
                + Self.atText(s.timestamp, s.atPreprocessor) + Self.offsetText(s.offset)
        case .aggregate(let a):
            var out = a.op.rawValue
            if a.without {
                out += " without (\(Self.labelList(a.grouping))) "
            } else if !a.grouping.isEmpty {
                out += " by (\(Self.labelList(a.grouping))) "
            }
            out += "("
            if let p = a.parameter, a.op.hasParameter { out += "\(p), " }
            return out + "\(a.expr))"
        case .binary(let b):
            return "\(b.lhs) \(b.op.rawValue)\(b.returnBool ? " bool" : "")\(Self.matchingText(b.vectorMatching)) \(b.rhs)"
        case .unary(let u):
            return u.op.rawValue + u.expr.description
        case .paren(let p):
            return "(\(p.expr))"
        case .call(let c):
            return c.function.name + "(" + c.args.map(\.description).joined(separator: ", ") + ")"
        }
    }

    /// `name{b="2",a="1"}` with matchers sorted by their text and the name matcher left out.
    static func selectorText(_ vs: PromQLVectorSelector) -> String {
        let texts = vs.matchers
            .filter { !($0.name == "__name__" && $0.type == .equal && $0.value == vs.name && !$0.value.isEmpty) }
            .map(\.description)
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return texts.isEmpty ? vs.name : vs.name + "{" + texts.joined(separator: ",") + "}"
    }

    static func atText(_ timestamp: Int64?, _ preprocessor: PromQLAtPreprocessor?) -> String {
        if let timestamp {
            let magnitude = timestamp.magnitude
            let millis = String(magnitude % 1000)
            return " @ " + (timestamp < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - millis.count) + millis
        }
        switch preprocessor {
        case .start: return " @ start()"
        case .end: return " @ end()"
        case nil: return ""
        }
    }

    static func offsetText(_ offset: Int64) -> String {
        if offset > 0 { return " offset " + PromQLLiterals.formatDuration(milliseconds: offset) }
        if offset < 0 { return " offset -" + PromQLLiterals.formatDuration(milliseconds: -offset) }
        return ""
    }

    static func labelList(_ labels: [String]) -> String {
        labels.map { GoQuote.isLegacyName($0) ? $0 : GoQuote.quote($0) }.joined(separator: ", ")
    }

    static func matchingText(_ vm: PromQLVectorMatching?) -> String {
        guard let vm else { return "" }
        var out = ""
        let grouped = vm.cardinality == .manyToOne || vm.cardinality == .oneToMany
        if !vm.matchingLabels.isEmpty || vm.on || grouped {
            out += (vm.on ? " on (" : " ignoring (") + labelList(vm.matchingLabels) + ")"
        }
        if grouped {
            out += (vm.cardinality == .manyToOne ? " group_left (" : " group_right (") + labelList(vm.include) + ")"
        }
        return out
    }
}
