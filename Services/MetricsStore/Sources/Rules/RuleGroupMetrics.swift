import Prometheus

/// A rule group's metrics under Prometheus's names (`prometheus_rule_*`, labelled
/// `rule_group="<file>;<name>"`), created when the group is loaded and removed with it.
struct RuleGroupMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let evaluations: Counter
    let failures: Counter
    let iterations: Counter
    let iterationsMissed: Counter
    let interval: Gauge
    let lastEvaluation: Gauge
    let lastDuration: Gauge
    let rules: Gauge
    let lastSamples: Gauge

    static func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "prometheus", subsystem: "rule", metricName: name, unitName: unit, helpText: help)
    }

    init(registry: PrometheusCollectorRegistry, groupKey: String, interval: Int64, ruleCount: Int) {
        self.registry = registry
        let labels = [("rule_group", groupKey)]
        func counter(_ name: String, _ unit: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: Self.descriptor(name, unit, help), labels: labels)
        }
        func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: Self.descriptor(name, unit, help), labels: labels)
        }
        evaluations = counter("evaluations", "total", "The total number of rule evaluations.")
        failures = counter("evaluation_failures", "total", "The total number of rule evaluation failures.")
        iterations = counter("group_iterations", "total", "The total number of scheduled rule group evaluations, whether executed or missed.")
        iterationsMissed = counter("group_iterations_missed", "total", "The total number of rule group evaluations missed due to slow rule group evaluation.")
        self.interval = gauge("group_interval", "seconds", "The interval of a rule group.")
        lastEvaluation = gauge("group_last_evaluation_timestamp", "seconds", "The timestamp of the last rule group evaluation in seconds.")
        lastDuration = gauge("group_last_duration", "seconds", "The duration of the last rule group evaluation.")
        rules = gauge("group", "rules", "The number of rules.")
        lastSamples = gauge("group_last_evaluation", "samples", "The number of samples returned during the last rule group evaluation.")
        self.interval.set(Double(interval) / 1000)
        rules.set(Double(ruleCount))
    }

    func remove() {
        for counter in [evaluations, failures, iterations, iterationsMissed] { registry.unregisterCounter(counter) }
        for gauge in [interval, lastEvaluation, lastDuration, rules, lastSamples] { registry.unregisterGauge(gauge) }
    }
}
