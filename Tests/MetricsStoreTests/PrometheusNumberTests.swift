import XCTest
@testable import MetricsStore

/// Expected strings are Go's strconv.FormatFloat output for the same values.
final class PrometheusNumberTests: XCTestCase {
    func testJSONValuesUsePositionalNotation() {
        XCTAssertEqual(PrometheusNumber.format(1), "1")
        XCTAssertEqual(PrometheusNumber.format(-2.5), "-2.5")
        XCTAssertEqual(PrometheusNumber.format(0.1), "0.1")
        XCTAssertEqual(PrometheusNumber.format(1e-7), "0.0000001")
        XCTAssertEqual(PrometheusNumber.format(1.5e20), "150000000000000000000")
        XCTAssertEqual(PrometheusNumber.format(123456.789), "123456.789")
        XCTAssertEqual(PrometheusNumber.format(1.0 / 3), "0.3333333333333333")
        XCTAssertEqual(PrometheusNumber.format(.nan), "NaN")
        XCTAssertEqual(PrometheusNumber.format(-.infinity), "-Inf")
    }

    func testTextValuesSwitchToExponentsLikeGo() {
        XCTAssertEqual(PrometheusNumber.formatText(1e6), "1e+06")
        XCTAssertEqual(PrometheusNumber.formatText(123456), "123456")
        XCTAssertEqual(PrometheusNumber.formatText(1.5e-5), "1.5e-05")
        XCTAssertEqual(PrometheusNumber.formatText(0.0001), "0.0001")
        XCTAssertEqual(PrometheusNumber.formatText(-1234567.5), "-1.2345675e+06")
        XCTAssertEqual(PrometheusNumber.formatText(1e100), "1e+100")
        XCTAssertEqual(PrometheusNumber.formatText(.infinity), "+Inf")
    }
}
