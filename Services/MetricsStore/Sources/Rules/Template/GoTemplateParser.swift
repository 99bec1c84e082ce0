/// The parse tree of a Go `text/template`: text, actions, the `if` / `range` / `with`
/// control structures with `break` / `continue`, and `template` calls of templates
/// named by `define` or `block`.
indirect enum GoTemplateNode {
    case text(String)
    case action(GoTemplatePipeline, line: Int)
    case ifNode(GoTemplatePipeline, then: [GoTemplateNode], otherwise: [GoTemplateNode], line: Int)
    case rangeNode(GoTemplatePipeline, body: [GoTemplateNode], otherwise: [GoTemplateNode], line: Int)
    case withNode(GoTemplatePipeline, body: [GoTemplateNode], otherwise: [GoTemplateNode], line: Int)
    case templateCall(name: String, GoTemplatePipeline?, line: Int)
    case breakLoop
    case continueLoop
}

/// A parsed template: its body and the templates it defines.
struct GoTemplate {
    var root: [GoTemplateNode]
    var definitions: [String: [GoTemplateNode]]
}

/// `$x := cmd | cmd arg`.
struct GoTemplatePipeline {
    var declarations: [String] = []
    /// `=` rather than `:=`.
    var isAssignment = false
    var commands: [[GoTemplateOperand]]
}

indirect enum GoTemplateOperand {
    case dot
    case field([String])
    case variable(String, [String])
    case function(String)
    case string(String)
    case number(String)
    case char(Int64)
    case bool(Bool)
    case nilValue
    case pipeline(GoTemplatePipeline, fields: [String])

    /// How Go prints the operand in "executing … at <…>" messages.
    var text: String {
        switch self {
        case .dot: return "."
        case .field(let f): return "." + f.joined(separator: ".")
        case .variable(let v, let f): return ([v] + f).joined(separator: ".")
        case .function(let name): return name
        case .string(let s): return "\"\(s)\""
        case .number(let n): return n
        case .char(let c): return String(c)
        case .bool(let b): return String(b)
        case .nilValue: return "nil"
        case .pipeline(_, let fields): return "(…)" + fields.map { "." + $0 }.joined()
        }
    }
}

/// Builds the tree, checking what Go checks at parse time: balanced control
/// structures, known functions and declared variables.
struct GoTemplateParser {
    let name: String
    let functions: Set<String>
    var tokens: [GoTemplateToken]
    var index = 0
    /// Variables in scope, innermost last; `$` is always defined.
    var scopes: [[String]] = [["$"]]
    var definitions: [String: [GoTemplateNode]] = [:]
    /// How many `range`s enclose the current position (for `break` / `continue`).
    var rangeDepth = 0

    func error(_ message: String, line: Int? = nil) -> GoTemplateError {
        GoTemplateError(message: "template: \(name):\(line ?? current.line): \(message)")
    }

    var current: GoTemplateToken { tokens[index] }
    mutating func next() -> GoTemplateToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    static func parse(_ text: String, name: String, functions: Set<String>) throws(GoTemplateError) -> GoTemplate {
        var parser = GoTemplateParser(name: name, functions: functions, tokens: try GoTemplateLexer.tokenize(text, name: name))
        let (nodes, terminator) = try parser.list()
        if let terminator { throw parser.error("unexpected {{\(terminator)}}") }
        return GoTemplate(root: nodes, definitions: parser.definitions)
    }

    /// Nodes up to EOF, `{{end}}` or `{{else}}`; returns which ended the list.
    mutating func list() throws(GoTemplateError) -> ([GoTemplateNode], String?) {
        var nodes: [GoTemplateNode] = []
        while true {
            let token = next()
            switch token.kind {
            case .eof: return (nodes, nil)
            case .text(let s): nodes.append(.text(s))
            case .leftDelim:
                if case .keyword(let word) = current.kind {
                    _ = next()
                    switch word {
                    case "end":
                        try expectRightDelim("end")
                        return (nodes, "end")
                    case "else":
                        return (nodes, "else")
                    case "if", "range", "with":
                        nodes.append(try control(word, line: token.line))
                    case "break", "continue":
                        guard rangeDepth > 0 else { throw error("{{\(word)}} outside {{range}}") }
                        try expectRightDelim(word)
                        nodes.append(word == "break" ? .breakLoop : .continueLoop)
                    case "define":
                        let templateName = try templateName(word)
                        try expectRightDelim(word)
                        definitions[templateName] = try definitionBody()
                    case "block":
                        let templateName = try templateName(word)
                        let pipe = try pipeline(context: word, end: .rightDelim)
                        definitions[templateName] = try definitionBody()
                        nodes.append(.templateCall(name: templateName, pipe, line: token.line))
                    case "template":
                        let templateName = try templateName(word)
                        if case .rightDelim = current.kind {
                            _ = next()
                            nodes.append(.templateCall(name: templateName, nil, line: token.line))
                        } else {
                            nodes.append(.templateCall(name: templateName, try pipeline(context: word, end: .rightDelim), line: token.line))
                        }
                    default:
                        throw error("unexpected <\(word)> in command")
                    }
                } else {
                    let pipe = try pipeline(context: "command", end: .rightDelim)
                    nodes.append(.action(pipe, line: token.line))
                }
            default: throw error("unexpected token")
            }
        }
    }

    mutating func templateName(_ context: String) throws(GoTemplateError) -> String {
        guard case .string(let name) = next().kind else { throw error("unexpected token in \(context) clause") }
        return name
    }

    /// The body of `define` or `block` up to its `{{end}}`, with its own variables.
    mutating func definitionBody() throws(GoTemplateError) -> [GoTemplateNode] {
        let saved = scopes
        scopes = [["$"]]
        defer { scopes = saved }
        let (body, terminator) = try list()
        guard terminator == "end" else { throw error(terminator == nil ? "unexpected EOF" : "unexpected {{\(terminator!)}}") }
        return body
    }

    mutating func expectRightDelim(_ context: String) throws(GoTemplateError) {
        guard case .rightDelim = next().kind else { throw error("unexpected token in \(context)") }
    }

    mutating func control(_ word: String, line: Int) throws(GoTemplateError) -> GoTemplateNode {
        scopes.append([])
        defer { scopes.removeLast() }
        let pipe = try pipeline(context: word, end: .rightDelim, allowsTwoVariables: word == "range")
        if word == "range" { rangeDepth += 1 }
        let (body, bodyTerminator) = try list()
        if word == "range" { rangeDepth -= 1 }
        var terminator = bodyTerminator
        var otherwise: [GoTemplateNode] = []
        if terminator == "else" {
            // `{{else if …}}` is sugar for `{{else}}{{if …}}…{{end}}`.
            if case .keyword(let nested) = current.kind, nested == "if" || nested == "with" {
                _ = next()
                otherwise = [try control(nested, line: current.line)]
                terminator = "end"
            } else {
                try expectRightDelim("else")
                (otherwise, terminator) = try list()
            }
        }
        guard terminator == "end" else { throw error("unexpected EOF") }
        switch word {
        case "if": return .ifNode(pipe, then: body, otherwise: otherwise, line: line)
        case "range": return .rangeNode(pipe, body: body, otherwise: otherwise, line: line)
        default: return .withNode(pipe, body: body, otherwise: otherwise, line: line)
        }
    }

    enum End { case rightDelim, rightParen }

    mutating func pipeline(context: String, end: End, allowsTwoVariables: Bool = false) throws(GoTemplateError) -> GoTemplatePipeline {
        var pipe = GoTemplatePipeline(commands: [])
        // Declarations: `$x :=`, `$x =`, or `$i, $v :=` in range.
        if case .variable(let name, let fields) = current.kind, fields.isEmpty {
            let save = index
            _ = next()
            var names = [name]
            if allowsTwoVariables, case .comma = current.kind {
                _ = next()
                if case .variable(let second, let f) = current.kind, f.isEmpty {
                    _ = next()
                    names.append(second)
                } else {
                    throw error("range can only initialize variables")
                }
            }
            switch current.kind {
            case .declare:
                _ = next()
                pipe.declarations = names
            case .assign:
                _ = next()
                pipe.declarations = names
                pipe.isAssignment = true
                for n in names where !isDefined(n) { throw error("undefined variable \"\(n)\"") }
            default:
                index = save
            }
        }
        while true {
            var command: [GoTemplateOperand] = []
            while true {
                let token = current
                if case .rightDelim = token.kind, end == .rightDelim { break }
                if case .rightParen = token.kind, end == .rightParen { break }
                if case .pipe = token.kind { break }
                command.append(try operand())
            }
            if command.isEmpty {
                throw error(pipe.commands.isEmpty && pipe.declarations.isEmpty ? "missing value for \(context)" : "missing value for command")
            }
            pipe.commands.append(command)
            if case .pipe = current.kind { _ = next(); continue }
            _ = next()
            break
        }
        if !pipe.isAssignment { scopes[scopes.count - 1].append(contentsOf: pipe.declarations) }
        return pipe
    }

    func isDefined(_ variable: String) -> Bool { scopes.contains { $0.contains(variable) } }

    mutating func operand() throws(GoTemplateError) -> GoTemplateOperand {
        let token = next()
        switch token.kind {
        case .dot: return .dot
        case .field(let f): return .field(f)
        case .variable(let name, let fields):
            guard isDefined(name) else { throw error("undefined variable \"\(name)\"") }
            return .variable(name, fields)
        case .identifier(let name):
            guard functions.contains(name) else { throw error("function \"\(name)\" not defined") }
            if case .field = current.kind { throw error("can't give argument to non-function \(name)") }
            return .function(name)
        case .string(let s): return .string(s)
        case .number(let n):
            guard Self.parseNumber(n) != nil else { throw error("bad number syntax: \"\(n)\"") }
            return .number(n)
        case .char(let c): return .char(c)
        case .bool(let b): return .bool(b)
        case .nilValue: return .nilValue
        case .leftParen:
            let inner = try pipeline(context: "parenthesized pipeline", end: .rightParen)
            if case .field(let fields) = current.kind {
                _ = next()
                return .pipeline(inner, fields: fields)
            }
            return .pipeline(inner, fields: [])
        case .rightDelim: throw error("unexpected \"}\" in operand")
        case .rightParen: throw error("unexpected right paren")
        case .keyword(let word): throw error("unexpected <\(word)> in command")
        case .eof: throw error("unclosed action")
        default: throw error("unexpected token in operand")
        }
    }

    /// Go's number constants: an integer when the text is one, else a float.
    static func parseNumber(_ text: String) -> GoTemplateValue? {
        let cleaned = text.replacingOccurrences(of: "_", with: "")
        if let int = Int64(cleaned) { return .int(int) }
        let unsigned = cleaned.hasPrefix("-") || cleaned.hasPrefix("+") ? String(cleaned.dropFirst()) : cleaned
        let negative = cleaned.hasPrefix("-")
        for (prefix, radix) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] where unsigned.hasPrefix(prefix) {
            guard let value = Int64(unsigned.dropFirst(2), radix: radix) else { return nil }
            return .int(negative ? -value : value)
        }
        if let double = Double(cleaned), double.isFinite { return .float(double) }
        return nil
    }
}
