import OTLP

/// Explicit-bucket histograms become classic Prometheus histograms (OTel spec, "Histograms as
/// Prometheus Histograms"): `<name>_bucket{le=...}` with cumulative counts plus `le="+Inf"`
/// equal to the count, `<name>_sum` (only when the point has a sum) and `<name>_count`.
extension MetricTranslator {
    mutating func addHistogramPoints(_ points: [HistogramDataPoint], name: String, context: ResourceScopeLabels) {
        for point in points {
            guard let base = labelsOrDrop(context, attributes: point.attributes) else { continue }
            let timestamp = milliseconds(point.timeUnixNano)
            let stale = point.flags & noRecordedValueFlag != 0
            func value(_ v: Double) -> Double { stale ? staleNaN : v }

            if point.hasSum {
                series.addSample(value: value(point.sum), timestamp: timestamp, labels: base.setting(name: name + "_sum"))
            }
            series.addSample(value: value(Double(point.count)), timestamp: timestamp, labels: base.setting(name: name + "_count"))

            // bucket_counts has one more entry than explicit_bounds; a malformed point is
            // read up to the shorter of the two, like upstream.
            var buckets: [(bound: Double, position: Int)] = []
            var cumulative: UInt64 = 0
            for (bound, count) in zip(point.explicitBounds, point.bucketCounts) {
                cumulative &+= count
                let labels = base.setting(name: name + "_bucket", extra: PromLabel(name: "le", value: GoFloatFormat.fixed(bound)))
                buckets.append((bound, series.addSample(value: value(Double(cumulative)), timestamp: timestamp, labels: labels)))
            }
            let infLabels = base.setting(name: name + "_bucket", extra: PromLabel(name: "le", value: "+Inf"))
            buckets.append((.infinity, series.addSample(value: value(Double(point.count)), timestamp: timestamp, labels: infLabels)))

            attachExemplars(point.exemplars, toBuckets: buckets)

            if options.exportCreatedMetric, point.startTimeUnixNano != 0 {
                addCreated(labels: base.setting(name: name + "_created"), start: point.startTimeUnixNano, timestamp: point.timeUnixNano)
            }
        }
    }

    /// Each exemplar goes to the lowest bucket whose upper bound is >= its value (upstream
    /// `addExemplars`); the `+Inf` bucket catches the rest.
    private mutating func attachExemplars(_ exemplars: [Exemplar], toBuckets buckets: [(bound: Double, position: Int)]) {
        guard !exemplars.isEmpty else { return }
        let ordered = buckets.stablySorted { $0.bound < $1.bound }
        for exemplar in exemplars.map(PrometheusExemplars.convert) {
            if let bucket = ordered.first(where: { series.hasSamples(at: $0.position) && exemplar.value <= $0.bound }) {
                series.addExemplars([exemplar], toSeriesAt: bucket.position)
            }
        }
    }
}

/// Summaries (OTel spec, "Summaries"): `<name>{quantile=...}` per quantile, `<name>_sum`,
/// `<name>_count`. Exemplars are dropped.
extension MetricTranslator {
    mutating func addSummaryPoints(_ points: [SummaryDataPoint], name: String, context: ResourceScopeLabels) {
        for point in points {
            guard let base = labelsOrDrop(context, attributes: point.attributes) else { continue }
            let timestamp = milliseconds(point.timeUnixNano)
            let stale = point.flags & noRecordedValueFlag != 0
            func value(_ v: Double) -> Double { stale ? staleNaN : v }

            series.addSample(value: value(point.sum), timestamp: timestamp, labels: base.setting(name: name + "_sum"))
            series.addSample(value: value(Double(point.count)), timestamp: timestamp, labels: base.setting(name: name + "_count"))
            for quantile in point.quantileValues {
                let labels = base.setting(name: name, extra: PromLabel(name: "quantile", value: GoFloatFormat.fixed(quantile.quantile)))
                series.addSample(value: value(quantile.value), timestamp: timestamp, labels: labels)
            }

            if options.exportCreatedMetric, point.startTimeUnixNano != 0 {
                addCreated(labels: base.setting(name: name + "_created"), start: point.startTimeUnixNano, timestamp: point.timeUnixNano)
            }
        }
    }
}

extension Array where Element == PromLabel {
    /// `__name__` and an optional extra label (`le`, `quantile`) set on base labels; they
    /// replace attributes of the same name so a series never has a label twice.
    func setting(name: String, extra: PromLabel? = nil) -> [PromLabel] {
        var copy = self
        copy.reserveCapacity(count + 2)
        copy.setSorted(PromLabel(name: "__name__", value: name))
        if let extra { copy.setSorted(extra) }
        return copy
    }
}
