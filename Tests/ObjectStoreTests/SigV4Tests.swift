import S3
import Foundation
import NIOCore
import Testing
@testable import ObjectStore

/// AWS's published SigV4 examples for S3 (sig-v4-header-based-auth.html,
/// sigv4-query-string-auth.html, sigv4-streaming.html): key AKIAIOSFODNN7EXAMPLE,
/// 2013-05-24, us-east-1.
struct SigV4Tests {
    static let key = AccessKey(id: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", name: "example")
    static let exampleDate = SigV4.parseAmzDate("20130524T000000Z")!

    static func authenticator() -> RequestAuthenticator {
        RequestAuthenticator(region: "us-east-1") { id in id == key.id ? key : nil }
    }

    static func headerRequest(method: String, path: String, query: String?, headers: [String: String], signedHeaders: String, signature: String) -> SignedRequest {
        var all = headers
        all["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=\(signedHeaders),Signature=\(signature)"
        return SignedRequest(method: method, rawPath: path, query: S3Request.parseQuery(query), headers: all)
    }

    @Test func acceptsTheGetObjectExample() async throws {
        let request = Self.headerRequest(
            method: "GET", path: "/test.txt", query: nil,
            headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z"],
            signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        let auth = try await Self.authenticator().authenticate(request, now: Self.exampleDate)
        #expect(auth?.key.id == Self.key.id)
        #expect(auth?.payload == .sha256(SigV4.emptySHA256))
    }

    @Test func acceptsThePutObjectExampleWithAnEncodedKey() async throws {
        let request = Self.headerRequest(
            method: "PUT", path: "/test%24file.text", query: nil,
            headers: ["host": "examplebucket.s3.amazonaws.com", "date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-date": "20130524T000000Z",
                      "x-amz-storage-class": "REDUCED_REDUNDANCY",
                      "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"],
            signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        let auth = try await Self.authenticator().authenticate(request, now: Self.exampleDate)
        #expect(auth != nil)
    }

    @Test func acceptsTheListObjectsExampleWithSortedQuery() async throws {
        let request = Self.headerRequest(
            method: "GET", path: "/", query: "max-keys=2&prefix=J",
            headers: ["host": "examplebucket.s3.amazonaws.com", "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z"],
            signedHeaders: "host;x-amz-content-sha256;x-amz-date",
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        #expect(try await Self.authenticator().authenticate(request, now: Self.exampleDate) != nil)
    }

    @Test func rejectsATamperedRequest() async throws {
        let request = Self.headerRequest(
            method: "GET", path: "/test.txt", query: nil,
            headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-10", "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z"],
            signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        await #expect(throws: S3Error.signatureDoesNotMatch) { try await Self.authenticator().authenticate(request, now: Self.exampleDate) }
    }

    @Test func rejectsAnOldHeaderSignature() async throws {
        let request = Self.headerRequest(
            method: "GET", path: "/test.txt", query: nil,
            headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-content-sha256": SigV4.emptySHA256, "x-amz-date": "20130524T000000Z"],
            signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        do {
            _ = try await Self.authenticator().authenticate(request, now: Self.exampleDate.addingTimeInterval(3600))
            Issue.record("an hour-old signature was accepted")
        } catch let error as S3Error {
            #expect(error.code == "RequestTimeTooSkewed")
        }
    }

    static let presignedQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

    @Test func acceptsThePresignedExampleWithinItsExpiry() async throws {
        let request = SignedRequest(method: "GET", rawPath: "/test.txt", query: S3Request.parseQuery(Self.presignedQuery),
                                    headers: ["host": "examplebucket.s3.amazonaws.com"])
        let auth = try await Self.authenticator().authenticate(request, now: Self.exampleDate.addingTimeInterval(86_000))
        #expect(auth?.payload == .unsigned)
    }

    @Test func rejectsThePresignedExampleAfterItsExpiry() async throws {
        let request = SignedRequest(method: "GET", rawPath: "/test.txt", query: S3Request.parseQuery(Self.presignedQuery),
                                    headers: ["host": "examplebucket.s3.amazonaws.com"])
        await #expect(throws: S3Error.accessDenied("Request has expired")) {
            try await Self.authenticator().authenticate(request, now: Self.exampleDate.addingTimeInterval(86_401))
        }
    }

    @Test func canonicalURIReencodesEachSegment() {
        let request = SignedRequest(method: "GET", rawPath: "/bucket/a%20b/%C3%BC+c.txt", query: [], headers: [:])
        #expect(request.canonicalURI == "/bucket/a%20b/%C3%BC%2Bc.txt")
    }

    /// The streaming example: 66560 bytes of 'a' in a 65536-byte chunk, a 1024-byte chunk and
    /// the final empty chunk, each signed in the chain seeded by the request signature.
    static func streamingExampleBody(tamper: Bool = false) -> ByteBuffer {
        var text = "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
        text += String(repeating: tamper ? "b" : "a", count: 65536) + "\r\n"
        text += "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
        text += String(repeating: "a", count: 1024) + "\r\n"
        text += "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
        return ByteBuffer(string: text)
    }

    static func streamingSigning() -> AWSChunkedDecoder.Signing {
        let scope = SigV4.Scope(date: "20130524", region: "us-east-1", service: "s3")
        return .init(key: SigV4.signingKey(secret: key.secret, scope: scope), scope: scope, amzDate: "20130524T000000Z",
                     seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    }

    @Test func decodesTheStreamingExampleInSmallPieces() throws {
        var decoder = AWSChunkedDecoder(signing: Self.streamingSigning())
        var body = Self.streamingExampleBody()
        var data: [UInt8] = []
        while body.readableBytes > 0 {
            let piece = body.readSlice(length: min(777, body.readableBytes))!
            for out in try decoder.feed(piece) { data += out.readableBytesView }
        }
        #expect(decoder.isComplete)
        #expect(data == Array(repeating: UInt8(ascii: "a"), count: 66560))
    }

    @Test func rejectsAStreamingChunkWhoseDataWasChanged() {
        var decoder = AWSChunkedDecoder(signing: Self.streamingSigning())
        #expect(throws: S3Error.signatureDoesNotMatch) { _ = try decoder.feed(Self.streamingExampleBody(tamper: true)) }
    }

    @Test func decodesUnsignedChunksWithATrailer() throws {
        var decoder = AWSChunkedDecoder(signing: nil)
        let out = try decoder.feed(ByteBuffer(string: "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"))
        #expect(out.map { String(buffer: $0) }.joined() == "hello world")
        #expect(decoder.trailers["x-amz-checksum-crc32"] == "DUoRhQ==")
        #expect(decoder.isComplete)
    }
}
