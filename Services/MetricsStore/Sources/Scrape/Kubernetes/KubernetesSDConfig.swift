import Foundation
import VigilService

/// One `kubernetes_sd_configs` entry: which kind of object becomes a target (`role`), which
/// API server to ask and how to authenticate, and which namespaces and objects to look at.
///
/// Keys and validation messages follow Prometheus's `discovery/kubernetes` SDConfig and the
/// HTTP client settings of prometheus/common. Unknown keys are errors. Options this store does
/// not implement (`kubeconfig_file`, `oauth2`, proxies, `http_headers`, `attach_metadata`,
/// the `ingress` role) are refused with a message that says so,
/// rather than silently ignored.
///
/// Without `api_server` the in-cluster service account is used: the API server from
/// `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the token and CA from
/// /var/run/secrets/kubernetes.io/serviceaccount. That is resolved when discovery starts.
public struct KubernetesSDConfig: Decodable, Sendable {
    /// The object kind a target is made from (Prometheus's `Role`).
    public enum Role: String, Sendable, CaseIterable {
        case pod, service, endpoints, endpointslice, node, ingress

        /// Roles this store discovers; the rest are refused at load time.
        static let supported: [Role] = [.pod, .service, .endpoints, .endpointslice, .node]
    }

    /// A `selectors` entry: label and field selectors passed to the API server's list and
    /// watch calls for objects of `role`.
    public struct Selector: Decodable, Sendable, Equatable {
        public var role: Role
        public var label = ""
        public var field = ""

        enum CodingKeys: String, CodingKey { case role, label, field }

        public init(role: Role, label: String = "", field: String = "") {
            self.role = role
            self.label = label
            self.field = field
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            role = try KubernetesSDConfig.decodeRole(c, .role)
            label = try c.decodeIfPresent(String.self, forKey: .label) ?? ""
            field = try c.decodeIfPresent(String.self, forKey: .field) ?? ""
        }
    }

    /// `namespaces`: the namespaces to watch; none means all of them.
    public struct Namespaces: Decodable, Sendable, Equatable {
        public var names: [String] = []
        /// Adds the namespace this server runs in (read from the service account).
        public var ownNamespace = false

        enum CodingKeys: String, CodingKey { case names, ownNamespace = "own_namespace" }

        public init(names: [String] = [], ownNamespace: Bool = false) {
            self.names = names
            self.ownNamespace = ownNamespace
        }

        public init(from decoder: any Decoder) throws {
            self.init()
            guard !decoder.isNull() else { return }
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
            ownNamespace = try c.decodeIfPresent(Bool.self, forKey: .ownNamespace) ?? false
        }
    }

    public var role: Role
    /// nil: in-cluster configuration.
    public var apiServer: URL?
    public var namespaces = Namespaces()
    public var selectors: [Selector] = []
    public var authorization: Authorization?
    public var tls = TLSConfig()
    public var followRedirects = true
    public var enableHTTP2 = true

    enum CodingKeys: String, CodingKey {
        case role, apiServer = "api_server", namespaces, selectors
        case basicAuth = "basic_auth", authorization, bearerToken = "bearer_token", bearerTokenFile = "bearer_token_file"
        case tlsConfig = "tls_config", followRedirects = "follow_redirects", enableHTTP2 = "enable_http2"
        // Recognised so the error can say they are unsupported rather than unknown.
        case kubeconfigFile = "kubeconfig_file", oauth2, attachMetadata = "attach_metadata", httpHeaders = "http_headers"
        case proxyURL = "proxy_url", noProxy = "no_proxy", proxyFromEnvironment = "proxy_from_environment"
        case proxyConnectHeader = "proxy_connect_header"
    }

    public init(role: Role, apiServer: URL? = nil) {
        self.role = role
        self.apiServer = apiServer
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        guard c.contains(.role) else {
            throw c.invalid(.role, "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)")
        }
        role = try Self.decodeRole(c, .role)
        guard Role.supported.contains(role) else {
            throw c.invalid(.role, "role \"\(role.rawValue)\" is not supported by this metrics-store yet (supported: pod, service, endpoints, endpointslice, node)")
        }
        let unsupported: [(CodingKeys, String)] = [
            (.kubeconfigFile, "kubeconfig_file is not supported; set api_server and its credentials instead"),
            (.oauth2, "oauth2 is not supported for kubernetes_sd_configs; use bearer_token_file or authorization"),
            (.attachMetadata, "attach_metadata is not supported yet"),
            (.httpHeaders, "http_headers is not supported for kubernetes_sd_configs"),
            (.proxyURL, "proxy_url is not supported: the API server must be reachable directly"),
            (.noProxy, "no_proxy is not supported: the API server must be reachable directly"),
            (.proxyFromEnvironment, "proxy_from_environment is not supported: the API server must be reachable directly"),
            (.proxyConnectHeader, "proxy_connect_header is not supported: the API server must be reachable directly"),
        ]
        for (key, message) in unsupported where c.contains(key) { throw c.invalid(key, message) }

        if let text = try c.decodeIfPresent(String.self, forKey: .apiServer) {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw c.invalid(.apiServer, "api_server must be an http or https URL, got \"\(text)\"")
            }
            apiServer = url
        }
        namespaces = try c.decodeIfPresent(Namespaces.self, forKey: .namespaces) ?? Namespaces()
        selectors = try c.decodeIfPresent([Selector].self, forKey: .selectors) ?? []
        tls = try c.decodeIfPresent(TLSConfig.self, forKey: .tlsConfig) ?? TLSConfig()
        followRedirects = try c.decodeIfPresent(Bool.self, forKey: .followRedirects) ?? true
        enableHTTP2 = try c.decodeIfPresent(Bool.self, forKey: .enableHTTP2) ?? true
        do {
            authorization = try Authorization.combining(
                basic: c.decodeIfPresent(BasicAuth.self, forKey: .basicAuth),
                bearerToken: c.decodeIfPresent(String.self, forKey: .bearerToken),
                bearerTokenFile: c.decodeIfPresent(String.self, forKey: .bearerTokenFile),
                header: c.decodeIfPresent(AuthorizationHeader.self, forKey: .authorization))
        } catch let conflict as AuthorizationConflict {
            throw c.invalid(CodingKeys(rawValue: conflict.key) ?? .authorization, conflict.message)
        }

        let customHTTP = authorization != nil || tls != TLSConfig() || !followRedirects || !enableHTTP2
        if apiServer == nil, customHTTP {
            throw c.invalid(.apiServer, "to use custom HTTP client configuration please provide the 'api_server' URL explicitly")
        }
        if apiServer != nil, namespaces.ownNamespace {
            throw c.invalid(.namespaces, "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously")
        }
        try validateSelectors(in: c)
    }

    /// Prometheus allows per role only the selectors of the objects that role reads.
    private func validateSelectors(in c: KeyedDecodingContainer<CodingKeys>) throws {
        let allowed: [Role: [Role]] = [
            .pod: [.pod, .node], .service: [.service], .endpoints: [.pod, .service, .endpoints],
            .endpointslice: [.pod, .service, .endpointslice], .node: [.node], .ingress: [.ingress],
        ]
        var seen = Set<Role>()
        for selector in selectors {
            guard seen.insert(selector.role).inserted else {
                throw c.invalid(.selectors, "duplicated selector role: \(selector.role.rawValue)")
            }
            let roles = allowed[role] ?? []
            guard roles.contains(selector.role) else {
                throw c.invalid(.selectors, "\(role.rawValue) role supports only \(roles.map(\.rawValue).joined(separator: ", ")) selectors")
            }
        }
    }

    static func decodeRole<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Role {
        let text = try c.decode(String.self, forKey: key)
        guard let role = Role(rawValue: text) else {
            throw c.invalid(key, "unknown Kubernetes SD role \"\(text)\"")
        }
        return role
    }

    /// The label and field selector for objects of `role`, empty when none is configured.
    func selector(for role: Role) -> Selector {
        selectors.first { $0.role == role } ?? Selector(role: role)
    }
}

/// `tls_config` for the connection to the API server.
public struct TLSConfig: Decodable, Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Checked against the server's certificate instead of the URL's host (and sent as SNI).
    public var serverName: String?
    public var insecureSkipVerify = false

    enum CodingKeys: String, CodingKey {
        case caFile = "ca_file", certFile = "cert_file", keyFile = "key_file"
        case serverName = "server_name", insecureSkipVerify = "insecure_skip_verify"
    }

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, serverName: String? = nil,
                insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        guard !decoder.isNull() else { return }
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile).flatMap { $0.isEmpty ? nil : $0 }
        certFile = try c.decodeIfPresent(String.self, forKey: .certFile).flatMap { $0.isEmpty ? nil : $0 }
        keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile).flatMap { $0.isEmpty ? nil : $0 }
        serverName = try c.decodeIfPresent(String.self, forKey: .serverName).flatMap { $0.isEmpty ? nil : $0 }
        insecureSkipVerify = try c.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
        if certFile != nil, keyFile == nil {
            throw c.invalid(.keyFile, "exactly one of key or key_file must be configured when a client certificate is configured")
        }
        if keyFile != nil, certFile == nil {
            throw c.invalid(.certFile, "exactly one of cert or cert_file must be configured when a client key is configured")
        }
    }
}
