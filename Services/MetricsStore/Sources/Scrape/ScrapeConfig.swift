import Foundation
import VigilService

/// One entry of `scrape_configs`: a job, how to scrape it, and where its targets come
/// from (`static_configs`, `file_sd_configs`, `kubernetes_sd_configs`). Decoded with
/// unknown keys rejected; `PrometheusConfig` then fills the interval and timeout from
/// `global`.
public struct ScrapeConfig: Decodable, Sendable {
    public var jobName: String
    public var scrapeInterval: PrometheusDuration
    public var scrapeTimeout: PrometheusDuration
    public var metricsPath = "/metrics"
    public var scheme = "http"
    public var params: [String: [String]] = [:]
    public var honorLabels = false
    public var honorTimestamps = true
    public var staticConfigs: [TargetGroup] = []
    public var fileSDConfigs: [FileSDConfig] = []
    public var kubernetesSDConfigs: [KubernetesSDConfig] = []
    public var authorization: Authorization?
    public var relabelConfigs: [RelabelConfig] = []
    public var metricRelabelConfigs: [RelabelConfig] = []
    /// 0: no limit.
    public var sampleLimit = 0

    /// Set when the interval/timeout were written in the job, before `resolveDefaults`.
    var intervalWritten = false
    var timeoutWritten = false

    enum CodingKeys: String, CodingKey {
        case jobName = "job_name", scrapeInterval = "scrape_interval", scrapeTimeout = "scrape_timeout"
        case metricsPath = "metrics_path", scheme, params
        case honorLabels = "honor_labels", honorTimestamps = "honor_timestamps"
        case staticConfigs = "static_configs", fileSDConfigs = "file_sd_configs", kubernetesSDConfigs = "kubernetes_sd_configs"
        case basicAuth = "basic_auth", bearerToken = "bearer_token", bearerTokenFile = "bearer_token_file"
        case authorization
        case relabelConfigs = "relabel_configs", metricRelabelConfigs = "metric_relabel_configs"
        case sampleLimit = "sample_limit"
    }

    /// A job built in code (tests); defaults are prometheus.yml's with global defaults.
    public init(jobName: String, scrapeInterval: PrometheusDuration = .seconds(60), scrapeTimeout: PrometheusDuration = .seconds(10)) {
        self.jobName = jobName
        self.scrapeInterval = scrapeInterval
        self.scrapeTimeout = scrapeTimeout
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        jobName = try c.decode(String.self, forKey: .jobName)
        guard !jobName.isEmpty else { throw c.invalid(.jobName, "job_name is empty") }
        intervalWritten = c.contains(.scrapeInterval)
        timeoutWritten = c.contains(.scrapeTimeout)
        scrapeInterval = try c.decodeIfPresent(PrometheusDuration.self, forKey: .scrapeInterval) ?? .seconds(60)
        scrapeTimeout = try c.decodeIfPresent(PrometheusDuration.self, forKey: .scrapeTimeout) ?? .seconds(10)
        metricsPath = try c.decodeIfPresent(String.self, forKey: .metricsPath) ?? metricsPath
        scheme = try c.decodeIfPresent(String.self, forKey: .scheme) ?? scheme
        switch scheme {
        case "http": break
        case "https": throw c.invalid(.scheme, "scheme \"https\" is not supported yet")
        default: throw c.invalid(.scheme, "URL scheme must be 'http' or 'https'")
        }
        params = try c.decodeIfPresent([String: [String]].self, forKey: .params) ?? [:]
        honorLabels = try c.decodeIfPresent(Bool.self, forKey: .honorLabels) ?? false
        honorTimestamps = try c.decodeIfPresent(Bool.self, forKey: .honorTimestamps) ?? true
        staticConfigs = try c.decodeIfPresent([TargetGroup].self, forKey: .staticConfigs) ?? []
        fileSDConfigs = try c.decodeIfPresent([FileSDConfig].self, forKey: .fileSDConfigs) ?? []
        kubernetesSDConfigs = try c.decodeIfPresent([KubernetesSDConfig].self, forKey: .kubernetesSDConfigs) ?? []
        relabelConfigs = try c.decodeIfPresent([RelabelConfig].self, forKey: .relabelConfigs) ?? []
        metricRelabelConfigs = try c.decodeIfPresent([RelabelConfig].self, forKey: .metricRelabelConfigs) ?? []
        sampleLimit = try c.decodeIfPresent(Int.self, forKey: .sampleLimit) ?? 0
        guard sampleLimit >= 0 else { throw c.invalid(.sampleLimit, "sample_limit must not be negative") }
        authorization = try Self.decodeAuthorization(c)
    }

    private static func decodeAuthorization(_ c: KeyedDecodingContainer<CodingKeys>) throws -> Authorization? {
        do {
            return try Authorization.combining(
                basic: c.decodeIfPresent(BasicAuth.self, forKey: .basicAuth),
                bearerToken: c.decodeIfPresent(String.self, forKey: .bearerToken),
                bearerTokenFile: c.decodeIfPresent(String.self, forKey: .bearerTokenFile),
                header: c.decodeIfPresent(AuthorizationHeader.self, forKey: .authorization))
        } catch let conflict as AuthorizationConflict {
            throw c.invalid(CodingKeys(rawValue: conflict.key) ?? .authorization, conflict.message)
        }
    }

    /// Fills what `global` decides and checks the interval against the timeout, with
    /// Prometheus's rule: an unset timeout is capped at the job's interval.
    mutating func resolveDefaults(_ global: GlobalConfig) throws(ConfigValueError) {
        if !intervalWritten { scrapeInterval = global.scrapeInterval }
        if !timeoutWritten { scrapeTimeout = min(global.scrapeTimeout, scrapeInterval) }
        if scrapeTimeout > scrapeInterval {
            throw ConfigValueError("scrape timeout greater than scrape interval for scrape config with job name \"\(jobName)\"")
        }
    }
}

/// A group of targets sharing labels: one `static_configs` entry, or one entry of a
/// file_sd file (same shape in JSON and YAML).
public struct TargetGroup: Decodable, Sendable, Equatable {
    public var targets: [String]
    public var labels: [String: String]
    /// Where the group came from: "" for static configs, the file path for file SD.
    public var source = ""

    enum CodingKeys: String, CodingKey { case targets, labels }

    public init(targets: [String], labels: [String: String] = [:], source: String = "") {
        self.targets = targets
        self.labels = labels
        self.source = source
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        targets = try c.decodeIfPresent([String].self, forKey: .targets) ?? []
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// `file_sd_configs`: target groups read from JSON/YAML files matching the globs, re-read
/// on every reload and every `refresh_interval`.
public struct FileSDConfig: Decodable, Sendable {
    public var files: [String]
    public var refreshInterval = PrometheusDuration.seconds(300)

    enum CodingKeys: String, CodingKey { case files, refreshInterval = "refresh_interval" }

    public init(files: [String], refreshInterval: PrometheusDuration = .seconds(300)) {
        self.files = files
        self.refreshInterval = refreshInterval
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        files = try c.decode([String].self, forKey: .files)
        refreshInterval = try c.decodeIfPresent(PrometheusDuration.self, forKey: .refreshInterval) ?? refreshInterval
        for file in files {
            let name = (file as NSString).lastPathComponent
            // Prometheus: `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
            guard [".json", ".yml", ".yaml"].contains(where: { name.lowercased().hasSuffix($0) }) else {
                throw c.invalid(.files, "path name \"\(file)\" is not valid for file discovery")
            }
        }
    }
}

/// How a scrape proves who it is.
public enum Authorization: Sendable {
    case basic(BasicAuth)
    case header(AuthorizationHeader)

    /// The Authorization header value; files are read on each scrape, as Prometheus does,
    /// so rotated secrets are picked up.
    func headerValue() throws -> String {
        switch self {
        case .basic(let auth):
            let password = try auth.passwordFile.map { try Self.readSecret($0) } ?? auth.password
            return "Basic " + Data("\(auth.username):\(password)".utf8).base64EncodedString()
        case .header(let header):
            let credentials = try header.credentialsFile.map { try Self.readSecret($0) } ?? header.credentials
            return "\(header.type) \(credentials)"
        }
    }

    /// Prometheus's `HTTPClientConfig.Validate` rules for the credential keys, shared by
    /// scrape configs and service discovery configs.
    static func combining(
        basic: BasicAuth?, bearerToken token: String?, bearerTokenFile tokenFile: String?, header: AuthorizationHeader?
    ) throws(AuthorizationConflict) -> Authorization? {
        if token != nil, tokenFile != nil {
            throw AuthorizationConflict(key: "bearer_token_file", message: "at most one of bearer_token & bearer_token_file must be configured")
        }
        if basic != nil, token != nil || tokenFile != nil {
            throw AuthorizationConflict(key: "basic_auth", message: "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
        }
        if header != nil, token != nil || tokenFile != nil {
            throw AuthorizationConflict(key: "authorization", message: "authorization is not compatible with bearer_token & bearer_token_file")
        }
        if header != nil, basic != nil {
            throw AuthorizationConflict(key: "authorization", message: "at most one of basic_auth, oauth2 & authorization must be configured")
        }
        if let basic { return .basic(basic) }
        if let token { return .header(AuthorizationHeader(type: "Bearer", credentials: token)) }
        if let tokenFile { return .header(AuthorizationHeader(type: "Bearer", credentialsFile: tokenFile)) }
        return header.map { .header($0) }
    }

    static func readSecret(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Two credential keys written together that Prometheus refuses to combine; `key` is the
/// prometheus.yml key the error is reported at.
struct AuthorizationConflict: Error {
    var key: String
    var message: String
}

public struct BasicAuth: Decodable, Sendable {
    public var username = ""
    public var password = ""
    public var passwordFile: String?

    enum CodingKeys: String, CodingKey { case username, password, passwordFile = "password_file" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        username = try c.decodeIfPresent(String.self, forKey: .username) ?? ""
        password = try c.decodeIfPresent(String.self, forKey: .password) ?? ""
        passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile)
        if !password.isEmpty, passwordFile != nil {
            throw c.invalid(.passwordFile, "at most one of basic_auth password & password_file must be configured")
        }
    }
}

/// `authorization: {type, credentials, credentials_file}`; type defaults to Bearer.
public struct AuthorizationHeader: Decodable, Sendable {
    public var type = "Bearer"
    public var credentials = ""
    public var credentialsFile: String?

    enum CodingKeys: String, CodingKey { case type, credentials, credentialsFile = "credentials_file" }

    init(type: String, credentials: String = "", credentialsFile: String? = nil) {
        self.type = type
        self.credentials = credentials
        self.credentialsFile = credentialsFile
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(String.self, forKey: .type) ?? "Bearer"
        if type.isEmpty { type = "Bearer" }
        if type.lowercased() == "basic" { throw c.invalid(.type, "authorization type cannot be set to \"basic\", use \"basic_auth\" instead") }
        credentials = try c.decodeIfPresent(String.self, forKey: .credentials) ?? ""
        credentialsFile = try c.decodeIfPresent(String.self, forKey: .credentialsFile)
        if !credentials.isEmpty, credentialsFile != nil {
            throw c.invalid(.type, "at most one of authorization credentials & credentials_file must be configured")
        }
    }
}
