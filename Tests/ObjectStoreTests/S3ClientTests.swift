import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import Testing
import VigilTestSupport
@testable import ObjectStore
@testable import S3

/// The shared S3 client (Shared/S3) against a real object-store node in this process, as
/// the log-store and trace-store will use it.
@Suite(.serialized)
struct S3ClientTests {
    /// A node on free loopback ports with one key allowed to create buckets.
    final class Node: Sendable {
        let node: ObjectStoreNode
        let task: Task<Void, Error>
        let endpoint: URL
        let key: AccessKey
        let directory: URL

        init() async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("s3client-\(UUID().uuidString)")
            var config = ObjectStoreConfig(metadataDir: directory.appendingPathComponent("meta").path,
                                           dataDir: directory.appendingPathComponent("data").path)
            let port = try freeLoopbackPort()
            config.s3BindAddr = "127.0.0.1:\(port)"
            config.adminBindAddr = "127.0.0.1:\(try freeLoopbackPort())"
            config.dataFsync = false
            config.metadataFsync = false
            var quiet = Logger(label: "s3-client-test-node")
            quiet.logLevel = .critical   // cancelling the node at the end logs errors
            node = try ObjectStoreNode(config: config, logger: quiet)
            key = AccessKey(id: "GK" + String(repeating: "a1", count: 12), secret: String(repeating: "5e", count: 32),
                            name: "client-test", allowCreateBucket: true)
            try await node.metadata.importKey(key)
            let node = self.node
            task = Task { try await node.run(handleSignals: false) }
            endpoint = URL(string: "http://127.0.0.1:\(port)")!
            // Wait until the S3 port answers.
            for _ in 0..<200 {
                if (try? await HTTPClient.shared.execute(.init(url: endpoint.absoluteString), timeout: .seconds(1))) != nil { return }
                try await Task.sleep(for: .milliseconds(25))
            }
            throw S3ClientError.transport("node did not start on \(endpoint)")
        }

        func client(secret: String? = nil, unsignedPayload: Bool = false) -> S3Client {
            S3Client(endpoint: endpoint, region: "garage",
                     credentials: .init(accessKeyID: key.id, secretAccessKey: secret ?? key.secret),
                     unsignedPayload: unsignedPayload)
        }

        func stop() async {
            task.cancel()
            _ = try? await task.value
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test func objectsGoInComeBackAndGo() async throws {
        let node = try await Node()
        let s3 = node.client()
        try await s3.createBucket("chunks")
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let key = "tenant-1/2026/chunk with spaces+plus%.bin"
        let etag = try await s3.putObject(bucket: "chunks", key: key, body: body, contentType: "application/octet-stream")
        #expect(etag == SigV4.hex(Insecure.MD5.hash(data: body)))
        #expect(try await s3.getObject(bucket: "chunks", key: key) == body)
        #expect(try await s3.getObject(bucket: "chunks", key: key, range: 1000...1999) == Array(body[1000...1999]))
        let head = try #require(try await s3.headObject(bucket: "chunks", key: key))
        #expect(head.size == Int64(body.count))
        #expect(head.etag == etag)
        #expect(try await s3.headObject(bucket: "chunks", key: "missing") == nil)

        // Unsigned payloads are accepted too (for TLS endpoints).
        try await node.client(unsignedPayload: true).putObject(bucket: "chunks", key: "tenant-2/x", body: [1, 2, 3])

        try await s3.deleteObject(bucket: "chunks", key: key)
        #expect(try await s3.headObject(bucket: "chunks", key: key) == nil)
        try await s3.deleteObject(bucket: "chunks", key: key)   // deleting again is no error
        await node.stop()
    }

    @Test func listingsPageThroughEveryObjectAndGroupByDelimiter() async throws {
        let node = try await Node()
        let s3 = node.client()
        try await s3.createBucket("blocks")
        var keys: [String] = []
        for i in 0..<25 {
            let key = "t\(i % 3)/block-\(String(format: "%03d", i))"
            keys.append(key)
            try await s3.putObject(bucket: "blocks", key: key, body: Array("block \(i)".utf8))
        }
        let page = try await s3.listObjects(bucket: "blocks", prefix: "t1/", maxKeys: 3)
        #expect(page.objects.count == 3)
        #expect(page.nextContinuationToken != nil)
        let all = try await s3.listAllObjects(bucket: "blocks")
        #expect(all.map(\.key) == keys.sorted())
        #expect(all.first?.size == Int64("block 0".utf8.count))
        let grouped = try await s3.listObjects(bucket: "blocks", delimiter: "/")
        #expect(grouped.commonPrefixes == ["t0/", "t1/", "t2/"])
        #expect(grouped.objects.isEmpty)
        await node.stop()
    }

    @Test func serverErrorsCarryS3sCode() async throws {
        let node = try await Node()
        let s3 = node.client()
        await #expect(throws: S3ClientError.self) { try await s3.getObject(bucket: "nope", key: "k") }
        do {
            _ = try await s3.getObject(bucket: "nope", key: "k")
        } catch {
            #expect(error.code == "NoSuchBucket")
        }
        try await s3.createBucket("bkt")
        do {
            _ = try await s3.getObject(bucket: "bkt", key: "missing")
            Issue.record("expected NoSuchKey")
        } catch {
            #expect(error.code == "NoSuchKey")
        }
        do {
            try await node.client(secret: String(repeating: "00", count: 32)).putObject(bucket: "bkt", key: "k", body: [1])
            Issue.record("expected a signature error")
        } catch {
            #expect(error.code == "SignatureDoesNotMatch")
            #expect(error.description.contains("SignatureDoesNotMatch"))
        }
        let unreachable = S3Client(endpoint: URL(string: "http://127.0.0.1:\(try freeLoopbackPort())")!, region: "garage",
                                   credentials: .init(accessKeyID: "x", secretAccessKey: "y"), timeout: .seconds(1))
        do {
            _ = try await unreachable.headObject(bucket: "bkt", key: "k")
            Issue.record("expected a transport error")
        } catch {
            guard case .transport = error else { Issue.record("\(error)"); return }
        }
        await node.stop()
    }
}
