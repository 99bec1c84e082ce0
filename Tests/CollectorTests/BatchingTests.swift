import XCTest
import OTLP
@testable import Collector

/// A pipeline stage that records what it receives.
actor RecordingConsumer<Batch: SignalBatch>: BatchConsumer {
    var batches: [Batch] = []
    var capacity = true
    nonisolated let isDurable: Bool

    init(durable: Bool = false) { self.isDurable = durable }

    func consume(_ batch: Batch) async throws(PipelineError) { batches.append(batch) }
    func hasCapacity() async -> Bool { capacity }
    func setCapacity(_ value: Bool) { capacity = value }
}

func makeTraces(resources: Int, spansPerResource: Int, startID: Int = 0) -> ExportTraceServiceRequest {
    var request = ExportTraceServiceRequest()
    var next = startID
    for r in 0..<resources {
        var rs = ResourceSpans()
        rs.resource.attributes = [.with { $0.key = "service.name"; $0.value.stringValue = "svc\(r)" }]
        var ss = ScopeSpans()
        ss.scope.name = "scope"
        for _ in 0..<spansPerResource {
            ss.spans.append(.with {
                $0.name = "span\(next)"
                $0.traceID = Data((0..<16).map { UInt8(($0 + next) % 255 + 1) })
                $0.spanID = Data((0..<8).map { UInt8(($0 + next) % 255 + 1) })
            })
            next += 1
        }
        rs.scopeSpans = [ss]
        request.resourceSpans.append(rs)
    }
    return request
}

final class BatchingTests: XCTestCase {
    func testSplitKeepsOrderResourcesAndBound() {
        let request = makeTraces(resources: 3, spansPerResource: 7)
        let pieces = request.split(maxItems: 5)
        XCTAssertEqual(pieces.map(\.itemCount), [5, 5, 5, 5, 1])
        let names = pieces.flatMap { $0.resourceSpans.flatMap { $0.scopeSpans.flatMap { $0.spans.map(\.name) } } }
        XCTAssertEqual(names, (0..<21).map { "span\($0)" })
        // Every span still sits under its own resource.
        for piece in pieces {
            for rs in piece.resourceSpans {
                let service = rs.resource.attributes[0].value.stringValue
                for span in rs.scopeSpans.flatMap(\.spans) {
                    let index = Int(span.name.dropFirst(4))!
                    XCTAssertEqual(service, "svc\(index / 7)")
                }
                XCTAssertEqual(rs.scopeSpans.first?.scope.name, "scope")
            }
        }
    }

    func testMetricWithMorePointsThanMaxIsSplitByPoints() {
        var request = ExportMetricsServiceRequest()
        var rm = ResourceMetrics()
        var sm = ScopeMetrics()
        sm.metrics = [.with { m in
            m.name = "big"
            m.gauge.dataPoints = (0..<25).map { i in .with { $0.asDouble = Double(i) } }
        }, .with { m in
            m.name = "small"
            m.sum.dataPoints = (0..<3).map { i in .with { $0.asInt = Int64(i) } }
        }]
        rm.scopeMetrics = [sm]
        request.resourceMetrics = [rm]
        XCTAssertEqual(request.itemCount, 28)
        let pieces = request.split(maxItems: 10)
        XCTAssertTrue(pieces.allSatisfy { $0.itemCount <= 10 })
        XCTAssertEqual(pieces.reduce(0) { $0 + $1.itemCount }, 28)
        let values = pieces.flatMap { $0.resourceMetrics.flatMap { $0.scopeMetrics.flatMap { $0.metrics.filter { $0.name == "big" }.flatMap { $0.gauge.dataPoints.map(\.asDouble) } } } }
        XCTAssertEqual(values, (0..<25).map(Double.init))
    }

    func testBatchSentWhenSizeReached() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let processor = BatchProcessor(config: BatchConfig(timeout: .seconds(60), sendBatchSize: 10), next: sink)
        try await processor.consume(makeTraces(resources: 1, spansPerResource: 4))
        let early = await sink.batches.count
        XCTAssertEqual(early, 0)
        try await processor.consume(makeTraces(resources: 1, spansPerResource: 6))
        let batches = await sink.batches
        XCTAssertEqual(batches.map(\.itemCount), [10])
    }

    func testBatchSentAfterTimeout() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let processor = BatchProcessor(config: BatchConfig(timeout: .milliseconds(50), sendBatchSize: 1000), next: sink)
        try await processor.consume(makeTraces(resources: 1, spansPerResource: 3))
        for _ in 0..<100 where await sink.batches.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        let batches = await sink.batches
        XCTAssertEqual(batches.map(\.itemCount), [3])
    }

    func testNoBatchExceedsMaxSize() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        let processor = BatchProcessor(config: BatchConfig(timeout: .seconds(60), sendBatchSize: 8, sendBatchMaxSize: 8), next: sink)
        try await processor.consume(makeTraces(resources: 2, spansPerResource: 15))
        await processor.shutdown()
        let batches = await sink.batches
        XCTAssertEqual(batches.reduce(0) { $0 + $1.itemCount }, 30)
        XCTAssertTrue(batches.allSatisfy { $0.itemCount <= 8 }, "\(batches.map(\.itemCount))")
    }

    func testRefusesWhenDownstreamIsFull() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>()
        await sink.setCapacity(false)
        let processor = BatchProcessor(config: BatchConfig(), next: sink)
        do {
            try await processor.consume(makeTraces(resources: 1, spansPerResource: 1))
            XCTFail("expected queueFull")
        } catch {
            if case .queueFull = error {} else { XCTFail("\(error)") }
        }
    }

    func testDurableModeAnswersOnlyAfterHandOver() async throws {
        let sink = RecordingConsumer<ExportTraceServiceRequest>(durable: true)
        let processor = BatchProcessor(config: BatchConfig(timeout: .milliseconds(100), sendBatchSize: 1000), next: sink)
        try await processor.consume(makeTraces(resources: 1, spansPerResource: 2))
        // consume returned, so the data must already be downstream.
        let count = await sink.batches.reduce(0) { $0 + $1.itemCount }
        XCTAssertEqual(count, 2)
    }
}
