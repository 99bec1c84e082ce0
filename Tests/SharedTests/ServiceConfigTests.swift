import XCTest
import NIOCore
@testable import VigilService

final class ServiceConfigTests: XCTestCase {
    func testHostPortForms() throws {
        XCTAssertEqual(try HostPort(parsing: "0.0.0.0:4317"), HostPort(host: "0.0.0.0", port: 4317))
        XCTAssertEqual(try HostPort(parsing: ":4318"), HostPort(host: "0.0.0.0", port: 4318))
        XCTAssertEqual(try HostPort(parsing: "[::1]:9090"), HostPort(host: "::1", port: 9090))
        XCTAssertEqual(try HostPort(parsing: "http://tempo:4317"), HostPort(host: "tempo", port: 4317))
        XCTAssertThrowsError(try HostPort(parsing: "localhost"))
        XCTAssertThrowsError(try HostPort(parsing: "localhost:99999"))
    }

    func testGzipRoundTripAndBombLimit() throws {
        let original = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "a"), count: 100_000))
        let compressed = BodyDecoding.gzip(original)
        XCTAssertLessThan(compressed.readableBytes, 1000)
        XCTAssertEqual(try BodyDecoding.decode(compressed, contentEncoding: "gzip", limit: 200_000), original)
        XCTAssertThrowsError(try BodyDecoding.decode(compressed, contentEncoding: "gzip", limit: 10_000)) { error in
            XCTAssertEqual(error as? BodyError, .tooLarge(limit: 10_000))
        }
    }

    func testBadGzipAndUnknownEncoding() {
        let junk = ByteBuffer(bytes: [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3])
        XCTAssertThrowsError(try BodyDecoding.decode(junk, contentEncoding: "gzip", limit: 1000)) { error in
            guard case .badGzip = error as? BodyError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try BodyDecoding.decode(junk, contentEncoding: "br", limit: 1000)) { error in
            XCTAssertEqual(error as? BodyError, .unsupportedEncoding("br"))
        }
    }

    struct Sample: Decodable {
        var name: String
        enum CodingKeys: String, CodingKey { case name }
        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
        }
    }

    func testConfigErrorsNameFileAndKey() {
        XCTAssertThrowsError(try ConfigFile.parse([String: Sample].self, yaml: "a:\n  name: x\n  nmae: y\n", file: "f.yaml")) { error in
            XCTAssertEqual("\(error)", "f.yaml: a.nmae: unknown key \"nmae\"")
        }
        XCTAssertThrowsError(try ConfigFile.parse([String: Sample].self, yaml: "a:\n  other: 1\n", file: "f.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("f.yaml: a.other"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigFile.parse([String: Sample].self, yaml: "a: [unclosed", file: "f.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("f.yaml: invalid YAML"), "\(error)")
        }
    }
}
