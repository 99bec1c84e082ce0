import S3
import Foundation
import Testing
@testable import ObjectStore

struct XMLTests {
    @Test func parsesACompleteMultipartUploadDocument() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <!-- two parts -->
              <Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;</ETag></Part>
              <Part><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><PartNumber>2</PartNumber></Part>
            </CompleteMultipartUpload>
            """
        let parts = try S3API.requestedParts(Array(text.utf8))
        #expect(parts.map(\.number) == [1, 2])
        #expect(parts.map(\.etag) == ["a54357aff0632cce46d942af68356b38", "0c78aef83f66abc1fa1e8477f296d394"])
    }

    @Test func decodesEntitiesAndCData() throws {
        let node = try XMLNode.parse(Array("<Delete><Object><Key>a&amp;b&#x20;&lt;c&gt;<![CDATA[<raw>]]></Key></Object></Delete>".utf8))
        #expect(node.child("Object")?.child("Key")?.text == "a&b <c><raw>")
    }

    @Test(arguments: ["<Delete><Object></Delete>", "<Delete>", "", "<a></b>", "<Delete/><Extra/>", "<a>&bogus;</a>", "<!DOCTYPE x><x/>"])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: XMLSyntaxError.self) { try XMLNode.parse(Array(text.utf8)) }
    }

    @Test(arguments: ["<CompleteMultipartUpload></CompleteMultipartUpload>", "<CompleteMultipartUpload><Part>", "<Other/>",
                      "<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>"])
    func badCompleteDocumentsAreMalformedXML(_ text: String) {
        do {
            _ = try S3API.requestedParts(Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch let error as S3Error {
            #expect(error.code == "MalformedXML")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func writerEscapesText() {
        var writer = XMLWriter()
        writer.element("Key", "a<b>&\"c'")
        #expect(writer.text.hasSuffix("<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>"))
    }
}

struct ByteRangeTests {
    @Test func parsesAndResolvesRanges() throws {
        #expect(try ByteRange(header: "bytes=0-9")!.resolve(size: 100) == 0...9)
        #expect(try ByteRange(header: "bytes=90-")!.resolve(size: 100) == 90...99)
        #expect(try ByteRange(header: "bytes=-10")!.resolve(size: 100) == 90...99)
        #expect(try ByteRange(header: "bytes=-500")!.resolve(size: 100) == 0...99)
        #expect(try ByteRange(header: "bytes=50-5000")!.resolve(size: 100) == 50...99)
    }

    @Test(arguments: ["bytes=5-1", "items=0-1", "bytes=0-1,3-4", "bytes=x-", "bytes=-", "0-1"])
    func ignoresHeadersThatAreNotOneByteRange(_ header: String) {
        #expect(ByteRange(header: header) == nil)
    }

    @Test func rangesPastTheEndAreUnsatisfiable() {
        #expect(throws: S3Error.invalidRange) { try ByteRange(header: "bytes=100-")!.resolve(size: 100) }
        #expect(throws: S3Error.invalidRange) { try ByteRange(header: "bytes=0-")!.resolve(size: 0) }
        #expect(throws: S3Error.invalidRange) { try ByteRange(header: "bytes=-0")!.resolve(size: 10) }
    }

    @Test func preconditionsFollowTheRFCOrder() {
        let modified = Date(timeIntervalSince1970: 1_700_000_000)
        let before = S3Time.httpDate(modified.addingTimeInterval(-60)), after = S3Time.httpDate(modified.addingTimeInterval(60))
        func outcome(_ headers: [String: String]) -> Preconditions.Outcome {
            Preconditions(headers: headers).evaluate(etag: "abc", lastModified: modified)
        }
        #expect(outcome([:]) == .proceed)
        #expect(outcome(["if-match": "\"abc\""]) == .proceed)
        #expect(outcome(["if-match": "\"xyz\""]) == .preconditionFailed)
        #expect(outcome(["if-match": "\"abc\"", "if-unmodified-since": before]) == .proceed)  // If-Match wins
        #expect(outcome(["if-unmodified-since": before]) == .preconditionFailed)
        #expect(outcome(["if-none-match": "\"abc\""]) == .notModified)
        #expect(outcome(["if-none-match": "\"xyz\"", "if-modified-since": after]) == .proceed)  // If-None-Match wins
        #expect(outcome(["if-modified-since": after]) == .notModified)
        #expect(outcome(["if-modified-since": before]) == .proceed)
    }

    @Test func httpDatesRoundTrip() {
        let date = Date(timeIntervalSince1970: 1_369_353_600)
        #expect(S3Time.httpDate(date) == "Fri, 24 May 2013 00:00:00 GMT")
        #expect(S3Time.parseHTTPDate("Fri, 24 May 2013 00:00:00 GMT") == date)
        #expect(S3Time.iso8601(date) == "2013-05-24T00:00:00.000Z")
    }
}

struct ChecksumTests {
    @Test func crcCheckValues() {
        // The "check" values of both polynomials for the ASCII digits 1 to 9.
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func incrementalCRCMatchesOneShot() {
        let bytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var crc = CRC32C()
        crc.update(bytes[0..<7])
        crc.update(bytes[7..<50_000])
        crc.update(bytes[50_000...])
        #expect(crc.value == CRC32C.checksum(bytes))
    }

    @Test func hasherGivesS3WireForm() {
        var hasher = ChecksumHasher(.crc32)
        Array("hello world".utf8).withUnsafeBytes { hasher.update($0) }
        #expect(hasher.base64Digest() == "DUoRhQ==")
        var sha = ChecksumHasher(.sha256)
        Array("abc".utf8).withUnsafeBytes { sha.update($0) }
        #expect(sha.digest().hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
