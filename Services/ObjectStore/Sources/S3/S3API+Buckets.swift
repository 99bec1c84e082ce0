import S3
import Foundation
import Hummingbird

extension S3API {
    /// ListBuckets: the buckets the key has any permission on.
    func listBuckets(auth: Authentication) async throws -> Response {
        let granted = Set(try await metadata.grants(forKey: auth.key.id).map(\.bucket))
        let buckets = try await metadata.listBuckets().filter { granted.contains($0.name) }
        var xml = XMLWriter()
        xml.root("ListAllMyBucketsResult")
        xml.group("Owner") { $0.element("ID", auth.key.id); $0.element("DisplayName", auth.key.name) }
        xml.group("Buckets") { xml in
            for bucket in buckets {
                xml.group("Bucket") { $0.element("Name", bucket.name); $0.element("CreationDate", bucket.created) }
            }
        }
        xml.close("ListAllMyBucketsResult")
        return Self.xml(xml)
    }

    /// CreateBucket: allowed to keys with the create-bucket flag; the creator becomes owner.
    func createBucket(_ name: String, request: S3Request, auth: Authentication, body: RequestBody) async throws -> Response {
        let document = try await readSmallBody(body, request: request, auth: auth)
        if !document.isEmpty {
            let root: XMLNode
            do { root = try XMLNode.parse(document) } catch { throw S3Error.malformedXML("CreateBucketConfiguration is not well-formed XML: \(error)") }
            guard root.name == "CreateBucketConfiguration" else { throw S3Error.malformedXML("Expected a CreateBucketConfiguration document") }
            if let constraint = root.child("LocationConstraint")?.text, !constraint.isEmpty, constraint != region {
                throw S3Error("InvalidLocationConstraint", "The specified location-constraint \(constraint) is not valid; this server's region is \(region)", status: .badRequest)
            }
        }
        guard auth.key.allowCreateBucket else {
            throw S3Error.accessDenied("Access Denied: key \(auth.key.id) is not allowed to create buckets")
        }
        try await metadata.createBucket(name: name, owner: auth.key.id)
        var fields = HTTPFields()
        fields[.location] = "/" + name
        return Response(status: .ok, headers: fields)
    }

    func deleteBucket(_ name: String, auth: Authentication) async throws -> Response {
        try await require(.owner, bucket: name, auth: auth)
        try await requireEmptyBucket(name)
        await data.discard(try await metadata.deleteBucket(name: name))
        return Response(status: .noContent)
    }

    func bucketLocation() -> Response {
        var xml = XMLWriter()
        xml.raw("<LocationConstraint xmlns=\"\(XMLWriter.namespace)\">\(XMLWriter.escape(region))</LocationConstraint>")
        return Self.xml(xml)
    }

    /// Versioning was never enabled: S3 answers an empty configuration.
    func bucketVersioning() -> Response {
        var xml = XMLWriter()
        xml.root("VersioningConfiguration")
        xml.close("VersioningConfiguration")
        return Self.xml(xml)
    }

    /// DeleteObjects: `<Delete><Object><Key>…</Key></Object>…<Quiet>true</Quiet></Delete>`,
    /// at most 1000 keys, all removed in one transaction.
    func deleteObjects(_ request: S3Request, bucket: String, auth: Authentication, body: RequestBody) async throws -> Response {
        try await require(.write, bucket: bucket, auth: auth)
        let document = try await readSmallBody(body, request: request, auth: auth)
        let root: XMLNode
        do { root = try XMLNode.parse(document) } catch { throw S3Error.malformedXML("The Delete document is not well-formed XML: \(error)") }
        guard root.name == "Delete" else { throw S3Error.malformedXML("Expected a Delete document, found <\(root.name)>") }
        let objects = root.children("Object")
        guard !objects.isEmpty, objects.count <= 1000 else {
            throw S3Error.malformedXML("A Delete document must name between 1 and 1000 objects, not \(objects.count)")
        }
        var keys: [String] = []
        for object in objects {
            guard let key = object.child("Key")?.text, !key.isEmpty else { throw S3Error.malformedXML("Each Object in a Delete document needs a Key") }
            keys.append(key)
        }
        let quiet = root.child("Quiet")?.text.lowercased() == "true"
        try await removeObjects(bucket: bucket, keys: keys)
        var xml = XMLWriter()
        xml.root("DeleteResult")
        if !quiet {
            for key in keys { xml.group("Deleted") { $0.element("Key", key) } }
        }
        xml.close("DeleteResult")
        return Self.xml(xml)
    }
}
