import XCTest
import OTLP
@testable import Collector

/// A sender that fails a set number of times before succeeding, recording deliveries.
actor FlakySender: BatchSender {
    typealias Batch = ExportTraceServiceRequest
    var failuresLeft: Int
    var permanent: Bool
    var delivered: [ExportTraceServiceRequest] = []
    var attempts = 0

    init(failures: Int, permanent: Bool = false) {
        self.failuresLeft = failures
        self.permanent = permanent
    }

    func send(_ batch: ExportTraceServiceRequest) async throws(ExportError) {
        attempts += 1
        if failuresLeft > 0 {
            failuresLeft -= 1
            throw permanent ? .permanent("bad data") : .retryable("down")
        }
        delivered.append(batch)
    }

    func heal() { failuresLeft = 0 }
}

final class SendingQueueTests: XCTestCase {
    var fastRetry: RetrySettings {
        var retry = RetrySettings()
        retry.initialInterval = .milliseconds(10)
        retry.maxInterval = .milliseconds(20)
        retry.maxElapsedTime = .seconds(10)
        return retry
    }

    func testRetriesUntilDelivered() async throws {
        let sender = FlakySender(failures: 3)
        let queue = SendingQueue(exporterID: ComponentID(type: "otlp"), settings: QueueSettings(numConsumers: 1, queueSize: 10),
                                 retry: fastRetry, sender: sender, store: nil, counters: nil)
        let runner = Task { await queue.run() }
        try await queue.consume(makeTraces(resources: 1, spansPerResource: 4))
        await queue.waitUntilEmpty()
        let delivered = await sender.delivered
        let attempts = await sender.attempts
        XCTAssertEqual(delivered.map(\.itemCount), [4])
        XCTAssertEqual(attempts, 4)
        await queue.stop()
        runner.cancel()
    }

    func testPermanentErrorIsNotRetried() async throws {
        let sender = FlakySender(failures: 1, permanent: true)
        let queue = SendingQueue(exporterID: ComponentID(type: "otlp"), settings: QueueSettings(numConsumers: 1, queueSize: 10),
                                 retry: fastRetry, sender: sender, store: nil, counters: nil)
        let runner = Task { await queue.run() }
        try await queue.consume(makeTraces(resources: 1, spansPerResource: 1))
        await queue.waitUntilEmpty()
        let attempts = await sender.attempts
        XCTAssertEqual(attempts, 1)
        await queue.stop()
        runner.cancel()
    }

    func testFullQueueRefusesWithQueueFull() async throws {
        let sender = FlakySender(failures: 1_000_000)
        let queue = SendingQueue(exporterID: ComponentID(type: "otlp", name: "x"), settings: QueueSettings(numConsumers: 1, queueSize: 2),
                                 retry: fastRetry, sender: sender, store: nil, counters: nil)
        // No workers run: the queue only fills.
        try await queue.consume(makeTraces(resources: 1, spansPerResource: 1))
        try await queue.consume(makeTraces(resources: 1, spansPerResource: 1))
        do {
            try await queue.consume(makeTraces(resources: 1, spansPerResource: 1))
            XCTFail("third batch should be refused")
        } catch {
            XCTAssertEqual(error, .queueFull(exporter: "otlp/x"))
        }
    }

    func testPersistentQueueSurvivesRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-queue-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let down = FlakySender(failures: 1_000_000)
        let first = SendingQueue(exporterID: ComponentID(type: "otlp"), settings: QueueSettings(numConsumers: 1, queueSize: 10),
                                 retry: fastRetry, sender: down, store: try PersistentQueueStore(directory: directory), counters: nil)
        try await first.consume(makeTraces(resources: 1, spansPerResource: 3, startID: 0))
        try await first.consume(makeTraces(resources: 1, spansPerResource: 2, startID: 3))
        // "Restart": a new queue over the same directory, with a healthy backend.
        let up = FlakySender(failures: 0)
        let second = SendingQueue(exporterID: ComponentID(type: "otlp"), settings: QueueSettings(numConsumers: 1, queueSize: 10),
                                  retry: fastRetry, sender: up, store: try PersistentQueueStore(directory: directory), counters: nil)
        try await second.recover()
        let runner = Task { await second.run() }
        await second.waitUntilEmpty()
        let names = await up.delivered.flatMap { $0.resourceSpans.flatMap { $0.scopeSpans.flatMap { $0.spans.map(\.name) } } }
        XCTAssertEqual(names, ["span0", "span1", "span2", "span3", "span4"])
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(left, [], "delivered batches are removed from disk")
        await second.stop()
        runner.cancel()
    }

    func testBackoffGrowsAndHonoursRetryAfterAndGivesUp() {
        var settings = RetrySettings()
        settings.initialInterval = .seconds(1)
        settings.multiplier = 2
        settings.maxInterval = .seconds(4)
        settings.maxElapsedTime = .seconds(10)
        var backoff = RetryBackoff(settings: settings)
        XCTAssertEqual(backoff.nextWait(retryAfter: nil, random: 0), 1)
        XCTAssertEqual(backoff.nextWait(retryAfter: nil, random: 0), 2)
        XCTAssertEqual(backoff.nextWait(retryAfter: .seconds(5), random: 0), 5)
        XCTAssertNil(backoff.nextWait(retryAfter: nil, random: 0), "8s elapsed + 4s would pass the 10s limit")
    }
}
