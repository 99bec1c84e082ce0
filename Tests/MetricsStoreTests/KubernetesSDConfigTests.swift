import Foundation
import VigilService
import XCTest

@testable import MetricsStore

/// `kubernetes_sd_configs` decoding: defaults, Prometheus's validation messages, and the
/// options this store refuses by name.
final class KubernetesSDConfigTests: XCTestCase {
    private func parse(_ entry: String) throws -> KubernetesSDConfig {
        let yaml = "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n      - " +
            entry.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n        ")
        let config = try ConfigFile.parse(PrometheusConfig.self, yaml: yaml, file: "prometheus.yml")
        return try XCTUnwrap(config.scrapeConfigs.first?.kubernetesSDConfigs.first)
    }

    private func error(_ entry: String) -> String {
        do {
            _ = try parse(entry)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testInClusterPodRoleHasDefaults() throws {
        let config = try parse("role: pod")
        XCTAssertEqual(config.role, .pod)
        XCTAssertNil(config.apiServer)
        XCTAssertEqual(config.namespaces, .init())
        XCTAssertTrue(config.selectors.isEmpty)
        XCTAssertNil(config.authorization)
        XCTAssertTrue(config.followRedirects)
        XCTAssertTrue(config.enableHTTP2)
    }

    func testFullEntryDecodes() throws {
        let config = try parse("""
        role: endpoints
        api_server: https://10.0.0.1:6443
        namespaces: {names: [default, monitoring]}
        selectors:
          - {role: pod, label: "app=web", field: "spec.nodeName=n1"}
          - {role: endpoints, label: "tier in (a,b)"}
        bearer_token_file: /etc/token
        tls_config: {ca_file: /etc/ca.crt, server_name: kubernetes.default, insecure_skip_verify: false}
        follow_redirects: false
        enable_http2: false
        """)
        XCTAssertEqual(config.role, .endpoints)
        XCTAssertEqual(config.apiServer?.absoluteString, "https://10.0.0.1:6443")
        XCTAssertEqual(config.namespaces.names, ["default", "monitoring"])
        XCTAssertEqual(config.selector(for: .pod), .init(role: .pod, label: "app=web", field: "spec.nodeName=n1"))
        XCTAssertEqual(config.selector(for: .endpoints).label, "tier in (a,b)")
        XCTAssertEqual(config.selector(for: .service), .init(role: .service))
        guard case .header(let header) = config.authorization else { return XCTFail("expected a bearer token file") }
        XCTAssertEqual(header.type, "Bearer")
        XCTAssertEqual(header.credentialsFile, "/etc/token")
        XCTAssertEqual(config.tls, TLSConfig(caFile: "/etc/ca.crt", serverName: "kubernetes.default"))
        XCTAssertFalse(config.followRedirects)
        XCTAssertFalse(config.enableHTTP2)
    }

    func testRoleMissingOrUnknownUsesPrometheusWording() {
        XCTAssertTrue(error("api_server: http://h:1").contains("role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"))
        XCTAssertTrue(error("role: pods").contains("unknown Kubernetes SD role \"pods\""))
    }

    func testIngressRoleIsRefusedByName() {
        XCTAssertTrue(error("role: ingress").contains("role \"ingress\" is not supported by this metrics-store yet"))
    }

    func testNodeRoleTakesOnlyNodeSelectors() throws {
        XCTAssertEqual(try parse("role: node").role, .node)
        XCTAssertTrue(error("role: node\nselectors: [{role: pod}]").contains("node role supports only node selectors"))
    }

    func testUnknownKeyIsRejectedByName() {
        XCTAssertTrue(error("role: pod\nnamespace: [a]").contains("unknown key \"namespace\""))
        XCTAssertTrue(error("role: pod\nnamespaces: {name: [a]}").contains("unknown key \"name\""))
    }

    func testUnsupportedHTTPOptionsSaySo() {
        XCTAssertTrue(error("role: pod\napi_server: http://h:1\nproxy_url: http://p:3128").contains("proxy_url is not supported"))
        XCTAssertTrue(error("role: pod\nkubeconfig_file: /k").contains("kubeconfig_file is not supported"))
    }

    func testCustomHTTPSettingsNeedAnAPIServer() {
        let message = "to use custom HTTP client configuration please provide the 'api_server' URL explicitly"
        XCTAssertTrue(error("role: pod\nbearer_token: t").contains(message))
        XCTAssertTrue(error("role: pod\ntls_config: {insecure_skip_verify: true}").contains(message))
        XCTAssertEqual(error("role: pod\napi_server: http://h:1\nbearer_token: t"), "")
    }

    func testOwnNamespaceConflictsWithAPIServer() {
        XCTAssertTrue(error("role: pod\napi_server: http://h:1\nnamespaces: {own_namespace: true}")
            .contains("cannot use 'api_server' and 'namespaces.own_namespace' simultaneously"))
        XCTAssertEqual(error("role: pod\nnamespaces: {own_namespace: true}"), "")
    }

    func testCredentialConflictsFollowPrometheus() {
        XCTAssertTrue(error("role: pod\napi_server: http://h:1\nbearer_token: a\nbearer_token_file: /b")
            .contains("at most one of bearer_token & bearer_token_file must be configured"))
        XCTAssertTrue(error("role: pod\napi_server: http://h:1\nbearer_token: a\nauthorization: {credentials: b}")
            .contains("authorization is not compatible with bearer_token & bearer_token_file"))
        XCTAssertTrue(error("role: pod\napi_server: http://h:1\nbasic_auth: {username: u}\nbearer_token: a")
            .contains("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"))
    }

    func testSelectorsAreCheckedPerRole() {
        XCTAssertTrue(error("role: service\nselectors: [{role: pod}]").contains("service role supports only service selectors"))
        XCTAssertTrue(error("role: pod\nselectors: [{role: pod}, {role: pod, label: a=b}]").contains("duplicated selector role: pod"))
        XCTAssertEqual(error("role: endpoints\nselectors: [{role: pod}, {role: service}, {role: endpoints}]"), "")
    }

    func testAPIServerMustBeAnHTTPURL() {
        XCTAssertTrue(error("role: pod\napi_server: ftp://h").contains("api_server must be an http or https URL"))
    }

    func testClientCertificateNeedsItsKey() {
        XCTAssertTrue(error("role: pod\napi_server: https://h:1\ntls_config: {cert_file: /c}")
            .contains("exactly one of key or key_file must be configured when a client certificate is configured"))
    }

    func testListURLsCarrySelectorsAndNamespaces() throws {
        let client = try KubernetesAPIClient(baseURL: "http://127.0.0.1:1/", authorization: nil, tls: TLSConfig(),
                                             followRedirects: true, enableHTTP2: false)
        defer { Task { await client.shutdown() } }
        XCTAssertEqual(client.url("pods", namespace: nil, selector: .init(role: .pod)), "http://127.0.0.1:1/api/v1/pods")
        XCTAssertEqual(client.url("endpointslices", group: "/apis/discovery.k8s.io/v1", namespace: "a", selector: .init(role: .endpointslice)),
                       "http://127.0.0.1:1/apis/discovery.k8s.io/v1/namespaces/a/endpointslices")
        XCTAssertEqual(client.url("endpoints", namespace: "prod", selector: .init(role: .endpoints, label: "a=b,c+d", field: "x!=y")),
                       "http://127.0.0.1:1/api/v1/namespaces/prod/endpoints?labelSelector=a%3Db%2Cc%2Bd&fieldSelector=x%21%3Dy")
    }

    func testInClusterNeedsTheServiceEnvironment() {
        XCTAssertThrowsError(try KubernetesAPIClient.make(KubernetesSDConfig(role: .pod), environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined"))
        }
    }
}
