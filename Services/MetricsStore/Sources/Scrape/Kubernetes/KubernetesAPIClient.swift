import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// Lists and watches core/v1 objects on one Kubernetes API server over HTTP(S), with the
/// credentials and TLS settings of a `kubernetes_sd_configs` entry (or of the pod's service
/// account). Owns its `HTTPClient`; call `shutdown()` when done.
///
/// Credentials files (the service account token is rotated by the kubelet) are read on
/// every request.
final class KubernetesAPIClient: Sendable {
    /// The API server's base URL without a trailing slash.
    let baseURL: String
    let authorization: Authorization?
    private let http: HTTPClient

    /// Where a pod finds its service account (Kubernetes's documented in-cluster paths).
    static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// A connection the API server refused or answered with an error status.
    struct RequestError: Error, CustomStringConvertible {
        var url: String
        var status: Int
        var body: String
        var description: String { "GET \(url): HTTP \(status): \(body.prefix(300))" }
    }

    /// Why a client could not be made (bad TLS files, no in-cluster environment).
    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    init(baseURL: String, authorization: Authorization?, tls: TLSConfig, followRedirects: Bool, enableHTTP2: Bool) throws {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = followRedirects ? .follow(max: 10, allowCycles: false) : .disallow
        configuration.httpVersion = enableHTTP2 ? .automatic : .http1Only
        configuration.timeout = .init(connect: .seconds(10))
        if base.hasPrefix("https:") {
            configuration.tlsConfiguration = try Self.tlsConfiguration(tls)
        }
        // `server_name`: requests go to that name (SNI and certificate check use it) while
        // connections go to the configured host.
        if let serverName = tls.serverName, let components = URLComponents(string: base), let host = components.host {
            configuration.dnsOverride = [serverName: host]
            var renamed = components
            renamed.host = serverName
            base = renamed.string ?? base
        }
        self.baseURL = base
        self.authorization = authorization
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The configured API server, or the in-cluster one from the environment and the
    /// service account files.
    static func make(_ config: KubernetesSDConfig, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KubernetesAPIClient {
        if let url = config.apiServer {
            return try KubernetesAPIClient(baseURL: url.absoluteString, authorization: config.authorization, tls: config.tls,
                                           followRedirects: config.followRedirects, enableHTTP2: config.enableHTTP2)
        }
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"],
              !host.isEmpty, !port.isEmpty else {
            throw SetupError(description: "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
        }
        let directory = serviceAccountDirectory
        return try KubernetesAPIClient(
            baseURL: "https://" + KubernetesTargets.joinHostPort(host, port),
            authorization: .header(AuthorizationHeader(type: "Bearer", credentialsFile: directory + "/token")),
            tls: TLSConfig(caFile: directory + "/ca.crt"), followRedirects: true, enableHTTP2: true)
    }

    static func tlsConfiguration(_ tls: TLSConfig) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile = tls.caFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certFile = tls.certFile, let keyFile = tls.keyFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
        } catch {
            throw SetupError(description: "unable to load TLS files: \(error)")
        }
        if tls.insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: Requests

    /// `<group>/<resource>` or `<group>/namespaces/<namespace>/<resource>` (group
    /// `/api/v1` for core objects) with the selectors and extra query items.
    func url(_ resource: String, group: String = "/api/v1", namespace: String?, selector: KubernetesSDConfig.Selector,
             extra: [(String, String)] = []) -> String {
        let path = namespace.map { "\(group)/namespaces/\(Self.escape($0))/\(resource)" } ?? "\(group)/\(resource)"
        var query: [(String, String)] = []
        if !selector.label.isEmpty { query.append(("labelSelector", selector.label)) }
        if !selector.field.isEmpty { query.append(("fieldSelector", selector.field)) }
        query += extra
        let queryText = query.map { "\($0.0)=\(Self.escape($0.1))" }.joined(separator: "&")
        return baseURL + path + (queryText.isEmpty ? "" : "?" + queryText)
    }

    /// Percent-encodes all but unreserved characters, so selectors' `=`, `,`, `!` and `+`
    /// reach the API server as written.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// One list call: the objects and the resource version to watch from.
    func list<T: KubernetesObject>(_ type: T.Type, namespace: String?, selector: KubernetesSDConfig.Selector) async throws -> (items: [T], resourceVersion: String) {
        let url = url(T.resource, group: T.groupVersionPath, namespace: namespace, selector: selector)
        let response = try await http.execute(try request(url), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 512 << 20)
        guard response.status == .ok else {
            throw RequestError(url: url, status: Int(response.status.code), body: String(buffer: body))
        }
        let list = try JSONDecoder().decode(KubernetesAPI.List<T>.self, from: Data(body.readableBytesView))
        return (list.items ?? [], list.metadata?.resourceVersion ?? "")
    }

    /// A watch from `resourceVersion`: calls `handle` for each event, in order, until the
    /// server ends the stream (after `timeoutSeconds`) or the task is cancelled. A 410
    /// answer arrives as an `.error` event, as the API server sends it inside the stream.
    func watch<T: KubernetesObject>(
        _ type: T.Type, namespace: String?, selector: KubernetesSDConfig.Selector, resourceVersion: String,
        timeoutSeconds: Int, isolation: isolated (any Actor)? = #isolation,
        handle: (KubernetesAPI.WatchEvent<T>.Change) async throws -> Void
    ) async throws {
        let url = url(T.resource, group: T.groupVersionPath, namespace: namespace, selector: selector, extra: [
            ("watch", "1"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(timeoutSeconds)),
        ])
        let response = try await http.execute(try request(url), timeout: .seconds(Int64(timeoutSeconds) + 30))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            if response.status == .gone {
                try await handle(.error(KubernetesAPI.Status(code: 410, reason: "Expired", message: String(buffer: body))))
                return
            }
            throw RequestError(url: url, status: Int(response.status.code), body: String(buffer: body))
        }
        // Events are JSON objects, one per line.
        var pending: [UInt8] = []
        let decoder = JSONDecoder()
        for try await chunk in response.body {
            pending += chunk.readableBytesView
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = pending[..<newline]
                defer { pending.removeSubrange(...newline) }
                guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { continue }
                try await handle(try decoder.decode(KubernetesAPI.WatchEvent<T>.self, from: Data(line)).change)
            }
        }
    }

    private func request(_ url: String) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Vigil-MetricsStore/\(BuildInfo.version)")
        if let authorization { request.headers.add(name: "Authorization", value: try authorization.headerValue()) }
        return request
    }
}
