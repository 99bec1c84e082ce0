import Crypto
import Foundation
import Testing
@testable import ObjectStore

/// S3's rules for CompleteMultipartUpload, on the pure function that applies them.
struct MultipartRulesTests {
    static let upload = MultipartUpload(id: "u", bucket: "b", key: "k", initiated: Date(), headers: ["content-type": "text/plain"], checksumAlgorithm: nil)

    static func part(_ number: Int, size: Int64, etag: String) -> UploadedPart {
        UploadedPart(number: number, size: size, etag: etag, lastModified: Date(),
                     segment: ObjectSegment(blob: "blob\(number)", size: size, blockCRCs: []), checksum: nil)
    }

    static let md5A = "0cc175b9c0f1b6a831c399e269772661"  // MD5("a")
    static let md5B = "92eb5ffee6ae2fec3ad71c777531578f"  // MD5("b")

    @Test func etagIsTheMD5OfThePartMD5sWithTheCount() throws {
        let parts = [Self.part(1, size: 5 << 20, etag: Self.md5A), Self.part(2, size: 10, etag: Self.md5B)]
        let record = try S3API.assemble(Self.upload, uploaded: parts, requested: [(1, Self.md5A, [:]), (2, Self.md5B, [:])])
        var md5 = Insecure.MD5()
        md5.update(data: bytes(fromHex: Self.md5A)! + bytes(fromHex: Self.md5B)!)
        #expect(record.etag == Array(md5.finalize()).hexString + "-2")
        #expect(record.size == (5 << 20) + 10)
        #expect(record.partSizes == [5 << 20, 10])
        #expect(record.data.segments.map(\.blob) == ["blob1", "blob2"])
        #expect(record.headers["content-type"] == "text/plain")
    }

    @Test func partsMayBeLeftOutButMustAscend() throws {
        let parts = [Self.part(1, size: 5 << 20, etag: Self.md5A), Self.part(2, size: 5 << 20, etag: Self.md5B), Self.part(3, size: 1, etag: Self.md5A)]
        let record = try S3API.assemble(Self.upload, uploaded: parts, requested: [(1, Self.md5A, [:]), (3, Self.md5A, [:])])
        #expect(record.data.segments.map(\.blob) == ["blob1", "blob3"])
        #expect(throws: StoreError.invalidPartOrder) {
            try S3API.assemble(Self.upload, uploaded: parts, requested: [(2, Self.md5B, [:]), (1, Self.md5A, [:])])
        }
        #expect(throws: StoreError.invalidPartOrder) {
            try S3API.assemble(Self.upload, uploaded: parts, requested: [(1, Self.md5A, [:]), (1, Self.md5A, [:])])
        }
    }

    @Test func everyPartButTheLastNeedsFiveMiB() {
        let parts = [Self.part(1, size: (5 << 20) - 1, etag: Self.md5A), Self.part(2, size: 10, etag: Self.md5B)]
        #expect(throws: StoreError.entityTooSmall(part: 1, size: (5 << 20) - 1)) {
            try S3API.assemble(Self.upload, uploaded: parts, requested: [(1, Self.md5A, [:]), (2, Self.md5B, [:])])
        }
    }

    @Test func unknownPartsAndWrongETagsAreInvalidParts() {
        let parts = [Self.part(1, size: 5 << 20, etag: Self.md5A)]
        do {
            _ = try S3API.assemble(Self.upload, uploaded: parts, requested: [(1, Self.md5B, [:])])
            Issue.record("a wrong ETag was accepted")
        } catch let error as StoreError {
            guard case .invalidPart(1, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(S3Error(error).code == "InvalidPart")
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: StoreError.self) { try S3API.assemble(Self.upload, uploaded: parts, requested: [(2, Self.md5A, [:])]) }
    }
}
