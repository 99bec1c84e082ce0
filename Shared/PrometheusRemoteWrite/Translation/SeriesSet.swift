/// The series of one translation, keyed by label set.
///
/// Samples for a label set that already exists are appended to that series (upstream
/// `addSample`/`getOrCreateTimeSeries`), so a series appears once per write request whatever
/// the number of OTLP points that feed it. Invariant: `labels` of every entry are sorted by
/// name; `index` maps each label set to its position in `series`.
struct SeriesSet {
    private var index: [[PromLabel]: Int] = [:]
    private var series: [SeriesUnderConstruction] = []

    struct SeriesUnderConstruction {
        var labels: [PromLabel]
        var samples: [Prometheus_Sample] = []
        var exemplars: [Prometheus_Exemplar] = []
        var histograms: [Prometheus_Histogram] = []
    }

    /// Position of the series with these (sorted) labels, creating it if needed.
    mutating func seriesIndex(for labels: [PromLabel]) -> Int {
        if let existing = index[labels] { return existing }
        series.append(SeriesUnderConstruction(labels: labels))
        index[labels] = series.count - 1
        return series.count - 1
    }

    @discardableResult
    mutating func addSample(value: Double, timestamp: Int64, labels: [PromLabel]) -> Int {
        let position = seriesIndex(for: labels)
        var sample = Prometheus_Sample()
        sample.value = value
        sample.timestamp = timestamp
        series[position].samples.append(sample)
        return position
    }

    /// Adds the series with one sample only if no series has these labels yet
    /// (upstream `addTimeSeriesIfNeeded`, used for `_created`).
    mutating func addSampleIfNew(value: Double, timestamp: Int64, labels: [PromLabel]) {
        guard index[labels] == nil else { return }
        addSample(value: value, timestamp: timestamp, labels: labels)
    }

    mutating func addHistogram(_ histogram: Prometheus_Histogram, labels: [PromLabel]) -> Int {
        let position = seriesIndex(for: labels)
        series[position].histograms.append(histogram)
        return position
    }

    mutating func addExemplars(_ exemplars: [Prometheus_Exemplar], toSeriesAt position: Int) {
        series[position].exemplars.append(contentsOf: exemplars)
    }

    func hasSamples(at position: Int) -> Bool {
        !series[position].samples.isEmpty
    }

    /// The finished series, samples and histograms in timestamp order (stable for ties).
    func timeSeries() -> [Prometheus_TimeSeries] {
        series.map { entry in
            var ts = Prometheus_TimeSeries()
            ts.labels = entry.labels.map { label in
                var l = Prometheus_Label()
                l.name = label.name
                l.value = label.value
                return l
            }
            ts.samples = entry.samples.stablySorted { $0.timestamp < $1.timestamp }
            ts.histograms = entry.histograms.stablySorted { $0.timestamp < $1.timestamp }
            ts.exemplars = entry.exemplars
            return ts
        }
    }
}
