import HTTPTypes

/// An error answered as S3 does: an XML `<Error>` body with Code, Message, Resource and
/// RequestId, and the status S3 uses for that code
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
public struct S3Error: Error, CustomStringConvertible, Equatable {
    public var code: String
    public var message: String
    public var status: HTTPResponse.Status
    public var resource: String?

    public init(_ code: String, _ message: String, status: HTTPResponse.Status, resource: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.resource = resource
    }

    public var description: String { "\(code): \(message)" }

    public static func accessDenied(_ message: String = "Access Denied") -> S3Error { .init("AccessDenied", message, status: .forbidden) }
    public static func malformedXML(_ message: String = "The XML you provided was not well-formed or did not validate against our published schema") -> S3Error {
        .init("MalformedXML", message, status: .badRequest)
    }
    public static func invalidArgument(_ message: String) -> S3Error { .init("InvalidArgument", message, status: .badRequest) }
    public static func invalidRequest(_ message: String) -> S3Error { .init("InvalidRequest", message, status: .badRequest) }
    public static func notImplemented(_ what: String) -> S3Error {
        .init("NotImplemented", "\(what) is not implemented by this server", status: .init(code: 501))
    }
    public static let invalidRange = S3Error("InvalidRange", "The requested range is not satisfiable", status: .init(code: 416))
    public static let preconditionFailed = S3Error("PreconditionFailed", "At least one of the preconditions you specified did not hold", status: .init(code: 412))
    public static let badDigest = S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.", status: .badRequest)
    public static let signatureDoesNotMatch = S3Error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        status: .forbidden)

    /// The S3 code and status for a storage-layer refusal.
    public init(_ error: StoreError) {
        let message = error.description
        switch error {
        case .noSuchBucket: self.init("NoSuchBucket", message, status: .notFound)
        case .bucketAlreadyExists: self.init("BucketAlreadyExists", message, status: .conflict)
        case .bucketAlreadyOwnedByYou: self.init("BucketAlreadyOwnedByYou", message, status: .conflict)
        case .bucketNotEmpty: self.init("BucketNotEmpty", message, status: .conflict)
        case .invalidBucketName: self.init("InvalidBucketName", message, status: .badRequest)
        case .noSuchKey: self.init("NoSuchKey", message, status: .notFound)
        case .noSuchUpload: self.init("NoSuchUpload", message, status: .notFound)
        case .invalidPart: self.init("InvalidPart", message, status: .badRequest)
        case .invalidPartOrder: self.init("InvalidPartOrder", message, status: .badRequest)
        case .entityTooSmall: self.init("EntityTooSmall", message, status: .badRequest)
        case .noSuchAccessKey: self.init("InvalidAccessKeyId", message, status: .forbidden)
        case .ambiguousAccessKey: self.init("InvalidAccessKeyId", message, status: .forbidden)
        case .corruptData: self.init("InternalError", message, status: .internalServerError)
        case .invalidArgument: self.init("InvalidArgument", message, status: .badRequest)
        }
    }
}
