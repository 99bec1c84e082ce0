/// The parts of Kubernetes API objects (core/v1, JSON) that service discovery reads.
/// Every field is optional because the API server leaves out empty ones; unknown fields
/// are ignored, so newer API servers decode fine.
/// See https://kubernetes.io/docs/reference/kubernetes-api/
enum KubernetesAPI {
    struct ObjectMeta: Decodable, Sendable, Equatable {
        var name: String?
        var namespace: String?
        var uid: String?
        var resourceVersion: String?
        var labels: [String: String]?
        var annotations: [String: String]?
        var ownerReferences: [OwnerReference]?

        /// The store key and the second half of a group source: `<namespace>/<name>`.
        var key: String { "\(namespace ?? "")/\(name ?? "")" }
    }

    struct OwnerReference: Decodable, Sendable, Equatable {
        var kind: String?
        var name: String?
        var controller: Bool?
    }

    struct ObjectReference: Decodable, Sendable, Equatable {
        var kind: String?
        var namespace: String?
        var name: String?
    }

    // MARK: Pods

    struct Pod: Decodable, Sendable, Equatable {
        var metadata: ObjectMeta
        var spec: PodSpec?
        var status: PodStatus?
    }

    struct PodSpec: Decodable, Sendable, Equatable {
        var nodeName: String?
        var containers: [Container]?
        var initContainers: [Container]?
    }

    struct Container: Decodable, Sendable, Equatable {
        var name: String?
        var image: String?
        var ports: [ContainerPort]?
    }

    struct ContainerPort: Decodable, Sendable, Equatable {
        var name: String?
        var containerPort: Int?
        var `protocol`: String?
    }

    struct PodStatus: Decodable, Sendable, Equatable {
        var phase: String?
        var podIP: String?
        var hostIP: String?
        var conditions: [PodCondition]?
        var containerStatuses: [ContainerStatus]?
        var initContainerStatuses: [ContainerStatus]?
    }

    struct PodCondition: Decodable, Sendable, Equatable {
        var type: String?
        var status: String?
    }

    struct ContainerStatus: Decodable, Sendable, Equatable {
        var name: String?
        var containerID: String?
    }

    // MARK: Services

    struct Service: Decodable, Sendable, Equatable {
        var metadata: ObjectMeta
        var spec: ServiceSpec?
        var status: ServiceStatus?
    }

    struct ServiceSpec: Decodable, Sendable, Equatable {
        var type: String?
        var ipFamilyPolicy: String?
        var ipFamilies: [String]?
        var clusterIP: String?
        var externalName: String?
        var loadBalancerIP: String?
        var ports: [ServicePort]?
    }

    struct ServicePort: Decodable, Sendable, Equatable {
        var name: String?
        var port: Int?
        var `protocol`: String?
    }

    struct ServiceStatus: Decodable, Sendable, Equatable {
        var loadBalancer: LoadBalancerStatus?
    }

    struct LoadBalancerStatus: Decodable, Sendable, Equatable {
        var ingress: [LoadBalancerIngress]?
    }

    struct LoadBalancerIngress: Decodable, Sendable, Equatable {
        var ip: String?
    }

    // MARK: Endpoints

    struct Endpoints: Decodable, Sendable, Equatable {
        var metadata: ObjectMeta
        var subsets: [EndpointSubset]?
    }

    struct EndpointSubset: Decodable, Sendable, Equatable {
        var addresses: [EndpointAddress]?
        var notReadyAddresses: [EndpointAddress]?
        var ports: [EndpointPort]?
    }

    struct EndpointAddress: Decodable, Sendable, Equatable {
        var ip: String?
        var hostname: String?
        var nodeName: String?
        var targetRef: ObjectReference?
    }

    struct EndpointPort: Decodable, Sendable, Equatable {
        var name: String?
        var port: Int?
        var `protocol`: String?
    }

    // MARK: EndpointSlices (discovery.k8s.io/v1)

    struct EndpointSlice: Decodable, Sendable, Equatable {
        var metadata: ObjectMeta
        var addressType: String?
        var endpoints: [Endpoint]?
        var ports: [Port]?

        struct Endpoint: Decodable, Sendable, Equatable {
            var addresses: [String]?
            var conditions: Conditions?
            var hostname: String?
            var nodeName: String?
            var zone: String?
            var targetRef: ObjectReference?
            var deprecatedTopology: [String: String]?
        }

        struct Conditions: Decodable, Sendable, Equatable {
            var ready: Bool?
            var serving: Bool?
            var terminating: Bool?
        }

        struct Port: Decodable, Sendable, Equatable {
            var name: String?
            var port: Int?
            var `protocol`: String?
            var appProtocol: String?
        }
    }

    // MARK: Nodes

    struct Node: Decodable, Sendable, Equatable {
        var metadata: ObjectMeta
        var spec: NodeSpec?
        var status: NodeStatus?
    }

    struct NodeSpec: Decodable, Sendable, Equatable {
        var providerID: String?
    }

    struct NodeStatus: Decodable, Sendable, Equatable {
        var addresses: [NodeAddress]?
        var conditions: [NodeCondition]?
        var daemonEndpoints: NodeDaemonEndpoints?
    }

    struct NodeAddress: Decodable, Sendable, Equatable {
        var type: String?
        var address: String?
    }

    struct NodeCondition: Decodable, Sendable, Equatable {
        var type: String?
        var status: String?
    }

    struct NodeDaemonEndpoints: Decodable, Sendable, Equatable {
        struct Endpoint: Decodable, Sendable, Equatable { var Port: Int? }
        var kubeletEndpoint: Endpoint?
    }

    // MARK: Lists and watches

    /// The answer to a list call: the objects and the version to watch from.
    struct List<Item: Decodable & Sendable>: Decodable, Sendable {
        struct Meta: Decodable, Sendable { var resourceVersion: String? }
        var metadata: Meta?
        var items: [Item]?
    }

    /// One line of a watch stream. An `ERROR` event carries a `Status` instead of an
    /// object; code 410 (Gone) means the version watched from is too old: list again.
    struct WatchEvent<Item: Decodable & Sendable>: Decodable, Sendable {
        enum Change: Sendable {
            case added(Item), modified(Item), deleted(Item)
            /// Only moves the resource version on.
            case bookmark(resourceVersion: String?)
            case error(Status)
        }

        var change: Change

        enum CodingKeys: String, CodingKey { case type, object }
        struct VersionOnly: Decodable { var metadata: ObjectMeta? }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            switch try c.decode(String.self, forKey: .type) {
            case "ADDED": change = .added(try c.decode(Item.self, forKey: .object))
            case "MODIFIED": change = .modified(try c.decode(Item.self, forKey: .object))
            case "DELETED": change = .deleted(try c.decode(Item.self, forKey: .object))
            case "BOOKMARK": change = .bookmark(resourceVersion: try c.decode(VersionOnly.self, forKey: .object).metadata?.resourceVersion)
            default: change = .error(try c.decode(Status.self, forKey: .object))
            }
        }
    }

    /// `metav1.Status`, the body of API errors.
    struct Status: Decodable, Sendable, Error, CustomStringConvertible {
        var code: Int?
        var reason: String?
        var message: String?

        var description: String {
            "Kubernetes API error \(code.map(String.init) ?? "?") \(reason ?? ""): \(message ?? "")"
        }
    }
}

extension KubernetesAPI {
    /// The objects discovery knows of, per kind, keyed by `<namespace>/<name>`.
    struct Store: Sendable {
        var pods: [String: Pod] = [:]
        var services: [String: Service] = [:]
        var endpoints: [String: Endpoints] = [:]
        var nodes: [String: Node] = [:]
        var endpointSlices: [String: EndpointSlice] = [:]
    }
}

/// What every listed kind offers discovery: its metadata and where it lives in the API.
protocol KubernetesObject: Decodable, Sendable {
    var metadata: KubernetesAPI.ObjectMeta { get }
    /// The plural resource name in API paths.
    static var resource: String { get }
    /// The API group and version path: `/api/v1` for core objects.
    static var groupVersionPath: String { get }
    /// Where objects of this kind are kept.
    static var storeKeyPath: WritableKeyPath<KubernetesAPI.Store, [String: Self]> { get }
}

extension KubernetesAPI.Pod: KubernetesObject {
    static var resource: String { "pods" }
    static var storeKeyPath: WritableKeyPath<KubernetesAPI.Store, [String: Self]> { \.pods }
}

extension KubernetesAPI.Service: KubernetesObject {
    static var resource: String { "services" }
    static var storeKeyPath: WritableKeyPath<KubernetesAPI.Store, [String: Self]> { \.services }
}

extension KubernetesObject {
    static var groupVersionPath: String { "/api/v1" }
}

extension KubernetesAPI.EndpointSlice: KubernetesObject {
    static var resource: String { "endpointslices" }
    static var groupVersionPath: String { "/apis/discovery.k8s.io/v1" }
    static var storeKeyPath: WritableKeyPath<KubernetesAPI.Store, [String: Self]> { \.endpointSlices }
}

extension KubernetesAPI.Node: KubernetesObject {
    static var resource: String { "nodes" }
    static var storeKeyPath: WritableKeyPath<KubernetesAPI.Store, [String: Self]> { \.nodes }
}

extension KubernetesAPI.Endpoints: KubernetesObject {
    static var resource: String { "endpoints" }
    static var storeKeyPath: WritableKeyPath<KubernetesAPI.Store, [String: Self]> { \.endpoints }
}
