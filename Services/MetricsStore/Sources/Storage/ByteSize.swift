/// Sizes as `--storage.tsdb.retention.size` takes them: a number and a unit of B, KB, MB,
/// GB, TB, PB or EB, each 1024 times the one before (KiB, MiB, … mean the same), as
/// Prometheus reads them.
public enum ByteSize {
    public struct ParseError: Error, CustomStringConvertible {
        public var text: String
        public var description: String {
            "invalid size \"\(text)\": expected a whole number and a unit (B, KB, MB, GB, TB, PB, EB), e.g. 512MB"
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> Int64 {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count).uppercased()
        let powers = ["B": 0, "KB": 1, "KIB": 1, "MB": 2, "MIB": 2, "GB": 3, "GIB": 3, "TB": 4, "TIB": 4,
                      "PB": 5, "PIB": 5, "EB": 6, "EIB": 6]
        guard let number = Int64(digits), let power = powers[unit] else { throw ParseError(text: text) }
        let (value, overflow) = number.multipliedReportingOverflow(by: Int64(1) << (10 * power))
        guard !overflow else { throw ParseError(text: text) }
        return value
    }
}
