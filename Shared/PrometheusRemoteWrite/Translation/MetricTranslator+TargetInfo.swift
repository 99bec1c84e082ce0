import OTLP

/// The `target_info` series of a resource (OTel spec, "Resource Attributes"; upstream
/// `addResourceTargetInfo`).
extension MetricTranslator {
    static let targetInfoName = "target_info"

    /// Emitted, with value 1 at the newest point time of the resource, when:
    /// - the resource has at least one point with a timestamp;
    /// - it has attributes besides `service.name`, `service.namespace`, `service.instance.id`
    ///   (those only make `job`/`instance`, which every series already carries);
    /// - it has a `job` or an `instance` to join on.
    /// Labels: the other resource attributes (sanitised, collisions merged), `job`, `instance`
    /// and the external labels; no scope labels. The namespace prefixes the name.
    mutating func addTargetInfo(resource: Resource, context: ResourceScopeLabels, timestamp: UInt64) {
        guard timestamp != 0 else { return }
        let attributes = resource.attributes
        guard attributes.contains(where: { !ServiceAttributes.identifying.contains($0.key) }) else { return }
        guard context.job != nil || context.instance != nil else { return }

        var name = Self.targetInfoName
        if let namespace = options.namespace, !namespace.isEmpty {
            name = namespace + "_" + name
        }
        var targetContext = context
        targetContext.scopeLabels = []
        targetContext.resourceAttributes = []
        let labels: [PromLabel]
        do {
            labels = try targetContext.labels(attributes: attributes, ignoring: ServiceAttributes.identifying,
                                              extras: [PromLabel(name: "__name__", value: name)])
        } catch {
            record(error, droppedPoints: 0)
            return
        }
        series.addSample(value: 1, timestamp: milliseconds(timestamp), labels: labels)
    }
}
