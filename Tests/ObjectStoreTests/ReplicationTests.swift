import Foundation
import NIOCore
import Testing
@testable import ObjectStore

/// The merge rules of the replicated tables (objects with tombstones, the catalog) and the
/// pieces of the node-to-node protocol that can be checked without a network.
struct ReplicationTests {
    static func record(_ key: String, _ bytes: [UInt8], bucket: String = "bucket-one") -> ObjectRecord {
        ObjectRecord(bucket: bucket, key: key, size: Int64(bytes.count), etag: "e\(bytes.count)", lastModified: Date(),
                     headers: [:], checksum: nil, data: .inline(bytes, crc: CRC32.checksum(bytes)))
    }

    // MARK: versions

    @Test func laterVersionsWinAndEqualOnesChangeNothing() {
        #expect(VersionOrder.supersedes("0000000000000002-aa", "0000000000000001-bb"))
        #expect(!VersionOrder.supersedes("0000000000000001-bb", "0000000000000002-aa"))
        #expect(!VersionOrder.supersedes("0000000000000001-aa", "0000000000000001-aa"))
        // Same instant: the node id breaks the tie, the same way on every node.
        #expect(VersionOrder.supersedes("0000000000000001-bb", "0000000000000001-aa"))
        // Anything beats no entry; rows written before clustering ("") lose to any write.
        #expect(VersionOrder.supersedes("", nil))
        #expect(VersionOrder.supersedes("0000000000000001-aa", ""))
    }

    @Test func clockIsMonotonicAndMovesPastObservedVersions() {
        let clock = VersionClock()
        clock.setNode("abcdef0123456789ffff")
        let first = clock.next(), second = clock.next()
        #expect(VersionOrder.supersedes(second, first))
        #expect(first.hasSuffix("-abcdef0123456789"))
        let future = VersionClock.format(micros: VersionClock.micros(of: first)! + 3_600_000_000, node: "0000")
        clock.observe(future)
        #expect(VersionOrder.supersedes(clock.next(), future))
    }

    // MARK: object entries

    @Test func mergeAppliesNewerEntriesAndTombstonesStopResurrection() async throws {
        let store = try MetadataStore(directory: StorageTests.tempDir())
        defer { store.close() }
        let v1 = "0000000000000010-a", v2 = "0000000000000020-b", v3 = "0000000000000030-a"
        let put1 = ObjectEntry(record: Self.record("k", [1]), version: v1)
        #expect(try await store.merge([put1]).applied == 1)
        #expect(try await store.merge([put1]).applied == 0)
        let delete = ObjectEntry.tombstone(bucket: "bucket-one", key: "k", version: v2)
        #expect(try await store.merge([delete]).applied == 1)
        #expect(try await store.entry(bucket: "bucket-one", key: "k") == delete)
        // A replica that missed the delete offers its older copy back: it is refused.
        #expect(try await store.merge([put1]).applied == 0)
        #expect(try await store.entry(bucket: "bucket-one", key: "k")?.isTombstone == true)
        // A write after the delete brings the key back.
        let put3 = ObjectEntry(record: Self.record("k", [3, 3]), version: v3)
        #expect(try await store.merge([put3]).applied == 1)
        let current = try await store.entry(bucket: "bucket-one", key: "k")
        #expect(current?.version == v3 && current?.record?.data == .inline([3, 3], crc: CRC32.checksum([3, 3])))
        let listed = try await store.listEntries(bucket: "bucket-one", from: "", exclusive: false, limit: 10)
        #expect(listed.map(\.key) == ["k"] && listed[0].deleted == false)
    }

    @Test func mergeReturnsTheDataFilesOfTheReplacedVersion() async throws {
        let store = try MetadataStore(directory: StorageTests.tempDir())
        defer { store.close() }
        let old = ObjectSegment(blob: String(repeating: "a", count: 32), size: 10, blockCRCs: [1])
        var record = Self.record("k", [])
        record.data = .segments([old])
        _ = try await store.merge([ObjectEntry(record: record, version: "0000000000000001-a")])
        let (_, replaced) = try await store.merge([.tombstone(bucket: "bucket-one", key: "k", version: "0000000000000002-a")])
        #expect(replaced == [old])
    }

    @Test func partitionDigestsDifferExactlyWhereVersionsDiffer() async throws {
        let one = try MetadataStore(directory: StorageTests.tempDir()), two = try MetadataStore(directory: StorageTests.tempDir())
        defer { one.close(); two.close() }
        let entries = (0..<20).map { ObjectEntry(record: Self.record("key-\($0)", [UInt8($0)]), version: "0000000000000001-a") }
        _ = try await one.merge(entries)
        _ = try await two.merge(entries)
        #expect(try await one.partitionDigests() == two.partitionDigests())
        let newer = ObjectEntry(record: Self.record("key-7", [99]), version: "0000000000000002-a")
        _ = try await two.merge([newer])
        let (a, b) = (try await one.partitionDigests(), try await two.partitionDigests())
        let differing = Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }
        #expect(differing == [PlacementRing.partition(bucket: "bucket-one", key: "key-7")])
        #expect(try await two.versions(inPartition: differing.first!).contains(EntryVersion(bucket: "bucket-one", key: "key-7", version: newer.version)))
    }

    @Test func listingPagesMergeByNewestVersionUpToTheShortestFullPage() {
        func e(_ key: String, _ version: String, deleted: Bool = false) -> EntrySummary {
            EntrySummary(key: key, version: version, deleted: deleted, size: 1, etag: "", lastModified: 0)
        }
        let full = [e("a", "1"), e("b", "1"), e("c", "1")]
        let lagging = [e("a", "1"), e("b", "2", deleted: true), e("d", "1")]
        let (merged, bound) = ReplicatedObjects.mergePages([full, lagging], limit: 3)
        // "d" is past "c", the end of a full page: that page's next keys are unknown yet.
        #expect(bound == "c")
        #expect(merged.map(\.key) == ["a", "b", "c"])
        #expect(merged[1].deleted)
        let (short, noBound) = ReplicatedObjects.mergePages([[e("x", "1")], [e("x", "2", deleted: true)]], limit: 3)
        #expect(noBound == nil && short.count == 1 && short[0].deleted)
    }

    @Test func aVersionOneDatabaseIsUpgradedInPlace() async throws {
        let directory = StorageTests.tempDir()
        do {
            let old = try SQLiteConnection(path: directory + "/metadata.sqlite")
            try MetadataSchema.createVersion1(old)
            _ = try old.run("INSERT INTO buckets(name, id, created) VALUES ('kept', 'b1', 0)")
            _ = try old.run("INSERT INTO objects(bucket, key, size, etag, last_modified, headers, inline, inline_crc) VALUES ('kept', 'o', 1, 'e', 0, '{}', x'07', ?)",
                            .integer(Int64(CRC32.checksum([7]))))
        }
        let store = try MetadataStore(directory: directory)
        defer { store.close() }
        #expect(try await store.object(bucket: "kept", key: "o").data == .inline([7], crc: CRC32.checksum([7])))
        // Rows from before clustering carry the empty version: any replicated write beats them.
        #expect(try await store.entry(bucket: "kept", key: "o")?.version == "")
        #expect(try await store.catalogSnapshot().buckets.map(\.name) == ["kept"])
        let newer = ObjectEntry.tombstone(bucket: "kept", key: "o", version: "0000000000000001-a")
        #expect(try await store.merge([newer]).applied == 1)
    }

    // MARK: catalog

    @Test func catalogMergeCarriesRowsDeletesAndGrants() async throws {
        let one = try MetadataStore(directory: StorageTests.tempDir()), two = try MetadataStore(directory: StorageTests.tempDir())
        defer { one.close(); two.close() }
        one.clock.setNode("1111")
        two.clock.setNode("2222")
        let key = try await one.createKey(name: "k")
        try await one.createBucket(name: "shared", owner: key.id)
        #expect(try await two.mergeCatalog(try await one.catalogSnapshot()))
        #expect(try await two.permission(bucket: "shared", key: key.id) == BucketPermission(read: true, write: true, owner: true))
        #expect(try await one.catalogSnapshot().digest == two.catalogSnapshot().digest)
        let beforeDelete = try await two.catalogSnapshot()
        _ = try await one.deleteBucket(name: "shared")
        try await two.mergeCatalog(try await one.catalogSnapshot())
        await #expect(throws: StoreError.noSuchBucket("shared")) { _ = try await two.permission(bucket: "shared", key: key.id) }
        // The old snapshot (bucket still there) cannot bring the bucket back.
        #expect(try await !one.mergeCatalog(beforeDelete))
        await #expect(throws: StoreError.noSuchBucket("shared")) { _ = try await one.permission(bucket: "shared", key: key.id) }
        // A grant removed on one node is removed on the other.
        try await two.createBucket(name: "second", owner: key.id)
        try await one.mergeCatalog(try await two.catalogSnapshot())
        try await one.changeGrant(bucket: "second", keyID: key.id, flags: BucketPermission(read: true, write: true, owner: true), allow: false)
        try await two.mergeCatalog(try await one.catalogSnapshot())
        #expect(try await two.permission(bucket: "second", key: key.id) == .none)
    }

    // MARK: RPC

    @Test func rpcSignaturesVerifyOnlyWithTheSameSecret() throws {
        let secret = String(repeating: "ab", count: 32)
        let signer = RPCAuthentication(secret: secret)
        let now = Date()
        let headers = Dictionary(uniqueKeysWithValues: signer.headers(method: "GET", path: "/rpc/entry", query: "bucket=b&key=k", now: now))
        let time = headers[RPCAuthentication.timeHeader], signature = headers[RPCAuthentication.signatureHeader]
        try signer.verify(method: "GET", path: "/rpc/entry", query: "bucket=b&key=k", time: time, signature: signature, now: now)
        let other = RPCAuthentication(secret: String(repeating: "cd", count: 32))
        #expect(throws: RPCAuthentication.Failure.badSignature) {
            try other.verify(method: "GET", path: "/rpc/entry", query: "bucket=b&key=k", time: time, signature: signature, now: now)
        }
        // The signature covers the method, path and query.
        #expect(throws: RPCAuthentication.Failure.badSignature) {
            try signer.verify(method: "PUT", path: "/rpc/entry", query: "bucket=b&key=k", time: time, signature: signature, now: now)
        }
        #expect(throws: RPCAuthentication.Failure.badSignature) {
            try signer.verify(method: "GET", path: "/rpc/entry", query: "bucket=b&key=other", time: time, signature: signature, now: now)
        }
        #expect(throws: RPCAuthentication.Failure.missing) {
            try signer.verify(method: "GET", path: "/rpc/entry", query: "", time: nil, signature: nil, now: now)
        }
        #expect(throws: RPCAuthentication.Failure.clockSkew(-600)) {
            try signer.verify(method: "GET", path: "/rpc/entry", query: "bucket=b&key=k", time: time, signature: signature,
                              now: now.addingTimeInterval(600))
        }
    }

    @Test func objectTransferCarriesDataFilesAndRefusesCorruptedOnes() async throws {
        let sender = try BlobStore(directory: StorageTests.tempDir(), threads: 2)
        let receiver = try BlobStore(directory: StorageTests.tempDir(), threads: 2)
        let bytes = (0..<(ObjectSegment.blockSize + 5000)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var chunks = [ByteBuffer(bytes: bytes)][...]
        let stored = try await ObjectDataStore(blobs: sender).store { chunks.popFirst() }
        var record = Self.record("big", [])
        record.data = stored
        record.size = Int64(bytes.count)
        let entry = ObjectEntry(record: record, version: "0000000000000001-a")
        let json = Array(try JSONEncoder().encode(entry))
        // Split the body at odd places, as a network would.
        var body: [UInt8] = []
        for try await buffer in ObjectTransfer.Body(json: json, entry: entry, blobs: sender) { body += buffer.readableBytesView }
        #expect(Int64(body.count) == ObjectTransfer.length(json: json, entry: entry))
        let pieces = stride(from: 0, to: body.count, by: 77_777).map { ByteBuffer(bytes: body[$0..<min($0 + 77_777, body.count)]) }
        let received = try await ObjectTransfer.receive(BufferSequence(buffers: pieces), entryLength: json.count, blobs: receiver)
        #expect(received == entry)
        var read: [UInt8] = []
        try await ObjectDataStore(blobs: receiver).open(received.record!.data, range: nil).forEach { read += $0.readableBytesView }
        #expect(read == bytes)

        var corrupted = body
        corrupted[json.count + 10] ^= 0xFF
        let elsewhere = try BlobStore(directory: StorageTests.tempDir(), threads: 2)
        await #expect(throws: ObjectTransfer.Failure.self) {
            _ = try await ObjectTransfer.receive(BufferSequence(buffers: [ByteBuffer(bytes: corrupted)]), entryLength: json.count, blobs: elsewhere)
        }
        #expect(await !elsewhere.exists(entry.segments[0].blob))
        for store in [sender, receiver, elsewhere] { await store.shutdown() }
    }
}

/// A fixed list of buffers as an async sequence.
struct BufferSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        mutating func next() async throws -> ByteBuffer? { remaining.popFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffers[...]) }
}
