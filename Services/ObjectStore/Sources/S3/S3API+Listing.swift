import S3
import Foundation
import Hummingbird

extension S3API {
    static func maxKeys(_ request: S3Request, parameter: String = "max-keys") throws -> Int {
        guard let text = request.query(parameter) else { return 1000 }
        guard let value = Int(text), value >= 0 else {
            throw S3Error.invalidArgument("Provided \(parameter) not an integer or within integer range")
        }
        return min(value, 1000)
    }

    /// encoding-type=url: keys and prefixes in the answer are URL-encoded (the only type S3 knows).
    static func encoder(_ request: S3Request) throws -> (String) -> String {
        guard let type = request.query("encoding-type") else { return { $0 } }
        guard type.lowercased() == "url" else { throw S3Error.invalidArgument("Invalid Encoding Method specified in Request") }
        return { SigV4.uriEncode($0, keepSlash: true) }
    }

    func listing(_ request: S3Request, bucket: String, marker: String?) async throws -> BucketListing {
        try await BucketListing.build(prefix: request.query("prefix") ?? "", delimiter: request.query("delimiter"), marker: marker,
                                      maxKeys: try Self.maxKeys(request)) { from, exclusive, limit in
            try await listPage(bucket: bucket, from: from, exclusive: exclusive, limit: limit)
        }
    }

    static func writeEntries(_ listing: BucketListing, into xml: inout XMLWriter, encode: (String) -> String, owner: Bool) {
        for object in listing.objects {
            xml.group("Contents") { xml in
                xml.element("Key", encode(object.key))
                xml.element("LastModified", object.lastModified)
                xml.element("ETag", "\"\(object.etag)\"")
                xml.element("Size", object.size)
                xml.element("StorageClass", "STANDARD")
                if owner { xml.group("Owner") { $0.element("ID", "object-store"); $0.element("DisplayName", "object-store") } }
            }
        }
        for prefix in listing.commonPrefixes {
            xml.group("CommonPrefixes") { $0.element("Prefix", encode(prefix)) }
        }
    }

    /// ListObjectsV2: continuation tokens are the base64 of the last key or prefix returned.
    func listObjectsV2(_ request: S3Request, bucket: String) async throws -> Response {
        let encode = try Self.encoder(request)
        var marker = request.query("start-after")
        if let token = request.query("continuation-token") {
            guard let decoded = Base64.decode(token), let key = String(validating: decoded, as: UTF8.self) else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect")
            }
            marker = key
        }
        let listing = try await listing(request, bucket: bucket, marker: marker)
        var xml = XMLWriter()
        xml.root("ListBucketResult")
        xml.element("Name", bucket)
        xml.element("Prefix", encode(request.query("prefix") ?? ""))
        if let delimiter = request.query("delimiter") { xml.element("Delimiter", encode(delimiter)) }
        xml.element("MaxKeys", try Self.maxKeys(request))
        xml.element("KeyCount", listing.objects.count + listing.commonPrefixes.count)
        xml.element("IsTruncated", listing.isTruncated)
        if let token = request.query("continuation-token") { xml.element("ContinuationToken", token) }
        if listing.isTruncated, let next = listing.nextMarker { xml.element("NextContinuationToken", Base64.encode(Array(next.utf8))) }
        if let startAfter = request.query("start-after") { xml.element("StartAfter", encode(startAfter)) }
        if request.query("encoding-type") != nil { xml.element("EncodingType", "url") }
        Self.writeEntries(listing, into: &xml, encode: encode, owner: request.query("fetch-owner") == "true")
        xml.close("ListBucketResult")
        return Self.xml(xml)
    }

    /// ListObjects (version 1), paged by `marker`.
    func listObjectsV1(_ request: S3Request, bucket: String) async throws -> Response {
        let encode = try Self.encoder(request)
        let marker = request.query("marker").flatMap { $0.isEmpty ? nil : $0 }
        let listing = try await listing(request, bucket: bucket, marker: marker)
        var xml = XMLWriter()
        xml.root("ListBucketResult")
        xml.element("Name", bucket)
        xml.element("Prefix", encode(request.query("prefix") ?? ""))
        xml.element("Marker", encode(marker ?? ""))
        if listing.isTruncated, let next = listing.nextMarker { xml.element("NextMarker", encode(next)) }
        xml.element("MaxKeys", try Self.maxKeys(request))
        if let delimiter = request.query("delimiter") { xml.element("Delimiter", encode(delimiter)) }
        xml.element("IsTruncated", listing.isTruncated)
        if request.query("encoding-type") != nil { xml.element("EncodingType", "url") }
        Self.writeEntries(listing, into: &xml, encode: encode, owner: true)
        xml.close("ListBucketResult")
        return Self.xml(xml)
    }
}
