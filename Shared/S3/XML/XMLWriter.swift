import Foundation

/// Builds the XML documents S3 answers with. Elements are written in the order S3's
/// documentation lists them; text is escaped.
public struct XMLWriter: Sendable {
    public private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    public static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    public init() {}

    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for ch in value.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Opens the root element with S3's namespace.
    public mutating func root(_ name: String) { text += "<\(name) xmlns=\"\(Self.namespace)\">" }
    /// Appends markup that is already escaped.
    public mutating func raw(_ markup: String) { text += markup }
    public mutating func open(_ name: String) { text += "<\(name)>" }
    public mutating func close(_ name: String) { text += "</\(name)>" }

    public mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    public mutating func element(_ name: String, _ value: Int64) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }
    public mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }
    public mutating func element(_ name: String, _ value: Date) { element(name, S3Time.iso8601(value)) }

    public mutating func optional(_ name: String, _ value: String?) {
        if let value { element(name, value) }
    }

    public mutating func group(_ name: String, _ body: (inout XMLWriter) -> Void) {
        open(name)
        body(&self)
        close(name)
    }
}

/// The time formats of the S3 API.
public enum S3Time {
    /// "2009-10-12T17:50:30.000Z", used in XML bodies.
    public static func iso8601(_ date: Date) -> String {
        let c = utcComponents(date)
        let ms = Int((date.timeIntervalSince1970 * 1000).rounded()) % 1000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, (ms + 1000) % 1000)
    }

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "Wed, 12 Oct 2009 17:50:00 GMT", used in Last-Modified and conditional headers.
    public static func httpDate(_ date: Date) -> String {
        let c = utcComponents(date)
        return weekdays[c.weekday! - 1] + String(format: ", %02d ", c.day!) + months[c.month! - 1]
            + String(format: " %04d %02d:%02d:%02d GMT", c.year!, c.hour!, c.minute!, c.second!)
    }

    /// Parses an IMF-fixdate ("Wed, 12 Oct 2009 17:50:00 GMT"); nil if it is not one.
    public static func parseHTTPDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (year, month + 1, day)
        (components.hour, components.minute, components.second) = (time[0], time[1], time[2])
        return calendar.date(from: components)
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func utcComponents(_ date: Date) -> DateComponents {
        calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
    }
}
