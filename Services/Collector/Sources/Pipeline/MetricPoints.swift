import OTLP

extension Metric {
    /// Data points of whichever kind this metric holds.
    var dataPointCount: Int {
        switch data {
        case .gauge(let g): return g.dataPoints.count
        case .sum(let s): return s.dataPoints.count
        case .histogram(let h): return h.dataPoints.count
        case .exponentialHistogram(let e): return e.dataPoints.count
        case .summary(let s): return s.dataPoints.count
        case nil: return 0
        }
    }

    /// Copies of this metric, each holding at most `maxPoints` of its points.
    func split(maxPoints: Int) -> [Metric] {
        func chunks<T>(_ points: [T], _ assign: (inout Metric, [T]) -> Void) -> [Metric] {
            stride(from: 0, to: points.count, by: maxPoints).map { start in
                var copy = self
                assign(&copy, Array(points[start..<min(start + maxPoints, points.count)]))
                return copy
            }
        }
        switch data {
        case .gauge(let g): return chunks(g.dataPoints) { $0.gauge.dataPoints = $1 }
        case .sum(let s): return chunks(s.dataPoints) { $0.sum.dataPoints = $1 }
        case .histogram(let h): return chunks(h.dataPoints) { $0.histogram.dataPoints = $1 }
        case .exponentialHistogram(let e): return chunks(e.dataPoints) { $0.exponentialHistogram.dataPoints = $1 }
        case .summary(let s): return chunks(s.dataPoints) { $0.summary.dataPoints = $1 }
        case nil: return [self]
        }
    }
}
