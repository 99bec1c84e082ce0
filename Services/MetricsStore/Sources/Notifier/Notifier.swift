import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus

/// Sends alerts to every configured Alertmanager (Prometheus's notifier.Manager):
/// alerts wait in a bounded queue (the oldest are dropped, and counted, when it is
/// full), leave in batches of at most `maxBatchSize`, and each batch goes to every
/// Alertmanager concurrently, each request bounded by that Alertmanager's timeout.
/// External labels are added to alerts that do not already have them, then
/// `alert_relabel_configs` apply.
public actor Notifier: AlertSender {
    public struct Options: Sendable {
        /// `--alertmanager.notification-queue-capacity`.
        public var queueCapacity = 10_000
        /// Prometheus's maxBatchSize.
        public var maxBatchSize = 64
        public var externalLabels: [String: String] = [:]
        public init() {}
    }

    /// Counters as Prometheus exports them (`prometheus_notifications_*_total`).
    public struct Counters: Sendable, Equatable {
        /// Alerts dropped because the queue was full or no Alertmanager took them.
        public var dropped = 0
        /// Alerts delivered, counted per Alertmanager.
        public var sent = 0
        /// Failed requests (batches), counted per Alertmanager.
        public var errors = 0
    }

    let httpClient: HTTPClient
    let logger: Logger
    let metrics: NotifierMetrics?
    var options: Options
    var alertmanagers: [AlertmanagerConfig] = []
    var relabelConfigs: [RelabelConfig] = []
    var queue: [NotifierAlert] = []
    public private(set) var counters = Counters()
    let wakeUps: AsyncStream<Void>
    let wake: AsyncStream<Void>.Continuation

    /// `registry`, when given, receives Prometheus's `prometheus_notifications_*` metrics.
    public init(httpClient: HTTPClient = .shared, options: Options = Options(), registry: PrometheusCollectorRegistry? = nil,
                logger: Logger = Logger(label: "vigil.metrics-store.notifier")) {
        self.httpClient = httpClient
        self.options = options
        self.logger = logger
        self.metrics = registry.map { NotifierMetrics(registry: $0, capacity: options.queueCapacity) }
        (wakeUps, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Applies prometheus.yml's `alerting` section and `global.external_labels`.
    public func apply(_ config: AlertingConfig, externalLabels: [String: String]) {
        alertmanagers = config.alertmanagers
        relabelConfigs = config.alertRelabelConfigs
        options.externalLabels = externalLabels
        metrics?.alertmanagersDiscovered.set(Double(config.alertmanagers.flatMap(\.alertsURLs).count))
    }

    public var queueLength: Int { queue.count }

    /// Queues alerts for sending; returns at once.
    public func send(_ alerts: [NotifierAlert]) {
        guard !alerts.isEmpty else { return }
        var incoming = alerts.compactMap(relabelled)
        if incoming.count > options.queueCapacity {
            let excess = incoming.count - options.queueCapacity
            incoming.removeFirst(excess)
            drop(excess)
        }
        let overflow = queue.count + incoming.count - options.queueCapacity
        if overflow > 0 {
            queue.removeFirst(overflow)
            drop(overflow)
            logger.warning("alert notification queue full, dropping alerts", metadata: ["count": "\(overflow)"])
        }
        queue += incoming
        metrics?.queueLength.set(Double(queue.count))
        wake.yield()
    }

    func drop(_ count: Int) {
        counters.dropped += count
        metrics?.dropped.increment(by: Int64(count))
    }

    /// The alert with external labels added and relabel rules applied; nil when dropped.
    func relabelled(_ alert: NotifierAlert) -> NotifierAlert? {
        var alert = alert
        for (name, value) in options.externalLabels where (alert.labels[name] ?? "").isEmpty {
            alert.labels[name] = value
        }
        guard !relabelConfigs.isEmpty else { return alert }
        guard let labels = Relabeler.process(Labels(alert.labels), relabelConfigs), !labels.isEmpty else { return nil }
        alert.labels = labels.dictionary
        return alert
    }

    /// Sends queued alerts until cancelled.
    public func run() async {
        for await _ in wakeUps {
            await flush()
            if Task.isCancelled { return }
        }
    }

    /// Ends `run()` after the alerts already queued are sent.
    public func shutdown() { wake.finish() }

    /// Sends everything queued now, batch by batch.
    public func flush() async {
        while !queue.isEmpty {
            let batch = Array(queue.prefix(options.maxBatchSize))
            queue.removeFirst(batch.count)
            metrics?.queueLength.set(Double(queue.count))
            await deliver(batch)
        }
    }

    /// One batch to every Alertmanager at once. Like Prometheus, a batch no
    /// Alertmanager accepted is counted as dropped and not retried: firing alerts are
    /// re-sent after the resend delay anyway.
    func deliver(_ batch: [NotifierAlert]) async {
        let targets = alertmanagers.flatMap { config in config.alertsURLs.map { ($0, config.timeout) } }
        guard !targets.isEmpty else {
            drop(batch.count)
            return
        }
        let body: Data
        do { body = try JSONEncoder().encode(batch) } catch {
            logger.error("encoding alerts failed", metadata: ["error": "\(error)"])
            return
        }
        let client = httpClient
        let outcomes = await withTaskGroup(of: (String, String?).self) { group in
            for (url, timeout) in targets {
                group.addTask { (url, await Self.post(body, to: url, timeout: timeout, client: client)) }
            }
            var outcomes: [(String, String?)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        var delivered = false
        for (url, failure) in outcomes {
            if let failure {
                counters.errors += 1
                metrics?.errors(url).increment(by: Int64(batch.count))
                logger.error("error sending alerts", metadata: ["error": "\(failure)", "count": "\(batch.count)"])
            } else {
                counters.sent += batch.count
                metrics?.sent(url).increment(by: Int64(batch.count))
                delivered = true
            }
        }
        if !delivered { drop(batch.count) }
    }

    /// Returns nil on a 2xx answer, else what went wrong.
    static func post(_ body: Data, to url: String, timeout: PrometheusDuration, client: HTTPClient) async -> String? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Vigil metrics-store")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
            _ = try? await response.body.collect(upTo: 1 << 20)
            guard (200..<300).contains(Int(response.status.code)) else {
                return "\(url): bad response status \(response.status.code) \(response.status.reasonPhrase)"
            }
            return nil
        } catch {
            return "\(url): \(error)"
        }
    }
}
