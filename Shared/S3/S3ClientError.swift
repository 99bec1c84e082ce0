/// Why an `S3Client` call failed, with what the server said when it answered.
public enum S3ClientError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The server answered with an S3 error document (or at least a status): `code` is
    /// S3's (`NoSuchBucket`, `AccessDenied`, `SignatureDoesNotMatch`, …), or `HTTP <status>`
    /// when the body carried none.
    case server(status: UInt, code: String, message: String, operation: String)
    /// No answer: connection refused, timeout, a body larger than the client accepts.
    case transport(String)
    /// An answer that is not what S3 sends (e.g. a listing that is not XML).
    case unexpectedResponse(String)

    public var description: String {
        switch self {
        case .server(let status, let code, let message, let operation):
            "\(operation): \(code) (HTTP \(status))" + (message.isEmpty ? "" : ": \(message)")
        case .transport(let detail): "S3 request failed: \(detail)"
        case .unexpectedResponse(let detail): "unexpected S3 response: \(detail)"
        }
    }

    /// S3's error code, when the server sent one.
    public var code: String? {
        if case .server(_, let code, _, _) = self { return code }
        return nil
    }

    static func fromResponse(status: UInt, body: [UInt8], operation: String) -> S3ClientError {
        if let document = try? XMLNode.parse(body), document.name == "Error" {
            return .server(status: status, code: document.child("Code")?.text ?? "HTTP \(status)",
                           message: document.child("Message")?.text ?? "", operation: operation)
        }
        // HEAD responses and some proxies carry no body.
        let code = status == 404 ? "NotFound" : status == 403 ? "AccessDenied" : "HTTP \(status)"
        return .server(status: status, code: code, message: "", operation: operation)
    }
}

/// The `ListBucketResult` document of ListObjectsV2.
enum S3ListingDocument {
    static func parse(_ body: [UInt8]) throws -> S3Client.ListPage {
        let document = try XMLNode.parse(body)
        guard document.name == "ListBucketResult" else {
            throw S3ClientError.unexpectedResponse("root element \(document.name), expected ListBucketResult")
        }
        let objects = document.children("Contents").map { entry in
            S3Client.ObjectInfo(key: entry.child("Key")?.text ?? "", size: Int64(entry.child("Size")?.text ?? "") ?? 0,
                                etag: S3Client.unquoted(entry.child("ETag")?.text ?? ""),
                                lastModified: entry.child("LastModified")?.text)
        }
        let prefixes = document.children("CommonPrefixes").compactMap { $0.child("Prefix")?.text }
        let truncated = document.child("IsTruncated")?.text == "true"
        return S3Client.ListPage(objects: objects, commonPrefixes: prefixes,
                                 nextContinuationToken: truncated ? document.child("NextContinuationToken")?.text : nil)
    }
}
