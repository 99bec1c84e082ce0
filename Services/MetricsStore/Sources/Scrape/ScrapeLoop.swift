import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Scrapes one target every interval and appends what it exposes to the TSDB, following
/// Prometheus's `scrapeLoop`: target labels merged per `honor_labels`,
/// `metric_relabel_configs`, `sample_limit`, the synthetic report series (`up`,
/// `scrape_duration_seconds`, ...) and staleness markers for series that disappear.
///
/// The loop's working state (parser, previous series) lives in its task; only the
/// status shown by /api/v1/targets is shared, behind a mutex.
final class ScrapeLoop: Sendable {
    /// What /api/v1/targets reports about the last scrape.
    struct Status: Sendable {
        var health = "unknown"
        var lastError = ""
        var lastScrape: Date?
        var lastDuration: Double = 0
    }

    let target: ScrapeTarget
    let config: ScrapeConfig
    let interval: PrometheusDuration
    let timeout: PrometheusDuration
    private let tsdb: TSDB
    private let logger: Logger
    private let status = Mutex(Status())
    private let task = Mutex<Task<Set<Labels>, Never>?>(nil)

    /// Prometheus's staleness marker: a NaN no computation produces.
    static let staleMarker = Double(bitPattern: 0x7ff0_0000_0000_0002)
    static let accept = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"

    init(target: ScrapeTarget, config: ScrapeConfig, tsdb: TSDB, logger: Logger) {
        self.target = target
        self.config = config
        (interval, timeout) = target.timing(config)
        self.tsdb = tsdb
        var logger = logger
        logger[metadataKey: "scrape_pool"] = "\(config.jobName)"
        logger[metadataKey: "target"] = "\(target.url)"
        self.logger = logger
    }

    var currentStatus: Status { status.withLock { $0 } }

    func start() {
        let started = Task { await self.run() }
        task.withLock { $0 = started }
    }

    /// Stops the loop and marks every series of its last scrape stale, as Prometheus does
    /// when a target goes away.
    func stop() async {
        guard let running = task.withLock({ $0 }) else { return }
        running.cancel()
        let last = await running.value
        let now = Self.nowMs()
        await append(last.map { ($0, [Head.Sample(now, Self.staleMarker)]) })
    }

    private func run() async -> Set<Labels> {
        // Spread the targets over the interval by their hash, as Prometheus's `offset`.
        let intervalMs = max(interval.milliseconds, 1)
        var hasher = Hasher()
        hasher.combine(target.url)
        hasher.combine(target.labels)
        let offset = Int64(UInt64(bitPattern: Int64(hasher.finalize())) % UInt64(intervalMs))
        let now = Self.nowMs()
        var next = now - now % intervalMs + offset
        if next < now { next += intervalMs }
        var parser = ExpositionParser()
        var previous = Set<Labels>()
        while !Task.isCancelled {
            let wait = next - Self.nowMs()
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(wait)) } catch { break }
            }
            previous = await scrapeOnce(parser: &parser, previous: previous)
            next += intervalMs
            // After a long stall, skip missed ticks instead of scraping in a burst.
            let late = Self.nowMs()
            if next < late { next += (late - next) / intervalMs * intervalMs + intervalMs }
        }
        return previous
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// One scrape; returns the series now tracked for staleness.
    func scrapeOnce(parser: inout ExpositionParser, previous: Set<Labels>) async -> Set<Labels> {
        let started = Date()
        let scrapeTime = Self.nowMs()
        var outcome = ScrapeOutcome()
        do {
            let (body, contentType) = try await fetch()
            let parsed = try parser.parse(body, contentType: contentType, fallback: .prometheusText)
            outcome = try process(parsed, scrapeTime: scrapeTime)
            for entry in parsed.metadata {
                tsdb.metadata.set(entry.family, .init(type: entry.type.rawValue, help: entry.help, unit: entry.unit))
            }
        } catch {
            outcome.error = "\(error)"
        }
        let duration = Date().timeIntervalSince(started)
        var batch: [(labels: Labels, samples: [Head.Sample])] = outcome.series.map { ($0.labels, [$0.sample]) }
        // Series of the last scrape not in this one (all of them if it failed) go stale.
        let current = outcome.tracked
        for labels in previous where !current.contains(labels) {
            batch.append((labels, [Head.Sample(scrapeTime, Self.staleMarker)]))
        }
        let added = current.subtracting(previous).count
        let report: [(String, Double)] = [
            ("up", outcome.error == nil ? 1 : 0),
            ("scrape_duration_seconds", duration),
            ("scrape_samples_scraped", Double(outcome.scraped)),
            ("scrape_samples_post_metric_relabeling", Double(outcome.series.count)),
            ("scrape_series_added", Double(added)),
        ]
        for (name, value) in report {
            batch.append((reportLabels(name), [Head.Sample(scrapeTime, value)]))
        }
        await append(batch)
        if let error = outcome.error { logger.debug("scrape failed", metadata: ["error": "\(error)"]) }
        status.withLock {
            $0.health = outcome.error == nil ? "up" : "down"
            $0.lastError = outcome.error ?? ""
            $0.lastScrape = started
            $0.lastDuration = duration
        }
        return current
    }

    private func reportLabels(_ name: String) -> Labels {
        var pairs = Dictionary(target.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        pairs[Labels.metricName] = name
        return Labels(pairs)
    }

    // MARK: HTTP

    struct HTTPStatusError: Error, CustomStringConvertible {
        var status: HTTPResponseStatus
        var description: String { "server returned HTTP status \(status.code) \(status.reasonPhrase)" }
    }

    private func fetch() async throws -> ([UInt8], String?) {
        var request = HTTPClientRequest(url: target.url)
        request.headers.add(name: "Accept", value: Self.accept)
        request.headers.add(name: "User-Agent", value: "Vigil-MetricsStore/\(BuildInfo.version)")
        request.headers.add(name: "X-Prometheus-Scrape-Timeout-Seconds", value: String(timeout.seconds))
        if let auth = config.authorization { request.headers.add(name: "Authorization", value: try auth.headerValue()) }
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.milliseconds))
        guard response.status == .ok else { throw HTTPStatusError(status: response.status) }
        let body = try await response.body.collect(upTo: 256 << 20)
        return (Array(buffer: body), response.headers.first(name: "Content-Type"))
    }

    // MARK: Samples

    struct SampleLimitExceeded: Error, CustomStringConvertible {
        var description: String { "sample limit exceeded" }
    }

    struct ScrapeOutcome {
        var series: [(labels: Labels, sample: Head.Sample)] = []
        /// Series appended at the scrape time: the ones staleness tracks (samples with
        /// their own timestamp are not, as in Prometheus).
        var tracked = Set<Labels>()
        var scraped = 0
        var error: String?
    }

    /// Target labels, metric relabeling, the sample limit and timestamps.
    func process(_ parsed: ParsedExposition, scrapeTime: Int64) throws -> ScrapeOutcome {
        var outcome = ScrapeOutcome()
        outcome.scraped = parsed.samples.count
        var seen = Set<Labels>()
        for sample in parsed.samples {
            let merged = Self.merge(sample.labels, target: target.labels, honorLabels: config.honorLabels)
            guard let labels = Relabeler.process(merged, config.metricRelabelConfigs), labels[Labels.metricName] != nil else { continue }
            // A repeated series within one scrape keeps its first sample, as Prometheus
            // rejects the later ones as duplicates.
            guard seen.insert(labels).inserted else { continue }
            let explicit = config.honorTimestamps ? sample.timestamp : nil
            outcome.series.append((labels, Head.Sample(explicit ?? scrapeTime, sample.value)))
            if explicit == nil { outcome.tracked.insert(labels) }
        }
        if config.sampleLimit > 0, outcome.series.count > config.sampleLimit { throw SampleLimitExceeded() }
        return outcome
    }

    /// Prometheus's `mutateSampleLabels`: with `honor_labels` the scraped value wins and
    /// target labels only fill gaps; otherwise the target wins and a clashing scraped
    /// label is kept as `exported_<name>` (prefixed again while that is taken too).
    static func merge(_ scraped: Labels, target: Labels, honorLabels: Bool) -> Labels {
        var pairs = Dictionary(scraped.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        for label in target {
            guard let existing = pairs[label.name], !existing.isEmpty else {
                pairs[label.name] = label.value
                continue
            }
            if honorLabels { continue }
            var name = "exported_" + label.name
            while pairs[name] != nil { name = "exported_" + name }
            pairs[name] = existing
            pairs[label.name] = label.value
        }
        return Labels(pairs.filter { !$0.value.isEmpty })
    }

    // MARK: Storage

    /// Appends a scrape's samples. The head takes a batch all or nothing, so when it
    /// refuses one (out of order, duplicate timestamp) the series go in one at a time and
    /// the refused ones are logged, not fatal, as Prometheus counts and logs them.
    private func append(_ batch: [(labels: Labels, samples: [Head.Sample])]) async {
        guard !batch.isEmpty else { return }
        do {
            try await tsdb.append(batch)
            return
        } catch {
            if case .wal = error { logger.error("scrape append failed", metadata: ["error": "\(error)"]); return }
        }
        var refused = 0
        var firstError = ""
        for entry in batch {
            do { try await tsdb.append([entry]) } catch {
                refused += 1
                if firstError.isEmpty { firstError = error.description }
            }
        }
        logger.warning("some scraped samples were refused", metadata: ["refused": "\(refused)", "first_error": "\(firstError)"])
    }
}
