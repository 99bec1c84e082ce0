import Foundation

/// A duration written as Go's time.ParseDuration accepts it ("200ms", "5s", "1m30s",
/// "1.5h"), the form otelcol's YAML uses. Plain integers are nanoseconds, as in
/// otelcol's mapstructure decoding.
public struct GoDuration: Codable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> GoDuration { GoDuration(nanoseconds: Int64(s * 1e9)) }
    public static func milliseconds(_ ms: Int64) -> GoDuration { GoDuration(nanoseconds: ms * 1_000_000) }

    public var duration: Duration { .nanoseconds(nanoseconds) }
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public init(parsing text: String) throws(ConfigValueError) {
        let units: [(String, Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if rest.first == "-" || rest.first == "+" { negative = rest.first == "-"; rest = rest.dropFirst() }
        if rest == "0" { self.nanoseconds = 0; return }
        guard !rest.isEmpty else { throw ConfigValueError("invalid duration \"\(text)\"") }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else {
                throw ConfigValueError("invalid duration \"\(text)\": expected a number like 5s or 200ms")
            }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !$0.isNumber && $0 != "." }
            guard let unit = units.first(where: { $0.0 == unitText }) else {
                throw ConfigValueError("invalid duration \"\(text)\": unknown unit \"\(unitText)\" (use ns, us, ms, s, m or h)")
            }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        self.nanoseconds = Int64(negative ? -total : total)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self.nanoseconds = integer
            return
        }
        let text = try container.decode(String.self)
        let parsed: GoDuration
        do {
            parsed = try GoDuration(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message, underlyingError: error))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String {
        if nanoseconds == 0 { return "0s" }
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(nanoseconds)ns"
    }
}
