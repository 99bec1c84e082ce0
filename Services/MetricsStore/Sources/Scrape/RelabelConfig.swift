import VigilService

/// One rule of a `relabel_configs` / `metric_relabel_configs` list in prometheus.yml, as
/// documented at https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config
/// and implemented by Prometheus's `model/relabel` package. ``Relabeler`` applies a list of them.
///
/// Invariant: every value of this type has passed `validate(nameValidationScheme:)`, so
/// the fields an action needs are present and well-formed.
///
/// Decoding follows Prometheus's YAML handling, quirks included:
/// - absent keys take the defaults (`separator: ";"`, `regex: "(.*)"`, `replacement: "$1"`,
///   `action: replace`); a key written with no value (YAML null) is the empty string, the
///   empty regex or modulus 0, exactly as Go's YAML decoder leaves a zero value there;
/// - the action is case-insensitive (`Replace` is `replace`);
/// - unknown keys are rejected, naming the key.
///
/// Decoding validates with the UTF-8 name scheme, Prometheus 3's default. A scrape config
/// that sets `metric_name_validation_scheme: legacy` calls `validate(nameValidationScheme:
/// .legacy)` on each rule afterwards, as Prometheus does in `ScrapeConfig.Validate`.
public struct RelabelConfig: Decodable, Sendable {
    /// What a rule does (`<relabel_action>`).
    public enum Action: String, Sendable, CaseIterable, CustomStringConvertible {
        case replace, keep, drop
        case keepEqual = "keepequal"
        case dropEqual = "dropequal"
        case hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase

        public var description: String { rawValue }
    }

    /// Which label names are acceptable as targets (Prometheus's `model.ValidationScheme`).
    public enum NameValidationScheme: String, Sendable {
        /// Any non-empty name (Swift strings are always valid UTF-8). Prometheus 3's default.
        case utf8
        /// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus 2's rule.
        case legacy

        public func isValidLabelName(_ name: String) -> Bool {
            switch self {
            case .utf8: return !name.isEmpty
            case .legacy: return GoQuote.isLegacyName(name)
            }
        }
    }

    public static let defaultSeparator = ";"
    public static let defaultReplacement = "$1"

    /// Labels whose values are joined with `separator` to form the value the rule looks at.
    public private(set) var sourceLabels: [String]
    public private(set) var separator: String
    public private(set) var regex: RelabelRegex
    /// For `hashmod`: the modulus of the hash; 0 when not set.
    public private(set) var modulus: UInt64
    /// Empty when not set. For `replace` it may contain `$1`, `${name}` references.
    public private(set) var targetLabel: String
    public private(set) var replacement: String
    public private(set) var action: Action
    /// The scheme the rule was validated with; `replace` also uses it to check the expanded
    /// target label at run time.
    public private(set) var nameValidationScheme: NameValidationScheme
    /// Whether `source_labels` was written (even as `[]`): `labeldrop` and `labelkeep`
    /// refuse it. Prometheus tells a nil list from an empty one here.
    private var sourceLabelsWritten: Bool

    /// Builds and validates a rule; the defaults are prometheus.yml's.
    public init(
        sourceLabels: [String] = [],
        separator: String = RelabelConfig.defaultSeparator,
        regex: RelabelRegex = .default,
        modulus: UInt64 = 0,
        targetLabel: String = "",
        replacement: String = RelabelConfig.defaultReplacement,
        action: Action = .replace,
        nameValidationScheme: NameValidationScheme = .utf8
    ) throws(RelabelConfigError) {
        self.sourceLabels = sourceLabels
        self.separator = separator
        self.regex = regex
        self.modulus = modulus
        self.targetLabel = targetLabel
        self.replacement = replacement
        self.action = action
        self.nameValidationScheme = nameValidationScheme
        self.sourceLabelsWritten = !sourceLabels.isEmpty
        for name in sourceLabels where !NameValidationScheme.utf8.isValidLabelName(name) {
            throw .invalidSourceLabel(name)
        }
        try validate(nameValidationScheme: nameValidationScheme)
    }

    // MARK: Decoding

    enum CodingKeys: String, CodingKey {
        case sourceLabels = "source_labels"
        case separator
        case regex
        case modulus
        case targetLabel = "target_label"
        case replacement
        case action
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        func fail(_ error: RelabelConfigError, at key: CodingKeys? = nil) -> DecodingError {
            let path = container.codingPath + (key.map { [$0] } ?? [])
            return DecodingError.dataCorrupted(.init(
                codingPath: path, debugDescription: error.description,
                underlyingError: ConfigValueError(error.description)))
        }
        // A key with no value is Go's zero value; an absent key keeps the default.
        func string(_ key: CodingKeys, default value: String) throws -> String {
            guard container.contains(key) else { return value }
            return try container.decodeNil(forKey: key) ? "" : container.decode(String.self, forKey: key)
        }

        sourceLabelsWritten = false
        sourceLabels = []
        if container.contains(.sourceLabels), try !container.decodeNil(forKey: .sourceLabels) {
            sourceLabels = try container.decode([String].self, forKey: .sourceLabels)
            sourceLabelsWritten = true
            for name in sourceLabels where !NameValidationScheme.utf8.isValidLabelName(name) {
                throw fail(.invalidSourceLabel(name), at: .sourceLabels)
            }
        }
        separator = try string(.separator, default: Self.defaultSeparator)
        targetLabel = try string(.targetLabel, default: "")
        replacement = try string(.replacement, default: Self.defaultReplacement)
        modulus = 0
        if container.contains(.modulus), try !container.decodeNil(forKey: .modulus) {
            modulus = try container.decode(UInt64.self, forKey: .modulus)
        }

        regex = .default
        if container.contains(.regex) {
            let pattern = try string(.regex, default: "")
            do {
                regex = try RelabelRegex(pattern)
            } catch {
                throw fail(.invalidRegex(error), at: .regex)
            }
        }

        action = .replace
        if container.contains(.action) {
            if try container.decodeNil(forKey: .action) { throw fail(.emptyAction, at: .action) }
            let written = try container.decode(String.self, forKey: .action)
            guard let parsed = Action(rawValue: written.lowercased()) else {
                throw fail(.unknownAction(written), at: .action)
            }
            action = parsed
        }

        nameValidationScheme = .utf8
        do {
            try validate(nameValidationScheme: .utf8)
        } catch {
            throw fail(error)
        }
    }

    // MARK: Validation

    /// Checks the rule as Prometheus's `relabel.Config.Validate` does, in the same order and
    /// with the same messages, and records the scheme for use at run time.
    public mutating func validate(nameValidationScheme scheme: NameValidationScheme) throws(RelabelConfigError) {
        nameValidationScheme = scheme
        let usesTarget: Set<Action> = [.replace, .hashmod, .lowercase, .uppercase, .keepEqual, .dropEqual]
        let fixedTarget: Set<Action> = [.lowercase, .uppercase, .keepEqual, .dropEqual]
        let replacementIsDefault = UTF8Bytes.equal(replacement, Self.defaultReplacement)
        let separatorIsDefault = UTF8Bytes.equal(separator, Self.defaultSeparator)

        if action == .hashmod && modulus == 0 { throw .hashmodWithoutModulus }
        if usesTarget.contains(action) && targetLabel.isEmpty { throw .missingTargetLabel(action) }
        if action == .replace && !isValidTemplate(targetLabel, scheme) {
            throw .invalidTargetLabel(targetLabel, action)
        }
        if fixedTarget.contains(action) && !scheme.isValidLabelName(targetLabel) {
            throw .invalidTargetLabel(targetLabel, action)
        }
        if fixedTarget.contains(action) && !replacementIsDefault { throw .replacementNotAllowed(action) }
        if action == .labelmap && !isValidTemplate(replacement, scheme, alwaysTemplate: true) {
            throw .invalidReplacement(replacement, action)
        }
        if action == .hashmod && !scheme.isValidLabelName(targetLabel) {
            throw .invalidTargetLabel(targetLabel, action)
        }
        if action == .keepEqual || action == .dropEqual {
            if !regex.isDefault || modulus != 0 || !separatorIsDefault || !replacementIsDefault {
                throw .onlySourceAndTargetLabels(action)
            }
        }
        if action == .labeldrop || action == .labelkeep {
            if sourceLabelsWritten || !targetLabel.isEmpty || modulus != 0 || !separatorIsDefault || !replacementIsDefault {
                throw .onlyRegex(action)
            }
        }
        try checkCapturesAvailable()
    }

    /// A target label or labelmap replacement that may contain `$1`/`${name}` references.
    /// Under the legacy scheme Prometheus checks it against `relabelTarget`:
    /// legacy-name characters with `$name`/`${name}` pieces; under UTF-8 any non-empty text.
    /// For `replace`, a target without `$` is a plain label name.
    private func isValidTemplate(_ text: String, _ scheme: NameValidationScheme, alwaysTemplate: Bool = false) -> Bool {
        guard alwaysTemplate || text.utf8.contains(UInt8(ascii: "$")) else {
            return scheme.isValidLabelName(text)
        }
        switch scheme {
        case .utf8: return scheme.isValidLabelName(text)
        case .legacy: return Self.legacyTemplate.matches(text)
        }
    }

    /// Prometheus's `relabelTargetLegacy`, run by the index's RE2 engine (whole-value match).
    private static let legacyTemplate: ValuePattern = {
        do {
            return try ValuePattern.compile(regex: #"(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+"#, optimize: true)
        } catch {
            preconditionFailure("relabel target pattern does not compile: \(error)")
        }
    }()

    /// Vigil-specific: group references need the capture engine (see ``RelabelRegex``).
    private func checkCapturesAvailable() throws(RelabelConfigError) {
        guard let reason = regex.captureUnavailableReason else { return }
        let templates: [String]
        switch action {
        case .replace: templates = [targetLabel, replacement]
        case .labelmap: templates = [replacement]
        default: return
        }
        if templates.contains(where: { $0.utf8.contains(UInt8(ascii: "$")) }) {
            throw .capturesUnsupported(pattern: regex.pattern, reason: reason)
        }
    }
}

/// Why a relabel rule is unusable. Messages are Prometheus's, so users can search for them.
public enum RelabelConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyAction
    case unknownAction(String)
    case invalidSourceLabel(String)
    case invalidRegex(RegexParseError)
    case hashmodWithoutModulus
    case missingTargetLabel(RelabelConfig.Action)
    case invalidTargetLabel(String, RelabelConfig.Action)
    case replacementNotAllowed(RelabelConfig.Action)
    case invalidReplacement(String, RelabelConfig.Action)
    case onlySourceAndTargetLabels(RelabelConfig.Action)
    case onlyRegex(RelabelConfig.Action)
    /// Vigil-specific: a valid RE2 expression whose capture groups this build cannot extract.
    case capturesUnsupported(pattern: String, reason: String)

    public var description: String {
        switch self {
        case .emptyAction:
            return "relabel action cannot be empty"
        case .unknownAction(let action):
            return "unknown relabel action \(GoQuote.quote(action))"
        case .invalidSourceLabel(let name):
            return "\(GoQuote.quote(name)) is not a valid label name"
        case .invalidRegex(let error):
            return error.description
        case .hashmodWithoutModulus:
            return "relabel configuration for hashmod requires non-zero modulus"
        case .missingTargetLabel(let action):
            return "relabel configuration for \(action) action requires 'target_label' value"
        case .invalidTargetLabel(let label, let action):
            return "\(GoQuote.quote(label)) is invalid 'target_label' for \(action) action"
        case .replacementNotAllowed(let action):
            return "'replacement' can not be set for \(action) action"
        case .invalidReplacement(let replacement, let action):
            return "\(GoQuote.quote(replacement)) is invalid 'replacement' for \(action) action"
        case .onlySourceAndTargetLabels(let action):
            return "\(action) action requires only 'source_labels' and `target_label`, and no other fields"
        case .onlyRegex(let action):
            return "\(action) action requires only 'regex', and no other fields"
        case .capturesUnsupported(let pattern, let reason):
            return "regex \(GoQuote.quote(pattern)): capture groups cannot be extracted from this expression: \(reason)"
        }
    }
}
