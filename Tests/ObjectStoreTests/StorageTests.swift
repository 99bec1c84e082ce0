import Foundation
import NIOCore
import Testing
@testable import ObjectStore

struct StorageTests {
    static func tempDir() -> String {
        let path = NSTemporaryDirectory() + "object-store-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func concurrentWritesAreAllCommittedAndAFailureStaysAlone() async throws {
        let store = try MetadataStore(directory: Self.tempDir())
        defer { store.close() }
        let key = try await store.createKey(name: "k")
        try await store.createBucket(name: "bucket-one", owner: key.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let record = ObjectRecord(bucket: "bucket-one", key: "obj-\(i)", size: 1, etag: "e", lastModified: Date(),
                                              headers: [:], checksum: nil, data: .inline([UInt8(i)], crc: CRC32.checksum([UInt8(i)])))
                    _ = try await store.putObject(record)
                }
            }
            group.addTask {
                let record = ObjectRecord(bucket: "no-such-bucket", key: "x", size: 0, etag: "e", lastModified: Date(), headers: [:],
                                          checksum: nil, data: .inline([], crc: 0))
                await #expect(throws: StoreError.noSuchBucket("no-such-bucket")) { _ = try await store.putObject(record) }
            }
            try await group.waitForAll()
        }
        let listed = try await store.listObjects(bucket: "bucket-one", from: "", exclusive: false, limit: 1000)
        #expect(listed.count == 50)
        #expect(try await store.object(bucket: "bucket-one", key: "obj-7").data == .inline([7], crc: CRC32.checksum([7])))
    }

    @Test func committedDataSurvivesReopening() async throws {
        let dir = Self.tempDir()
        do {
            let store = try MetadataStore(directory: dir)
            try await store.createBucket(name: "kept-bucket")
            store.close()
        }
        let reopened = try MetadataStore(directory: dir)
        defer { reopened.close() }
        #expect(try await reopened.listBuckets().map(\.name) == ["kept-bucket"])
    }

    @Test func blobsRoundTripAndCorruptionIsDetected() async throws {
        let blobs = try BlobStore(directory: Self.tempDir(), threads: 2)
        let data = ObjectDataStore(blobs: blobs)
        let bytes = (0..<(ObjectSegment.blockSize * 2 + 100)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var chunks = stride(from: 0, to: bytes.count, by: 100_000).map { ByteBuffer(bytes: bytes[$0..<min($0 + 100_000, bytes.count)]) }[...]
        let stored = try await data.store { chunks.popFirst() }
        guard case .segments(let segments) = stored else { Issue.record("a 2 MiB object was stored inline"); return }
        #expect(segments[0].blockCRCs.count == 3)
        var read: [UInt8] = []
        try await data.open(stored, range: 1_048_000...1_049_000).forEach { read += $0.readableBytesView }
        #expect(read == Array(bytes[1_048_000...1_049_000]))
        let path = blobs.path(of: segments[0].blob)
        var raw = try Data(contentsOf: URL(fileURLWithPath: path))
        raw[ObjectSegment.blockSize + 5] ^= 0xFF
        try raw.write(to: URL(fileURLWithPath: path))
        await #expect(throws: StoreError.self) { _ = try await data.open(stored, range: (Int64(ObjectSegment.blockSize) + 1)...(Int64(ObjectSegment.blockSize) + 9)) }
        // The first block is intact, so opening works; reading on into the bad block fails.
        let reader = try await data.open(stored, range: nil)
        await #expect(throws: StoreError.self) { try await reader.forEach { _ in } }
        await blobs.shutdown()
    }

    @Test func smallBodiesAreInlineAndChecked() async throws {
        let blobs = try BlobStore(directory: Self.tempDir(), threads: 1)
        let data = ObjectDataStore(blobs: blobs)
        var once: ByteBuffer? = ByteBuffer(string: "tiny")
        let stored = try await data.store { defer { once = nil }; return once }
        #expect(stored == .inline(Array("tiny".utf8), crc: CRC32.checksum(Array("tiny".utf8))))
        await #expect(throws: StoreError.self) { _ = try await data.open(.inline(Array("tiny".utf8), crc: 1), range: nil) }
        await blobs.shutdown()
    }
}

struct BucketListingTests {
    static let keys = ["a/1", "a/2", "a/b/3", "b", "c/1", "c/2", "d"].map {
        ObjectSummary(key: $0, size: 1, etag: "e", lastModified: Date())
    }

    static func fetch(_ from: String, _ exclusive: Bool, _ limit: Int) -> [ObjectSummary] {
        Array(keys.filter { exclusive ? $0.key > from : $0.key >= from }.prefix(limit))
    }

    @Test func rollsUpCommonPrefixes() async throws {
        let page = try await BucketListing.build(prefix: "", delimiter: "/", marker: nil, maxKeys: 1000, fetch: Self.fetch)
        #expect(page.commonPrefixes == ["a/", "c/"])
        #expect(page.objects.map(\.key) == ["b", "d"])
        #expect(!page.isTruncated)
    }

    @Test func pagesCountPrefixesOnceAndResumeAfterThem() async throws {
        var marker: String?
        var seen: [String] = []
        for _ in 0..<10 {
            let page = try await BucketListing.build(prefix: "", delimiter: "/", marker: marker, maxKeys: 1, fetch: Self.fetch)
            seen += page.commonPrefixes + page.objects.map(\.key)
            guard page.isTruncated else { break }
            marker = page.nextMarker
        }
        #expect(seen == ["a/", "b", "c/", "d"])
    }

    @Test func prefixAndNestedDelimiter() async throws {
        let page = try await BucketListing.build(prefix: "a/", delimiter: "/", marker: nil, maxKeys: 1000, fetch: Self.fetch)
        #expect(page.objects.map(\.key) == ["a/1", "a/2"])
        #expect(page.commonPrefixes == ["a/b/"])
        let flat = try await BucketListing.build(prefix: "c", delimiter: nil, marker: "c/1", maxKeys: 1000, fetch: Self.fetch)
        #expect(flat.objects.map(\.key) == ["c/2"])
    }
}
