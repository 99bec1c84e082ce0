/// Kubernetes objects → target groups, with the `__meta_kubernetes_*` labels Prometheus's
/// `discovery/kubernetes` (pod.go, service.go, endpoints.go, endpointslice.go, node.go)
/// attaches for each role. Endpoints and EndpointSlices are in `KubernetesTargets+Endpoints`.
///
/// Prometheus builds one group per object with per-target labels; `TargetGroup` carries
/// labels per group only, so each target becomes its own group holding the object's
/// labels merged with the target's (the target's win, as in Prometheus's `Merge`). All
/// groups of one object share the object's source (`pod/<ns>/<name>`, `svc/<ns>/<name>`,
/// `endpoints/<ns>/<name>`, `endpointslice/<ns>/<name>`, `node/<name>`). Labels with empty
/// values are left out: relabeling treats an empty label as absent anyway.
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
        case .endpoints:
            return store.endpoints.sorted { $0.key < $1.key }.flatMap {
                endpoints($0.value, pods: store.pods, services: store.services)
            }
        case .endpointslice:
            return store.endpointSlices.sorted { $0.key < $1.key }.flatMap {
                endpointSlice($0.value, pods: store.pods, services: store.services)
            }
        case .ingress:
            return []
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

    static func group(address: String, _ labels: [String: String?], _ source: String) -> TargetGroup {
        var kept: [String: String] = [:]
        for case let (name, value?) in labels where !value.isEmpty { kept[name] = value }
        return TargetGroup(targets: [address], labels: kept, source: source)
    }
}
