import S3
import Crypto
import Foundation

/// How the request body is protected, from `x-amz-content-sha256` (or a presigned URL).
public enum PayloadSigning: Sendable, Equatable {
    /// The body's SHA-256 in hex, to be checked once the body has been read.
    case sha256(String)
    case unsigned
    /// aws-chunked with a signature per chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), and
    /// optionally signed trailers (…-PAYLOAD-TRAILER).
    case streamingSigned(trailer: Bool)
    /// aws-chunked without chunk signatures, trailers carry checksums (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
    case streamingUnsignedTrailer

    init(header: String) throws(S3Error) {
        switch header {
        case "UNSIGNED-PAYLOAD": self = .unsigned
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": self = .streamingSigned(trailer: false)
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": self = .streamingSigned(trailer: true)
        case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": self = .streamingUnsignedTrailer
        default:
            guard header.utf8.count == 64, header.allSatisfy(\.isHexDigit) else {
                throw S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or a SHA-256 in hex", status: .badRequest)
            }
            self = .sha256(header.lowercased())
        }
    }

    public var isChunked: Bool {
        switch self {
        case .streamingSigned, .streamingUnsignedTrailer: true
        default: false
        }
    }
}

/// A request whose signature has been verified: the key it was made with, and what is
/// needed to verify the body (chunk signatures chain from `seedSignature`).
public struct Authentication: Sendable {
    public var key: AccessKey
    public var payload: PayloadSigning
    public var signingKey: SymmetricKey
    public var scope: SigV4.Scope
    public var amzDate: String
    public var seedSignature: String
}

/// What the authenticator needs from an HTTP request.
public struct SignedRequest: Sendable {
    public var method: String
    /// The path as sent, still percent-encoded.
    public var rawPath: String
    /// Query parameters, decoded, in the order sent.
    public var query: [(String, String)]
    /// Lower-case header names; repeated headers joined with ','.
    public var headers: [String: String]

    public init(method: String, rawPath: String, query: [(String, String)], headers: [String: String]) {
        self.method = method
        self.rawPath = rawPath
        self.query = query
        self.headers = headers
    }

    public func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// SigV4's canonical URI for S3: each segment decoded then re-encoded (no double encoding).
    public var canonicalURI: String {
        rawPath.split(separator: "/", omittingEmptySubsequences: false)
            .map { SigV4.uriEncode(SigV4.percentDecode($0), keepSlash: false) }
            .joined(separator: "/")
    }
}

/// Verifies AWS SigV4 on S3 requests, in the Authorization header or in a presigned URL's
/// query (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html).
public struct RequestAuthenticator: Sendable {
    public var region: String
    /// How far a header-signed request's date may be from now (S3 allows 15 minutes).
    public var allowedSkew: TimeInterval = 15 * 60
    let lookup: @Sendable (String) async throws -> AccessKey?

    public init(region: String, lookup: @escaping @Sendable (String) async throws -> AccessKey?) {
        self.region = region
        self.lookup = lookup
    }

    /// Nil for an anonymous request (no Authorization header, no X-Amz-Signature).
    public func authenticate(_ request: SignedRequest, now: Date = Date()) async throws -> Authentication? {
        if let header = request.headers["authorization"] {
            return try await authenticateHeader(header, request, now: now)
        }
        if request.queryValue("X-Amz-Signature") != nil || request.queryValue("X-Amz-Credential") != nil {
            return try await authenticatePresigned(request, now: now)
        }
        if request.queryValue("Signature") != nil {
            throw S3Error.invalidRequest("Signature Version 2 is not supported; use AWS Signature Version 4")
        }
        return nil
    }

    private func authenticateHeader(_ header: String, _ request: SignedRequest, now: Date) async throws -> Authentication {
        guard header.hasPrefix(SigV4.algorithm + " ") else {
            throw S3Error.invalidRequest("Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported")
        }
        var fields: [String: String] = [:]
        for part in header.dropFirst(SigV4.algorithm.count + 1).split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let eq = trimmed.firstIndex(of: "=") else { continue }
            fields[String(trimmed[..<eq])] = String(trimmed[trimmed.index(after: eq)...])
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"] else {
            throw S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed; it needs Credential, SignedHeaders and Signature", status: .badRequest)
        }
        guard let amzDate = request.headers["x-amz-date"] ?? request.headers["date"], let date = SigV4.parseAmzDate(amzDate) else {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header")
        }
        guard abs(date.timeIntervalSince(now)) <= allowedSkew else {
            throw S3Error("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.", status: .forbidden)
        }
        guard let contentHash = request.headers["x-amz-content-sha256"] else {
            throw S3Error.invalidRequest("Missing required header for this request: x-amz-content-sha256")
        }
        let payload = try PayloadSigning(header: contentHash)
        return try await verify(request: request, credential: credential, signedHeaders: signedHeaders, signature: signature,
                                amzDate: amzDate, payloadHash: contentHash, payload: payload, query: request.query)
    }

    private func authenticatePresigned(_ request: SignedRequest, now: Date) async throws -> Authentication {
        guard request.queryValue("X-Amz-Algorithm") == SigV4.algorithm else {
            throw S3Error.invalidRequest("X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        }
        guard let credential = request.queryValue("X-Amz-Credential"), let signedHeaders = request.queryValue("X-Amz-SignedHeaders"),
              let signature = request.queryValue("X-Amz-Signature"), let amzDate = request.queryValue("X-Amz-Date"),
              let date = SigV4.parseAmzDate(amzDate) else {
            throw S3Error.accessDenied("Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        }
        guard let expiresText = request.queryValue("X-Amz-Expires"), let expires = Int(expiresText), (1...604_800).contains(expires) else {
            throw S3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds between 1 and 604800", status: .badRequest)
        }
        let payloadHash = request.queryValue("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD"
        let payload = try PayloadSigning(header: payloadHash)
        let query = request.query.filter { $0.0 != "X-Amz-Signature" }
        let auth = try await verify(request: request, credential: credential, signedHeaders: signedHeaders, signature: signature,
                                    amzDate: amzDate, payloadHash: payloadHash, payload: payload, query: query)
        if now > date.addingTimeInterval(TimeInterval(expires)) {
            throw S3Error.accessDenied("Request has expired")
        }
        if date.timeIntervalSince(now) > allowedSkew {
            throw S3Error.accessDenied("Request is not valid yet")
        }
        return auth
    }

    private func verify(request: SignedRequest, credential: String, signedHeaders: String, signature: String, amzDate: String,
                        payloadHash: String, payload: PayloadSigning, query: [(String, String)]) async throws -> Authentication {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[4] == "aws4_request" else {
            throw S3Error("AuthorizationHeaderMalformed", "The credential \(credential) is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"", status: .badRequest)
        }
        let scope = SigV4.Scope(date: parts[1], region: parts[2], service: parts[3])
        guard scope.region == region else {
            throw S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed; the region '\(scope.region)' is wrong; expecting '\(region)'", status: .badRequest)
        }
        guard amzDate.hasPrefix(scope.date) else {
            throw S3Error("AuthorizationHeaderMalformed", "The credential date \(scope.date) does not match the request date \(amzDate)", status: .badRequest)
        }
        let names = signedHeaders.split(separator: ";").map { String($0).lowercased() }
        guard names.contains("host") else {
            throw S3Error("AuthorizationHeaderMalformed", "SignedHeaders must include host", status: .badRequest)
        }
        guard let key = try await lookup(parts[0]) else {
            throw S3Error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", status: .forbidden)
        }
        let canonical = SigV4.canonicalRequest(method: request.method, canonicalURI: request.canonicalURI,
                                               canonicalQuery: SigV4.canonicalQuery(query), headers: request.headers,
                                               signedHeaders: names, payloadHash: payloadHash)
        let stringToSign = SigV4.stringToSign(amzDate: amzDate, scope: scope, hashedPayload: SigV4.sha256Hex(canonical))
        let signingKey = SigV4.signingKey(secret: key.secret, scope: scope)
        let expected = SigV4.signature(key: signingKey, stringToSign: stringToSign)
        guard SigV4.constantTimeEquals(expected, signature.lowercased()) else { throw S3Error.signatureDoesNotMatch }
        return Authentication(key: key, payload: payload, signingKey: signingKey, scope: scope, amzDate: amzDate, seedSignature: expected)
    }
}
