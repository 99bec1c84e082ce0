import XCTest
@testable import MetricsStore

final class ExemplarStorageTests: XCTestCase {
    let series: Labels = ["__name__": "latency_bucket", "le": "0.5"]

    func exemplar(_ t: Int64, series: Labels? = nil) -> StoredExemplar {
        StoredExemplar(series: series ?? self.series, labels: ["trace_id": "t\(t)"], value: Double(t), timestamp: t)
    }

    func testRingKeepsOnlyTheNewestCapacityExemplars() {
        let storage = ExemplarStorage(capacity: 3)
        storage.add((1...10).map { exemplar(Int64($0)) })
        let found = storage.query([[.equal("__name__", "latency_bucket")]], start: 0, end: 100)
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found[0].exemplars.map(\.timestamp), [8, 9, 10])
    }

    func testOutOfOrderExemplarIsSkipped() {
        let storage = ExemplarStorage(capacity: 10)
        XCTAssertEqual(storage.add([exemplar(5), exemplar(3), exemplar(5), exemplar(6)]), 2)
        XCTAssertEqual(storage.query([[.equal("le", "0.5")]], start: 0, end: 100)[0].exemplars.map(\.timestamp), [5, 6])
    }

    func testQueryFiltersBySelectorAndTime() {
        let storage = ExemplarStorage(capacity: 10)
        let other: Labels = ["__name__": "other"]
        storage.add([exemplar(1), exemplar(2), exemplar(3, series: other)])
        XCTAssertEqual(storage.query([[.equal("__name__", "other")]], start: 0, end: 10).map(\.series), [other])
        XCTAssertEqual(storage.query([[.equal("__name__", "latency_bucket")]], start: 2, end: 10)[0].exemplars.map(\.timestamp), [2])
        XCTAssertTrue(storage.query([[.equal("__name__", "missing")]], start: 0, end: 10).isEmpty)
    }
}
