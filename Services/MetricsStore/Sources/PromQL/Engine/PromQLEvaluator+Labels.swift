/// `label_replace`, `label_join` and the `sort*` functions.
extension PromQLEvaluator {
    func stringArgument(_ expr: PromQLExpr) -> String {
        switch expr {
        case .string(let s): return s.value
        case .paren(let p): return stringArgument(p.expr)
        default: return ""
        }
    }

    func labelReplace(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let destination = stringArgument(c.args[1])
        let replacement = stringArgument(c.args[2])
        let source = stringArgument(c.args[3])
        let pattern = stringArgument(c.args[4])
        let regex: PromQLRegex
        do {
            regex = try PromQLRegex(anchoring: pattern)
        } catch {
            throw .execution("invalid regular expression in label_replace(): \(pattern)")
        }
        guard Self.isValidLabelName(destination) else {
            throw .execution("invalid destination label name in label_replace(): \(destination)")
        }
        var series = try evalVector(c.args[0], range)
        for i in series.indices {
            guard let expanded = regex.replace(series[i].labels[source] ?? "", with: replacement) else { continue }
            series[i].labels = series[i].labels.setting(destination, expanded)
            if destination == Labels.metricName { series[i].dropName = false }
        }
        return try Self.mergeSameLabels(series)
    }

    func labelJoin(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        let destination = stringArgument(c.args[1])
        let separator = stringArgument(c.args[2])
        let sources = c.args.dropFirst(3).map { stringArgument($0) }
        guard Self.isValidLabelName(destination) else {
            throw .execution("invalid destination label name in label_join(): \(destination)")
        }
        for source in sources where !Self.isValidLabelName(source) {
            throw .execution("invalid source label name in label_join(): \(source)")
        }
        var series = try evalVector(c.args[0], range)
        for i in series.indices {
            let joined = sources.map { series[i].labels[$0] ?? "" }.joined(separator: separator)
            series[i].labels = series[i].labels.setting(destination, joined)
            if destination == Labels.metricName { series[i].dropName = false }
        }
        return try Self.mergeSameLabels(series)
    }

    /// Merges series that now share a label set; overlapping points are an error.
    static func mergeSameLabels(_ series: [PromQLEvalSeries]) throws(PromQLError) -> [PromQLEvalSeries] {
        var index: [Labels: Int] = [:]
        var out: [PromQLEvalSeries] = []
        var merged = false
        for s in series {
            if let i = index[s.labels] {
                out[i].points.append(contentsOf: s.points)
                merged = true
            } else {
                index[s.labels] = out.count
                out.append(s)
            }
        }
        guard merged else { return out }
        for i in out.indices {
            out[i].points.sort { $0.timestamp < $1.timestamp }
            for j in out[i].points.indices.dropFirst() where out[i].points[j].timestamp == out[i].points[j - 1].timestamp {
                throw .execution("vector cannot contain metrics with the same labelset")
            }
        }
        return out
    }

    func sortFunction(_ c: PromQLCall, _ range: PromQLStepRange) throws(PromQLError) -> [PromQLEvalSeries] {
        var series = try evalVector(c.args[0], range)
        if range.count > 1 {
            annotations.warn("PromQL warning: sort is ineffective for range queries since results are always ordered by labels \(position(c.positionRange))")
            return series
        }
        switch c.function.name {
        case "sort":
            series.sort { a, b in Self.sortsBefore(a.points[0].value, b.points[0].value, descending: false) }
        case "sort_desc":
            series.sort { a, b in Self.sortsBefore(a.points[0].value, b.points[0].value, descending: true) }
        default:
            let names = c.args.dropFirst().map { stringArgument($0) }
            let descending = c.function.name == "sort_by_label_desc"
            series.sort { a, b in
                for name in names {
                    let x = a.labels[name] ?? "", y = b.labels[name] ?? ""
                    if x != y { return PromQLNaturalOrder.less(x, y) != descending }
                }
                return (a.labels < b.labels) != descending
            }
        }
        return series
    }

    /// Value order of `sort` / `sort_desc`; NaN always last.
    static func sortsBefore(_ x: Double, _ y: Double, descending: Bool) -> Bool {
        if x.isNaN { return false }
        if y.isNaN { return true }
        return descending ? x > y : x < y
    }
}

/// "Natural" string order (digit runs compare by numeric value), as `sort_by_label` uses.
enum PromQLNaturalOrder {
    static func less(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while i < x.count && j < y.count {
            if isDigit(x[i]) && isDigit(y[j]) {
                var ie = i, je = j
                while ie < x.count && isDigit(x[ie]) { ie += 1 }
                while je < y.count && isDigit(y[je]) { je += 1 }
                let nx = x[i..<ie].drop { $0 == 48 }, ny = y[j..<je].drop { $0 == 48 }
                if nx.count != ny.count { return nx.count < ny.count }
                if !nx.elementsEqual(ny) { return nx.lexicographicallyPrecedes(ny) }
                i = ie
                j = je
            } else {
                if x[i] != y[j] { return x[i] < y[j] }
                i += 1
                j += 1
            }
        }
        return x.count - i < y.count - j
    }
}
