import Foundation

/// An alert as Alertmanager's API v2 takes it (`postableAlert` in its OpenAPI spec):
/// `POST /api/v2/alerts` with a JSON array of these. Times are Unix milliseconds here and
/// RFC 3339 on the wire.
public struct NotifierAlert: Sendable, Equatable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Int64?
    public var endsAt: Int64?
    public var generatorURL: String

    public init(labels: [String: String], annotations: [String: String], startsAt: Int64?, endsAt: Int64?, generatorURL: String) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
    }
}

extension NotifierAlert: Encodable {
    enum CodingKeys: String, CodingKey { case labels, annotations, startsAt, endsAt, generatorURL }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(labels, forKey: .labels)
        try c.encode(annotations, forKey: .annotations)
        if let startsAt { try c.encode(Self.rfc3339(startsAt), forKey: .startsAt) }
        if let endsAt { try c.encode(Self.rfc3339(endsAt), forKey: .endsAt) }
        try c.encode(generatorURL, forKey: .generatorURL)
    }

    /// `2026-11-26T10:00:00.123Z`, the form Go's time.Time marshals to (UTC).
    static func rfc3339(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// Where the rule manager hands alerts that need sending; the `Notifier` conforms.
public protocol AlertSender: Sendable {
    func send(_ alerts: [NotifierAlert]) async
}
