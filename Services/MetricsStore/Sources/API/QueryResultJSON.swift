/// Writes query results in the Prometheus HTTP API's JSON, by hand: timestamps as
/// seconds with up to three decimals (`1435781451.781`, `1435781451`), values as strings
/// in Go's 'f' formatting, strings escaped as Go's encoder does (HTML-safe). Large
/// matrices are written straight into one buffer, without an intermediate object tree.
struct QueryResultJSON {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// `{"status":"success","data":{"resultType":…,"result":…},"warnings":[…],"infos":[…]}`
    static func success(_ result: PromQLQueryResult, warnings: [String], infos: [String], stats: String? = nil) -> [UInt8] {
        var json = QueryResultJSON(capacity: Self.estimate(result.value))
        json.raw("{\"status\":\"success\",\"data\":{")
        json.value(result.value)
        if let stats { json.raw(",\"stats\":" + stats) }
        json.raw("}")
        if !warnings.isEmpty {
            json.raw(",\"warnings\":")
            json.strings(warnings)
        }
        if !infos.isEmpty {
            json.raw(",\"infos\":")
            json.strings(infos)
        }
        json.raw("}")
        return json.bytes
    }

    /// `"resultType":"…","result":…`
    mutating func value(_ value: PromQLValue) {
        switch value {
        case .vector(let samples):
            raw("\"resultType\":\"vector\",\"result\":[")
            for (index, sample) in samples.enumerated() {
                if index > 0 { raw(",") }
                raw("{\"metric\":")
                labels(sample.labels)
                raw(",\"value\":")
                point(sample.timestamp, sample.value)
                raw("}")
            }
            raw("]")
        case .matrix(let series):
            raw("\"resultType\":\"matrix\",\"result\":[")
            for (index, entry) in series.enumerated() {
                if index > 0 { raw(",") }
                raw("{\"metric\":")
                labels(entry.labels)
                raw(",\"values\":[")
                for (i, p) in entry.points.enumerated() {
                    if i > 0 { raw(",") }
                    point(p.timestamp, p.value)
                }
                raw("]}")
            }
            raw("]")
        case .scalar(let t, let v):
            raw("\"resultType\":\"scalar\",\"result\":")
            point(t, v)
        case .string(let t, let s):
            raw("\"resultType\":\"string\",\"result\":[")
            timestamp(t)
            raw(",")
            string(s)
            raw("]")
        }
    }

    mutating func labels(_ labels: Labels) {
        raw("{")
        for (index, label) in labels.enumerated() {
            if index > 0 { raw(",") }
            string(label.name)
            raw(":")
            string(label.value)
        }
        raw("}")
    }

    mutating func point(_ t: Int64, _ v: Double) {
        raw("[")
        timestamp(t)
        raw(",\"")
        raw(PrometheusNumber.format(v))
        raw("\"]")
    }

    /// Milliseconds as seconds: the fraction always has three digits when present, as
    /// Prometheus writes it.
    mutating func timestamp(_ t: Int64) {
        var ms = t
        if ms < 0 {
            raw("-")
            ms = 0 &- ms
        }
        raw(String(ms / 1000))
        let fraction = ms % 1000
        if fraction != 0 {
            raw(".")
            if fraction < 100 { raw("0") }
            if fraction < 10 { raw("0") }
            raw(String(fraction))
        }
    }

    mutating func strings(_ list: [String]) {
        raw("[")
        for (index, s) in list.enumerated() {
            if index > 0 { raw(",") }
            string(s)
        }
        raw("]")
    }

    /// A JSON string as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029
    /// escaped too.
    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": raw("\\\"")
            case "\\": raw("\\\\")
            case "\n": raw("\\n")
            case "\r": raw("\\r")
            case "\t": raw("\\t")
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 {
                    unicodeEscape(scalar.value)
                } else {
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func unicodeEscape(_ value: UInt32) {
        let hex = Array("0123456789abcdef".utf8)
        raw("\\u")
        for shift in stride(from: 12, through: 0, by: -4) {
            bytes.append(hex[Int((value >> UInt32(shift)) & 0xF)])
        }
    }

    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private static func estimate(_ value: PromQLValue) -> Int {
        switch value {
        case .vector(let samples): return 64 + samples.count * 128
        case .matrix(let series): return 64 + series.reduce(0) { $0 + 96 + $1.points.count * 24 }
        default: return 128
        }
    }
}
