import S3
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The S3 HTTP API: decodes each request into an `S3Request`, verifies its signature,
/// checks the key's permission on the bucket, dispatches on method, path and query to the
/// operation, and maps every failure to S3's XML error body in one place (`errorResponse`).
/// Operations live in `S3API+Buckets.swift`, `+Objects`, `+ObjectReads`, `+Listing` and `+Multipart`.
public struct S3API: HTTPResponder {
    public typealias Context = BasicRequestContext

    public let metadata: MetadataStore
    public let data: ObjectDataStore
    public let region: String
    public let rootDomain: String?
    let authenticator: RequestAuthenticator
    let logger: Logger
    let metrics = S3Metrics()
    let uploadSlots: UploadSlots
    /// Set on a node that may join a cluster; objects go through it while a multi-node
    /// layout is applied (see `S3API+Storage.swift`).
    let cluster: ReplicatedObjects?

    public init(metadata: MetadataStore, data: ObjectDataStore, region: String, rootDomain: String?,
                maxConcurrentUploads: Int = 256, cluster: ReplicatedObjects? = nil, logger: Logger) {
        self.cluster = cluster
        self.uploadSlots = UploadSlots(limit: maxConcurrentUploads)
        self.metadata = metadata
        self.data = data
        self.region = region
        self.rootDomain = rootDomain
        self.logger = logger
        self.authenticator = RequestAuthenticator(region: region) { id in try await metadata.key(id: id) }
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let requestID = randomHex(bytes: 8).uppercased()
        var headers = S3Request.headerDictionary(request.headers)
        if let authority = request.head.authority { headers["host"] = authority }
        let s3 = S3Request(method: request.method.rawValue, rawPath: request.uri.path, rawQuery: request.uri.query,
                           headers: headers, rootDomain: rootDomain)
        var response: Response
        do {
            let auth = try await authenticator.authenticate(s3.signed)
            guard let auth else { throw S3Error.accessDenied("Anonymous access is not allowed; sign the request with an access key") }
            response = try await route(s3, auth: auth, body: request.body)
        } catch let error as S3Error {
            response = errorResponse(error, request: s3, requestID: requestID)
        } catch let error as QuorumError {
            logger.warning("request failed", metadata: ["error": "\(error)", "resource": "\(s3.resource)"])
            response = errorResponse(S3Error("ServiceUnavailable", "Too few nodes of the cluster answered: \(error)", status: .serviceUnavailable),
                                     request: s3, requestID: requestID)
        } catch let error as StoreError {
            if case .corruptData = error { logger.error("corrupt data", metadata: ["error": "\(error)", "resource": "\(s3.resource)"]) }
            response = errorResponse(S3Error(error), request: s3, requestID: requestID)
        } catch {
            logger.error("request failed", metadata: ["error": "\(error)", "method": "\(s3.method)", "resource": "\(s3.resource)"])
            response = errorResponse(S3Error("InternalError", "We encountered an internal error. Please try again. (\(error))", status: .internalServerError),
                                     request: s3, requestID: requestID)
        }
        response.headers[.init("x-amz-request-id")!] = requestID
        response.headers[.init("x-amz-id-2")!] = requestID
        let elapsed = ContinuousClock.now - started
        metrics.record(operation: S3Operation.name(of: s3), status: response.status.code,
                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return response
    }

    func errorResponse(_ error: S3Error, request: S3Request, requestID: String) -> Response {
        var headers = HTTPFields()
        // HEAD responses carry no body, so S3 has no code to send; the status says it.
        if request.method == "HEAD" { return Response(status: error.status, headers: headers) }
        var xml = XMLWriter()
        xml.open("Error")
        xml.element("Code", error.code)
        xml.element("Message", error.message)
        xml.element("Resource", error.resource ?? request.resource)
        if let bucket = request.bucket { xml.element("BucketName", bucket) }
        if error.code == "NoSuchKey", let key = request.key { xml.element("Key", key) }
        xml.element("RequestId", requestID)
        xml.close("Error")
        headers[.contentType] = "application/xml"
        if error.status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: xml.text)))
    }

    static func xml(_ writer: XMLWriter, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/xml"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: writer.text)))
    }

    // MARK: routing

    func route(_ request: S3Request, auth: Authentication, body: RequestBody) async throws -> Response {
        guard let bucket = request.bucket else {
            guard request.method == "GET" else { throw S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", status: .methodNotAllowed) }
            return try await listBuckets(auth: auth)
        }
        guard let key = request.key else { return try await routeBucket(request, bucket: bucket, auth: auth, body: body) }
        return try await routeObject(request, bucket: bucket, key: key, auth: auth, body: body)
    }

    /// Bucket sub-resources this server does not implement are refused by name rather than
    /// being mistaken for a listing or a create.
    static let unsupportedBucketSubresources = [
        "policy", "acl", "cors", "lifecycle", "website", "tagging", "replication", "encryption", "object-lock",
        "notification", "logging", "requestPayment", "accelerate", "analytics", "inventory", "metrics",
        "ownershipControls", "publicAccessBlock", "intelligent-tiering", "versions",
    ]

    func routeBucket(_ request: S3Request, bucket: String, auth: Authentication, body: RequestBody) async throws -> Response {
        if let sub = Self.unsupportedBucketSubresources.first(where: request.has) {
            throw S3Error.notImplemented("The bucket sub-resource ?\(sub)")
        }
        switch request.method {
        case "PUT":
            if request.has("versioning") { throw S3Error.notImplemented("Bucket versioning") }
            return try await createBucket(bucket, request: request, auth: auth, body: body)
        case "DELETE":
            return try await deleteBucket(bucket, auth: auth)
        case "HEAD":
            try await require(.read, bucket: bucket, auth: auth)
            var headers = HTTPFields()
            headers[.init("x-amz-bucket-region")!] = region
            return Response(status: .ok, headers: headers)
        case "GET":
            try await require(.read, bucket: bucket, auth: auth)
            if request.has("location") { return bucketLocation() }
            if request.has("versioning") { return bucketVersioning() }
            if request.has("uploads") { return try await listMultipartUploads(request, bucket: bucket) }
            if request.query("list-type") == "2" { return try await listObjectsV2(request, bucket: bucket) }
            return try await listObjectsV1(request, bucket: bucket)
        case "POST":
            if request.has("delete") { return try await deleteObjects(request, bucket: bucket, auth: auth, body: body) }
            throw S3Error.notImplemented("POST on a bucket without ?delete (browser uploads)")
        default:
            throw S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", status: .methodNotAllowed)
        }
    }

    func routeObject(_ request: S3Request, bucket: String, key: String, auth: Authentication, body: RequestBody) async throws -> Response {
        for sub in ["acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select", "attributes"] where request.has(sub) {
            throw S3Error.notImplemented("The object sub-resource ?\(sub)")
        }
        switch request.method {
        case "GET", "HEAD":
            try await require(.read, bucket: bucket, auth: auth)
            if request.method == "GET", let uploadID = request.query("uploadId") {
                return try await listParts(request, bucket: bucket, key: key, uploadID: uploadID)
            }
            return try await getObject(request, bucket: bucket, key: key, head: request.method == "HEAD")
        case "PUT":
            try await require(.write, bucket: bucket, auth: auth)
            try uploadSlots.acquire()
            defer { uploadSlots.release() }
            if let uploadID = request.query("uploadId"), let number = request.query("partNumber") {
                return try await uploadPart(request, bucket: bucket, key: key, uploadID: uploadID, partNumber: number, auth: auth, body: body)
            }
            if request.headers["x-amz-copy-source"] != nil { return try await copyObject(request, bucket: bucket, key: key, auth: auth) }
            return try await putObject(request, bucket: bucket, key: key, auth: auth, body: body)
        case "DELETE":
            try await require(.write, bucket: bucket, auth: auth)
            if let uploadID = request.query("uploadId") { return try await abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID) }
            try await removeObject(bucket: bucket, key: key)
            return Response(status: .noContent)
        case "POST":
            try await require(.write, bucket: bucket, auth: auth)
            if request.has("uploads") { return try await createMultipartUpload(request, bucket: bucket, key: key) }
            if let uploadID = request.query("uploadId") {
                return try await completeMultipartUpload(request, bucket: bucket, key: key, uploadID: uploadID, auth: auth, body: body)
            }
            throw S3Error.invalidRequest("POST on an object needs ?uploads or ?uploadId")
        default:
            throw S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", status: .methodNotAllowed)
        }
    }

    // MARK: permissions

    enum Access { case read, write, owner }

    /// Throws `NoSuchBucket` for an unknown bucket and `AccessDenied` when the key lacks `access`.
    func require(_ access: Access, bucket: String, auth: Authentication) async throws {
        let permission = try await metadata.permission(bucket: bucket, key: auth.key.id)
        let allowed = switch access {
        case .read: permission.read
        case .write: permission.write
        case .owner: permission.owner
        }
        guard allowed else {
            throw S3Error.accessDenied("Access Denied: key \(auth.key.id) has no \(access) permission on bucket \(bucket)")
        }
    }

    /// Reads a small request body (an XML document) whole, verified like any payload.
    func readSmallBody(_ body: RequestBody, request: S3Request, auth: Authentication, limit: Int = 2 << 20) async throws -> [UInt8] {
        var reader = try PayloadReader(body: body, headers: request.headers, auth: auth)
        var bytes: [UInt8] = []
        while let buffer = try await reader.next() {
            bytes.append(contentsOf: buffer.readableBytesView)
            if bytes.count > limit { throw S3Error("MaxMessageLengthExceeded", "Your request was too big.", status: .badRequest) }
        }
        return bytes
    }
}
