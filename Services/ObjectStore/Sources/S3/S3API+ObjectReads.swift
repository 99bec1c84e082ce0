import S3
import Foundation
import HTTPTypes
import Hummingbird

extension S3API {
    /// GetObject and HeadObject: conditional headers, a single Range, response-* overrides.
    func getObject(_ request: S3Request, bucket: String, key: String, head: Bool) async throws -> Response {
        if request.has("partNumber") { throw S3Error.notImplemented("GetObject with partNumber") }
        let record = try await currentObject(bucket: bucket, key: key)
        var fields = Self.objectHeaders(record)
        switch Preconditions(headers: request.headers).evaluate(etag: record.etag, lastModified: record.lastModified) {
        case .preconditionFailed:
            throw S3Error.preconditionFailed
        case .notModified:
            var notModified = HTTPFields()
            notModified[.eTag] = fields[.eTag]
            notModified[.lastModified] = fields[.lastModified]
            return Response(status: .notModified, headers: notModified)
        case .proceed:
            break
        }
        var range: ClosedRange<Int64>?
        if let requested = ByteRange(header: request.headers["range"]) {
            range = try requested.resolve(size: record.size)
        }
        // The stored checksum covers the whole object, so S3 sends it only for whole reads.
        if range == nil, request.headers["x-amz-checksum-mode"]?.uppercased() == "ENABLED", let checksum = record.checksum,
           let colon = checksum.firstIndex(of: ":"), let algorithm = ChecksumAlgorithm(rawValue: String(checksum[..<colon])) {
            fields[.init(algorithm.headerName)!] = String(checksum[checksum.index(after: colon)...])
        }
        for (parameter, header) in [("response-content-type", "content-type"), ("response-content-language", "content-language"),
                                    ("response-expires", "expires"), ("response-cache-control", "cache-control"),
                                    ("response-content-disposition", "content-disposition"), ("response-content-encoding", "content-encoding")] {
            if let value = request.query(parameter) { fields[.init(header)!] = value }
        }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? record.size
        if let range { fields[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(record.size)" }
        fields[.contentLength] = String(length)
        if head { return Response(status: status, headers: fields) }
        let reader = try await openData(record, range: range)
        let body = ResponseBody(contentLength: Int(length)) { writer in
            try await reader.forEach { try await writer.write($0) }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: fields, body: body)
    }

    static func objectHeaders(_ record: ObjectRecord) -> HTTPFields {
        var fields = HTTPFields()
        fields[.eTag] = "\"\(record.etag)\""
        fields[.lastModified] = S3Time.httpDate(record.lastModified)
        fields[.acceptRanges] = "bytes"
        fields[.contentType] = record.contentType
        for (name, value) in record.headers.sorted(by: { $0.key < $1.key }) where name != "content-type" {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        if !record.partSizes.isEmpty { fields[.init("x-amz-mp-parts-count")!] = String(record.partSizes.count) }
        return fields
    }
}
