/// The type checker upstream runs after a successful parse (`checkAST` in parse.go).
/// It also normalises the tree: set operators get many-to-many matching, and vector
/// matching is dropped when a side is a scalar.
extension PromQLParserState {
    mutating func expectType(_ node: inout PromQLExpr, _ want: PromQLValueType, _ context: String) {
        let t = checkAST(&node)
        if t != want {
            addError(node.positionRange, "expected type \(want.documentedName) in \(context), got \(t.documentedName)")
        }
    }

    /// The operator's own range, for bool/comparison errors.
    private func operatorRange(_ b: PromQLBinaryExpr) -> PromQLPositionRange {
        let bytes = Array(query.utf8)
        var start = b.lhs.positionRange.end
        while start < bytes.count, PromQLLexer.isSpace(bytes[start]) { start += 1 }
        var end = b.rhs.positionRange.start - 1
        while end > start, end < bytes.count, PromQLLexer.isSpace(bytes[end]) { end -= 1 }
        return PromQLPositionRange(start: start, end: end)
    }

    @discardableResult
    mutating func checkAST(_ node: inout PromQLExpr) -> PromQLValueType {
        let type = node.type
        switch node {
        case .aggregate(var a):
            expectType(&a.expr, .vector, "aggregation expression")
            if var p = a.parameter {
                switch a.op {
                case .topk, .bottomk, .quantile, .limitk, .limitRatio: expectType(&p, .scalar, "aggregation parameter")
                case .countValues: expectType(&p, .string, "aggregation parameter")
                default: break
                }
                a.parameter = p
            }
            node = .aggregate(a)
        case .binary(var b):
            checkBinary(&b)
            node = .binary(b)
        case .call(var c):
            checkCall(&c)
            node = .call(c)
        case .paren(var p):
            checkAST(&p.expr)
            node = .paren(p)
        case .unary(var u):
            let t = checkAST(&u.expr)
            if t != .scalar && t != .vector {
                addError(node.positionRange, "unary expression only allowed on expressions of type scalar or instant vector, got \(GoQuote.quote(t.documentedName))")
            }
            node = .unary(u)
        case .subquery(var s):
            let t = checkAST(&s.expr)
            if t != .vector {
                addError(node.positionRange, "subquery is only allowed on instant vector, got \(t.rawValue) instead")
            }
            node = .subquery(s)
        case .matrixSelector(var m):
            checkAST(&m.vectorSelector)
            node = .matrixSelector(m)
        case .vectorSelector(let vs):
            checkVectorSelector(vs)
        case .number, .string:
            break
        }
        return type
    }

    private mutating func checkVectorSelector(_ vs: PromQLVectorSelector) {
        if !vs.name.isEmpty {
            for m in vs.matchers.dropLast() where m.name == "__name__" {
                addError(vs.positionRange, "metric name must not be set twice: \(GoQuote.quote(vs.name)) or \(GoQuote.quote(m.value))")
            }
            return
        }
        if !vs.bypassEmptyMatcherCheck, !vs.matchers.contains(where: { !$0.matchesEmpty }) {
            addError(vs.positionRange, "vector selector must contain at least one non-empty matcher")
        }
    }

    private mutating func checkBinary(_ n: inout PromQLBinaryExpr) {
        let whole = PromQLExpr.binary(n).positionRange
        let lt = checkAST(&n.lhs)
        let rt = checkAST(&n.rhs)
        if n.returnBool && !n.op.isComparison {
            addError(operatorRange(n), "bool modifier can only be used on comparison operators")
        }
        if n.op.isComparison && !n.returnBool && n.lhs.type == .scalar && n.rhs.type == .scalar {
            addError(operatorRange(n), "comparisons between scalars must use BOOL modifier")
        }
        if n.op.isSetOperator, n.vectorMatching?.cardinality == .oneToOne {
            n.vectorMatching?.cardinality = .manyToMany
        }
        if let vm = n.vectorMatching, vm.on {
            for l in vm.matchingLabels where vm.include.contains(l) {
                addError(operatorRange(n), "label \(GoQuote.quote(l)) must not occur in ON and GROUP clause at once")
            }
        }
        if lt != .scalar && lt != .vector {
            addError(n.lhs.positionRange, "binary expression must contain only scalar and instant vector types")
        }
        if rt != .scalar && rt != .vector {
            addError(n.rhs.positionRange, "binary expression must contain only scalar and instant vector types")
        }
        if lt != .vector || rt != .vector {
            if let vm = n.vectorMatching, !vm.matchingLabels.isEmpty {
                addError(whole, "vector matching only allowed between instant vectors")
            }
            n.vectorMatching = nil
        } else if n.op.isSetOperator, let vm = n.vectorMatching {
            if vm.cardinality == .oneToMany || vm.cardinality == .manyToOne {
                addError(whole, "no grouping allowed for \(GoQuote.quote(n.op.rawValue)) operation")
            }
            if vm.cardinality != .manyToMany {
                addError(whole, "set operations must always be many-to-many")
            }
        }
        if (lt == .scalar || rt == .scalar) && n.op.isSetOperator {
            addError(whole, "set operator \(GoQuote.quote(n.op.rawValue)) not allowed in binary scalar expression")
        }
    }

    private mutating func checkCall(_ n: inout PromQLCall) {
        let f = n.function
        let nargs = f.argTypes.count
        let quotedName = GoQuote.quote(f.name)
        if f.variadic == 0 {
            if nargs != n.args.count {
                addError(n.positionRange, "expected \(nargs) argument(s) in call to \(quotedName), got \(n.args.count)")
            }
        } else {
            let required = nargs - 1
            if required > n.args.count {
                addError(n.positionRange, "expected at least \(required) argument(s) in call to \(quotedName), got \(n.args.count)")
            } else if f.variadic > 0, required + f.variadic < n.args.count {
                addError(n.positionRange, "expected at most \(required + f.variadic) argument(s) in call to \(quotedName), got \(n.args.count)")
            }
        }
        if f.name == "info", n.args.count > 1 {
            if n.args[1].type != .vector {
                addError(n.positionRange, "expected type instant vector in call to function \(quotedName), got \(n.args[1].type.documentedName)")
            }
            if case .vectorSelector(var vs) = n.args[1] {
                if !vs.name.isEmpty {
                    addError(n.args[1].positionRange, "expected label selectors only, got vector selector instead")
                } else {
                    vs.bypassEmptyMatcherCheck = true
                    n.args[1] = .vectorSelector(vs)
                }
            } else {
                addError(n.args[1].positionRange, "expected label selectors only")
            }
        }
        for i in n.args.indices {
            var argIndex = i
            if i >= nargs {
                if f.variadic == 0 { break }
                argIndex = nargs - 1
            }
            let t = checkAST(&n.args[i])
            if t != f.argTypes[argIndex] {
                addError(n.args[i].positionRange, "expected type \(f.argTypes[argIndex].documentedName) in call to function \(quotedName), got \(t.documentedName)")
            }
        }
    }
}
