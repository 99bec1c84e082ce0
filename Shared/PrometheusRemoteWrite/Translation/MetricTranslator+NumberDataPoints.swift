import OTLP

/// Gauges and sums: one sample per point in the series named after the metric.
extension MetricTranslator {
    /// OTel spec "Gauges": exemplars on gauges SHOULD be dropped, and are.
    mutating func addGaugePoints(_ points: [NumberDataPoint], name: String, context: ResourceScopeLabels) {
        for point in points {
            guard let labels = labelsOrDrop(context, attributes: point.attributes, name: name) else { continue }
            series.addSample(value: point.sampleValue, timestamp: milliseconds(point.timeUnixNano), labels: labels)
        }
    }

    /// Monotonic cumulative sums become counters (`_total` comes from the namer); non-monotonic
    /// ones become gauges. Like the collector, exemplars are kept on both.
    mutating func addSumPoints(_ points: [NumberDataPoint], name: String, isMonotonic: Bool, context: ResourceScopeLabels) {
        for point in points {
            guard let labels = labelsOrDrop(context, attributes: point.attributes, name: name) else { continue }
            let position = series.addSample(value: point.sampleValue, timestamp: milliseconds(point.timeUnixNano), labels: labels)
            series.addExemplars(point.exemplars.map(PrometheusExemplars.convert), toSeriesAt: position)

            if options.exportCreatedMetric, isMonotonic, point.startTimeUnixNano != 0 {
                let createdName = (name.hasSuffix("_total") ? String(name.dropLast("_total".count)) : name) + "_created"
                addCreated(labels: labels.setting(PromLabel(name: "__name__", value: createdName)),
                           start: point.startTimeUnixNano, timestamp: point.timeUnixNano)
            }
        }
    }

    /// The labels of a point's series, or nil after recording the dropped point when an
    /// attribute key cannot become a label name (upstream drops such points).
    mutating func labelsOrDrop(_ context: ResourceScopeLabels, attributes: [KeyValue], name: String? = nil) -> [PromLabel]? {
        let extras = name.map { [PromLabel(name: "__name__", value: $0)] } ?? []
        do {
            return try context.labels(attributes: attributes, extras: extras)
        } catch {
            record(error, droppedPoints: 1)
            return nil
        }
    }

    /// `_created` series: the start time in milliseconds as the value, at the point's time;
    /// only added when no series with these labels exists yet (upstream `addTimeSeriesIfNeeded`).
    mutating func addCreated(labels: [PromLabel], start: UInt64, timestamp: UInt64) {
        series.addSampleIfNew(value: Double(milliseconds(start)), timestamp: milliseconds(timestamp), labels: labels)
    }
}

extension NumberDataPoint {
    /// The sample value; the staleness marker when the point has no recorded value.
    var sampleValue: Double {
        if flags & noRecordedValueFlag != 0 { return staleNaN }
        switch value {
        case .asInt(let i)?: return Double(i)
        case .asDouble(let d)?: return d
        case nil: return 0
        }
    }
}
