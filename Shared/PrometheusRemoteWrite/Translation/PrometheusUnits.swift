/// UCUM unit → Prometheus unit word conversion for metric name suffixes and metadata.
///
/// OTel spec, "Metric Metadata" (OTLP → Prometheus): units in the table MUST become their
/// Prometheus word, `{...}` annotations MUST be dropped and rates (`X/Y`) MUST become
/// `X_per_Y`. The tables are the collector's (prometheus/otlptranslator `unitMap` and
/// `perUnitMap`); units not in them are kept as written and later escaped.
enum PrometheusUnits {
    static let mainUnits: [String: String] = [
        // Time
        "d": "days", "h": "hours", "min": "minutes", "s": "seconds",
        "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
        // Bytes
        "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
        "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
        "TBy": "terabytes",
        // SI
        "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
        // Misc: "1" (dimensionless) has no word; gauges get `_ratio` instead.
        "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
    ]

    /// The denominator of a rate is singular: `By/s` → `bytes_per_second`.
    static let perUnits: [String: String] = [
        "s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year",
    ]

    /// The two suffix parts of `unit` before escaping: the main word and `per_<word>`.
    /// Either may be empty (no unit, an annotation such as `{packet}`, or unit `1`).
    static func suffixes(of unit: String) -> (main: String, per: String) {
        let parts = unit.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var main = ""
        var per = ""
        if let first = parts.first {
            let text = trimmedSpace(first)
            if !text.isEmpty, !containsBrace(text) {
                main = mainUnits[text] ?? text
            }
        }
        if parts.count > 1, !parts[1].isEmpty {
            let text = trimmedSpace(parts[1])
            if !text.isEmpty, !containsBrace(text) {
                per = perUnits[text] ?? text
            }
            if !per.isEmpty { per = "per_" + per }
        }
        return (main, per)
    }

    /// Escapes a unit word for use in a metric name: characters other than `[a-zA-Z0-9:]`
    /// become `_`, runs of `_` collapse, and one leading `_` is removed.
    static func cleanUp(_ unit: String) -> String {
        var out = ""
        var previousWasUnderscore = false
        for scalar in unit.unicodeScalars {
            if scalar.isMetricNameCharacter {
                out.unicodeScalars.append(scalar)
                previousWasUnderscore = false
            } else if !previousWasUnderscore {
                out += "_"
                previousWasUnderscore = true
            }
        }
        if out.hasPrefix("_") { out.removeFirst() }
        return out
    }

    /// The Prometheus unit of a metric for metadata (`UNIT`): `s` → `seconds`,
    /// `By/s` → `bytes_per_second`, `1` → "" (otlptranslator `UnitNamer`).
    static func metadataUnit(_ unit: String) -> String {
        let (rawMain, rawPer) = suffixes(of: unit)
        let main = cleanUp(rawMain)
        let per = cleanUp(rawPer)
        var text: String
        switch (main.isEmpty, per.isEmpty) {
        case (false, false): text = main + "_" + per
        case (false, true): text = main
        default: text = per
        }
        if text.hasPrefix("_") { text.removeFirst() }
        if text.hasSuffix("_") { text.removeLast() }
        return text
    }

    private static func containsBrace(_ text: String) -> Bool {
        text.contains("{") || text.contains("}")
    }

    private static func trimmedSpace(_ text: Substring) -> String {
        let trimmed = text.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace })
        return String(trimmed.reversed())
    }
}
