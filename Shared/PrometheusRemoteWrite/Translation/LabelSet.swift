import OTLP

/// One label of a series under construction.
struct PromLabel: Hashable, Sendable {
    var name: String
    var value: String
}

/// The labels shared by every series of one resource and scope.
///
/// Invariant: `externalLabels` and `scopeLabels` hold already sanitised names.
struct ResourceScopeLabels {
    /// `service.namespace/service.name`, or `service.name` alone; nil without `service.name`.
    var job: String?
    /// `service.instance.id`; nil when absent.
    var instance: String?
    var externalLabels: [PromLabel]
    var scopeLabels: [PromLabel]
    /// With `resourceToTelemetryConversion`, the resource attributes laid over each point's.
    var resourceAttributes: [KeyValue] = []
}

extension ResourceScopeLabels {
    /// OTel spec, "Resource Attributes": `job` is `<service.namespace>/<service.name>` or
    /// `<service.name>` without a namespace; `instance` is `service.instance.id`.
    static func forResource(_ resource: Resource, externalLabels: [PromLabel]) -> ResourceScopeLabels {
        let attributes = resource.attributes
        var job: String?
        if let name = attributes.firstValue(forKey: ServiceAttributes.name) {
            job = AttributeText.string(name)
            if let namespace = attributes.firstValue(forKey: ServiceAttributes.namespace) {
                job = AttributeText.string(namespace) + "/" + job!
            }
        }
        let instance = attributes.firstValue(forKey: ServiceAttributes.instanceID).map(AttributeText.string)
        return ResourceScopeLabels(job: job, instance: instance, externalLabels: externalLabels, scopeLabels: [])
    }

    /// OTel spec, "Instrumentation Scope": `otel_scope_name`, `otel_scope_version`,
    /// `otel_scope_schema_url` and the scope attributes prefixed with `otel_scope_`; prefixed
    /// attributes that would collide with the first three are dropped. Empty values are
    /// omitted (an empty label is no label in Prometheus).
    static func scopeLabels(_ scope: InstrumentationScope, schemaURL: String) -> [PromLabel] {
        var labels: [PromLabel] = []
        let fixed = [
            PromLabel(name: ScopeLabelNames.name, value: scope.name),
            PromLabel(name: ScopeLabelNames.version, value: scope.version),
            PromLabel(name: ScopeLabelNames.schemaURL, value: schemaURL),
        ]
        let fixedNames = Set(fixed.map(\.name))
        for attribute in scope.attributes {
            guard let name = try? PrometheusLabelNamer.build("otel_scope_" + attribute.key),
                  !fixedNames.contains(name) else { continue }
            labels.append(PromLabel(name: name, value: AttributeText.string(attribute.value)))
        }
        labels.append(contentsOf: fixed.filter { !$0.value.isEmpty })
        return labels
    }

    /// The sorted labels of one series (upstream `createAttributes`), in order of precedence:
    /// 1. the attributes not in `ignoring`, sanitised; keys that collide after sanitising are
    ///    merged by joining their distinct values with `;`, ordered by the original keys
    ///    (OTel spec, "Metric Attributes");
    /// 2. `job` and `instance`, overriding attributes;
    /// 3. external labels, only where no label of that name exists yet;
    /// 4. scope labels, overriding;
    /// 5. `extras` (`__name__`, `le`, `quantile`), overriding everything.
    func labels(attributes: [KeyValue], ignoring: Set<String> = [], extras: [PromLabel] = []) throws(TranslationError) -> [PromLabel] {
        let attributes = resourceAttributes.isEmpty ? attributes : Self.overlay(resourceAttributes, onto: attributes)
        var byName: [String: String] = [:]
        byName.reserveCapacity(attributes.count + externalLabels.count + scopeLabels.count + extras.count + 2)

        let kept = attributes.filter { !ignoring.contains($0.key) }
        for attribute in kept.stablySorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            let name = try PrometheusLabelNamer.build(attribute.key)
            let value = AttributeText.string(attribute.value)
            if let existing = byName[name] {
                if existing != value { byName[name] = existing + ";" + value }
            } else {
                byName[name] = value
            }
        }

        if let job { byName["job"] = job }
        if let instance { byName["instance"] = instance }
        for label in externalLabels where byName[label.name] == nil {
            byName[label.name] = label.value
        }
        for label in scopeLabels {
            byName[label.name] = label.value
        }
        for label in extras {
            let name = Self.isReserved(label.name) ? label.name : try PrometheusLabelNamer.build(label.name)
            byName[name] = label.value
        }

        return byName.map { PromLabel(name: $0.key, value: $0.value) }.sortedByName()
    }

    /// `attributes` with each of `overlay` put in, replacing the first attribute of the same key
    /// (pdata `Map.PutEmpty` semantics, used by the collector's `resourcetotelemetry`).
    private static func overlay(_ overlay: [KeyValue], onto attributes: [KeyValue]) -> [KeyValue] {
        var result = attributes
        for attribute in overlay {
            if let i = result.firstIndex(where: { $0.key == attribute.key }) {
                result[i].value = attribute.value
            } else {
                result.append(attribute)
            }
        }
        return result
    }

    private static func isReserved(_ name: String) -> Bool {
        name.utf8.count > 4 && name.hasPrefix("__") && name.hasSuffix("__")
    }
}

enum ServiceAttributes {
    static let name = "service.name"
    static let namespace = "service.namespace"
    static let instanceID = "service.instance.id"
    static let identifying: Set<String> = [name, namespace, instanceID]
}

enum ScopeLabelNames {
    static let name = "otel_scope_name"
    static let version = "otel_scope_version"
    static let schemaURL = "otel_scope_schema_url"
}

extension Array where Element == PromLabel {
    /// Prometheus orders labels by name in byte order.
    func sortedByName() -> [PromLabel] {
        sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// A copy with `label` set (replaced or inserted), still sorted by name.
    func setting(_ label: PromLabel) -> [PromLabel] {
        var copy = self
        copy.setSorted(label)
        return copy
    }

    /// Sets `label` in this name-sorted array, replacing a label of the same name or
    /// inserting it at its place in byte order.
    mutating func setSorted(_ label: PromLabel) {
        if let i = firstIndex(where: { $0.name == label.name }) {
            self[i] = label
            return
        }
        let position = firstIndex(where: { label.name.utf8.lexicographicallyPrecedes($0.name.utf8) }) ?? count
        insert(label, at: position)
    }
}

extension Array {
    /// Sorted copy in which equal elements keep their relative order.
    func stablySorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> [Element] {
        enumerated().sorted { a, b in
            if areInIncreasingOrder(a.element, b.element) { return true }
            if areInIncreasingOrder(b.element, a.element) { return false }
            return a.offset < b.offset
        }.map(\.element)
    }
}
