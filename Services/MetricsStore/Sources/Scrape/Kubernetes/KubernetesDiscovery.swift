import Foundation
import Logging

/// Keeps the target groups of one `kubernetes_sd_configs` entry current.
///
/// For each object kind the role needs (pods; services; endpoints or endpointslices plus
/// the pods and services behind them; nodes) and each namespace (or all of them; nodes
/// have none), it lists the objects, then watches from the list's resource version and
/// applies ADDED/MODIFIED/DELETED events to its store. A watch the server ends is resumed
/// from the last version seen; a 410 Gone (version too old) leads to a fresh list at once,
/// any failure to one after `retryDelay`. While the API server fails, the last good objects
/// (and so the last good groups) are kept.
///
/// After every change `onChange` is called; `groups` then gives the current targets.
actor KubernetesDiscovery {
    let config: KubernetesSDConfig
    private let logger: Logger
    private let onChange: @Sendable () -> Void
    private let retryDelay: Duration
    /// Asked of the API server per watch call; it ends the stream after that long.
    private let watchTimeoutSeconds: Int
    private let environment: [String: String]

    private var store = KubernetesAPI.Store()
    private(set) var groups: [TargetGroup] = []

    init(config: KubernetesSDConfig, logger: Logger, retryDelay: Duration = .seconds(5), watchTimeoutSeconds: Int = 300,
         environment: [String: String] = ProcessInfo.processInfo.environment, onChange: @escaping @Sendable () -> Void) {
        self.config = config
        self.logger = logger
        self.retryDelay = retryDelay
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.environment = environment
        self.onChange = onChange
    }

    /// Runs until the task is cancelled.
    func run() async {
        let client: KubernetesAPIClient
        let namespaces: [String?]
        do {
            // Namespaces first: a client once made must be shut down.
            namespaces = try resolveNamespaces()
            client = try KubernetesAPIClient.make(config, environment: environment)
        } catch {
            logger.error("cannot start Kubernetes service discovery", metadata: ["error": "\(error)"])
            return
        }
        if config.apiServer == nil { logger.info("using pod service account via in-cluster config") }
        await withTaskGroup(of: Void.self) { group in
            if config.role == .node {
                group.addTask { await self.follow(KubernetesAPI.Node.self, nil, .node, client) }
            }
            for namespace in namespaces where config.role != .node {
                switch config.role {
                case .pod:
                    group.addTask { await self.follow(KubernetesAPI.Pod.self, namespace, .pod, client) }
                case .service:
                    group.addTask { await self.follow(KubernetesAPI.Service.self, namespace, .service, client) }
                case .endpointslice:
                    group.addTask { await self.follow(KubernetesAPI.EndpointSlice.self, namespace, .endpointslice, client) }
                    group.addTask { await self.follow(KubernetesAPI.Service.self, namespace, .service, client) }
                    group.addTask { await self.follow(KubernetesAPI.Pod.self, namespace, .pod, client) }
                case .node, .ingress:
                    break
                case .endpoints:
                    group.addTask { await self.follow(KubernetesAPI.Endpoints.self, namespace, .endpoints, client) }
                    group.addTask { await self.follow(KubernetesAPI.Service.self, namespace, .service, client) }
                    group.addTask { await self.follow(KubernetesAPI.Pod.self, namespace, .pod, client) }
                }
            }
        }
        await client.shutdown()
    }

    /// nil stands for all namespaces (Prometheus's `NamespaceAll`).
    private func resolveNamespaces() throws -> [String?] {
        var names = config.namespaces.names
        if config.namespaces.ownNamespace {
            let path = KubernetesAPIClient.serviceAccountDirectory + "/namespace"
            guard let own = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KubernetesAPIClient.SetupError(description: "could not determine the pod's namespace: cannot read \(path)")
            }
            guard !own.isEmpty else { throw KubernetesAPIClient.SetupError(description: "could not read own namespace name (empty file)") }
            names.append(own)
        }
        return names.isEmpty ? [nil] : names.map { $0 }
    }

    // MARK: List and watch

    /// List, then watch, for one kind in one namespace, until cancelled.
    private func follow<T: KubernetesObject>(
        _ type: T.Type, _ namespace: String?,
        _ role: KubernetesSDConfig.Role, _ client: KubernetesAPIClient
    ) async {
        var logger = logger
        logger[metadataKey: "resource"] = "\(T.resource)"
        if let namespace { logger[metadataKey: "namespace"] = "\(namespace)" }
        let selector = config.selector(for: role)
        while !Task.isCancelled {
            do {
                let (items, listed) = try await client.list(T.self, namespace: namespace, selector: selector)
                replace(namespace, items)
                var version = listed
                var expired = false
                while !expired, !Task.isCancelled {
                    try await client.watch(T.self, namespace: namespace, selector: selector, resourceVersion: version,
                                           timeoutSeconds: watchTimeoutSeconds) { change in
                        switch change {
                        case .added(let object), .modified(let object):
                            self.apply(key: object.metadata.key, object)
                            version = object.metadata.resourceVersion ?? version
                        case .deleted(let object):
                            self.apply(key: object.metadata.key, T?.none)
                            version = object.metadata.resourceVersion ?? version
                        case .bookmark(let resourceVersion):
                            version = resourceVersion ?? version
                        case .error(let status) where status.code == 410:
                            expired = true
                        case .error(let status):
                            throw status
                        }
                    }
                }
                if expired { logger.debug("watch expired; listing again") }
            } catch {
                if Task.isCancelled { return }
                logger.error("Kubernetes API request failed; keeping the last known targets", metadata: ["error": "\(error)"])
                do { try await Task.sleep(for: retryDelay) } catch { return }
            }
        }
    }

    /// A list's answer replaces what the store held for that namespace.
    private func replace<T: KubernetesObject>(_ namespace: String?, _ items: [T]) {
        var objects = store[keyPath: T.storeKeyPath]
        if let namespace {
            objects = objects.filter { $0.value.metadata.namespace != namespace }
        } else {
            objects = [:]
        }
        for item in items { objects[item.metadata.key] = item }
        store[keyPath: T.storeKeyPath] = objects
        rebuild()
    }

    private func apply<T: KubernetesObject>(key: String, _ object: T?) {
        store[keyPath: T.storeKeyPath][key] = object
        rebuild()
    }

    /// Recomputes every group from the stored objects (in a stable order) and reports a
    /// change; updates that change no target (status churn) are not reported.
    private func rebuild() {
        let rebuilt = KubernetesTargets.groups(role: config.role, store)
        guard rebuilt != groups else { return }
        groups = rebuilt
        onChange()
    }
}
