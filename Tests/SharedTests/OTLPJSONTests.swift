import XCTest
import Foundation
@testable import OTLP

final class OTLPJSONTests: XCTestCase {
    let traceJSON = """
    {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
     "scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174",
     "parentSpanId":"","name":"GET /cart","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
     "attributes":[{"key":"http.status_code","value":{"intValue":"200"}}],"status":{"code":2,"message":"boom"},
     "links":[{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002"}],"futureField":{"x":1}}]}]}]}
    """

    func testDecodesHexIDsEnumIntegersAndIgnoresUnknownFields() throws {
        let request = try OTLPJSON.decode(ExportTraceServiceRequest.self, from: Array(traceJSON.utf8))
        let span = request.resourceSpans[0].scopeSpans[0].spans[0]
        XCTAssertEqual(hexString(span.traceID), "5b8efff798038103d269b633813fc60c")
        XCTAssertEqual(hexString(span.spanID), "eee19b7ec3c1b174")
        XCTAssertTrue(span.parentSpanID.isEmpty)
        XCTAssertEqual(span.kind, .server)
        XCTAssertEqual(span.startTimeUnixNano, 1_544_712_660_000_000_000)
        XCTAssertEqual(span.endTimeUnixNano, 1_544_712_661_000_000_000)
        XCTAssertEqual(span.attributes[0].value.intValue, 200)
        XCTAssertEqual(span.status.code, .error)
        XCTAssertEqual(hexString(span.links[0].traceID), "00000000000000000000000000000001")
        XCTAssertEqual(hexString(span.links[0].spanID), "0000000000000002")
    }

    func testEncodesHexIDsAndIntegerEnums() throws {
        let request = try OTLPJSON.decode(ExportTraceServiceRequest.self, from: Array(traceJSON.utf8))
        let text = String(decoding: OTLPJSON.encode(request), as: UTF8.self)
        XCTAssertTrue(text.contains("\"traceId\":\"5b8efff798038103d269b633813fc60c\""), text)
        XCTAssertTrue(text.contains("\"spanId\":\"eee19b7ec3c1b174\""), text)
        XCTAssertTrue(text.contains("\"kind\":2"), text)
        let again = try OTLPJSON.decode(ExportTraceServiceRequest.self, from: OTLPJSON.encode(request))
        XCTAssertEqual(again, request)
    }

    func testIDKeyInsideAStringValueIsLeftAlone() throws {
        let json = #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"traceId: zz"},"traceId":"0102030405060708090a0b0c0d0e0f10"}]}]}]}"#
        let request = try OTLPJSON.decode(ExportLogsServiceRequest.self, from: Array(json.utf8))
        let record = request.resourceLogs[0].scopeLogs[0].logRecords[0]
        XCTAssertEqual(record.body.stringValue, "traceId: zz")
        XCTAssertEqual(hexString(record.traceID), "0102030405060708090a0b0c0d0e0f10")
    }

    func testRejectsNonHexIDWithItsName() {
        let json = #"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex!","spanId":"eee19b7ec3c1b174"}]}]}]}"#
        XCTAssertThrowsError(try OTLPJSON.decode(ExportTraceServiceRequest.self, from: Array(json.utf8))) { error in
            XCTAssertTrue("\(error)".contains("traceId \"not-hex!\""), "\(error)")
        }
    }

    func testRejectsTruncatedJSON() {
        XCTAssertThrowsError(try OTLPJSON.decode(ExportTraceServiceRequest.self, from: Array(#"{"resourceSpans":[{"#.utf8)))
        XCTAssertThrowsError(try OTLPJSON.decode(ExportTraceServiceRequest.self, from: Array(#"{"resourceSpans":"#.utf8)))
    }
}
