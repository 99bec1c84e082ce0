import VigilTestSupport
import XCTest

@testable import MetricsStore

/// `XORChunk.appendSamples`, the query path's decoder: the same samples as the iterator for
/// any time range, and the same again when resuming from where an earlier read stopped.
final class XORChunkRangeReadTests: XCTestCase {
    /// Timestamps with jitter and gaps in every delta-of-delta bucket; values that repeat,
    /// change in few bits, change in all bits, and include NaN, infinities and -0.
    private func awkwardSamples(count: Int, seed: UInt64) -> [Head.Sample] {
        var rng = SplitMix64(seed: seed)
        var t: Int64 = 1_700_000_000_000
        var v = 0.0
        var out: [Head.Sample] = []
        for _ in 0..<count {
            switch rng.next() % 10 {
            case 0: t += 1 + Int64(rng.next() % 5_000_000)  // large gap: the escape bucket
            case 1: t += 15_000 + Int64(rng.next() % 60_000)
            default: t += 15_000 + Int64(rng.next() % 21) - 10
            }
            switch rng.next() % 8 {
            case 0: break  // unchanged
            case 1: v = Double(bitPattern: rng.next())
            case 2: v = [Double.nan, .infinity, -.infinity, -0.0][Int(rng.next() % 4)]
            default: v += Double(rng.next() % 100)
            }
            out.append(Head.Sample(t, v))
        }
        return out
    }

    private func chunk(_ samples: some Sequence<Head.Sample>) -> XORChunk {
        var chunk = XORChunk()
        for s in samples { chunk.append(timestamp: s.timestamp, value: s.value) }
        return chunk
    }

    func testRangeReadMatchesTheIteratorForEveryWindow() throws {
        for seed in 1...20 as ClosedRange<UInt64> {
            let samples = awkwardSamples(count: 150, seed: seed)
            let c = chunk(samples)
            var rng = SplitMix64(seed: seed * 7)
            for _ in 0..<50 {
                let a = samples[Int(rng.next() % 150)].timestamp + Int64(rng.next() % 3) - 1
                let b = samples[Int(rng.next() % 150)].timestamp + Int64(rng.next() % 3) - 1
                let (mint, maxt) = (min(a, b), max(a, b))
                var out: [Head.Sample] = []
                let more = try c.appendSamples(from: mint, through: maxt, to: &out)
                XCTAssertEqual(out, samples.filter { $0.timestamp >= mint && $0.timestamp <= maxt }, "seed \(seed) [\(mint), \(maxt)]")
                XCTAssertEqual(more, maxt >= samples.last!.timestamp, "false exactly when a sample lies past maxt")
            }
        }
    }

    func testResumingFromAnEarlierReadGivesTheSameSamples() throws {
        let samples = awkwardSamples(count: 200, seed: 99)
        let c = chunk(samples)
        var position: XORChunk.ReadPosition?
        for i in stride(from: 10, to: 200, by: 7) {
            let mint = samples[i].timestamp
            var resumed: [Head.Sample] = []
            var fresh: [Head.Sample] = []
            _ = try c.appendSamples(from: mint, through: .max, to: &resumed, position: &position)
            _ = try c.appendSamples(from: mint, through: .max, to: &fresh)
            XCTAssertEqual(resumed, fresh, "window from sample \(i)")
            XCTAssertEqual(position?.samplesRead, Int32(i), "the position moves to just before the window")
        }
        // A window that starts before the position decodes from the start instead.
        var early: [Head.Sample] = []
        _ = try c.appendSamples(from: samples[3].timestamp, through: .max, to: &early, position: &position)
        XCTAssertEqual(early, Array(samples[3...]))
        XCTAssertEqual(position?.samplesRead, Int32(199), "an earlier read does not move the position back")
    }

    func testPositionSurvivesAppendsToTheOpenChunk() throws {
        let samples = awkwardSamples(count: 240, seed: 5)
        var c = chunk(samples[..<100])
        var position: XORChunk.ReadPosition?
        var out: [Head.Sample] = []
        _ = try c.appendSamples(from: samples[80].timestamp, through: .max, to: &out, position: &position)
        for s in samples[100...] { c.append(timestamp: s.timestamp, value: s.value) }
        out.removeAll()
        _ = try c.appendSamples(from: samples[90].timestamp, through: .max, to: &out, position: &position)
        XCTAssertEqual(out, Array(samples[90...]))
    }

    func testPositionOfAnotherChunkIsIgnored() throws {
        let first = awkwardSamples(count: 120, seed: 11)
        let second = first.map { Head.Sample($0.timestamp + 10_000_000_000, $0.value + 1) }
        var position: XORChunk.ReadPosition?
        var out: [Head.Sample] = []
        _ = try chunk(first).appendSamples(from: first[100].timestamp, through: .max, to: &out, position: &position)
        XCTAssertNotNil(position)
        out.removeAll()
        _ = try chunk(second).appendSamples(from: second[50].timestamp, through: .max, to: &out, position: &position)
        XCTAssertEqual(out, Array(second[50...]))
    }

    func testHeadReadsOfMovingWindowsMatchAFullScan() throws {
        let head = Head()
        let labels = Labels(["__name__": "m", "job": "a"])
        var all: [Head.Sample] = []
        for i in 0..<2_000 {
            let sample = Head.Sample(Int64(i) * 15_000, Double(i % 37) * 1.5)
            all.append(sample)
            _ = try head.append([(labels, [sample])])
            guard i % 13 == 0 else { continue }
            // A rule-like read of the last 5 minutes, then a dashboard-like read of the last hour.
            for range: Int64 in [300_000, 3_600_000] {
                let mint = sample.timestamp - range + 1
                let got = head.select([.equal("job", "a")], mint: mint, maxt: sample.timestamp).first?.samples ?? []
                XCTAssertEqual(got, all.filter { $0.timestamp >= mint }, "at sample \(i), range \(range)")
            }
        }
    }
}
