import VigilService

/// A duration as prometheus.yml writes it (`model.Duration` in prometheus/common):
/// unit-suffixed integers in descending unit order, `1y2w3d4h5m6s7ms`, with `y` = 365d
/// and `w` = 7d; a bare `0` is allowed. Unlike Go's durations there are no fractions,
/// no `us`/`ns`, and each unit may appear once.
public struct PrometheusDuration: Hashable, Sendable, Comparable, CustomStringConvertible, Decodable {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> Self { .init(milliseconds: s * 1000) }

    static let units: [(String, Int64)] = [
        ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
        ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    public init(parsing text: String) throws(ConfigValueError) {
        if text == "0" { self.milliseconds = 0; return }
        let invalid = ConfigValueError("not a valid duration string: \"\(text)\"")
        guard !text.isEmpty else { throw invalid }
        var rest = Substring(text)
        var total: Int64 = 0
        var nextUnit = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let number = Int64(digits) else { throw invalid }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(letters.count)
            guard let index = Self.units.indices.first(where: { Self.units[$0].0 == letters }), index >= nextUnit else { throw invalid }
            let (product, overflow) = number.multipliedReportingOverflow(by: Self.units[index].1)
            guard !overflow else { throw ConfigValueError("duration out of range: \"\(text)\"") }
            total += product
            nextUnit = index + 1
        }
        self.milliseconds = total
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message, underlyingError: error))
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.milliseconds < b.milliseconds }

    public var seconds: Double { Double(milliseconds) / 1000 }

    /// Prometheus's `Duration.String`: the largest units first, zero units left out.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var out = ""
        for (unit, size) in Self.units where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
