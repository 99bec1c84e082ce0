import OTLP

/// The state of one `OTLPToPrometheus.translate` call: the series built so far and the
/// problems met. Per-type conversions live in the `MetricTranslator+*.swift` extensions.
struct MetricTranslator {
    let options: PrometheusTranslationOptions
    let namer: PrometheusMetricNamer
    let externalLabels: [PromLabel]
    var series = SeriesSet()
    var errors: [String] = []
    var droppedDataPoints = 0

    init(options: PrometheusTranslationOptions) {
        self.options = options
        self.namer = PrometheusMetricNamer(namespace: options.namespace, withSuffixes: options.addMetricSuffixes)
        var errors: [String] = []
        self.externalLabels = Self.sanitizedExternalLabels(options.externalLabels, errors: &errors)
        self.errors = errors
    }

    func finish() -> PrometheusTranslationResult {
        var request = Prometheus_WriteRequest()
        request.timeseries = series.timeSeries()
        return PrometheusTranslationResult(writeRequest: request, droppedDataPoints: droppedDataPoints, errors: errors)
    }

    mutating func record(_ error: TranslationError, droppedPoints: Int) {
        errors.append(error.description)
        droppedDataPoints += droppedPoints
    }

    mutating func translate(_ resourceMetrics: ResourceMetrics) {
        let resource = resourceMetrics.resource
        var context = ResourceScopeLabels.forResource(resource, externalLabels: externalLabels)
        // target_info carries the newest timestamp of the resource's points, delta ones included.
        var newestTimestamp: UInt64 = 0

        for scopeMetrics in resourceMetrics.scopeMetrics {
            context.scopeLabels = options.addScopeInfo
                ? ResourceScopeLabels.scopeLabels(scopeMetrics.scope, schemaURL: scopeMetrics.schemaURL)
                : []
            for metric in scopeMetrics.metrics {
                newestTimestamp = max(newestTimestamp, metric.newestTimestamp)
                translate(metric, resource: resource, context: context)
            }
        }

        if options.targetInfoEnabled {
            addTargetInfo(resource: resource, context: context, timestamp: newestTimestamp)
        }
    }

    private mutating func translate(_ metric: Metric, resource: Resource, context: ResourceScopeLabels) {
        // OTel spec "Sums"/"Histograms": delta temporality MAY be accumulated or MUST be dropped;
        // the collector's exporter drops it.
        guard metric.hasCumulativeOrNoTemporality else {
            record(.invalidTemporality(metric: metric.name), droppedPoints: metric.dataPointCount)
            return
        }
        let name: String
        do {
            name = try namer.build(metric)
        } catch {
            record(error, droppedPoints: metric.dataPointCount)
            return
        }
        guard metric.dataPointCount > 0 else {
            record(.emptyDataPoints(metric: metric.name), droppedPoints: 0)
            return
        }

        let context = options.resourceToTelemetryConversion
            ? context.copyingResourceAttributes(resource.attributes)
            : context
        switch metric.data {
        case .gauge(let gauge)?:
            addGaugePoints(gauge.dataPoints, name: name, context: context)
        case .sum(let sum)?:
            addSumPoints(sum.dataPoints, name: name, isMonotonic: sum.isMonotonic, context: context)
        case .histogram(let histogram)?:
            addHistogramPoints(histogram.dataPoints, name: name, context: context)
        case .exponentialHistogram(let histogram)?:
            addExponentialHistogramPoints(histogram.dataPoints, name: name, context: context)
        case .summary(let summary)?:
            addSummaryPoints(summary.dataPoints, name: name, context: context)
        case nil:
            break
        }
    }

    /// External label names are sanitised once (the collector does it when loading its
    /// configuration); empty names or values are rejected.
    private static func sanitizedExternalLabels(_ labels: [String: String], errors: inout [String]) -> [PromLabel] {
        var result: [PromLabel] = []
        for key in labels.keys.sorted() {
            let value = labels[key]!
            guard !value.isEmpty, let name = try? PrometheusLabelNamer.build(key) else {
                errors.append(TranslationError.invalidExternalLabel(name: key).description)
                continue
            }
            result.append(PromLabel(name: name, value: value))
        }
        return result
    }
}

extension ResourceScopeLabels {
    /// `resource_to_telemetry_conversion`: the collector copies every resource attribute
    /// into each point's attributes, replacing a point attribute of the same key.
    func copyingResourceAttributes(_ resourceAttributes: [KeyValue]) -> ResourceScopeLabels {
        var copy = self
        copy.resourceAttributes = resourceAttributes
        return copy
    }
}

extension Metric {
    var dataPointCount: Int {
        switch data {
        case .gauge(let g)?: return g.dataPoints.count
        case .sum(let s)?: return s.dataPoints.count
        case .histogram(let h)?: return h.dataPoints.count
        case .exponentialHistogram(let h)?: return h.dataPoints.count
        case .summary(let s)?: return s.dataPoints.count
        case nil: return 0
        }
    }

    /// Gauges and summaries have no temporality; sums and histograms must be cumulative.
    var hasCumulativeOrNoTemporality: Bool {
        switch data {
        case .gauge?, .summary?: return true
        case .sum(let s)?: return s.aggregationTemporality == .cumulative
        case .histogram(let h)?: return h.aggregationTemporality == .cumulative
        case .exponentialHistogram(let h)?: return h.aggregationTemporality == .cumulative
        case nil: return false
        }
    }

    var newestTimestamp: UInt64 {
        switch data {
        case .gauge(let g)?: return g.dataPoints.map(\.timeUnixNano).max() ?? 0
        case .sum(let s)?: return s.dataPoints.map(\.timeUnixNano).max() ?? 0
        case .histogram(let h)?: return h.dataPoints.map(\.timeUnixNano).max() ?? 0
        case .exponentialHistogram(let h)?: return h.dataPoints.map(\.timeUnixNano).max() ?? 0
        case .summary(let s)?: return s.dataPoints.map(\.timeUnixNano).max() ?? 0
        case nil: return 0
        }
    }
}
