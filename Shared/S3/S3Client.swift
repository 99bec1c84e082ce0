import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A small S3 client for Vigil's services (the log-store's chunks, the trace-store's
/// blocks): object PUT/GET/HEAD/DELETE, ListObjectsV2 and bucket creation against any
/// S3-compatible endpoint with path-style addressing, signed with SigV4.
///
/// Bodies are signed with their SHA-256 (`x-amz-content-sha256`), as the AWS SDKs do over
/// plain HTTP, so a body changed in transit is refused by the server; `unsignedPayload`
/// skips that hash for endpoints reached over TLS.
public struct S3Client: Sendable {
    public struct Credentials: Sendable {
        public var accessKeyID: String
        public var secretAccessKey: String

        public init(accessKeyID: String, secretAccessKey: String) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
        }
    }

    /// What HEAD and listings tell about an object.
    public struct ObjectInfo: Sendable, Equatable {
        public var key: String
        public var size: Int64
        /// Without the quotes S3 puts around it.
        public var etag: String
        public var lastModified: String?
    }

    /// One page of a listing; `nextContinuationToken` is nil on the last page.
    public struct ListPage: Sendable {
        public var objects: [ObjectInfo]
        public var commonPrefixes: [String]
        public var nextContinuationToken: String?
    }

    public let endpoint: URL
    public let region: String
    public let credentials: Credentials
    public let unsignedPayload: Bool
    public let timeout: TimeAmount
    let http: HTTPClient

    /// - Parameter endpoint: e.g. `http://127.0.0.1:3900`; buckets are addressed as its
    ///   first path segment.
    public init(endpoint: URL, region: String, credentials: Credentials, httpClient: HTTPClient = .shared,
                unsignedPayload: Bool = false, timeout: TimeAmount = .seconds(60)) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.http = httpClient
        self.unsignedPayload = unsignedPayload
        self.timeout = timeout
    }

    // MARK: Operations

    public func createBucket(_ bucket: String) async throws(S3ClientError) {
        _ = try await send("PUT", bucket: bucket, key: nil, expecting: [.ok])
    }

    /// Stores `body` under `key`; returns the object's ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, body: [UInt8], contentType: String? = nil) async throws(S3ClientError) -> String {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("content-type", contentType)) }
        let response = try await send("PUT", bucket: bucket, key: key, headers: headers, body: body, expecting: [.ok])
        return Self.unquoted(response.headers.first(name: "etag") ?? "")
    }

    /// The object's bytes, or the inclusive byte `range` of them.
    public func getObject(bucket: String, key: String, range: ClosedRange<Int64>? = nil) async throws(S3ClientError) -> [UInt8] {
        let headers = range.map { [("range", "bytes=\($0.lowerBound)-\($0.upperBound)")] } ?? []
        return try await send("GET", bucket: bucket, key: key, headers: headers, expecting: [.ok, .partialContent]).body
    }

    /// The object's size and ETag, or nil when there is no such object.
    public func headObject(bucket: String, key: String) async throws(S3ClientError) -> ObjectInfo? {
        let response = try await send("HEAD", bucket: bucket, key: key, expecting: [.ok, .notFound])
        guard response.status == .ok else { return nil }
        return ObjectInfo(key: key, size: Int64(response.headers.first(name: "content-length") ?? "") ?? 0,
                          etag: Self.unquoted(response.headers.first(name: "etag") ?? ""),
                          lastModified: response.headers.first(name: "last-modified"))
    }

    /// Deletes the object; deleting a missing object succeeds, as in S3.
    public func deleteObject(bucket: String, key: String) async throws(S3ClientError) {
        _ = try await send("DELETE", bucket: bucket, key: key, expecting: [.noContent, .ok])
    }

    /// One page of ListObjectsV2.
    public func listObjects(bucket: String, prefix: String = "", delimiter: String? = nil, maxKeys: Int = 1000,
                            continuationToken: String? = nil) async throws(S3ClientError) -> ListPage {
        var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(maxKeys))]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try await send("GET", bucket: bucket, key: nil, query: query, expecting: [.ok])
        do {
            return try S3ListingDocument.parse(response.body)
        } catch {
            throw .unexpectedResponse("ListObjectsV2 of \(bucket): \(error)")
        }
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAllObjects(bucket: String, prefix: String = "") async throws(S3ClientError) -> [ObjectInfo] {
        var all: [ObjectInfo] = []
        var token: String?
        repeat {
            let page = try await listObjects(bucket: bucket, prefix: prefix, continuationToken: token)
            all += page.objects
            token = page.nextContinuationToken
        } while token != nil
        return all
    }

    // MARK: Requests

    struct Response {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    /// Bodies of error responses and listings are small; object bodies may be large.
    static let maxResponseBytes = 1 << 30

    func send(_ method: String, bucket: String, key: String?, query: [(String, String)] = [],
              headers extra: [(String, String)] = [], body: [UInt8]? = nil,
              expecting expected: Set<HTTPResponseStatus>) async throws(S3ClientError) -> Response {
        let request = signedRequest(method, bucket: bucket, key: key, query: query, headers: extra, body: body, date: Date())
        let response: HTTPClientResponse
        var bytes: [UInt8] = []
        do {
            response = try await http.execute(request, timeout: timeout)
            if method != "HEAD" {
                bytes = Array(buffer: try await response.body.collect(upTo: Self.maxResponseBytes))
            }
        } catch {
            throw .transport("\(method) \(endpoint)/\(bucket)/\(key ?? ""): \(error)")
        }
        guard expected.contains(response.status) else {
            throw S3ClientError.fromResponse(status: response.status.code, body: bytes,
                                             operation: "\(method) /\(bucket)/\(key ?? "")")
        }
        return Response(status: response.status, headers: response.headers, body: bytes)
    }

    /// The request with its SigV4 `Authorization` header, signed for `date`; for callers
    /// that stream their own bodies (with `unsignedPayload`, `body` only sets the request body).
    public func signedRequest(_ method: String, bucket: String, key: String?, query: [(String, String)] = [],
                              headers extra: [(String, String)] = [], body: [UInt8]? = nil, date: Date = Date()) -> HTTPClientRequest {
        let basePath = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
        let path = basePath + "/" + SigV4.uriEncode(bucket, keepSlash: false)
            + (key.map { "/" + SigV4.uriEncode($0, keepSlash: true) } ?? "")
        let amzDate = SigV4.formatAmzDate(date)
        let scope = SigV4.Scope(date: String(amzDate.prefix(8)), region: region, service: "s3")
        let payloadHash = unsignedPayload ? "UNSIGNED-PAYLOAD" : SigV4.hex(SHA256.hash(data: body ?? []))
        var host = endpoint.host ?? "localhost"
        if let port = endpoint.port { host += ":\(port)" }
        var signed: [String: String] = ["host": host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate]
        for (name, value) in extra { signed[name.lowercased()] = value }
        let names = signed.keys.sorted()
        let canonicalQuery = SigV4.canonicalQuery(query)
        let canonical = SigV4.canonicalRequest(method: method, canonicalURI: path, canonicalQuery: canonicalQuery,
                                               headers: signed, signedHeaders: names, payloadHash: payloadHash)
        let signature = SigV4.signature(
            key: SigV4.signingKey(secret: credentials.secretAccessKey, scope: scope),
            stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, hashedPayload: SigV4.sha256Hex(canonical)))

        var origin = endpoint.absoluteString
        if !endpoint.path.isEmpty, let range = origin.range(of: endpoint.path, options: .backwards) {
            origin.removeSubrange(range.lowerBound...)
        }
        var request = HTTPClientRequest(url: origin + path + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery))
        request.method = HTTPMethod(rawValue: method)
        for name in names where name != "host" { request.headers.add(name: name, value: signed[name]!) }
        request.headers.add(name: "authorization", value: "\(SigV4.algorithm) Credential=\(credentials.accessKeyID)/\(scope.string), "
                            + "SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    static func unquoted(_ etag: String) -> String {
        etag.count >= 2 && etag.hasPrefix("\"") && etag.hasSuffix("\"") ? String(etag.dropFirst().dropLast()) : etag
    }
}
