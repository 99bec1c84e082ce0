/// The `endpoints` and `endpointslice` roles: targets are the addresses behind a service,
/// enriched with the service's labels and, for addresses backed by a known pod, the pod's.
extension KubernetesTargets {
    /// `role: endpoints`: one target per address and port of each subset (ready addresses,
    /// then not-ready ones); an address backed by a known pod gets the pod's labels and, for
    /// the container port matching the endpoint port, the container's labels. Container
    /// ports of those pods that no endpoint port covers become targets of their own. The
    /// service of the same name, when known, adds its labels to every target.
    ///
    /// `pods` and `services` are keyed by `<namespace>/<name>`.
    static func endpoints(_ endpoints: KubernetesAPI.Endpoints, pods: [String: KubernetesAPI.Pod],
                          services: [String: KubernetesAPI.Service]) -> [TargetGroup] {
        let source = "endpoints/" + endpoints.metadata.key
        var common: [String: String?] = [prefix + "namespace": endpoints.metadata.namespace]
        if let service = services[endpoints.metadata.key] {
            common.merge(serviceLabels(service)) { _, new in new }
        }
        addObjectMeta(&common, endpoints.metadata, resource: "endpoints")

        var groups: [TargetGroup] = []
        var backing = BackingPods()
        for subset in endpoints.subsets ?? [] {
            for port in subset.ports ?? [] {
                let addresses = (subset.addresses ?? []).map { ($0, true) } + (subset.notReadyAddresses ?? []).map { ($0, false) }
                for (address, ready) in addresses {
                    var labels: [String: String?] = [
                        prefix + "endpoint_port_name": port.name,
                        prefix + "endpoint_port_protocol": port.protocol,
                        prefix + "endpoint_ready": String(ready),
                    ]
                    if let ref = address.targetRef {
                        labels[prefix + "endpoint_address_target_kind"] = ref.kind
                        labels[prefix + "endpoint_address_target_name"] = ref.name
                    }
                    labels[prefix + "endpoint_node_name"] = address.nodeName
                    labels[prefix + "endpoint_hostname"] = address.hostname
                    // Prometheus reports the endpoint port's protocol for a matched container.
                    backing.attach(address.targetRef, pods: pods, port: port.port, containerProtocol: port.protocol, to: &labels)
                    let target = joinHostPort(address.ip ?? "", String(port.port ?? 0))
                    groups.append(group(address: target, common.merging(labels) { _, new in new }, source))
                }
            }
        }
        return groups + backing.uncoveredPortTargets(common, source)
    }

    /// `role: endpointslice` (discovery.k8s.io/v1): one target per endpoint address and
    /// slice port, with the endpoint's conditions, zone and topology; the service named by
    /// the slice's `kubernetes.io/service-name` label adds its labels. Pods are handled as
    /// for `endpoints`. A dual-stack service's slice of its secondary address family has
    /// no targets, so each endpoint is scraped once.
    static func endpointSlice(_ slice: KubernetesAPI.EndpointSlice, pods: [String: KubernetesAPI.Pod],
                              services: [String: KubernetesAPI.Service]) -> [TargetGroup] {
        let source = "endpointslice/" + slice.metadata.key
        var common: [String: String?] = [
            prefix + "namespace": slice.metadata.namespace,
            prefix + "endpointslice_address_type": slice.addressType,
        ]
        addObjectMeta(&common, slice.metadata, resource: "endpointslice")
        let service = slice.metadata.labels?["kubernetes.io/service-name"].flatMap { services["\(slice.metadata.namespace ?? "")/\($0)"] }
        if let service {
            common.merge(serviceLabels(service)) { _, new in new }
            let dualStack = ["PreferDualStack", "RequireDualStack"].contains(service.spec?.ipFamilyPolicy ?? "")
            if dualStack, let primary = service.spec?.ipFamilies?.first, slice.addressType != primary { return [] }
        }

        var groups: [TargetGroup] = []
        var backing = BackingPods()
        for endpoint in slice.endpoints ?? [] {
            for port in slice.ports ?? [] {
                for address in endpoint.addresses ?? [] {
                    var labels: [String: String?] = [
                        prefix + "endpointslice_port_name": port.name,
                        prefix + "endpointslice_port_protocol": port.protocol,
                        prefix + "endpointslice_port": port.port.map(String.init),
                        prefix + "endpointslice_port_app_protocol": port.appProtocol,
                        prefix + "endpointslice_endpoint_conditions_ready": endpoint.conditions?.ready.map(String.init),
                        prefix + "endpointslice_endpoint_conditions_serving": endpoint.conditions?.serving.map(String.init),
                        prefix + "endpointslice_endpoint_conditions_terminating": endpoint.conditions?.terminating.map(String.init),
                        prefix + "endpointslice_endpoint_hostname": endpoint.hostname,
                        prefix + "endpointslice_endpoint_node_name": endpoint.nodeName,
                        prefix + "endpointslice_endpoint_zone": endpoint.zone,
                    ]
                    if let ref = endpoint.targetRef {
                        labels[prefix + "endpointslice_address_target_kind"] = ref.kind
                        labels[prefix + "endpointslice_address_target_name"] = ref.name
                    }
                    for (name, value) in endpoint.deprecatedTopology ?? [:] {
                        labels[prefix + "endpointslice_endpoint_topology_" + sanitizeLabelName(name)] = value
                        labels[prefix + "endpointslice_endpoint_topology_present_" + sanitizeLabelName(name)] = "true"
                    }
                    backing.attach(endpoint.targetRef, pods: pods, port: port.port, containerProtocol: nil, to: &labels)
                    let target = port.port.map { joinHostPort(address, String($0)) } ?? address
                    groups.append(group(address: target, common.merging(labels) { _, new in new }, source))
                }
            }
        }
        return groups + backing.uncoveredPortTargets(common, source)
    }

    /// The pods seen behind the addresses of one Endpoints or EndpointSlice object, in
    /// order of appearance, with the ports they were seen on.
    struct BackingPods {
        private var seen: [(pod: KubernetesAPI.Pod, ports: [Int])] = []

        /// For an address whose reference is a known pod: adds the pod's labels and, for
        /// the container port equal to `port`, the container's (with `containerProtocol`,
        /// or the container port's own protocol when nil), and remembers the pod.
        mutating func attach(_ ref: KubernetesAPI.ObjectReference?, pods: [String: KubernetesAPI.Pod], port: Int?,
                             containerProtocol: String?, to labels: inout [String: String?]) {
            guard let ref, ref.kind == "Pod", let pod = pods["\(ref.namespace ?? "")/\(ref.name ?? "")"] else { return }
            if let index = seen.firstIndex(where: { $0.pod.metadata.key == pod.metadata.key }) {
                if let port { seen[index].ports.append(port) }
            } else {
                seen.append((pod, port.map { [$0] } ?? []))
            }
            labels.merge(podLabels(pod)) { _, new in new }
            guard let port else { return }
            for (container, isInit) in containers(of: pod) {
                guard let containerPort = container.ports?.first(where: { $0.containerPort == port }) else { continue }
                labels[prefix + "pod_container_name"] = container.name
                labels[prefix + "pod_container_image"] = container.image
                labels[prefix + "pod_container_port_name"] = containerPort.name
                labels[prefix + "pod_container_port_number"] = String(port)
                labels[prefix + "pod_container_port_protocol"] = containerProtocol ?? containerPort.protocol
                labels[prefix + "pod_container_init"] = String(isInit)
                return
            }
        }

        /// A target for every container port of the seen pods that no address covered.
        func uncoveredPortTargets(_ common: [String: String?], _ source: String) -> [TargetGroup] {
            var groups: [TargetGroup] = []
            for (pod, coveredPorts) in seen {
                guard let ip = pod.status?.podIP, !ip.isEmpty else { continue }
                for (container, isInit) in containers(of: pod) {
                    for containerPort in container.ports ?? [] where !coveredPorts.contains(containerPort.containerPort ?? 0) {
                        let number = String(containerPort.containerPort ?? 0)
                        var labels = podLabels(pod)
                        labels[prefix + "pod_container_name"] = container.name
                        labels[prefix + "pod_container_image"] = container.image
                        labels[prefix + "pod_container_port_name"] = containerPort.name
                        labels[prefix + "pod_container_port_number"] = number
                        labels[prefix + "pod_container_port_protocol"] = containerPort.protocol
                        labels[prefix + "pod_container_init"] = String(isInit)
                        groups.append(group(address: joinHostPort(ip, number), common.merging(labels) { _, new in new }, source))
                    }
                }
            }
            return groups
        }
    }
}
