import Foundation

/// Go text/template's predefined functions that alert templates use: comparisons
/// (with Go's "incompatible types" rule: an int literal never equals a float64),
/// boolean logic, len, index and the print family.
/// See https://pkg.go.dev/text/template#hdr-Functions
enum GoTemplateBuiltins {
    typealias Failure = GoTemplateFunctionError

    static let functions: [String: GoTemplateFunction] = [
        "eq": GoTemplateFunction(arity: nil) { args throws(Failure) in
            guard args.count >= 2 else { throw Failure("missing argument for comparison") }
            for other in args.dropFirst() {
                if try equal(args[0], other) { return .bool(true) }
            }
            return .bool(false)
        },
        "ne": GoTemplateFunction(arity: 2) { args throws(Failure) in .bool(try !equal(args[0], args[1])) },
        "lt": GoTemplateFunction(arity: 2) { args throws(Failure) in .bool(try less(args[0], args[1])) },
        "le": GoTemplateFunction(arity: 2) { args throws(Failure) in .bool(try lessOrEqual(args[0], args[1])) },
        "gt": GoTemplateFunction(arity: 2) { args throws(Failure) in .bool(try !lessOrEqual(args[0], args[1])) },
        "ge": GoTemplateFunction(arity: 2) { args throws(Failure) in .bool(try !less(args[0], args[1])) },
        "and": GoTemplateFunction(arity: nil) { args throws(Failure) in
            guard !args.isEmpty else { throw Failure("missing argument") }
            return args.first { !$0.isTrue } ?? args.last!
        },
        "or": GoTemplateFunction(arity: nil) { args throws(Failure) in
            guard !args.isEmpty else { throw Failure("missing argument") }
            return args.first { $0.isTrue } ?? args.last!
        },
        "not": GoTemplateFunction(arity: 1) { args in .bool(!args[0].isTrue) },
        "len": GoTemplateFunction(arity: 1) { args throws(Failure) in
            switch args[0] {
            case .string(let s): return .int(Int64(s.utf8.count))
            case .map(let m): return .int(Int64(m.count))
            case .list(let l): return .int(Int64(l.count))
            default: throw Failure("len of type \(args[0].typeName)")
            }
        },
        "index": GoTemplateFunction(arity: nil) { args throws(Failure) in
            guard var value = args.first else { throw Failure("missing argument") }
            for key in args.dropFirst() {
                switch (value, key) {
                case (.map(let m), .string(let k)): value = m[k].map { .string($0) } ?? .string("")
                case (.list(let l), .int(let i)):
                    guard i >= 0, i < l.count else { throw Failure("index out of range: \(i)") }
                    value = l[Int(i)]
                default: throw Failure("can't index item of type \(value.typeName)")
                }
            }
            return value
        },
        "print": GoTemplateFunction(arity: nil) { args in .string(sprint(args)) },
        "println": GoTemplateFunction(arity: nil) { args in .string(args.map(\.printed).joined(separator: " ") + "\n") },
        "printf": GoTemplateFunction(arity: nil) { args throws(Failure) in
            guard case .string(let format)? = args.first else { throw Failure("wrong type for value; expected string; got \(args.first?.typeName ?? "nothing")") }
            return .string(GoPrintf.format(format, Array(args.dropFirst())))
        },
        "js": GoTemplateFunction(arity: nil) { args in .string(escapeJS(sprint(args))) },
        "slice": GoTemplateFunction(arity: nil) { args throws(Failure) in
            guard let first = args.first else { throw Failure("missing argument") }
            var indices: [Int] = []
            for arg in args.dropFirst() {
                guard case .int(let i) = arg else { throw Failure("cannot index slice/array with type \(arg.typeName)") }
                indices.append(Int(i))
            }
            switch first {
            case .string(let s):
                let bytes = Array(s.utf8)
                guard indices.count <= 2 else { throw Failure("cannot 3-index slice a string") }
                let low = indices.first ?? 0, high = indices.count > 1 ? indices[1] : bytes.count
                guard low >= 0, low <= high, high <= bytes.count else { throw Failure("index out of range: \(high)") }
                return .string(String(decoding: bytes[low..<high], as: UTF8.self))
            case .list(let l):
                let low = indices.first ?? 0, high = indices.count > 1 ? indices[1] : l.count
                guard low >= 0, low <= high, high <= l.count else { throw Failure("index out of range: \(high)") }
                return .list(Array(l[low..<high]))
            default: throw Failure("can't slice item of type \(first.typeName)")
            }
        },
        "html": GoTemplateFunction(arity: nil) { args in .string(escapeHTML(sprint(args))) },
        "urlquery": GoTemplateFunction(arity: nil) { args in
            .string(sprint(args).addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")
        },
    ]

    /// fmt.Sprint: spaces between operands when neither is a string.
    static func sprint(_ args: [GoTemplateValue]) -> String {
        var out = ""
        for (i, arg) in args.enumerated() {
            if i > 0, !isString(args[i - 1]), !isString(arg) { out += " " }
            out += arg.printed
        }
        return out
    }

    static func isString(_ v: GoTemplateValue) -> Bool { if case .string = v { return true }; return false }

    /// Go's JSEscapeString for the characters that matter in alert text.
    static func escapeJS(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "<": out += "\\u003C"
            case ">": out += "\\u003E"
            case "&": out += "\\u0026"
            case "=": out += "\\u003D"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func escapeHTML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static func equal(_ a: GoTemplateValue, _ b: GoTemplateValue) throws(Failure) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.missing, _), (_, .missing): return false
        case (.map, _), (.record, _), (.list, _): throw Failure("invalid type for comparison")
        default: throw Failure("incompatible types for comparison")
        }
    }

    static func lessOrEqual(_ a: GoTemplateValue, _ b: GoTemplateValue) throws(Failure) -> Bool {
        if try less(a, b) { return true }
        return try equal(a, b)
    }

    static func less(_ a: GoTemplateValue, _ b: GoTemplateValue) throws(Failure) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y
        case (.int(let x), .int(let y)): return x < y
        case (.float(let x), .float(let y)): return x < y
        case (.string, .int), (.string, .float), (.int, .string), (.float, .string), (.int, .float), (.float, .int):
            throw Failure("incompatible types for comparison")
        default: throw Failure("invalid type for comparison")
        }
    }
}

extension CharacterSet {
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-_.~")
        return set
    }()
}
