import S3
import Foundation

/// The conditional request headers of GetObject/HeadObject (and the x-amz-copy-source-if-*
/// ones of CopyObject), evaluated in the order RFC 9110 §13.2.2 and S3 give them.
public struct Preconditions: Sendable {
    public var ifMatch: String?
    public var ifNoneMatch: String?
    public var ifModifiedSince: Date?
    public var ifUnmodifiedSince: Date?

    public init(headers: [String: String], prefix: String = "") {
        ifMatch = headers[prefix + "if-match"]
        ifNoneMatch = headers[prefix + "if-none-match"]
        ifModifiedSince = headers[prefix + "if-modified-since"].flatMap(S3Time.parseHTTPDate)
        ifUnmodifiedSince = headers[prefix + "if-unmodified-since"].flatMap(S3Time.parseHTTPDate)
    }

    public enum Outcome: Equatable { case proceed, notModified, preconditionFailed }

    static func matches(_ list: String, etag: String) -> Bool {
        list.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == "\"\(etag)\"" || tag == etag || tag == "W/\"\(etag)\""
        }
    }

    /// Last-Modified is compared at one-second resolution, as HTTP dates have.
    public func evaluate(etag: String, lastModified: Date) -> Outcome {
        let modified = lastModified.timeIntervalSince1970.rounded(.down)
        if let ifMatch {
            if !Self.matches(ifMatch, etag: etag) { return .preconditionFailed }
        } else if let ifUnmodifiedSince, modified > ifUnmodifiedSince.timeIntervalSince1970 {
            return .preconditionFailed
        }
        if let ifNoneMatch {
            if Self.matches(ifNoneMatch, etag: etag) { return .notModified }
        } else if let ifModifiedSince, modified <= ifModifiedSince.timeIntervalSince1970 {
            return .notModified
        }
        return .proceed
    }
}
