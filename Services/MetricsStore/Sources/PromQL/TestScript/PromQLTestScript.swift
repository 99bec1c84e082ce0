/// A parsed PromQL test script: the `.test` language of Prometheus's
/// `promql/promqltest` (see its README.md), as a list of commands run top to bottom.
///
/// Times are milliseconds since the Unix epoch (a script's t=0 is the epoch); intervals
/// and steps are milliseconds. Constructs the parser reads but cannot type yet (native
/// histogram literals, `@st` start-timestamp lines) are listed in `unsupported` so that a
/// runner can skip the commands that use them.
public struct PromQLTestScript: Sendable {
    public var commands: [PromQLTestCommand]
    /// Constructs recorded but not typed, in file order.
    public var unsupported: [PromQLTestUnsupported]

    public init(commands: [PromQLTestCommand] = [], unsupported: [PromQLTestUnsupported] = []) {
        self.commands = commands
        self.unsupported = unsupported
    }
}

/// One command of a test script.
public enum PromQLTestCommand: Sendable {
    /// `load <interval>` / `load_with_nhcb <interval>` (`nativeHistograms`: classic `_bucket`
    /// series are also to be stored as custom-bucket native histograms). Additive.
    case load(interval: Int64, series: [PromQLTestSeries], nativeHistograms: Bool)
    /// `clear`: drop all loaded data.
    case clear
    /// `eval …`: run a query and check its result.
    case eval(PromQLTestEval)
}

/// A series with its points: a loaded series, or an expected result series.
public struct PromQLTestSeries: Sendable, Equatable {
    public var labels: Labels
    /// One entry per step of the description, `_` included (as a nil value), in time order.
    public var samples: [PromQLTestSample]
    /// 1-based line of the script.
    public var line: Int

    public init(labels: Labels, samples: [PromQLTestSample], line: Int) {
        self.labels = labels
        self.samples = samples
        self.line = line
    }
}

/// One point of a series description.
///
/// `value == nil && histogram == nil` is a missing point (`_`); a staleness marker is the
/// NaN with bits `0x7ff0000000000002` (`PromQLTestSample.staleNaN`), as in Prometheus's
/// `model/value.StaleNaN`; compare it with `isStale`, not `==`.
public struct PromQLTestSample: Sendable, Equatable {
    public var timestamp: Int64
    public var value: Double?
    /// The raw `{{…}}` text of a native histogram point (not interpreted yet).
    public var histogram: String?

    public init(timestamp: Int64, value: Double?, histogram: String? = nil) {
        self.timestamp = timestamp
        self.value = value
        self.histogram = histogram
    }

    public static let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)

    public var isStale: Bool { value?.bitPattern == Self.staleNaN.bitPattern }
    public var isMissing: Bool { value == nil && histogram == nil }

    /// Bit-exact for NaNs so that stale markers and ordinary NaNs stay distinct.
    public static func == (a: Self, b: Self) -> Bool {
        a.timestamp == b.timestamp && a.histogram == b.histogram && a.value?.bitPattern == b.value?.bitPattern
    }
}

/// An `eval` command: the query, when to run it, and what to expect.
public struct PromQLTestEval: Sendable {
    /// When the query runs.
    public enum Timing: Sendable, Equatable {
        /// `eval instant at <time>`.
        case instant(at: Int64)
        /// `eval range from <start> to <end> step <step>`.
        case range(PromQLTestRange)
    }

    /// What the query must return (ignored when `expectations.fail` is set).
    public enum ExpectedResult: Sendable, Equatable {
        /// A vector or matrix; empty means an empty result. For an instant query each
        /// series has one sample at the evaluation time; for a range query (or an
        /// `expect range vector`) its samples are expanded over the range's steps.
        case series([PromQLTestSeries])
        /// A bare number line.
        case scalar(Double)
        /// `expect string "…"`.
        case string(String)

        public static func == (a: Self, b: Self) -> Bool {
            switch (a, b) {
            case (.series(let x), .series(let y)): return x == y
            case (.scalar(let x), .scalar(let y)): return x.bitPattern == y.bitPattern
            case (.string(let x), .string(let y)): return x == y
            default: return false
            }
        }
    }

    /// The query text exactly as written after the time specification.
    public var expression: String
    /// 1-based line of the `eval` command.
    public var line: Int
    public var timing: Timing
    public var expectations: PromQLTestExpectations
    /// Set by `expect range vector from <s> to <e> step <d>`: the instant query returns a
    /// range vector whose expected points span this range.
    public var rangeVector: PromQLTestRange?
    public var expected: ExpectedResult

    public init(expression: String, line: Int, timing: Timing, expectations: PromQLTestExpectations = .init(),
                rangeVector: PromQLTestRange? = nil, expected: ExpectedResult = .series([])) {
        self.expression = expression
        self.line = line
        self.timing = timing
        self.expectations = expectations
        self.rangeVector = rangeVector
        self.expected = expected
    }
}

/// A start/end/step triple, all in milliseconds, end inclusive.
public struct PromQLTestRange: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public var step: Int64

    public init(start: Int64, end: Int64, step: Int64) {
        self.start = start
        self.end = end
        self.step = step
    }
}

/// How an error or annotation text must match: any text, exactly (`msg:`) or by a
/// regular expression (`regex:`, RE2 syntax, unanchored as Go's `MatchString`).
public enum PromQLTestMessageMatch: Sendable, Equatable {
    case any
    case exact(String)
    case regex(String)
}

/// The `expect …` lines (and the deprecated `eval_*` / `expected_fail_*` forms) of an eval.
public struct PromQLTestExpectations: Sendable, Equatable {
    /// `expect fail` / `eval_fail`: the query must fail.
    public var fail: PromQLTestMessageMatch?
    /// `expect warn` / `eval_warn`: each entry must match at least one warning.
    public var warnings: [PromQLTestMessageMatch] = []
    /// `expect info` / `eval_info`: each entry must match at least one info annotation.
    public var infos: [PromQLTestMessageMatch] = []
    /// `expect no_warn` / `expect no_info`.
    public var noWarnings = false
    public var noInfos = false
    /// `expect ordered` / `eval_ordered`: the result must match in order.
    public var ordered = false

    public init() {}
}

/// A construct the parser recognised but does not type yet.
public struct PromQLTestUnsupported: Sendable, Equatable {
    public enum Construct: String, Sendable, Hashable, CaseIterable {
        /// `{{schema:… buckets:[…]}}` points, kept as raw text in `PromQLTestSample.histogram`.
        case nativeHistogramLiteral = "native histogram literal"
        /// `metric@st <points>` lines (start timestamps), skipped.
        case startTimestampLine = "start timestamp (@st) line"
    }

    public var construct: Construct
    public var line: Int

    public init(construct: Construct, line: Int) {
        self.construct = construct
        self.line = line
    }
}

/// A script error: the 1-based line and what is wrong, quoting the offending text.
public struct PromQLTestScriptError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
