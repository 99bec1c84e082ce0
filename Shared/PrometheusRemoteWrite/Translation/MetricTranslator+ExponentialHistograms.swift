import OTLP

/// Exponential histograms become Prometheus native histograms in the series named after the
/// metric (no suffix), as the collector's exporter does; their exemplars go to that series.
extension MetricTranslator {
    mutating func addExponentialHistogramPoints(_ points: [ExponentialHistogramDataPoint], name: String, context: ResourceScopeLabels) {
        for point in points {
            let histogram: Prometheus_Histogram
            do {
                histogram = try NativeHistogramConversion.histogram(from: point)
            } catch {
                record(error, droppedPoints: 1)
                continue
            }
            guard let labels = labelsOrDrop(context, attributes: point.attributes, name: name) else { continue }
            let position = series.addHistogram(histogram, labels: labels)
            series.addExemplars(point.exemplars.map(PrometheusExemplars.convert), toSeriesAt: position)
        }
    }
}

/// OTLP exponential histogram point → Prometheus native histogram (OTel spec, "Exponential
/// Histograms"; upstream `exponentialToNativeHistogram`).
enum NativeHistogramConversion {
    /// Prometheus' default zero bucket width, used when the point does not set one.
    static let defaultZeroThreshold = 1e-128

    /// - scale becomes the schema; scales above 8 are downscaled to 8 by merging 2^(scale-8)
    ///   neighbouring buckets; scales below -4 cannot be represented and are an error;
    /// - integer counter flavour with reset hint UNKNOWN (Prometheus detects resets itself);
    /// - count, zero count and sum (0 when the point has none, like upstream) are copied;
    /// - a point flagged "no recorded value" becomes a stale marker: sum = stale NaN, count 0,
    ///   no buckets (spec wording; upstream also copies the buckets, which Prometheus ignores).
    static func histogram(from point: ExponentialHistogramDataPoint) throws(TranslationError) -> Prometheus_Histogram {
        var scale = point.scale
        guard scale >= -4 else { throw .exponentialScaleTooSmall(scale: scale) }
        var scaleDown: Int32 = 0
        if scale > 8 {
            scaleDown = scale - 8
            scale = 8
        }

        var h = Prometheus_Histogram()
        h.schema = scale
        h.resetHint = .unknown
        h.zeroThreshold = point.zeroThreshold > 0 ? point.zeroThreshold : defaultZeroThreshold
        h.timestamp = milliseconds(point.timeUnixNano)

        if point.flags & noRecordedValueFlag != 0 {
            h.sum = staleNaN
            h.count = .countInt(0)
            return h
        }

        h.count = .countInt(point.count)
        h.zeroCount = .zeroCountInt(point.zeroCount)
        h.sum = point.hasSum ? point.sum : 0
        (h.positiveSpans, h.positiveDeltas) = sparseLayout(point.positive.bucketCounts, offset: point.positive.offset, scaleDown: scaleDown)
        (h.negativeSpans, h.negativeDeltas) = sparseLayout(point.negative.bucketCounts, offset: point.negative.offset, scaleDown: scaleDown)
        return h
    }

    /// Dense OTLP buckets → Prometheus spans and delta-encoded counts.
    ///
    /// OTLP bucket `offset + i` covers (base^(offset+i), base^(offset+i+1)]; Prometheus indexes a
    /// bucket by its upper bound, hence the `+ 1`. With `scaleDown`, 2^scaleDown buckets merge into
    /// one (index >> scaleDown, an arithmetic shift so negative indexes round down). Gaps of up to
    /// two empty buckets are filled with zero deltas rather than opening a new span, as
    /// client_golang does.
    static func sparseLayout(_ counts: [UInt64], offset: Int32, scaleDown: Int32) -> ([Prometheus_BucketSpan], [Int64]) {
        guard !counts.isEmpty else { return ([], []) }

        var spans: [Prometheus_BucketSpan] = []
        var deltas: [Int64] = []
        var previousCount: Int64 = 0
        func openSpan(offset: Int32) {
            var span = Prometheus_BucketSpan()
            span.offset = offset
            spans.append(span)
        }
        func appendCount(_ count: Int64) {
            spans[spans.count - 1].length += 1
            deltas.append(count - previousCount)
            previousCount = count
        }
        func appendGap(_ gap: Int32) {
            if gap > 2 {
                openSpan(offset: gap)
            } else if gap > 0 {
                for _ in 0..<gap { appendCount(0) }
            }
        }

        var bucketIndex = (offset >> scaleDown) + 1
        openSpan(offset: bucketIndex)
        var count: Int64 = 0
        for (i, bucketCount) in counts.enumerated() {
            let nextIndex = ((Int32(i) + offset) >> scaleDown) + 1
            if nextIndex == bucketIndex {
                // Still inside the same (merged) Prometheus bucket.
                count += Int64(bitPattern: bucketCount)
                continue
            }
            if count == 0 {
                // Nothing to emit yet: the empty bucket is covered by the next gap instead.
                count = Int64(bitPattern: bucketCount)
                continue
            }
            appendGap(nextIndex - bucketIndex - 1)
            appendCount(count)
            count = Int64(bitPattern: bucketCount)
            bucketIndex = nextIndex
        }
        let lastIndex = ((Int32(counts.count) + offset - 1) >> scaleDown) + 1
        appendGap(lastIndex - bucketIndex)
        appendCount(count)
        return (spans, deltas)
    }
}
