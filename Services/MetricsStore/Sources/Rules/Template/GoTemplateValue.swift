/// A value flowing through a template, with Go's printing and truth rules for the
/// kinds alert templates see: strings, float64 (`$value`), ints (literals),
/// `map[string]string` (`$labels`) and the alert data struct.
indirect enum GoTemplateValue: Equatable {
    case string(String)
    case float(Double)
    case int(Int64)
    case bool(Bool)
    /// `map[string]string`: a missing key reads as "" (Prometheus's missingkey=zero).
    case map([String: String])
    /// A struct: a missing field is an execution error.
    case record(typeName: String, fields: [String: GoTemplateValue])
    case list([GoTemplateValue])
    /// Go's invalid reflect.Value (missing map key) or nil.
    case missing

    /// Go's `fmt.Sprint` of the value, as `{{ x }}` prints it.
    var printed: String {
        switch self {
        case .string(let s): return s
        case .float(let f): return GoNumberFormat.shortest(f)
        case .int(let i): return String(i)
        case .bool(let b): return String(b)
        case .map(let m): return "map[" + m.keys.sorted().map { "\($0):\(m[$0]!)" }.joined(separator: " ") + "]"
        case .record(_, let fields): return "{" + fields.keys.sorted().map { fields[$0]!.printed }.joined(separator: " ") + "}"
        case .list(let l): return "[" + l.map(\.printed).joined(separator: " ") + "]"
        case .missing: return "<no value>"
        }
    }

    /// Go's `truth`: the zero value of each kind is false.
    var isTrue: Bool {
        switch self {
        case .string(let s): return !s.isEmpty
        case .float(let f): return f != 0
        case .int(let i): return i != 0
        case .bool(let b): return b
        case .map(let m): return !m.isEmpty
        case .record: return true
        case .list(let l): return !l.isEmpty
        case .missing: return false
        }
    }

    /// The Go type name used in error messages.
    var typeName: String {
        switch self {
        case .string: return "string"
        case .float: return "float64"
        case .int: return "int"
        case .bool: return "bool"
        case .map: return "map[string]string"
        case .record(let name, _): return name
        case .list: return "[]interface {}"
        case .missing: return "<nil>"
        }
    }
}
