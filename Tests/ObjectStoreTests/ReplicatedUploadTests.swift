import Foundation
import Testing
@testable import ObjectStore

/// The storage side of cluster-mode multipart uploads and of the handoff after a layout
/// change: calls that replicas receive more than once, in any order.
struct ReplicatedUploadTests {
    static func segment(_ letter: Character) -> ObjectSegment {
        ObjectSegment(blob: String(repeating: letter, count: 32), size: 10, blockCRCs: [1])
    }

    static func part(_ number: Int, at millis: Int64, etag: String, _ letter: Character) -> UploadedPart {
        UploadedPart(number: number, size: 10, etag: etag, lastModified: Date(millisecondsSince1970: millis),
                     segment: segment(letter), checksum: nil)
    }

    @Test func partsResolveToTheNewestWhateverTheOrderTheyArrive() async throws {
        let store = try MetadataStore(directory: StorageTests.tempDir())
        defer { store.close() }
        let key = try await store.createKey(name: "k")
        try await store.createBucket(name: "bucket-one", owner: key.id)
        let upload = MultipartUpload(id: String(repeating: "1", count: 32), bucket: "bucket-one", key: "obj",
                                     initiated: Date(millisecondsSince1970: 5), headers: ["content-type": "text/plain"], checksumAlgorithm: nil)
        let older = Self.part(1, at: 100, etag: "aa", "a"), newer = Self.part(1, at: 200, etag: "bb", "b")
        // The part arrives before its upload's creation did: the upload comes with it.
        #expect(try await store.storeReplicatedPart(newer, of: upload).isEmpty)
        #expect(try await store.storeReplicatedPart(newer, of: upload).isEmpty)
        // The older part lost: its own file is handed back for deletion.
        #expect(try await store.storeReplicatedPart(older, of: upload) == [older.segment])
        try await store.storeUpload(upload)
        let copy = try #require(try await store.replicatedUpload(id: upload.id, bucket: "bucket-one", key: "obj", withParts: true))
        #expect(copy.upload == upload && copy.parts == [newer])
        // A tie on time goes to the greater ETag on every replica.
        let tie = Self.part(1, at: 200, etag: "cc", "c")
        #expect(try await store.storeReplicatedPart(tie, of: upload) == [newer.segment])
        #expect(tie.isNewer(than: 200, etag: "bb", blob: newer.segment.blob) && !newer.isNewer(than: 200, etag: "cc", blob: tie.segment.blob))
        #expect(try await store.replicatedUpload(id: upload.id, bucket: "bucket-one", key: "other", withParts: false) == nil)
        #expect(try await store.listUploads(bucket: "bucket-one").map(\.id) == [upload.id])
        // Dropping keeps the files the completed object uses and is idempotent.
        #expect(try await store.dropUpload(id: upload.id, bucket: "bucket-one", key: "obj", keeping: [tie.segment.blob]).isEmpty)
        #expect(try await store.dropUpload(id: upload.id, bucket: "bucket-one", key: "obj", keeping: []).isEmpty)
        #expect(try await store.replicatedUpload(id: upload.id, bucket: "bucket-one", key: "obj", withParts: true) == nil)
    }

    /// A part or creation that reaches a replica after the upload ended there (its write
    /// was still under way when the client saw the quorum) must not bring the upload back.
    @Test func anEndedUploadIsRememberedAndNotBroughtBackByLateWrites() async throws {
        let store = try MetadataStore(directory: StorageTests.tempDir())
        defer { store.close() }
        let key = try await store.createKey(name: "k")
        try await store.createBucket(name: "bucket-one", owner: key.id)
        let upload = MultipartUpload(id: String(repeating: "7", count: 32), bucket: "bucket-one", key: "obj",
                                     initiated: Date(), headers: [:], checksumAlgorithm: nil)
        let late = Self.part(2, at: 300, etag: "dd", "d")
        _ = try await store.storeReplicatedPart(Self.part(1, at: 100, etag: "aa", "a"), of: upload)
        #expect(try await store.dropUpload(id: upload.id, bucket: "bucket-one", key: "obj", keeping: []) == [Self.segment("a")])
        #expect(try await store.hasEnded(upload: upload.id))
        #expect(try await store.endedUploads(bucket: "bucket-one") == [upload.id])
        try await store.storeUpload(upload)
        #expect(try await store.storeReplicatedPart(late, of: upload) == [late.segment], "the late part's file is handed back")
        #expect(try await store.replicatedUpload(id: upload.id, bucket: "bucket-one", key: "obj", withParts: true) == nil)
        #expect(try await store.listUploads(bucket: "bucket-one").isEmpty)
        // An end this replica never saw the upload for is remembered too.
        let unseen = String(repeating: "8", count: 32)
        #expect(try await store.dropUpload(id: unseen, bucket: "bucket-one", key: "obj", keeping: []).isEmpty)
        #expect(try await store.hasEnded(upload: unseen))
        // Handing an upload over to new replicas is no end.
        let moved = MultipartUpload(id: String(repeating: "9", count: 32), bucket: "bucket-one", key: "obj",
                                    initiated: Date(), headers: [:], checksumAlgorithm: nil)
        try await store.storeUpload(moved)
        _ = try await store.dropUpload(id: moved.id, bucket: "bucket-one", key: "obj", keeping: [], ended: false)
        #expect(try await !store.hasEnded(upload: moved.id))
        try await store.storeUpload(moved)
        #expect(try await store.listUploads(bucket: "bucket-one").map(\.id) == [moved.id])
    }

    @Test func theCompletedObjectsEntryDropsTheUploadOnAReplicaThatMissedTheCompletion() async throws {
        let store = try MetadataStore(directory: StorageTests.tempDir())
        defer { store.close() }
        let key = try await store.createKey(name: "k")
        try await store.createBucket(name: "bucket-one", owner: key.id)
        func upload(_ digit: Character) -> MultipartUpload {
            MultipartUpload(id: String(repeating: digit, count: 32), bucket: "bucket-one", key: "obj", initiated: Date(), headers: [:], checksumAlgorithm: nil)
        }
        let completed = upload("1"), other = upload("2")
        _ = try await store.storeReplicatedPart(Self.part(1, at: 1, etag: "a", "a"), of: completed)
        _ = try await store.storeReplicatedPart(Self.part(2, at: 1, etag: "b", "b"), of: completed)
        _ = try await store.storeReplicatedPart(Self.part(1, at: 1, etag: "c", "c"), of: other)
        var record = ReplicationTests.record("obj", [])
        record.data = .segments([Self.segment("a")])
        let (applied, unused) = try await store.merge([ObjectEntry(record: record, version: "0000000000000001-a")])
        // Part 2 was left out of the object: its file goes; the other upload stays.
        #expect(applied == 1 && unused == [Self.segment("b")])
        #expect(try await store.listUploads(bucket: "bucket-one").map(\.id) == [other.id])
    }

    @Test func uploadRecordsSurviveTheirJSONTrip() throws {
        let upload = MultipartUpload(id: "u", bucket: "b", key: "k", initiated: Date(millisecondsSince1970: 1_700_000_000_123),
                                     headers: ["x": "y"], checksumAlgorithm: .crc32c)
        let transfer = ReplicatedObjects.PartTransfer(upload: upload, part: Self.part(3, at: 1_700_000_000_456, etag: "e", "d"))
        let decoded = try JSONDecoder().decode(ReplicatedObjects.PartTransfer.self, from: JSONEncoder().encode(transfer))
        #expect(decoded.upload == upload && decoded.part == transfer.part)
    }

    @Test func handedOverEntriesAreDroppedOnlyAtTheVersionThatWasHandedOver() async throws {
        let store = try MetadataStore(directory: StorageTests.tempDir())
        defer { store.close() }
        var record = ReplicationTests.record("moved", [])
        record.data = .segments([Self.segment("e")])
        _ = try await store.merge([ObjectEntry(record: record, version: "0000000000000001-a"),
                                   .tombstone(bucket: "bucket-one", key: "gone", version: "0000000000000001-a")])
        let handed = try await store.allVersions()
        // A newer write of "moved" arrived after the handoff read its version: it stays.
        _ = try await store.merge([ObjectEntry(record: ReplicationTests.record("moved", [7]), version: "0000000000000002-a")])
        let (dropped, segments) = try await store.drop(handed)
        #expect(dropped == 1 && segments.isEmpty)
        #expect(try await store.allVersions().map(\.key) == ["moved"])
        let (again, files) = try await store.drop(try await store.allVersions())
        #expect(again == 1 && files.isEmpty)
        #expect(try await store.allVersions().isEmpty)
        // Without tombstones: the key may come back through a replica's push.
        #expect(try await store.merge([ObjectEntry(record: record, version: "0000000000000001-a")]).applied == 1)
        #expect(try await store.drop(try await store.allVersions()).segments == [Self.segment("e")])
    }
}
