import S3
import Crypto
import Foundation
import Hummingbird

extension S3API {
    /// S3's minimum size for every part but the last.
    static let minimumPartSize: Int64 = 5 << 20

    func createMultipartUpload(_ request: S3Request, bucket: String, key: String) async throws -> Response {
        guard key.utf8.count <= 1024 else { throw S3Error("KeyTooLongError", "Your key is too long (at most 1024 bytes).", status: .badRequest) }
        var algorithm: ChecksumAlgorithm?
        if let name = request.headers["x-amz-checksum-algorithm"] {
            guard let parsed = ChecksumAlgorithm(rawValue: name.uppercased()) else {
                throw S3Error.invalidArgument("Checksum algorithm \(name) is not supported; use CRC32, CRC32C, SHA1 or SHA256")
            }
            algorithm = parsed
        }
        let headers = try Self.storedHeaders(request.headers)
        let upload: MultipartUpload
        if let cluster, let ring = await cluster.ring() {
            try await metadata.requireBucket(bucket)
            upload = MultipartUpload(id: randomHex(bytes: 16), bucket: bucket, key: key, initiated: Date(), headers: headers,
                                     checksumAlgorithm: algorithm)
            try await cluster.createUpload(upload, ring: ring)
        } else {
            upload = try await metadata.createUpload(bucket: bucket, key: key, headers: headers, checksumAlgorithm: algorithm)
        }
        var xml = XMLWriter()
        xml.root("InitiateMultipartUploadResult")
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("UploadId", upload.id)
        xml.close("InitiateMultipartUploadResult")
        var fields = HTTPFields()
        if let algorithm { fields[.init("x-amz-checksum-algorithm")!] = algorithm.rawValue }
        return Self.xml(xml, headers: fields)
    }

    static func partNumber(_ text: String) throws -> Int {
        guard let number = Int(text), (1...10_000).contains(number) else {
            throw S3Error.invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
        }
        return number
    }

    /// UploadPart and UploadPartCopy. Parts are always data files: they become the
    /// segments of the completed object without being copied again.
    func uploadPart(_ request: S3Request, bucket: String, key: String, uploadID: String, partNumber text: String,
                    auth: Authentication, body: RequestBody) async throws -> Response {
        let number = try Self.partNumber(text)
        let clusterRing = await cluster?.ring()
        let upload: MultipartUpload
        if let cluster, let clusterRing {
            upload = try await cluster.upload(id: uploadID, bucket: bucket, key: key, withParts: false, ring: clusterRing).upload
        } else {
            upload = try await metadata.upload(id: uploadID, bucket: bucket, key: key)
        }
        let stored: ObjectData
        let etag: String
        let checksum: String?
        var copied = false
        if request.headers["x-amz-copy-source"] != nil {
            let source = try await copySourceRecord(request, auth: auth)
            var range: ClosedRange<Int64>?
            if let header = request.headers["x-amz-copy-source-range"] {
                guard let parsed = ByteRange(header: header), case .fromTo(let start, let end?) = parsed, end < source.size else {
                    throw S3Error.invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, within the source object")
                }
                range = start...end
            }
            let (data, md5) = try await copyData(source, range: range, forceFile: true)
            (stored, etag, checksum, copied) = (data, md5.hexString, nil, true)
        } else {
            var reader = try PayloadReader(body: body, headers: request.headers, auth: auth, checksumAlgorithm: upload.checksumAlgorithm)
            stored = try await data.store(forceFile: true) { try await reader.next() }
            guard let summary = reader.summary else { throw S3Error("IncompleteBody", "The request body was not read to its end", status: .badRequest) }
            (etag, checksum) = (summary.etag, summary.checksum)
        }
        guard let segment = stored.segments.first else { throw S3Error("InternalError", "part was not stored as a file", status: .internalServerError) }
        let part = UploadedPart(number: number, size: segment.size, etag: etag, lastModified: Date(), segment: segment, checksum: checksum)
        if let cluster, let clusterRing {
            // A part that missed its quorum is kept where it was written, as an object is.
            try await cluster.putPart(part, of: upload, ring: clusterRing)
        } else {
            do {
                await data.discard(try await metadata.putPart(uploadID: uploadID, bucket: bucket, key: key, part: part))
            } catch {
                await data.discard([segment])
                throw error
            }
        }
        guard copied else { return Response(status: .ok, headers: Self.etagHeaders(etag, checksum: checksum)) }
        var xml = XMLWriter()
        xml.root("CopyPartResult")
        xml.element("LastModified", part.lastModified)
        xml.element("ETag", "\"\(etag)\"")
        xml.close("CopyPartResult")
        return Self.xml(xml)
    }

    /// The parts a CompleteMultipartUpload document lists, in document order.
    static func requestedParts(_ document: [UInt8]) throws -> [(number: Int, etag: String, checksums: [ChecksumAlgorithm: String])] {
        let root: XMLNode
        do { root = try XMLNode.parse(document) } catch {
            throw S3Error.malformedXML("The CompleteMultipartUpload document is not well-formed XML: \(error)")
        }
        guard root.name == "CompleteMultipartUpload" else {
            throw S3Error.malformedXML("Expected a CompleteMultipartUpload document, found <\(root.name)>")
        }
        let parts = root.children("Part")
        guard !parts.isEmpty else { throw S3Error.malformedXML("A CompleteMultipartUpload document must list at least one Part") }
        return try parts.map { part in
            guard let numberText = part.child("PartNumber")?.text.trimmingCharacters(in: .whitespaces), let number = Int(numberText),
                  let etag = part.child("ETag")?.text else {
                throw S3Error.malformedXML("Each Part needs a PartNumber and an ETag")
            }
            var checksums: [ChecksumAlgorithm: String] = [:]
            for algorithm in ChecksumAlgorithm.allCases {
                if let value = part.child("Checksum" + algorithm.rawValue)?.text { checksums[algorithm] = value }
            }
            return (number, etag.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")), checksums)
        }
    }

    /// Checks the client's part list against the uploaded parts (S3's rules: ascending
    /// numbers, matching ETags, 5 MiB minimum but for the last) and builds the object.
    static func assemble(_ upload: MultipartUpload, uploaded: [UploadedPart],
                         requested: [(number: Int, etag: String, checksums: [ChecksumAlgorithm: String])]) throws -> ObjectRecord {
        var previous = 0
        for part in requested {
            guard part.number > previous else { throw StoreError.invalidPartOrder }
            previous = part.number
        }
        let byNumber = Dictionary(uploaded.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a })
        var chosen: [UploadedPart] = []
        for part in requested {
            guard let found = byNumber[part.number] else {
                throw StoreError.invalidPart(part.number, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
            }
            guard found.etag == part.etag else {
                throw StoreError.invalidPart(part.number, "The ETag \(part.etag) does not match the uploaded part's ETag \(found.etag)")
            }
            for (algorithm, value) in part.checksums {
                if let stored = found.checksum, stored.hasPrefix(algorithm.rawValue + ":"), stored != "\(algorithm.rawValue):\(value)" {
                    throw StoreError.invalidPart(part.number, "The \(algorithm.rawValue) checksum does not match the uploaded part's")
                }
            }
            chosen.append(found)
        }
        for part in chosen.dropLast() where part.size < minimumPartSize {
            throw StoreError.entityTooSmall(part: part.number, size: part.size)
        }
        var md5 = Insecure.MD5()
        for part in chosen { md5.update(data: bytes(fromHex: part.etag) ?? []) }
        let etag = "\(Array(md5.finalize()).hexString)-\(chosen.count)"
        return ObjectRecord(bucket: upload.bucket, key: upload.key, size: chosen.reduce(0) { $0 + $1.size }, etag: etag,
                            lastModified: Date(), headers: upload.headers, checksum: nil,
                            data: .segments(chosen.map(\.segment)), partSizes: chosen.map(\.size))
    }

    func completeMultipartUpload(_ request: S3Request, bucket: String, key: String, uploadID: String,
                                 auth: Authentication, body: RequestBody) async throws -> Response {
        let requested = try Self.requestedParts(try await readSmallBody(body, request: request, auth: auth))
        if let cluster, let ring = await cluster.ring() {
            // The upload and its parts are on the object's replicas; the object goes to them
            // like a PUT, then they drop the upload.
            let copy = try await cluster.upload(id: uploadID, bucket: bucket, key: key, withParts: true, ring: ring)
            let record = try Self.assemble(copy.upload, uploaded: copy.parts, requested: requested)
            try await cluster.complete(record, uploadID: uploadID, ring: ring)
            return Self.completedUpload(bucket: bucket, key: key, etag: record.etag)
        }
        let etag = LockedValue<String>("")
        let unused = try await metadata.completeUpload(uploadID: uploadID, bucket: bucket, key: key) { upload, uploaded in
            let record = try Self.assemble(upload, uploaded: uploaded, requested: requested)
            etag.withLock { $0 = record.etag }
            return record
        }
        await data.discard(unused)
        return Self.completedUpload(bucket: bucket, key: key, etag: etag.withLock { $0 })
    }

    static func completedUpload(bucket: String, key: String, etag: String) -> Response {
        var xml = XMLWriter()
        xml.root("CompleteMultipartUploadResult")
        xml.element("Location", "/\(bucket)/\(key)")
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("ETag", "\"\(etag)\"")
        xml.close("CompleteMultipartUploadResult")
        return Self.xml(xml)
    }

    func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws -> Response {
        if let cluster, let ring = await cluster.ring() {
            try await cluster.abort(id: uploadID, bucket: bucket, key: key, ring: ring)
            return Response(status: .noContent)
        }
        await data.discard(try await metadata.abortUpload(uploadID: uploadID, bucket: bucket, key: key))
        return Response(status: .noContent)
    }

    func listParts(_ request: S3Request, bucket: String, key: String, uploadID: String) async throws -> Response {
        let parts: [UploadedPart]
        if let cluster, let ring = await cluster.ring() {
            parts = try await cluster.upload(id: uploadID, bucket: bucket, key: key, withParts: true, ring: ring).parts
        } else {
            (_, parts) = try await metadata.parts(uploadID: uploadID, bucket: bucket, key: key)
        }
        let marker = Int(request.query("part-number-marker") ?? "0") ?? 0
        let maxParts = try Self.maxKeys(request, parameter: "max-parts")
        let after = parts.filter { $0.number > marker }
        let page = Array(after.prefix(maxParts))
        var xml = XMLWriter()
        xml.root("ListPartsResult")
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("UploadId", uploadID)
        xml.element("PartNumberMarker", marker)
        if let last = page.last { xml.element("NextPartNumberMarker", last.number) }
        xml.element("MaxParts", maxParts)
        xml.element("IsTruncated", after.count > page.count)
        xml.element("StorageClass", "STANDARD")
        for part in page {
            xml.group("Part") { xml in
                xml.element("PartNumber", part.number)
                xml.element("LastModified", part.lastModified)
                xml.element("ETag", "\"\(part.etag)\"")
                xml.element("Size", part.size)
                if let checksum = part.checksum, let colon = checksum.firstIndex(of: ":") {
                    xml.element("Checksum" + checksum[..<colon], String(checksum[checksum.index(after: colon)...]))
                }
            }
        }
        xml.close("ListPartsResult")
        return Self.xml(xml)
    }

    func listMultipartUploads(_ request: S3Request, bucket: String) async throws -> Response {
        let prefix = request.query("prefix") ?? ""
        let keyMarker = request.query("key-marker") ?? ""
        let idMarker = request.query("upload-id-marker") ?? ""
        let maxUploads = try Self.maxKeys(request, parameter: "max-uploads")
        let all: [MultipartUpload]
        if let cluster, let ring = await cluster.ring() {
            all = try await cluster.listUploads(bucket: bucket, ring: ring)
        } else {
            all = try await metadata.listUploads(bucket: bucket)
        }
        let uploads = all.filter { upload in
            upload.key.hasPrefix(prefix)
                && (keyMarker.isEmpty || upload.key > keyMarker || (upload.key == keyMarker && !idMarker.isEmpty && upload.id > idMarker))
        }
        let page = Array(uploads.prefix(maxUploads))
        var xml = XMLWriter()
        xml.root("ListMultipartUploadsResult")
        xml.element("Bucket", bucket)
        xml.element("KeyMarker", keyMarker)
        xml.element("UploadIdMarker", idMarker)
        if uploads.count > page.count, let last = page.last {
            xml.element("NextKeyMarker", last.key)
            xml.element("NextUploadIdMarker", last.id)
        }
        xml.element("Prefix", prefix)
        xml.element("MaxUploads", maxUploads)
        xml.element("IsTruncated", uploads.count > page.count)
        for upload in page {
            xml.group("Upload") { xml in
                xml.element("Key", upload.key)
                xml.element("UploadId", upload.id)
                xml.group("Initiator") { $0.element("ID", "object-store"); $0.element("DisplayName", "object-store") }
                xml.group("Owner") { $0.element("ID", "object-store"); $0.element("DisplayName", "object-store") }
                xml.element("StorageClass", "STANDARD")
                xml.element("Initiated", upload.initiated)
            }
        }
        xml.close("ListMultipartUploadsResult")
        return Self.xml(xml)
    }
}
