import Foundation

/// Go's fmt.Sprintf for the verbs templates use (%v %s %d %f %e %g %x %q %t %%), with
/// flags, width and precision; wrong or missing arguments print Go's `%!d(…)` markers.
enum GoPrintf {
    static func format(_ format: String, _ args: [GoTemplateValue]) -> String {
        var out = ""
        var argIndex = 0
        var chars = Array(format)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "%" else { out.append(c); continue }
            var flags = ""
            while let f = chars.first, "+-# 0".contains(f) { flags.append(f); chars = chars.dropFirst() }
            var width = ""
            while let d = chars.first, d.isASCII, d.isNumber { width.append(d); chars = chars.dropFirst() }
            var precision: String?
            if chars.first == "." {
                chars = chars.dropFirst()
                var p = ""
                while let d = chars.first, d.isASCII, d.isNumber { p.append(d); chars = chars.dropFirst() }
                precision = p.isEmpty ? "0" : p
            }
            guard let verb = chars.first else { out += "%!(NOVERB)"; break }
            chars = chars.dropFirst()
            if verb == "%" { out += "%"; continue }
            guard argIndex < args.count else { out += "%!\(verb)(MISSING)"; continue }
            let arg = args[argIndex]
            argIndex += 1
            out += one(verb, arg, flags: flags, width: width, precision: precision)
        }
        if argIndex < args.count {
            out += "%!(EXTRA " + args[argIndex...].map { "\($0.typeName)=\($0.printed)" }.joined(separator: ", ") + ")"
        }
        return out
    }

    static func one(_ verb: Character, _ arg: GoTemplateValue, flags: String, width: String, precision: String?) -> String {
        let spec = flags + width + (precision.map { "." + $0 } ?? "")
        let bad = "%!\(verb)(\(arg.typeName)=\(arg.printed))"
        switch (verb, arg) {
        case ("d", .int(let i)): return String(format: "%\(spec)lld", i)
        case ("x", .int(let i)): return String(format: "%\(spec)llx", i)
        case ("X", .int(let i)): return String(format: "%\(spec)llX", i)
        case ("o", .int(let i)): return String(format: "%\(spec)llo", i)
        case ("c", .int(let i)): return Unicode.Scalar(UInt32(clamping: i)).map { String(Character($0)) } ?? bad
        case ("f", .float(let f)), ("F", .float(let f)), ("e", .float(let f)), ("E", .float(let f)), ("g", .float(let f)), ("G", .float(let f)):
            if let special = GoNumberFormat.special(f) { return pad(special, flags: flags, width: width) }
            if precision == nil, verb == "g" || verb == "G" { return pad(GoNumberFormat.shortest(f), flags: flags, width: width) }
            return String(format: "%\(spec)\(verb)", f)
        case ("s", .string(let s)), ("v", .string(let s)):
            let text = precision.flatMap(Int.init).map { String(s.prefix($0)) } ?? s
            return pad(text, flags: flags, width: width)
        case ("q", .string(let s)):
            return pad("\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\"", flags: flags, width: width)
        case ("x", .string(let s)): return s.utf8.map { String(format: "%02x", $0) }.joined()
        case ("t", .bool(let b)), ("v", .bool(let b)): return pad(String(b), flags: flags, width: width)
        case ("v", .float(let f)) where precision != nil: return String(format: "%\(spec)g", f)
        case ("v", _), ("s", .map), ("s", .list), ("s", .missing): return pad(arg.printed, flags: flags, width: width)
        default: return bad
        }
    }

    static func pad(_ s: String, flags: String, width: String) -> String {
        guard let w = Int(width), s.count < w else { return s }
        let padding = String(repeating: " ", count: w - s.count)
        return flags.contains("-") ? s + padding : padding + s
    }
}
