import VigilService

/// prometheus.yml's `alerting` section: how alerts are relabelled and where they go.
/// Only static Alertmanager targets are supported; per-Alertmanager relabelling and
/// authentication keys are rejected by name rather than silently ignored.
/// See https://prometheus.io/docs/prometheus/latest/configuration/configuration/#alertmanager_config
public struct AlertingConfig: Decodable, Sendable {
    /// `alert_relabel_configs`: applied to every alert (external labels already added)
    /// before it is queued; an alert a rule drops is not sent.
    public var alertRelabelConfigs: [RelabelConfig] = []
    public var alertmanagers: [AlertmanagerConfig] = []

    enum CodingKeys: String, CodingKey {
        case alertRelabelConfigs = "alert_relabel_configs", alertmanagers
    }

    public init(alertmanagers: [AlertmanagerConfig] = [], alertRelabelConfigs: [RelabelConfig] = []) {
        self.alertmanagers = alertmanagers
        self.alertRelabelConfigs = alertRelabelConfigs
    }

    public init(from decoder: any Decoder) throws {
        guard !decoder.isNull() else { return }
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        alertRelabelConfigs = try c.decodeIfPresent([RelabelConfig].self, forKey: .alertRelabelConfigs) ?? []
        alertmanagers = try c.decodeIfPresent([AlertmanagerConfig].self, forKey: .alertmanagers) ?? []
    }
}

/// One `alertmanagers[]` entry: a set of Alertmanagers reached the same way.
public struct AlertmanagerConfig: Decodable, Sendable {
    public var scheme = "http"
    /// Prefix of the API path, e.g. `/alertmanager` behind a proxy.
    public var pathPrefix = "/"
    /// Per-request timeout.
    public var timeout = PrometheusDuration.seconds(10)
    public var staticConfigs: [TargetGroup] = []

    enum CodingKeys: String, CodingKey {
        case scheme, pathPrefix = "path_prefix", timeout, apiVersion = "api_version", staticConfigs = "static_configs"
    }

    public init(targets: [String], scheme: String = "http", pathPrefix: String = "/", timeout: PrometheusDuration = .seconds(10)) {
        self.staticConfigs = [TargetGroup(targets: targets)]
        self.scheme = scheme
        self.pathPrefix = pathPrefix
        self.timeout = timeout
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        scheme = try c.decodeIfPresent(String.self, forKey: .scheme) ?? "http"
        guard scheme == "http" || scheme == "https" else { throw c.invalid(.scheme, "unsupported scheme \"\(scheme)\"") }
        pathPrefix = try c.decodeIfPresent(String.self, forKey: .pathPrefix) ?? "/"
        timeout = try c.decodeIfPresent(PrometheusDuration.self, forKey: .timeout) ?? .seconds(10)
        guard timeout.milliseconds > 0 else { throw c.invalid(.timeout, "timeout must be greater than 0") }
        let version = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? "v2"
        // Prometheus 3 dropped v1; Alertmanager 0.27 removed it too.
        guard version == "v2" else { throw c.invalid(.apiVersion, "expected Alertmanager api version to be one of [v2] but got \(version)") }
        staticConfigs = try c.decodeIfPresent([TargetGroup].self, forKey: .staticConfigs) ?? []
    }

    /// POST URLs, one per target: `<scheme>://<target><path_prefix>/api/v2/alerts`.
    public var alertsURLs: [String] {
        let trimmed = pathPrefix.split(separator: "/").joined(separator: "/")
        let path = (trimmed.isEmpty ? "" : "/" + trimmed) + "/api/v2/alerts"
        return staticConfigs.flatMap(\.targets).map { "\(scheme)://\($0)\(path)" }
    }
}
