/// A function callable from a template: its name, how many arguments it takes (nil:
/// any number) and the body, which reports failures as plain messages.
struct GoTemplateFunction: Sendable {
    var arity: Int?
    var call: @Sendable ([GoTemplateValue]) throws(GoTemplateFunctionError) -> GoTemplateValue
}

struct GoTemplateFunctionError: Error {
    var message: String
    /// Set by `query` when it needs a result it has not been given yet (see
    /// `AlertTemplate.expand`, which runs the query and executes the template again).
    var missingQuery: String?
    init(_ message: String, missingQuery: String? = nil) {
        self.message = message
        self.missingQuery = missingQuery
    }
}

/// Runs a parsed template against data, with Go's scoping of variables (a variable
/// lives until the `end` of the control structure that declared it) and Go's error
/// wording: `template: NAME:LINE: executing "NAME" at <humanize "x">: error calling humanize: …`.
struct GoTemplateExecutor {
    let name: String
    let functions: [String: GoTemplateFunction]
    let definitions: [String: [GoTemplateNode]]
    var variables: [(name: String, value: GoTemplateValue)] = []
    var output = ""
    /// Nested `template` calls, bounded as Go bounds them (maxExecDepth).
    var depth = 0

    /// What a list of nodes asks of the enclosing `range`.
    enum Flow { case normal, breakLoop, continueLoop }

    init(name: String, functions: [String: GoTemplateFunction], definitions: [String: [GoTemplateNode]] = [:], root: GoTemplateValue) {
        self.name = name
        self.functions = functions
        self.definitions = definitions
        self.variables = [("$", root)]
    }

    func failure(_ line: Int, _ at: String, _ message: String) -> GoTemplateError {
        GoTemplateError(message: "template: \(name):\(line): executing \"\(name)\" at <\(at)>: \(message)")
    }

    @discardableResult
    mutating func run(_ nodes: [GoTemplateNode], dot: GoTemplateValue) throws(GoTemplateError) -> Flow {
        for node in nodes {
            switch node {
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            case .templateCall(let template, let pipe, let line):
                guard let body = definitions[template] else { throw failure(line, "template \(template)", "no such template \"\(template)\"") }
                guard depth < 100_000 else { throw failure(line, "template \(template)", "exceeded maximum template depth (100000)") }
                let mark = variables.count
                let value = try pipe.map { p throws(GoTemplateError) in try evaluate(p, dot: dot, line: line) } ?? .missing
                let saved = variables
                variables = [("$", value)]
                depth += 1
                try run(body, dot: value)
                depth -= 1
                variables = saved
                variables.removeLast(variables.count - mark)
            case .text(let text):
                output += text
            case .action(let pipe, let line):
                let value = try evaluate(pipe, dot: dot, line: line)
                if pipe.declarations.isEmpty { output += value.printed }
            case .ifNode(let pipe, let then, let otherwise, let line):
                let mark = variables.count
                let condition = try evaluate(pipe, dot: dot, line: line)
                let flow = try run(condition.isTrue ? then : otherwise, dot: dot)
                variables.removeLast(variables.count - mark)
                if flow != .normal { return flow }
            case .withNode(let pipe, let body, let otherwise, let line):
                let mark = variables.count
                let value = try evaluate(pipe, dot: dot, line: line)
                let flow = value.isTrue ? try run(body, dot: value) : try run(otherwise, dot: dot)
                variables.removeLast(variables.count - mark)
                if flow != .normal { return flow }
            case .rangeNode(let pipe, let body, let otherwise, let line):
                try range(pipe, body: body, otherwise: otherwise, dot: dot, line: line)
            }
        }
        return .normal
    }

    mutating func range(_ pipe: GoTemplatePipeline, body: [GoTemplateNode], otherwise: [GoTemplateNode],
                        dot: GoTemplateValue, line: Int) throws(GoTemplateError) {
        let mark = variables.count
        var declaration = pipe
        declaration.declarations = []
        let collection = try evaluate(declaration, dot: dot, line: line)
        var items: [(GoTemplateValue, GoTemplateValue)] = []
        switch collection {
        case .map(let map): items = map.keys.sorted().map { (.string($0), .string(map[$0]!)) }
        case .list(let list): items = list.enumerated().map { (.int(Int64($0.offset)), $0.element) }
        case .int(let n): items = (0..<max(n, 0)).map { (.int($0), .int($0)) }
        case .missing: items = []
        default: throw failure(line, "range", "range can't iterate over \(collection.printed)")
        }
        if items.isEmpty { try run(otherwise, dot: dot) }
        for (key, element) in items {
            let inner = variables.count
            switch pipe.declarations.count {
            case 1: variables.append((pipe.declarations[0], element))
            case 2: variables.append((pipe.declarations[0], key)); variables.append((pipe.declarations[1], element))
            default: break
            }
            let flow = try run(body, dot: element)
            variables.removeLast(variables.count - inner)
            if flow == .breakLoop { break }
        }
        variables.removeLast(variables.count - mark)
    }

    mutating func evaluate(_ pipe: GoTemplatePipeline, dot: GoTemplateValue, line: Int) throws(GoTemplateError) -> GoTemplateValue {
        var value: GoTemplateValue?
        for command in pipe.commands {
            value = try evaluate(command, dot: dot, piped: value, line: line)
        }
        let result = value ?? .missing
        for name in pipe.declarations {
            if pipe.isAssignment, let index = variables.lastIndex(where: { $0.name == name }) {
                variables[index].value = result
            } else {
                variables.append((name, result))
            }
        }
        return result
    }

    mutating func evaluate(_ command: [GoTemplateOperand], dot: GoTemplateValue, piped: GoTemplateValue?,
                           line: Int) throws(GoTemplateError) -> GoTemplateValue {
        let at = command.map(\.text).joined(separator: " ")
        guard case .function(let functionName) = command[0] else {
            if command.count > 1 || piped != nil {
                throw failure(line, at, "can't give argument to non-function \(command[0].text)")
            }
            return try operand(command[0], dot: dot, line: line)
        }
        var arguments: [GoTemplateValue] = []
        for argument in command.dropFirst() { arguments.append(try operand(argument, dot: dot, line: line)) }
        if let piped { arguments.append(piped) }
        guard let function = functions[functionName] else { throw failure(line, at, "function \"\(functionName)\" not defined") }
        if let arity = function.arity, arity != arguments.count {
            throw failure(line, at, "wrong number of args for \(functionName): want \(arity) got \(arguments.count)")
        }
        do {
            return try function.call(arguments)
        } catch {
            var wrapped = failure(line, at, "error calling \(functionName): \(error.message)")
            wrapped.missingQuery = error.missingQuery
            throw wrapped
        }
    }

    mutating func operand(_ operand: GoTemplateOperand, dot: GoTemplateValue, line: Int) throws(GoTemplateError) -> GoTemplateValue {
        switch operand {
        case .dot: return dot
        case .field(let fields): return try walk(dot, fields, line: line, at: operand.text)
        case .variable(let name, let fields):
            guard let value = variables.last(where: { $0.name == name })?.value else {
                throw failure(line, operand.text, "undefined variable: \(name)")
            }
            return try walk(value, fields, line: line, at: operand.text)
        case .function:
            // A function named as an argument is called with no arguments, as in Go.
            return try evaluate([operand], dot: dot, piped: nil, line: line)
        case .string(let s): return .string(s)
        case .number(let n): return GoTemplateParser.parseNumber(n) ?? .missing
        case .char(let c): return .int(c)
        case .bool(let b): return .bool(b)
        case .nilValue: throw failure(line, "nil", "nil is not a command")
        case .pipeline(let pipe, let fields):
            let mark = variables.count
            let value = try evaluate(pipe, dot: dot, line: line)
            variables.removeLast(variables.count - mark)
            return try walk(value, fields, line: line, at: operand.text)
        }
    }

    func walk(_ start: GoTemplateValue, _ fields: [String], line: Int, at: String) throws(GoTemplateError) -> GoTemplateValue {
        var value = start
        for field in fields {
            switch value {
            // Prometheus executes with missingkey=zero: a missing label reads as "".
            case .map(let map): value = .string(map[field] ?? "")
            case .record(let typeName, let record):
                guard let next = record[field] else { throw failure(line, at, "can't evaluate field \(field) in type \(typeName)") }
                value = next
            case .missing: throw failure(line, at, "nil pointer evaluating interface {}.\(field)")
            default: throw failure(line, at, "can't evaluate field \(field) in type \(value.typeName)")
            }
        }
        return value
    }
}
