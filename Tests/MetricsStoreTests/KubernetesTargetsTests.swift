import Foundation
import XCTest

@testable import MetricsStore

/// API objects (as the API server's JSON) → target groups with Prometheus's
/// `__meta_kubernetes_*` labels, per role.
final class KubernetesTargetsTests: XCTestCase {
    private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    private let webPod = """
    {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1", "resourceVersion": "7",
                  "labels": {"app": "web", "app.kubernetes.io/name": "shop-web"},
                  "annotations": {"prometheus.io/scrape": "true"},
                  "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "controller": true},
                                      {"kind": "Other", "name": "x"}]},
     "spec": {"nodeName": "node-a",
              "containers": [{"name": "app", "image": "shop:1", "ports": [
                                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]},
                             {"name": "sidecar", "image": "proxy:2"}],
              "initContainers": [{"name": "migrate", "image": "shop-migrate:1",
                                  "ports": [{"containerPort": 7000, "protocol": "UDP"}]}]},
     "status": {"phase": "Running", "podIP": "10.1.0.5", "hostIP": "192.168.0.2",
                "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "app", "containerID": "containerd://aaa"}],
                "initContainerStatuses": [{"name": "migrate", "containerID": "containerd://bbb"}]}}
    """

    private var webPodLabels: [String: String] {
        [
            "__meta_kubernetes_namespace": "shop",
            "__meta_kubernetes_pod_name": "web-1",
            "__meta_kubernetes_pod_uid": "u-1",
            "__meta_kubernetes_pod_ip": "10.1.0.5",
            "__meta_kubernetes_pod_host_ip": "192.168.0.2",
            "__meta_kubernetes_pod_node_name": "node-a",
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_ready": "true",
            "__meta_kubernetes_pod_label_app": "web",
            "__meta_kubernetes_pod_labelpresent_app": "true",
            "__meta_kubernetes_pod_label_app_kubernetes_io_name": "shop-web",
            "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name": "true",
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_controller_kind": "ReplicaSet",
            "__meta_kubernetes_pod_controller_name": "web-abc",
        ]
    }

    func testPodHasOneTargetPerContainerPortAndPerPortlessContainer() throws {
        let groups = KubernetesTargets.pod(try decode(KubernetesAPI.Pod.self, webPod))
        XCTAssertEqual(groups.map(\.targets), [["10.1.0.5:8080"], ["10.1.0.5:9100"], ["10.1.0.5"], ["10.1.0.5:7000"]])
        XCTAssertEqual(Set(groups.map(\.source)), ["pod/shop/web-1"])

        XCTAssertEqual(groups[0].labels, webPodLabels.merging([
            "__meta_kubernetes_pod_container_name": "app",
            "__meta_kubernetes_pod_container_image": "shop:1",
            "__meta_kubernetes_pod_container_id": "containerd://aaa",
            "__meta_kubernetes_pod_container_init": "false",
            "__meta_kubernetes_pod_container_port_name": "http",
            "__meta_kubernetes_pod_container_port_number": "8080",
            "__meta_kubernetes_pod_container_port_protocol": "TCP",
        ]) { _, new in new })
        XCTAssertEqual(groups[1].labels["__meta_kubernetes_pod_container_port_name"], "metrics")
        // A container without ports: the pod IP alone, no port labels, no status → no ID.
        XCTAssertEqual(groups[2].labels, webPodLabels.merging([
            "__meta_kubernetes_pod_container_name": "sidecar",
            "__meta_kubernetes_pod_container_image": "proxy:2",
            "__meta_kubernetes_pod_container_init": "false",
        ]) { _, new in new })
        // Init containers come last, flagged, with their own status's ID.
        XCTAssertEqual(groups[3].labels, webPodLabels.merging([
            "__meta_kubernetes_pod_container_name": "migrate",
            "__meta_kubernetes_pod_container_image": "shop-migrate:1",
            "__meta_kubernetes_pod_container_id": "containerd://bbb",
            "__meta_kubernetes_pod_container_init": "true",
            "__meta_kubernetes_pod_container_port_number": "7000",
            "__meta_kubernetes_pod_container_port_protocol": "UDP",
        ]) { _, new in new })
    }

    func testPodWithoutIPHasNoTargetsAndReadinessDefaultsToUnknown() throws {
        let pending = try decode(KubernetesAPI.Pod.self, """
        {"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}}
        """)
        XCTAssertEqual(KubernetesTargets.pod(pending), [])
        XCTAssertEqual(KubernetesTargets.podReady(pending), "unknown")
        let notReady = try decode(KubernetesAPI.Pod.self, """
        {"metadata": {"name": "p", "namespace": "n"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
        """)
        XCTAssertEqual(KubernetesTargets.podReady(notReady), "false")
    }

    func testIPv6PodAddressIsBracketed() throws {
        let pod = try decode(KubernetesAPI.Pod.self, """
        {"metadata": {"name": "p", "namespace": "n"}, "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
         "status": {"podIP": "fd00::5"}}
        """)
        XCTAssertEqual(KubernetesTargets.pod(pod).map(\.targets), [["[fd00::5]:80"]])
    }

    func testLabelNamesAreSanitized() {
        XCTAssertEqual(KubernetesTargets.sanitizeLabelName("app.kubernetes.io/name-x"), "app_kubernetes_io_name_x")
        XCTAssertEqual(KubernetesTargets.sanitizeLabelName("ünïcode_9"), "_n_code_9")
    }

    // MARK: Services

    private let shopService = """
    {"metadata": {"name": "shop", "namespace": "shop", "labels": {"tier": "front"}, "annotations": {"a/b": ""}},
     "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "loadBalancerIP": "1.1.1.1",
              "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 9090, "protocol": "TCP"}]},
     "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}, {"hostname": "lb.example"}, {"ip": "203.0.113.2"}]}}}
    """

    func testServiceHasOneTargetPerPortAtItsDNSName() throws {
        let groups = KubernetesTargets.service(try decode(KubernetesAPI.Service.self, shopService))
        XCTAssertEqual(groups.map(\.targets), [["shop.shop.svc:80"], ["shop.shop.svc:9090"]])
        XCTAssertEqual(Set(groups.map(\.source)), ["svc/shop/shop"])
        XCTAssertEqual(groups[0].labels, [
            "__meta_kubernetes_namespace": "shop",
            "__meta_kubernetes_service_name": "shop",
            "__meta_kubernetes_service_label_tier": "front",
            "__meta_kubernetes_service_labelpresent_tier": "true",
            // An empty annotation keeps only its "present" label.
            "__meta_kubernetes_service_annotationpresent_a_b": "true",
            "__meta_kubernetes_service_port_name": "http",
            "__meta_kubernetes_service_port_number": "80",
            "__meta_kubernetes_service_port_protocol": "TCP",
            "__meta_kubernetes_service_type": "LoadBalancer",
            "__meta_kubernetes_service_cluster_ip": "10.96.0.10",
            "__meta_kubernetes_service_loadbalancer_ip": "203.0.113.1,203.0.113.2",
        ])
        XCTAssertNil(groups[1].labels["__meta_kubernetes_service_port_name"])
    }

    func testExternalNameServiceReportsItsNameInsteadOfClusterIP() throws {
        let service = try decode(KubernetesAPI.Service.self, """
        {"metadata": {"name": "ext", "namespace": "n"},
         "spec": {"type": "ExternalName", "externalName": "db.example.com", "clusterIP": "ignored", "ports": [{"port": 5432}]}}
        """)
        let labels = KubernetesTargets.service(service)[0].labels
        XCTAssertEqual(labels["__meta_kubernetes_service_external_name"], "db.example.com")
        XCTAssertNil(labels["__meta_kubernetes_service_cluster_ip"])
        XCTAssertNil(labels["__meta_kubernetes_service_loadbalancer_ip"])
    }

    // MARK: Endpoints

    func testEndpointsTargetsCarryReadinessPodAndServiceLabels() throws {
        let pod = try decode(KubernetesAPI.Pod.self, webPod)
        let service = try decode(KubernetesAPI.Service.self, shopService)
        let endpoints = try decode(KubernetesAPI.Endpoints.self, """
        {"metadata": {"name": "shop", "namespace": "shop", "labels": {"ep": "x"}},
         "subsets": [{"addresses": [{"ip": "10.1.0.5", "nodeName": "node-a",
                                     "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1"}}],
                      "notReadyAddresses": [{"ip": "10.1.0.9", "hostname": "web-2"}],
                      "ports": [{"name": "web", "port": 8080, "protocol": "TCP"}]}]}
        """)
        let groups = KubernetesTargets.endpoints(endpoints, pods: ["shop/web-1": pod], services: ["shop/shop": service])
        // The ready pod-backed address, the not-ready one, then the pod's container ports
        // no endpoint port covered (9100 and the init container's 7000).
        XCTAssertEqual(groups.map(\.targets), [["10.1.0.5:8080"], ["10.1.0.9:8080"], ["10.1.0.5:9100"], ["10.1.0.5:7000"]])
        XCTAssertEqual(Set(groups.map(\.source)), ["endpoints/shop/shop"])

        let serviceAndEndpoints: [String: String] = [
            "__meta_kubernetes_namespace": "shop",
            "__meta_kubernetes_service_name": "shop",
            "__meta_kubernetes_service_label_tier": "front",
            "__meta_kubernetes_service_labelpresent_tier": "true",
            "__meta_kubernetes_service_annotationpresent_a_b": "true",
            "__meta_kubernetes_endpoints_name": "shop",
            "__meta_kubernetes_endpoints_label_ep": "x",
            "__meta_kubernetes_endpoints_labelpresent_ep": "true",
        ]
        XCTAssertEqual(groups[0].labels, serviceAndEndpoints.merging(webPodLabels) { _, new in new }.merging([
            "__meta_kubernetes_endpoint_port_name": "web",
            "__meta_kubernetes_endpoint_port_protocol": "TCP",
            "__meta_kubernetes_endpoint_ready": "true",
            "__meta_kubernetes_endpoint_node_name": "node-a",
            "__meta_kubernetes_endpoint_address_target_kind": "Pod",
            "__meta_kubernetes_endpoint_address_target_name": "web-1",
            "__meta_kubernetes_pod_container_name": "app",
            "__meta_kubernetes_pod_container_image": "shop:1",
            "__meta_kubernetes_pod_container_port_name": "http",
            "__meta_kubernetes_pod_container_port_number": "8080",
            "__meta_kubernetes_pod_container_port_protocol": "TCP",
            "__meta_kubernetes_pod_container_init": "false",
        ]) { _, new in new })
        XCTAssertEqual(groups[1].labels, serviceAndEndpoints.merging([
            "__meta_kubernetes_endpoint_port_name": "web",
            "__meta_kubernetes_endpoint_port_protocol": "TCP",
            "__meta_kubernetes_endpoint_ready": "false",
            "__meta_kubernetes_endpoint_hostname": "web-2",
        ]) { _, new in new })
        XCTAssertEqual(groups[2].labels, serviceAndEndpoints.merging(webPodLabels) { _, new in new }.merging([
            "__meta_kubernetes_pod_container_name": "app",
            "__meta_kubernetes_pod_container_image": "shop:1",
            "__meta_kubernetes_pod_container_port_name": "metrics",
            "__meta_kubernetes_pod_container_port_number": "9100",
            "__meta_kubernetes_pod_container_port_protocol": "TCP",
            "__meta_kubernetes_pod_container_init": "false",
        ]) { _, new in new })
        XCTAssertEqual(groups[3].labels["__meta_kubernetes_pod_container_init"], "true")
    }

    func testEndpointsWithUnknownPodOrServiceKeepOnlyTheirOwnLabels() throws {
        let endpoints = try decode(KubernetesAPI.Endpoints.self, """
        {"metadata": {"name": "db", "namespace": "n"},
         "subsets": [{"addresses": [{"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "namespace": "n", "name": "gone"}}],
                      "ports": [{"port": 5432, "protocol": "TCP"}]}]}
        """)
        let groups = KubernetesTargets.endpoints(endpoints, pods: [:], services: [:])
        XCTAssertEqual(groups, [TargetGroup(targets: ["10.0.0.1:5432"], labels: [
            "__meta_kubernetes_namespace": "n",
            "__meta_kubernetes_endpoints_name": "db",
            "__meta_kubernetes_endpoint_port_protocol": "TCP",
            "__meta_kubernetes_endpoint_ready": "true",
            "__meta_kubernetes_endpoint_address_target_kind": "Pod",
            "__meta_kubernetes_endpoint_address_target_name": "gone",
        ], source: "endpoints/n/db")])
    }

    func testEndpointSliceTargetsCarryConditionsAndServicePodLabels() throws {
        let pod = try decode(KubernetesAPI.Pod.self, webPod)
        let service = try decode(KubernetesAPI.Service.self, shopService)
        let slice = try decode(KubernetesAPI.EndpointSlice.self, """
        {"metadata": {"name": "shop-x1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "shop"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
                        "nodeName": "node-a", "zone": "z1", "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
                        "deprecatedTopology": {"topology.kubernetes.io/zone": "z1"}},
                       {"addresses": ["10.1.0.9"], "conditions": {"ready": false}, "hostname": "h"}],
         "ports": [{"name": "web", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]}
        """)
        let groups = KubernetesTargets.endpointSlice(slice, pods: ["shop/web-1": pod], services: ["shop/shop": service])
        XCTAssertEqual(groups.map(\.targets), [["10.1.0.5:8080"], ["10.1.0.9:8080"], ["10.1.0.5:9100"], ["10.1.0.5:7000"]])
        XCTAssertEqual(Set(groups.map(\.source)), ["endpointslice/shop/shop-x1"])
        let sliceAndService: [String: String] = [
            "__meta_kubernetes_namespace": "shop",
            "__meta_kubernetes_endpointslice_address_type": "IPv4",
            "__meta_kubernetes_endpointslice_name": "shop-x1",
            "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name": "shop",
            "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name": "true",
            "__meta_kubernetes_service_name": "shop",
            "__meta_kubernetes_service_label_tier": "front",
            "__meta_kubernetes_service_labelpresent_tier": "true",
            "__meta_kubernetes_service_annotationpresent_a_b": "true",
        ]
        XCTAssertEqual(groups[0].labels, sliceAndService.merging(webPodLabels) { _, new in new }.merging([
            "__meta_kubernetes_endpointslice_port_name": "web",
            "__meta_kubernetes_endpointslice_port_protocol": "TCP",
            "__meta_kubernetes_endpointslice_port": "8080",
            "__meta_kubernetes_endpointslice_port_app_protocol": "http",
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready": "true",
            "__meta_kubernetes_endpointslice_endpoint_conditions_serving": "true",
            "__meta_kubernetes_endpointslice_endpoint_conditions_terminating": "false",
            "__meta_kubernetes_endpointslice_endpoint_node_name": "node-a",
            "__meta_kubernetes_endpointslice_endpoint_zone": "z1",
            "__meta_kubernetes_endpointslice_endpoint_topology_topology_kubernetes_io_zone": "z1",
            "__meta_kubernetes_endpointslice_endpoint_topology_present_topology_kubernetes_io_zone": "true",
            "__meta_kubernetes_endpointslice_address_target_kind": "Pod",
            "__meta_kubernetes_endpointslice_address_target_name": "web-1",
            "__meta_kubernetes_pod_container_name": "app",
            "__meta_kubernetes_pod_container_image": "shop:1",
            "__meta_kubernetes_pod_container_port_name": "http",
            "__meta_kubernetes_pod_container_port_number": "8080",
            "__meta_kubernetes_pod_container_port_protocol": "TCP",
            "__meta_kubernetes_pod_container_init": "false",
        ]) { _, new in new })
        XCTAssertEqual(groups[1].labels, sliceAndService.merging([
            "__meta_kubernetes_endpointslice_port_name": "web",
            "__meta_kubernetes_endpointslice_port_protocol": "TCP",
            "__meta_kubernetes_endpointslice_port": "8080",
            "__meta_kubernetes_endpointslice_port_app_protocol": "http",
            "__meta_kubernetes_endpointslice_endpoint_conditions_ready": "false",
            "__meta_kubernetes_endpointslice_endpoint_hostname": "h",
        ]) { _, new in new })
    }

    func testEndpointSliceOfADualStackServicesSecondaryFamilyHasNoTargets() throws {
        let service = try decode(KubernetesAPI.Service.self, """
        {"metadata": {"name": "s", "namespace": "n"},
         "spec": {"ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4", "IPv6"], "ports": [{"port": 80}]}}
        """)
        func slice(_ family: String, _ address: String) throws -> KubernetesAPI.EndpointSlice {
            try decode(KubernetesAPI.EndpointSlice.self, """
            {"metadata": {"name": "s-\(family)", "namespace": "n", "labels": {"kubernetes.io/service-name": "s"}},
             "addressType": "\(family)", "endpoints": [{"addresses": ["\(address)"]}], "ports": [{"port": 80}]}
            """)
        }
        XCTAssertEqual(KubernetesTargets.endpointSlice(try slice("IPv4", "10.0.0.1"), pods: [:], services: ["n/s": service])
            .map(\.targets), [["10.0.0.1:80"]])
        XCTAssertEqual(KubernetesTargets.endpointSlice(try slice("IPv6", "fd00::1"), pods: [:], services: ["n/s": service]), [])
        // Without the service known, both families are targets.
        XCTAssertEqual(KubernetesTargets.endpointSlice(try slice("IPv6", "fd00::1"), pods: [:], services: [:]).map(\.targets),
                       [["[fd00::1]:80"]])
    }

    // MARK: Nodes

    func testNodeTargetIsTheKubeletAtThePreferredAddress() throws {
        let node = try decode(KubernetesAPI.Node.self, """
        {"metadata": {"name": "node-a", "uid": "n-1", "labels": {"kubernetes.io/os": "linux"}},
         "spec": {"providerID": "kind://docker/kind/node-a"},
         "status": {"addresses": [{"type": "Hostname", "address": "node-a"}, {"type": "ExternalIP", "address": "203.0.113.7"},
                                  {"type": "InternalIP", "address": "172.18.0.2"}, {"type": "InternalIP", "address": "172.18.0.3"}],
                    "conditions": [{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
        """)
        XCTAssertEqual(KubernetesTargets.node(node), [TargetGroup(targets: ["172.18.0.2:10250"], labels: [
            "instance": "node-a",
            "__meta_kubernetes_node_name": "node-a",
            "__meta_kubernetes_node_provider_id": "kind://docker/kind/node-a",
            "__meta_kubernetes_node_label_kubernetes_io_os": "linux",
            "__meta_kubernetes_node_labelpresent_kubernetes_io_os": "true",
            "__meta_kubernetes_node_condition_ready": "true",
            "__meta_kubernetes_node_condition_memorypressure": "false",
            "__meta_kubernetes_node_address_Hostname": "node-a",
            "__meta_kubernetes_node_address_ExternalIP": "203.0.113.7",
            "__meta_kubernetes_node_address_InternalIP": "172.18.0.2",
        ], source: "node/node-a")])
        let bare = try decode(KubernetesAPI.Node.self, #"{"metadata": {"name": "x"}, "status": {}}"#)
        XCTAssertEqual(KubernetesTargets.node(bare), [])
    }

    // MARK: Watch events and relabeling

    func testWatchEventsDecode() throws {
        let added = try decode(KubernetesAPI.WatchEvent<KubernetesAPI.Pod>.self,
                               #"{"type": "ADDED", "object": {"metadata": {"name": "a", "namespace": "n", "resourceVersion": "5"}}}"#)
        guard case .added(let pod) = added.change else { return XCTFail("expected ADDED") }
        XCTAssertEqual(pod.metadata.key, "n/a")
        let gone = try decode(KubernetesAPI.WatchEvent<KubernetesAPI.Pod>.self,
                              #"{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}"#)
        guard case .error(let status) = gone.change else { return XCTFail("expected ERROR") }
        XCTAssertEqual(status.code, 410)
        let bookmark = try decode(KubernetesAPI.WatchEvent<KubernetesAPI.Pod>.self,
                                  #"{"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "12"}}}"#)
        guard case .bookmark(let version) = bookmark.change else { return XCTFail("expected BOOKMARK") }
        XCTAssertEqual(version, "12")
    }

    /// The usual annotation-driven job: keep pods with prometheus.io/scrape=true and scrape
    /// the port the prometheus.io/port annotation names.
    func testAnnotationRelabelingPicksThePodsPort() throws {
        var pod = try decode(KubernetesAPI.Pod.self, webPod)
        pod.metadata.annotations?["prometheus.io/port"] = "9100"
        var job = ScrapeConfig(jobName: "pods")
        job.relabelConfigs = [
            try RelabelConfig(sourceLabels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], regex: RelabelRegex("true"), action: .keep),
            try RelabelConfig(sourceLabels: ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                              regex: RelabelRegex("([^:]+)(?::\\d+)?;(\\d+)"), targetLabel: "__address__", replacement: "$1:$2"),
            try RelabelConfig(sourceLabels: ["__meta_kubernetes_pod_name"], targetLabel: "pod"),
        ]
        let outcomes = ScrapeTarget.discover(job, fileGroups: KubernetesTargets.pod(pod))
        let addresses = outcomes.compactMap { outcome -> String? in
            if case .active(let target) = outcome { return target.internalLabels["__address__"] }
            return nil
        }
        XCTAssertEqual(Set(addresses), ["10.1.0.5:9100"])
        guard case .active(let target) = outcomes[0] else { return XCTFail("expected an active target") }
        XCTAssertEqual(target.labels["pod"], "web-1")
        XCTAssertNil(target.internalLabels["__meta_kubernetes_pod_name"])
    }
}
