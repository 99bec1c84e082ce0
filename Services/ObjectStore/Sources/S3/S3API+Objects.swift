import S3
import Foundation
import HTTPTypes
import Hummingbird

extension S3API {
    /// Request headers S3 stores with an object and returns on GET/HEAD.
    static let storedHeaderNames = ["content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires"]
    /// S3's limit on user metadata (names and values of x-amz-meta-*).
    static let userMetadataLimit = 2048

    static func storedHeaders(_ headers: [String: String]) throws -> [String: String] {
        var stored: [String: String] = [:]
        var userBytes = 0
        for (name, value) in headers {
            if name.hasPrefix("x-amz-meta-") {
                stored[name] = value
                userBytes += name.utf8.count - "x-amz-meta-".count + value.utf8.count
            } else if storedHeaderNames.contains(name) {
                stored[name] = value
            }
        }
        // aws-chunked is the transfer framing of this request, not the object's encoding.
        if let encoding = stored["content-encoding"] {
            let kept = encoding.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "aws-chunked" && !$0.isEmpty }
            stored["content-encoding"] = kept.isEmpty ? nil : kept.joined(separator: ",")
        }
        guard userBytes <= userMetadataLimit else {
            throw S3Error("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size (\(userBytes) > \(userMetadataLimit) bytes).", status: .badRequest)
        }
        return stored
    }

    static func etagHeaders(_ etag: String, checksum: String? = nil) -> HTTPFields {
        var fields = HTTPFields()
        fields[.eTag] = "\"\(etag)\""
        if let checksum, let colon = checksum.firstIndex(of: ":"),
           let algorithm = ChecksumAlgorithm(rawValue: String(checksum[..<colon])) {
            fields[.init(algorithm.headerName)!] = String(checksum[checksum.index(after: colon)...])
        }
        return fields
    }

    /// PutObject: the body streams to storage (inline or a data file) and is verified;
    /// only then is the new version committed and the 200 sent.
    func putObject(_ request: S3Request, bucket: String, key: String, auth: Authentication, body: RequestBody) async throws -> Response {
        guard key.utf8.count <= 1024 else { throw S3Error("KeyTooLongError", "Your key is too long (at most 1024 bytes).", status: .badRequest) }
        let headers = try Self.storedHeaders(request.headers)
        var reader = try PayloadReader(body: body, headers: request.headers, auth: auth)
        let stored = try await data.store { try await reader.next() }
        guard let summary = reader.summary else { throw S3Error("IncompleteBody", "The request body was not read to its end", status: .badRequest) }
        let record = ObjectRecord(bucket: bucket, key: key, size: summary.size, etag: summary.etag, lastModified: Date(),
                                  headers: headers, checksum: summary.checksum, data: stored)
        try await commit(record)
        return Response(status: .ok, headers: Self.etagHeaders(summary.etag, checksum: summary.checksum))
    }

    /// "x-amz-copy-source: /bucket/key" (URL-encoded, leading slash optional).
    static func copySource(_ request: S3Request) throws -> (bucket: String, key: String) {
        guard var source = request.headers["x-amz-copy-source"] else { throw S3Error.invalidArgument("x-amz-copy-source is missing") }
        if let question = source.firstIndex(of: "?") {
            guard !source[question...].contains("versionId=") || source.hasSuffix("versionId=null") else {
                throw S3Error.notImplemented("Copying a specific version")
            }
            source = String(source[..<question])
        }
        let decoded = SigV4.percentDecode(Substring(source.hasPrefix("/") ? String(source.dropFirst()) : source))
        guard let slash = decoded.firstIndex(of: "/"), slash != decoded.startIndex, decoded.index(after: slash) != decoded.endIndex else {
            throw S3Error.invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        }
        return (String(decoded[..<slash]), String(decoded[decoded.index(after: slash)...]))
    }

    /// Reads the copy source after checking read permission and x-amz-copy-source-if-*.
    func copySourceRecord(_ request: S3Request, auth: Authentication) async throws -> ObjectRecord {
        let (sourceBucket, sourceKey) = try Self.copySource(request)
        try await require(.read, bucket: sourceBucket, auth: auth)
        let source = try await currentObject(bucket: sourceBucket, key: sourceKey)
        let conditions = Preconditions(headers: request.headers, prefix: "x-amz-copy-source-")
        if conditions.evaluate(etag: source.etag, lastModified: source.lastModified) != .proceed { throw S3Error.preconditionFailed }
        return source
    }

    /// CopyObject, with x-amz-metadata-directive COPY (the default) or REPLACE.
    func copyObject(_ request: S3Request, bucket: String, key: String, auth: Authentication) async throws -> Response {
        let source = try await copySourceRecord(request, auth: auth)
        let directive = request.headers["x-amz-metadata-directive"]?.uppercased() ?? "COPY"
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error.invalidArgument("Unknown metadata directive \(directive); use COPY or REPLACE")
        }
        if directive == "COPY", source.bucket == bucket, source.key == key {
            throw S3Error.invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
        }
        let headers = directive == "REPLACE" ? try Self.storedHeaders(request.headers) : source.headers
        let (copied, md5) = try await copyData(source, range: nil)
        let etag = source.partSizes.isEmpty ? md5.hexString : source.etag
        let record = ObjectRecord(bucket: bucket, key: key, size: source.size, etag: etag, lastModified: Date(),
                                  headers: headers, checksum: source.checksum, data: copied)
        try await commit(record)
        var xml = XMLWriter()
        xml.root("CopyObjectResult")
        xml.element("LastModified", record.lastModified)
        xml.element("ETag", "\"\(etag)\"")
        xml.close("CopyObjectResult")
        return Self.xml(xml)
    }
}
