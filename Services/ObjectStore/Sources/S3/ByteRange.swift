/// A `Range: bytes=…` request header (RFC 9110 §14.1.2) resolved against an object size.
/// S3 serves a single range; a header it cannot parse is ignored (the whole object is
/// sent), one that parses but starts past the end is `InvalidRange` (416).
public enum ByteRange: Equatable, Sendable {
    case fromTo(Int64, Int64?)
    case suffix(Int64)

    /// Nil when the header is absent or not a single well-formed byte range.
    public init?(header: String?) {
        guard let header else { return nil }
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("bytes="), !text.contains(",") else { return nil }
        let spec = text.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int64(last), n >= 0 else { return nil }
            self = .suffix(n)
        } else {
            guard let start = Int64(first), start >= 0 else { return nil }
            if last.isEmpty {
                self = .fromTo(start, nil)
            } else {
                guard let end = Int64(last), end >= start else { return nil }
                self = .fromTo(start, end)
            }
        }
    }

    /// The inclusive byte positions to send, or `S3Error.invalidRange`.
    public func resolve(size: Int64) throws(S3Error) -> ClosedRange<Int64> {
        switch self {
        case .fromTo(let start, let end):
            guard start < size else { throw S3Error.invalidRange }
            return start...min(end ?? size - 1, size - 1)
        case .suffix(let n):
            guard n > 0, size > 0 else { throw S3Error.invalidRange }
            return max(0, size - n)...(size - 1)
        }
    }
}
