#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Numbers in exposition bodies: sample values, timestamps, and the float formatting that
/// Prometheus applies to `le` and `quantile` label values.
enum ExpositionNumber {
    enum FloatResult {
        case value(Double)
        case invalidSyntax
        case outOfRange
    }

    /// Prometheus's NaN (`value.NormalNaN`): every NaN a target exposes becomes this one,
    /// so that none can collide with the staleness marker `0x7ff0000000000002`.
    static let normalNaN = Double(bitPattern: 0x7FF8_0000_0000_0001)

    /// Parses a value the way Prometheus does: Go's `strconv.ParseFloat` with underscores
    /// and hexadecimal floats rejected (`textparse.parseFloat`). Hexadecimal without a `p`
    /// exponent is invalid in Go too, so no hex form is accepted at all. Accepted: an
    /// optional sign, decimal digits with at most one `.`, an optional `e`/`E` exponent;
    /// `inf`/`infinity` with an optional sign and `nan` without one, in any letter case.
    /// A finite literal too large for a Double is an error, as in Go.
    static func parseFloat(_ token: UnsafeBufferPointer<UInt8>) -> FloatResult {
        let count = token.count
        guard count > 0 else { return .invalidSyntax }
        var index = 0
        var negative = false
        if token[0] == UInt8(ascii: "+") || token[0] == UInt8(ascii: "-") {
            negative = token[0] == UInt8(ascii: "-")
            index = 1
        }
        guard index < count else { return .invalidSyntax }
        let lead = token[index] | 0x20
        if lead == UInt8(ascii: "i") {
            let rest = UnsafeBufferPointer(rebasing: token[index...])
            guard matchesIgnoringCase(rest, "inf") || matchesIgnoringCase(rest, "infinity") else { return .invalidSyntax }
            return .value(negative ? -.infinity : .infinity)
        }
        if lead == UInt8(ascii: "n") {
            // Go's ParseFloat takes no sign before NaN.
            guard index == 0, matchesIgnoringCase(token, "nan") else { return .invalidSyntax }
            return .value(normalNaN)
        }
        return parseDecimal(token, from: index, negative: negative)
    }

    /// The decimal grammar; exact conversions of short literals are done here (Clinger's
    /// fast path), everything else goes to `strtod`, which rounds correctly.
    private static func parseDecimal(_ token: UnsafeBufferPointer<UInt8>, from start: Int, negative: Bool) -> FloatResult {
        let count = token.count
        var index = start
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var sawDigit = false
        var sawDot = false
        var truncated = false
        while index < count {
            let byte = token[index]
            if byte &- UInt8(ascii: "0") < 10 {
                sawDigit = true
                let digit = UInt64(byte &- UInt8(ascii: "0"))
                if mantissa == 0 && digit == 0 {
                    if sawDot { exponent -= 1 }
                } else if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ digit
                    significantDigits += 1
                    if sawDot { exponent -= 1 }
                } else {
                    truncated = true
                    if !sawDot { exponent += 1 }
                }
            } else if byte == UInt8(ascii: ".") {
                if sawDot { return .invalidSyntax }
                sawDot = true
            } else {
                break
            }
            index += 1
        }
        guard sawDigit else { return .invalidSyntax }
        if index < count {
            guard token[index] | 0x20 == UInt8(ascii: "e") else { return .invalidSyntax }
            guard let written = parseExponent(token, from: index + 1) else { return .invalidSyntax }
            exponent += written
        }
        if !truncated, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return .value(negative ? -value : value)
        }
        return convertWithStrtod(token)
    }

    /// The digits after `e`, with an optional sign; clamped, since anything past ±100000
    /// is zero or infinity anyway.
    private static func parseExponent(_ token: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        var negative = false
        if index < token.count, token[index] == UInt8(ascii: "+") || token[index] == UInt8(ascii: "-") {
            negative = token[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < token.count else { return nil }
        var value = 0
        while index < token.count {
            let digit = token[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            if value < 100_000 { value = value * 10 + Int(digit) }
            index += 1
        }
        return negative ? -value : value
    }

    private static func convertWithStrtod(_ token: UnsafeBufferPointer<UInt8>) -> FloatResult {
        let value = withUnsafeTemporaryAllocation(of: CChar.self, capacity: token.count + 1) { buffer -> Double in
            for index in 0..<token.count { buffer[index] = CChar(bitPattern: token[index]) }
            buffer[token.count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
        // The token was checked to be a finite decimal literal, so infinity means overflow.
        return value.isInfinite ? .outOfRange : .value(value)
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    private static func matchesIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        guard bytes.count == word.utf8CodeUnitCount else { return false }
        let expected = word.utf8Start
        for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] {
            return false
        }
        return true
    }

    // MARK: Timestamps

    /// The Prometheus text format's timestamp: decimal digits only (no sign), milliseconds.
    static func parseMilliseconds(_ token: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !token.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in token {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    /// OpenMetrics timestamps are seconds as a float; Prometheus keeps milliseconds,
    /// truncated toward zero (`int64(ts * 1000)`), so we multiply the same way to agree
    /// to the millisecond. Nil for NaN, infinities and values beyond the Int64 range.
    static func milliseconds(fromSeconds seconds: Double) -> Int64? {
        let milliseconds = seconds * 1000
        guard milliseconds.isFinite, milliseconds > -9.2e18, milliseconds < 9.2e18 else { return nil }
        return Int64(milliseconds)
    }

    // MARK: Formatting

    /// Prometheus's `FormatOpenMetricsFloat`: Go's shortest `%g` form (exponent when it is
    /// below -4 or at least 6, written with a sign and two or more digits), with `.0`
    /// appended when that form has neither a point nor an exponent; `+Inf`, `-Inf`, `NaN`.
    /// Prometheus rewrites `le` and `quantile` label values this way, so `le="1"` and
    /// `le="1.0"` are one series.
    static func openMetricsText(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == 0 { return "0.0" }  // -0 too: Go's `f == 0` holds for it
        let (digits, pointPosition) = shortestDigits(of: value.magnitude)
        var out = value < 0 ? "-" : ""
        let decimalExponent = pointPosition - 1
        if decimalExponent < -4 || decimalExponent >= 6 {
            out.unicodeScalars.append(Unicode.Scalar(digits[0]))
            if digits.count > 1 {
                out += "."
                for digit in digits.dropFirst() { out.unicodeScalars.append(Unicode.Scalar(digit)) }
            }
            out += decimalExponent < 0 ? "e-" : "e+"
            let magnitude = abs(decimalExponent)
            if magnitude < 10 { out += "0" }
            out += String(magnitude)
            return out
        }
        if pointPosition <= 0 {
            out += "0." + String(repeating: "0", count: -pointPosition)
            for digit in digits { out.unicodeScalars.append(Unicode.Scalar(digit)) }
            return out
        }
        for (index, digit) in digits.enumerated() {
            if index == pointPosition { out += "." }
            out.unicodeScalars.append(Unicode.Scalar(digit))
        }
        if digits.count > pointPosition {
            return out
        }
        out += String(repeating: "0", count: pointPosition - digits.count)
        return out + ".0"
    }

    /// The shortest round-tripping decimal digits of a positive finite value (Swift's
    /// `description` computes them) and where the decimal point goes: value =
    /// 0.d1d2d3... × 10^pointPosition.
    private static func shortestDigits(of value: Double) -> (digits: [UInt8], pointPosition: Int) {
        let text = Array(value.description.utf8)
        var digits: [UInt8] = []
        var pointPosition: Int?
        var exponent = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(index + 1)...], as: UTF8.self)) ?? 0
                break
            } else {
                digits.append(byte)
            }
            index += 1
        }
        var point = (pointPosition ?? digits.count) + exponent
        while let first = digits.first, first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0") {
            digits.removeLast()
        }
        return (digits, point)
    }
}
