/// Kubernetes objects → target groups, with the `__meta_kubernetes_*` labels Prometheus's
/// `discovery/kubernetes` (pod.go, service.go, endpoints.go) attaches for each role.
///
/// Prometheus builds one group per object with per-target labels; `TargetGroup` carries
/// labels per group only, so each target becomes its own group holding the object's
/// labels merged with the target's (the target's win, as in Prometheus's `Merge`). All
/// groups of one object share the object's source (`pod/<ns>/<name>`, `svc/<ns>/<name>`,
/// `endpoints/<ns>/<name>`). Labels with empty values are left out: relabeling treats an
/// empty label as absent anyway.
///
/// Pure functions of the API objects, so they are tested without a server.
enum KubernetesTargets {
    static let prefix = "__meta_kubernetes_"

    /// Every target of `role` from the stored objects, ordered by object key.
    static func groups(role: KubernetesSDConfig.Role, _ store: KubernetesAPI.Store) -> [TargetGroup] {
        switch role {
        case .pod:
            return store.pods.sorted { $0.key < $1.key }.flatMap { pod($0.value) }
        case .service:
            return store.services.sorted { $0.key < $1.key }.flatMap { service($0.value) }
        case .node:
            return store.nodes.sorted { $0.key < $1.key }.flatMap { node($0.value) }
        case .endpoints, .endpointslice, .ingress:
            return store.endpoints.sorted { $0.key < $1.key }.flatMap {
                endpoints($0.value, pods: store.pods, services: store.services)
            }
        }
    }

    // MARK: Pods

    /// `role: pod`: one target per container port at `<podIP>:<port>`, and one per
    /// container without ports at the bare pod IP. A pod without an IP has no targets.
    static func pod(_ pod: KubernetesAPI.Pod) -> [TargetGroup] {
        let source = "pod/" + pod.metadata.key
        guard let ip = pod.status?.podIP, !ip.isEmpty else { return [] }
        var common = podLabels(pod)
        common[prefix + "namespace"] = pod.metadata.namespace
        var groups: [TargetGroup] = []
        for (container, isInit) in containers(of: pod) {
            var labels = common
            labels[prefix + "pod_container_name"] = container.name
            labels[prefix + "pod_container_id"] = containerID(pod, container.name, isInit: isInit)
            labels[prefix + "pod_container_image"] = container.image
            labels[prefix + "pod_container_init"] = String(isInit)
            let ports = container.ports ?? []
            if ports.isEmpty {
                groups.append(group(address: ip, labels, source))
                continue
            }
            for port in ports {
                let number = String(port.containerPort ?? 0)
                var portLabels = labels
                portLabels[prefix + "pod_container_port_name"] = port.name
                portLabels[prefix + "pod_container_port_number"] = number
                portLabels[prefix + "pod_container_port_protocol"] = port.protocol
                groups.append(group(address: joinHostPort(ip, number), portLabels, source))
            }
        }
        return groups
    }

    /// The pod's own labels (Prometheus's `podLabels`), shared by the pod and endpoints roles.
    static func podLabels(_ pod: KubernetesAPI.Pod) -> [String: String?] {
        var labels: [String: String?] = [
            prefix + "pod_ip": pod.status?.podIP,
            prefix + "pod_ready": podReady(pod),
            prefix + "pod_phase": pod.status?.phase,
            prefix + "pod_node_name": pod.spec?.nodeName,
            prefix + "pod_host_ip": pod.status?.hostIP,
            prefix + "pod_uid": pod.metadata.uid,
        ]
        addObjectMeta(&labels, pod.metadata, resource: "pod")
        if let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true }) {
            labels[prefix + "pod_controller_kind"] = owner.kind
            labels[prefix + "pod_controller_name"] = owner.name
        }
        return labels
    }

    /// The `Ready` condition's status in lower case; `unknown` when the pod has none.
    static func podReady(_ pod: KubernetesAPI.Pod) -> String {
        let ready = pod.status?.conditions?.first { $0.type == "Ready" }
        return (ready?.status ?? "Unknown").lowercased()
    }

    /// Regular containers first, then init containers, flagged.
    static func containers(of pod: KubernetesAPI.Pod) -> [(KubernetesAPI.Container, isInit: Bool)] {
        (pod.spec?.containers ?? []).map { ($0, false) } + (pod.spec?.initContainers ?? []).map { ($0, true) }
    }

    static func containerID(_ pod: KubernetesAPI.Pod, _ name: String?, isInit: Bool) -> String? {
        let statuses = (isInit ? pod.status?.initContainerStatuses : pod.status?.containerStatuses) ?? []
        return statuses.first { $0.name == name }?.containerID
    }

    // MARK: Services

    /// `role: service`: one target per service port at `<name>.<namespace>.svc:<port>`.
    static func service(_ service: KubernetesAPI.Service) -> [TargetGroup] {
        let source = "svc/" + service.metadata.key
        let common = serviceLabels(service)
        let type = service.spec?.type
        return (service.spec?.ports ?? []).map { port in
            let number = String(port.port ?? 0)
            var labels = common
            labels[prefix + "service_port_name"] = port.name
            labels[prefix + "service_port_number"] = number
            labels[prefix + "service_port_protocol"] = port.protocol
            labels[prefix + "service_type"] = type
            if type == "ExternalName" {
                labels[prefix + "service_external_name"] = service.spec?.externalName
            } else {
                labels[prefix + "service_cluster_ip"] = service.spec?.clusterIP
            }
            if type == "LoadBalancer" {
                labels[prefix + "service_loadbalancer_ip"] = loadBalancerIPs(service)
            }
            let host = "\(service.metadata.name ?? "").\(service.metadata.namespace ?? "").svc"
            return group(address: joinHostPort(host, number), labels, source)
        }
    }

    static func serviceLabels(_ service: KubernetesAPI.Service) -> [String: String?] {
        var labels: [String: String?] = [prefix + "namespace": service.metadata.namespace]
        addObjectMeta(&labels, service.metadata, resource: "service")
        return labels
    }

    /// The ingress IPs joined by commas, else the older `spec.loadBalancerIP`.
    static func loadBalancerIPs(_ service: KubernetesAPI.Service) -> String? {
        let ips = (service.status?.loadBalancer?.ingress ?? []).compactMap(\.ip).filter { !$0.isEmpty }
        return ips.isEmpty ? service.spec?.loadBalancerIP : ips.joined(separator: ",")
    }

    // MARK: Endpoints

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
        // Pods seen behind an address, in order of appearance, with the ports they serve.
        var seenPods: [(pod: KubernetesAPI.Pod, ports: [Int])] = []

        func add(_ address: KubernetesAPI.EndpointAddress, _ port: KubernetesAPI.EndpointPort, ready: Bool) {
            let number = port.port ?? 0
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
            let addressText = joinHostPort(address.ip ?? "", String(number))
            guard let ref = address.targetRef, ref.kind == "Pod",
                  let pod = pods["\(ref.namespace ?? "")/\(ref.name ?? "")"] else {
                groups.append(group(address: addressText, common.merging(labels) { _, new in new }, source))
                return
            }
            if let index = seenPods.firstIndex(where: { $0.pod.metadata.key == pod.metadata.key }) {
                seenPods[index].ports.append(number)
            } else {
                seenPods.append((pod, [number]))
            }
            labels.merge(podLabels(pod)) { _, new in new }
            if let (container, isInit) = containers(of: pod).first(where: { $0.0.ports?.contains { $0.containerPort == number } ?? false }),
               let containerPort = container.ports?.first(where: { $0.containerPort == number }) {
                labels[prefix + "pod_container_name"] = container.name
                labels[prefix + "pod_container_image"] = container.image
                labels[prefix + "pod_container_port_name"] = containerPort.name
                labels[prefix + "pod_container_port_number"] = String(number)
                // Prometheus reports the endpoint port's protocol here.
                labels[prefix + "pod_container_port_protocol"] = port.protocol
                labels[prefix + "pod_container_init"] = String(isInit)
            }
            groups.append(group(address: addressText, common.merging(labels) { _, new in new }, source))
        }

        for subset in endpoints.subsets ?? [] {
            for port in subset.ports ?? [] {
                for address in subset.addresses ?? [] { add(address, port, ready: true) }
                for address in subset.notReadyAddresses ?? [] { add(address, port, ready: false) }
            }
        }

        for (pod, servedPorts) in seenPods {
            guard let ip = pod.status?.podIP, !ip.isEmpty else { continue }
            for (container, isInit) in containers(of: pod) {
                for containerPort in container.ports ?? [] where !servedPorts.contains(containerPort.containerPort ?? 0) {
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

    // MARK: Nodes

    /// `role: node`: one target per node at its preferred address and the kubelet's port,
    /// with `instance` set to the node's name. A node without addresses has no target.
    static func node(_ node: KubernetesAPI.Node) -> [TargetGroup] {
        var byType: [(type: String, addresses: [String])] = []
        for entry in node.status?.addresses ?? [] {
            guard let type = entry.type, let address = entry.address else { continue }
            if let index = byType.firstIndex(where: { $0.type == type }) {
                byType[index].addresses.append(address)
            } else {
                byType.append((type, [address]))
            }
        }
        // Kubernetes's preference order for reaching a node.
        let preference = ["InternalIP", "InternalDNS", "ExternalIP", "ExternalDNS", "LegacyHostIP", "Hostname"]
        guard let host = preference.lazy.compactMap({ type in byType.first { $0.type == type }?.addresses.first }).first else {
            return []
        }
        var labels: [String: String?] = [prefix + "node_provider_id": node.spec?.providerID]
        for condition in node.status?.conditions ?? [] {
            labels[prefix + "node_condition_" + sanitizeLabelName((condition.type ?? "").lowercased())] = condition.status?.lowercased()
        }
        addObjectMeta(&labels, node.metadata, resource: "node")
        labels["instance"] = node.metadata.name
        for (type, addresses) in byType {
            labels[sanitizeLabelName(prefix + "node_address_" + type)] = addresses.first
        }
        let port = String(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0)
        return [group(address: joinHostPort(host, port), labels, "node/" + (node.metadata.name ?? ""))]
    }

    // MARK: Helpers

    /// `<prefix><resource>_name`, and each label and annotation as `_label_<name>` /
    /// `_annotation_<name>` with a `…present_<name>: true` companion.
    static func addObjectMeta(_ labels: inout [String: String?], _ meta: KubernetesAPI.ObjectMeta, resource: String) {
        labels[prefix + resource + "_name"] = meta.name
        for (name, value) in meta.labels ?? [:] {
            let sanitized = sanitizeLabelName(name)
            labels[prefix + resource + "_label_" + sanitized] = value
            labels[prefix + resource + "_labelpresent_" + sanitized] = "true"
        }
        for (name, value) in meta.annotations ?? [:] {
            let sanitized = sanitizeLabelName(name)
            labels[prefix + resource + "_annotation_" + sanitized] = value
            labels[prefix + resource + "_annotationpresent_" + sanitized] = "true"
        }
    }

    /// Every character outside `[a-zA-Z0-9_]` becomes `_` (Prometheus's `SanitizeLabelName`).
    static func sanitizeLabelName(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_": scalar
            default: "_"
            }
        }))
    }

    /// `host:port`, with an IPv6 host in brackets (Go's `net.JoinHostPort`).
    static func joinHostPort(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func group(address: String, _ labels: [String: String?], _ source: String) -> TargetGroup {
        var kept: [String: String] = [:]
        for case let (name, value?) in labels where !value.isEmpty { kept[name] = value }
        return TargetGroup(targets: [address], labels: kept, source: source)
    }
}
