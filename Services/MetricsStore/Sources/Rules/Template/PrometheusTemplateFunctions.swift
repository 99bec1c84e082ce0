import Foundation
import VigilService

/// The functions Prometheus adds to alert templates (template/template.go and
/// prometheus/common's helpers): humanize*, title, toUpper, toLower, reReplaceAll,
/// match, stripPort, stripDomain, graphLink, tableLink, parseDuration, now, pathPrefix,
/// externalURL, safeHtml, and `query` with first, label, value, strvalue and sortByLabel.
/// `args`, `tmpl`, `toTime`, `toDuration` and `safeUrl` parse but fail when executed.
enum PrometheusTemplateFunctions {
    typealias Failure = GoTemplateFunctionError

    /// What a `query` call returned, or why it failed.
    enum QueryAnswer: Sendable {
        case vector([(labels: Labels, value: Double)])
        case failure(String)
    }

    static func functions(time: Int64, externalURL: String, answers: [String: QueryAnswer] = [:]) -> [String: GoTemplateFunction] {
        var table: [String: GoTemplateFunction] = [
            "humanize": one { v throws(Failure) in .string(humanize(try toFloat(v))) },
            "humanize1024": one { v throws(Failure) in .string(humanize1024(try toFloat(v))) },
            "humanizeDuration": one { v throws(Failure) in .string(humanizeDuration(try toFloat(v))) },
            "humanizePercentage": one { v throws(Failure) in .string(GoNumberFormat.g(try toFloat(v) * 100) + "%") },
            "humanizeTimestamp": one { v throws(Failure) in .string(try humanizeTimestamp(try toFloat(v))) },
            "title": one { v in .string(title(v.printed)) },
            "toUpper": one { v in .string(v.printed.uppercased()) },
            "toLower": one { v in .string(v.printed.lowercased()) },
            "safeHtml": one { v in .string(v.printed) },
            "stripPort": one { v in .string(stripPort(v.printed)) },
            "stripDomain": one { v in .string(stripDomain(v.printed)) },
            "graphLink": one { v in .string(PrometheusLinks.graph(v.printed)) },
            "tableLink": one { v in .string(PrometheusLinks.table(v.printed)) },
            "parseDuration": one { v throws(Failure) in
                do throws(ConfigValueError) {
                    return .float(try PrometheusDuration(parsing: v.printed).seconds)
                } catch {
                    throw Failure(error.message)
                }
            },
            "reReplaceAll": GoTemplateFunction(arity: 3) { args throws(Failure) in
                .string(try replaceAll(pattern: args[0].printed, replacement: args[1].printed, in: args[2].printed))
            },
            "match": GoTemplateFunction(arity: 2) { args throws(Failure) in
                .bool(try regex(args[0].printed).firstMatch(in: args[1].printed, range: nsRange(args[1].printed)) != nil)
            },
            "now": GoTemplateFunction(arity: 0) { _ in .float(Double(time) / 1000) },
            "externalURL": GoTemplateFunction(arity: 0) { _ in .string(externalURL) },
            "pathPrefix": GoTemplateFunction(arity: 0) { _ in .string(URL(string: externalURL)?.path ?? "") },
        ]
        table["query"] = one { v throws(Failure) in
            switch answers[v.printed] {
            case .vector(let vector)?: return .list(vector.map(sample))
            case .failure(let message)?: throw Failure(message)
            case nil: throw Failure("query \(v.printed) has not been run", missingQuery: v.printed)
            }
        }
        table["first"] = one { v throws(Failure) in
            guard case .list(let samples) = v else { throw Failure("wrong type for value; expected template.queryResult; got \(v.typeName)") }
            guard let first = samples.first else { throw Failure("first() called on vector with no elements") }
            return first
        }
        table["label"] = GoTemplateFunction(arity: 2) { args throws(Failure) in
            guard case .record(_, let fields) = args[1], case .map(let labels)? = fields["Labels"] else {
                throw Failure("wrong type for value; expected *template.sample; got \(args[1].typeName)")
            }
            return .string(labels[args[0].printed] ?? "")
        }
        table["value"] = one { v throws(Failure) in
            guard case .record(_, let fields) = v, let value = fields["Value"] else {
                throw Failure("wrong type for value; expected *template.sample; got \(v.typeName)")
            }
            return value
        }
        table["strvalue"] = one { v throws(Failure) in
            guard case .record(_, let fields) = v, case .map(let labels)? = fields["Labels"] else {
                throw Failure("wrong type for value; expected *template.sample; got \(v.typeName)")
            }
            return .string(labels["__value__"] ?? "")
        }
        table["sortByLabel"] = GoTemplateFunction(arity: 2) { args throws(Failure) in
            guard case .list(let samples) = args[1] else { throw Failure("wrong type for value; expected template.queryResult; got \(args[1].typeName)") }
            let name = args[0].printed
            func label(_ s: GoTemplateValue) -> String {
                if case .record(_, let fields) = s, case .map(let labels)? = fields["Labels"] { return labels[name] ?? "" }
                return ""
            }
            // Stable, as Go's sort.Stable.
            return .list(samples.enumerated().sorted { (label($0.element), $0.offset) < (label($1.element), $1.offset) }.map(\.element))
        }
        for name in ["args", "tmpl", "toTime", "toDuration", "safeUrl"] {
            table[name] = GoTemplateFunction(arity: nil) { _ throws(Failure) in
                throw Failure("\(name) is not supported by metrics-store's template expander")
            }
        }
        return table
    }

    /// A query result element as Prometheus's templates see it (`*template.sample`).
    static func sample(_ element: (labels: Labels, value: Double)) -> GoTemplateValue {
        .record(typeName: "*template.sample", fields: ["Labels": .map(element.labels.dictionary), "Value": .float(element.value)])
    }

    static func one(_ body: @escaping @Sendable (GoTemplateValue) throws(Failure) -> GoTemplateValue) -> GoTemplateFunction {
        GoTemplateFunction(arity: 1) { args throws(Failure) in try body(args[0]) }
    }

    /// prometheus/common's ConvertToFloat.
    static func toFloat(_ value: GoTemplateValue) throws(Failure) -> Double {
        switch value {
        case .float(let f): return f
        case .int(let i): return Double(i)
        case .string(let s):
            if let d = Double(s) { return d }
            switch s.lowercased() {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            case "nan": return .nan
            default: throw Failure("strconv.ParseFloat: parsing \"\(s)\": invalid syntax")
            }
        default: throw Failure("can't convert \(value.typeName) to float")
        }
    }

    static func humanize(_ value: Double) -> String {
        if value == 0 || !value.isFinite { return GoNumberFormat.g(value) }
        var v = value
        var prefix = ""
        if abs(v) >= 1 {
            for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] where abs(v) >= 1000 {
                prefix = p
                v /= 1000
            }
        } else {
            for p in ["m", "u", "n", "p", "f", "a", "z", "y"] where abs(v) < 1 {
                prefix = p
                v *= 1000
            }
        }
        return GoNumberFormat.g(v) + prefix
    }

    static func humanize1024(_ value: Double) -> String {
        if abs(value) <= 1 || !value.isFinite { return GoNumberFormat.g(value) }
        var v = value
        var prefix = ""
        for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] where abs(v) >= 1024 {
            prefix = p
            v /= 1024
        }
        return GoNumberFormat.g(v) + prefix
    }

    static func humanizeDuration(_ value: Double) -> String {
        if !value.isFinite { return GoNumberFormat.g(value) }
        if value == 0 { return GoNumberFormat.g(value) + "s" }
        if abs(value) >= 1 {
            let sign = value < 0 ? "-" : ""
            let v = abs(value)
            let total = Int64(v)
            let (days, hours, minutes, seconds) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return sign + GoNumberFormat.g(v) + "s"
        }
        var v = value
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] where abs(v) < 1 {
            prefix = p
            v *= 1000
        }
        return GoNumberFormat.g(v) + prefix + "s"
    }

    /// Go's time.Time.String() in UTC at millisecond precision (Prometheus converts
    /// through model.Time), e.g. `2015-06-23 13:19:44.128 +0000 UTC`.
    static func humanizeTimestamp(_ value: Double) throws(Failure) -> String {
        if !value.isFinite { return GoNumberFormat.g(value) }
        let nanos = value * 1e9
        guard nanos < 9.223372036854775808e18, nanos >= -9.223372036854775808e18 else {
            throw Failure("\(GoNumberFormat.shortest(value)) cannot be represented as a nanoseconds timestamp since it overflows int64")
        }
        return goTimeString(milliseconds: Int64(nanos) / 1_000_000)
    }

    static func goTimeString(milliseconds: Int64) -> String {
        var seconds = milliseconds / 1000
        var millis = milliseconds % 1000
        if millis < 0 { millis += 1000; seconds -= 1 }
        let civil = PromQLCivilTime(unixSeconds: seconds)
        let second = ((seconds % 60) + 60) % 60
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var text = "\(civil.year)-\(two(civil.month))-\(two(civil.day)) \(two(civil.hour)):\(two(civil.minute)):\(two(second))"
        if millis != 0 {
            var fraction = String(format: "%03lld", millis)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + " +0000 UTC"
    }


    /// Go's strings.Title: the first letter of each word upper-cased.
    static func title(_ text: String) -> String {
        var out = ""
        var previousIsSeparator = true
        for c in text {
            out += previousIsSeparator ? c.uppercased() : String(c)
            previousIsSeparator = !(c.isLetter || c.isNumber || c == "_")
        }
        return out
    }

    static func splitHostPort(_ text: String) -> (host: String, port: String)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), !rest.dropFirst().contains(":") else { return nil }
            return (String(text[text.index(after: text.startIndex)..<close]), String(rest.dropFirst()))
        }
        guard let colon = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    static func stripPort(_ text: String) -> String { splitHostPort(text)?.host ?? text }

    static func stripDomain(_ text: String) -> String {
        var host = text
        var port = ""
        if let split = splitHostPort(text) { (host, port) = (split.host, ":" + split.port) }
        if isIPAddress(host) { return text }
        if let dot = host.firstIndex(of: ".") { host = String(host[..<dot]) }
        return host + port
    }

    static func isIPAddress(_ host: String) -> Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Go's RE2 syntax, translated where ICU spells it differently: named groups are
    /// `(?P<name>…)` in Go and `(?<name>…)` in ICU.
    static func regex(_ pattern: String) throws(Failure) -> NSRegularExpression {
        let icuPattern = pattern.replacingOccurrences(of: "(?P<", with: "(?<")
        do { return try NSRegularExpression(pattern: icuPattern) } catch {
            throw Failure("error parsing regexp: \(pattern)")
        }
    }

    static func nsRange(_ s: String) -> NSRange { NSRange(s.startIndex..., in: s) }

    /// Go's Regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` expand groups, `$$` is `$`.
    static func replaceAll(pattern: String, replacement: String, in text: String) throws(Failure) -> String {
        let expression = try regex(pattern)
        let source = text as NSString
        var out = ""
        var last = 0
        for match in expression.matches(in: text, range: nsRange(text)) {
            out += source.substring(with: NSRange(location: last, length: match.range.location - last))
            out += expand(replacement, match: match, source: source)
            last = match.range.location + match.range.length
        }
        return out + source.substring(from: last)
    }

    static func expand(_ template: String, match: NSTextCheckingResult, source: NSString) -> String {
        var out = ""
        var chars = Array(template)[...]
        func group(_ name: String) -> String {
            let range = Int(name).map { $0 < match.numberOfRanges ? match.range(at: $0) : NSRange(location: NSNotFound, length: 0) }
                ?? match.range(withName: name)
            return range.location == NSNotFound ? "" : source.substring(with: range)
        }
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "$", let next = chars.first else { out.append(c); continue }
            if next == "$" { out += "$"; chars = chars.dropFirst(); continue }
            if next == "{", let close = chars.firstIndex(of: "}") {
                out += group(String(chars[chars.index(after: chars.startIndex)..<close]))
                chars = chars[chars.index(after: close)...]
                continue
            }
            let name = chars.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if name.isEmpty { out.append(c); continue }
            out += group(String(name))
            chars = chars.dropFirst(name.count)
        }
        return out
    }
}

/// Links into Prometheus's expression browser, as `strutil` builds them.
enum PrometheusLinks {
    static func graph(_ expr: String) -> String { "/graph?g0.expr=\(queryEscape(expr))&g0.tab=0" }
    static func table(_ expr: String) -> String { "/graph?g0.expr=\(queryEscape(expr))&g0.tab=1" }

    /// Go's url.QueryEscape: spaces as `+`, everything but unreserved characters escaped.
    static func queryEscape(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "): out += "+"
            default: out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
