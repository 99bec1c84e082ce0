import VigilTestSupport
import Dispatch
import XCTest

@testable import MetricsStore

/// The head's label index: `Labels`, `LabelMatcher` (Prometheus/RE2 semantics) and
/// `MemPostings` (Prometheus's `PostingsForMatchers` semantics).
final class LabelIndexTests: XCTestCase {
    // MARK: Fixtures

    private func matcher(_ type: LabelMatcher.MatchType, _ name: String, _ value: String) throws -> LabelMatcher {
        try LabelMatcher(type, name, value)
    }

    /// Series 1...n in the order given.
    private func makeIndex(_ series: [Labels]) -> MemPostings {
        let index = MemPostings()
        for (offset, labels) in series.enumerated() {
            index.add(SeriesRef(offset + 1), labels)
        }
        return index
    }

    /// 1 up/api, 2 up/web, 3 up without job, 4 down/api.
    private func jobsIndex() -> MemPostings {
        makeIndex([
            ["__name__": "up", "job": "api"],
            ["__name__": "up", "job": "web"],
            ["__name__": "up"],
            ["__name__": "down", "job": "api"],
        ])
    }

    private func select(_ index: MemPostings, _ matchers: (LabelMatcher.MatchType, String, String)...) throws -> [SeriesRef] {
        try index.select(matchers.map { try matcher($0.0, $0.1, $0.2) })
    }

    // MARK: Matchers

    func testEqualMatchesOnlyTheIdenticalValue() throws {
        let m = try matcher(.equal, "job", "api")
        XCTAssertTrue(m.matches("api"))
        XCTAssertFalse(m.matches("API"))
        XCTAssertFalse(m.matches("api "))
        XCTAssertFalse(m.matches(""))
    }

    func testValuesCompareByBytesNotCanonicalEquivalence() throws {
        // Precomposed é and e + COMBINING ACUTE are equal Swift Strings but different
        // Prometheus label values.
        XCTAssertEqual("\u{E9}", "e\u{301}")
        XCTAssertFalse(try matcher(.equal, "city", "\u{E9}").matches("e\u{301}"))
        XCTAssertFalse(try matcher(.regexMatch, "city", "\u{E9}|x").matches("e\u{301}"))
        XCTAssertNotEqual(Labels(["city": "\u{E9}"]), Labels(["city": "e\u{301}"]))
    }

    func testNotEqualMatchesEveryOtherValueIncludingEmpty() throws {
        let m = try matcher(.notEqual, "job", "api")
        XCTAssertFalse(m.matches("api"))
        XCTAssertTrue(m.matches("web"))
        XCTAssertTrue(m.matches(""))
    }

    func testRegexMatchIsFullyAnchored() throws {
        XCTAssertFalse(try matcher(.regexMatch, "job", "fo").matches("foo"))
        XCTAssertTrue(try matcher(.regexMatch, "job", "fo").matches("fo"))
        XCTAssertFalse(try matcher(.regexMatch, "job", "o+").matches("foo"))
        XCTAssertFalse(try matcher(.regexMatch, "job", "a|b").matches("ab"))
        XCTAssertTrue(try matcher(.regexMatch, "job", "^fo+$").matches("foo"))
    }

    func testNotRegexRejectsWhatTheAnchoredRegexAccepts() throws {
        let m = try matcher(.regexNoMatch, "job", "fo.*")
        XCTAssertFalse(m.matches("foo"))
        XCTAssertTrue(m.matches("afoo"))
        XCTAssertTrue(m.matches(""))
    }

    func testRegexIsCaseSensitiveByDefault() throws {
        XCTAssertFalse(try matcher(.regexMatch, "job", "api").matches("API"))
        XCTAssertFalse(try matcher(.regexMatch, "job", "[a-z]+").matches("API"))
    }

    func testCaseInsensitiveFlagFoldsCase() throws {
        XCTAssertTrue(try matcher(.regexMatch, "job", "(?i)api").matches("API"))
        XCTAssertTrue(try matcher(.regexMatch, "job", "(?i)api").matches("aPi"))
        XCTAssertTrue(try matcher(.regexMatch, "job", "(?i)k").matches("\u{212A}"))  // KELVIN SIGN, as RE2
        XCTAssertTrue(try matcher(.regexMatch, "job", "(?i)[a-z]+").matches("API"))
        XCTAssertFalse(try matcher(.regexMatch, "job", "(?i:a)b").matches("AB"))
        XCTAssertFalse(try matcher(.regexMatch, "job", "(?i)[[:^lower:]]").matches("a"))  // folded, then negated
    }

    func testDotMatchesNewlineAsPrometheusCompilesWithSFlag() throws {
        XCTAssertTrue(try matcher(.regexMatch, "msg", "a.b").matches("a\nb"))
        XCTAssertTrue(try matcher(.regexMatch, "msg", ".*").matches("line1\nline2"))
        XCTAssertFalse(try matcher(.regexMatch, "msg", "(?-s)a.b").matches("a\nb"))
    }

    func testInvalidRegexThrowsGoShapedError() {
        XCTAssertThrowsError(try matcher(.regexMatch, "job", "(foo")) { error in
            XCTAssertEqual(error as? RegexParseError, RegexParseError(.missingParen, "(foo"))
            XCTAssertEqual("\(error)", "error parsing regexp: missing closing ): `(foo`")
        }
        let cases: [(String, String)] = [
            ("[a", "error parsing regexp: missing closing ]: `[a`"),
            ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
            ("*a", "error parsing regexp: missing argument to repetition operator: `*`"),
            ("a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"),
            ("[z-a]", "error parsing regexp: invalid character class range: `z-a`"),
            ("a)", "error parsing regexp: unexpected ): `a)`"),
            ("\\y", "error parsing regexp: invalid escape sequence: `\\y`"),
            ("a\\", "error parsing regexp: trailing backslash at end of expression: ``"),
        ]
        for (pattern, message) in cases {
            XCTAssertThrowsError(try matcher(.regexNoMatch, "job", pattern), pattern) { error in
                XCTAssertEqual("\(error)", message)
            }
        }
    }

    func testConstructsRE2DoesNotSupportAreRejected() {
        let cases: [(String, RegexParseError.Code)] = [
            ("(?=a)", .invalidPerlOp),  // lookahead
            ("(?!a)", .invalidPerlOp),
            ("(?>a)", .invalidPerlOp),  // atomic group
            ("(a)\\1", .invalidEscape),  // backreference
            ("a++", .invalidRepeatOp),  // possessive
            ("\\Z", .invalidEscape),
            ("\\p{Alphabetic}", .invalidCharRange),
        ]
        for (pattern, code) in cases {
            XCTAssertThrowsError(try matcher(.regexMatch, "job", pattern), pattern) { error in
                XCTAssertEqual((error as? RegexParseError)?.code, code, pattern)
            }
        }
    }

    func testPathologicalPatternsMatchInLinearTime() throws {
        // Exponential for backtracking engines (Swift's Regex needs seconds at 25 characters).
        let long = String(repeating: "a", count: 10_000)
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            XCTAssertFalse(try matcher(.regexMatch, "x", "(a*)*b").matches(long))
            XCTAssertFalse(try matcher(.regexMatch, "x", "(a|aa)+b").matches(long))
            XCTAssertTrue(try matcher(.regexMatch, "x", "(a|aa)+").matches(long))
        }
        XCTAssertLessThan(elapsed, .seconds(2))
    }

    func testLiteralAlternationIsASetLookupAgreeingWithTheEngine() throws {
        let fast = try matcher(.regexMatch, "job", "api|web|batch")
        let engine = try LabelMatcher(.regexMatch, "job", "api|web|batch", optimize: false)
        XCTAssertEqual(fast.pattern.kind, "set")
        XCTAssertEqual(engine.pattern.kind, "program")
        for value in ["api", "web", "batch", "", "ap", "apiweb", "API", "batch ", "we"] {
            XCTAssertEqual(fast.matches(value), engine.matches(value), value)
        }
    }

    func testPrefixSuffixAndContainsPatternsSkipTheEngineAndAgreeWithIt() throws {
        let patterns = [
            ".*", ".+", "foo.*", ".*foo", ".*foo.*", "foo.+", ".+foo", "a.*b.+c", "(?:api|web)", "x(a|b)?y",
            "^foo.*$", "host-[0-9]", "(foo).*", ".*é.*", ".{2,}x",
        ]
        let values = [
            "", "foo", "fo", "afoo", "foob", "afoob", "foofoo", "ab c", "abc", "abbc", "axbyc", "api", "web",
            "xy", "xay", "xby", "xaby", "host-7", "host-77", "é", "aéb", "ééx", "\nx", "a\nb\nc",
        ]
        for pattern in patterns {
            let fast = try matcher(.regexMatch, "v", pattern)
            let engine = try LabelMatcher(.regexMatch, "v", pattern, optimize: false)
            XCTAssertNotEqual(fast.pattern.kind, "program", pattern)
            for value in values {
                XCTAssertEqual(fast.matches(value), engine.matches(value), "\(pattern) on \(value.debugDescription)")
            }
        }
    }

    func testMatchersAcceptingTheEmptyStringAreKnownAsSuch() throws {
        for (type, value) in [(LabelMatcher.MatchType.equal, ""), (.notEqual, "bar"), (.regexMatch, ".*"),
                              (.regexMatch, "x|"), (.regexNoMatch, "x.+")] {
            XCTAssertTrue(try matcher(type, "foo", value).matchesEmpty, "foo\(type.rawValue)\(value)")
        }
        for (type, value) in [(LabelMatcher.MatchType.equal, "x"), (.notEqual, ""), (.regexMatch, ".+"),
                              (.regexNoMatch, ".*")] {
            XCTAssertFalse(try matcher(type, "foo", value).matchesEmpty, "foo\(type.rawValue)\(value)")
        }
    }

    func testMatcherDescriptionQuotesLikePrometheus() throws {
        XCTAssertEqual(try matcher(.regexMatch, "job", "a\"b\\.c").description, #"job=~"a\"b\\.c""#)
        XCTAssertEqual(try matcher(.notEqual, "host.name", "x").description, #""host.name"!="x""#)
    }

    // MARK: Selection

    func testEqualityMatchersIntersectPostings() throws {
        let index = jobsIndex()
        XCTAssertEqual(try select(index, (.equal, "__name__", "up")), [1, 2, 3])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.equal, "job", "api")), [1])
        XCTAssertEqual(try select(index, (.equal, "job", "api")), [1, 4])
    }

    func testMatchersAcceptingTheEmptyStringSelectSeriesLackingTheLabel() throws {
        let index = jobsIndex()
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.equal, "job", "")), [3])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.notEqual, "job", "api")), [2, 3])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.regexMatch, "job", ".*")), [1, 2, 3])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.regexMatch, "job", "api|")), [1, 3])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.regexNoMatch, "job", "w.+")), [1, 3])
    }

    func testMatchersRejectingTheEmptyStringRequireTheLabel() throws {
        let index = jobsIndex()
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.regexMatch, "job", ".+")), [1, 2])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.notEqual, "job", "")), [1, 2])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.regexNoMatch, "job", ".*")), [])
    }

    func testLiteralAlternationSelectsWhatTheRegexEngineSelects() throws {
        var series: [Labels] = []
        for job in ["a", "b", "c", "ab", "a|b", "A"] {
            for instance in 0..<3 { series.append(["job": job, "instance": "i\(instance)"]) }
        }
        series.append(["instance": "i9"])
        let index = makeIndex(series)
        var fastStats = SelectStats()
        var engineStats = SelectStats()
        let fast = index.select([try matcher(.regexMatch, "job", "a|b")], stats: &fastStats)
        let engine = index.select([try LabelMatcher(.regexMatch, "job", "a|b", optimize: false)], stats: &engineStats)
        XCTAssertEqual(fast, engine)
        XCTAssertEqual(fast, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(fastStats.valuesInspected, 2)  // looked up, not scanned
        XCTAssertEqual(engineStats.valuesInspected, 6)
    }

    func testSelectWithOnlyNegativeMatchersStartsFromAllSeries() throws {
        let index = jobsIndex()
        XCTAssertEqual(try select(index, (.notEqual, "job", "api")), [2, 3])
        XCTAssertEqual(try select(index, (.regexNoMatch, "job", "a.*"), (.notEqual, "__name__", "down")), [2, 3])
        XCTAssertEqual(try select(index, (.regexMatch, "job", ".*")), [1, 2, 3, 4])
    }

    func testSelectWithAMatcherOnANonexistentLabelName() throws {
        let index = jobsIndex()
        XCTAssertEqual(try select(index, (.equal, "nope", "x")), [])
        XCTAssertEqual(try select(index, (.regexMatch, "nope", ".+")), [])
        XCTAssertEqual(try select(index, (.equal, "nope", "")), [1, 2, 3, 4])
        XCTAssertEqual(try select(index, (.notEqual, "nope", "x")), [1, 2, 3, 4])
        XCTAssertEqual(try select(index, (.equal, "__name__", "up"), (.regexMatch, "nope", "x|")), [1, 2, 3])
    }

    func testNoMatchersSelectNothing() {
        XCTAssertEqual(jobsIndex().select([]), [])
    }

    func testSelectAgreesWithBruteForceOnRandomSeries() throws {
        var generator = SplitMix64(seed: 42)
        let names = ["a", "b", "c"]
        let values = ["", "x", "y", "xy", "yx", "Xz"]
        var series: [Labels] = []
        for _ in 0..<300 {
            var labels: [String: String] = [:]
            for name in names {
                let value = values[Int(generator.next() % UInt64(values.count))]
                if !value.isEmpty { labels[name] = value }
            }
            series.append(Labels(labels))
        }
        let index = makeIndex(series)
        let candidates: [(LabelMatcher.MatchType, String)] = [
            (.equal, ""), (.equal, "x"), (.notEqual, ""), (.notEqual, "y"), (.regexMatch, ".*"), (.regexMatch, ".+"),
            (.regexMatch, "x|"), (.regexMatch, "x.*"), (.regexMatch, "(?i)x.*"), (.regexNoMatch, "y|xy"),
            (.regexNoMatch, ".*"), (.regexNoMatch, ".+"), (.regexMatch, "[xy]{2}"),
        ]
        for _ in 0..<500 {
            let count = 1 + Int(generator.next() % 3)
            let matchers = try (0..<count).map { _ in
                let candidate = candidates[Int(generator.next() % UInt64(candidates.count))]
                return try matcher(candidate.0, names[Int(generator.next() % UInt64(names.count))], candidate.1)
            }
            let expected = series.indices.filter { position in
                matchers.allSatisfy { $0.matches(series[position][$0.name] ?? "") }
            }.map { SeriesRef($0 + 1) }
            XCTAssertEqual(index.select(matchers), expected, "\(matchers)")
        }
    }

    func testSelectiveQueryOn100kSeriesUsesTheIndex() throws {
        let index = MemPostings()
        var ref: SeriesRef = 0
        for metric in 0..<100 {
            for instance in 0..<1000 {
                ref += 1
                index.add(ref, ["__name__": "metric_\(metric)", "instance": "host-\(instance)", "job": "job-\(instance % 10)"])
            }
        }
        XCTAssertEqual(index.seriesCount, 100_000)

        var stats = SelectStats()
        let clock = ContinuousClock()
        var selected: [SeriesRef] = []
        let elapsed = try clock.measure {
            selected = index.select([try matcher(.equal, "__name__", "metric_7"), try matcher(.regexMatch, "instance", "host-1.*")], stats: &stats)
        }
        XCTAssertEqual(selected.count, 111)  // host-1, host-10...19, host-100...199
        XCTAssertEqual(stats.valuesInspected, 1 + 1000)  // one lookup, then the instance values only
        XCTAssertLessThan(stats.postingsRead, 100_000 / 4)
        print("select over 100k series: \(elapsed), \(stats)")

        var emptyStats = SelectStats()
        XCTAssertEqual(index.select([try matcher(.equal, "__name__", "nope"), try matcher(.regexMatch, "instance", "host-1.*")], stats: &emptyStats), [])
        XCTAssertEqual(emptyStats.valuesInspected, 1)  // the regex scan is skipped
    }

    // MARK: Listing, ordering, deletion

    func testLabelNamesAndValuesAreDistinctAndSortedByBytes() {
        let index = makeIndex([["job": "b", "Zone": "1"], ["job": "a", "zone": "2"], ["job": "b", "_x": "é"], ["job": "B"]])
        XCTAssertEqual(index.labelNames(), ["Zone", "_x", "job", "zone"])
        XCTAssertEqual(index.labelValues("job"), ["B", "a", "b"])
        XCTAssertEqual(index.labelValues("nope"), [])
    }

    func testEmptyValuedLabelsAreNotIndexed() throws {
        let index = makeIndex([["job": "api", "zone": ""]])
        XCTAssertEqual(index.labelNames(), ["job"])
        XCTAssertEqual(try select(index, (.equal, "zone", "")), [1])
    }

    func testOutOfOrderAddsKeepPostingsSortedAndDistinct() {
        let index = MemPostings()
        for ref: SeriesRef in [5, 3, 9, 3, 1] { index.add(ref, ["job": "api"]) }
        XCTAssertEqual(index.postings(name: "job", value: "api"), [1, 3, 5, 9])
        XCTAssertEqual(index.allPostings(), [1, 3, 5, 9])
    }

    func testDeleteRemovesSeriesFromEveryPostingsList() throws {
        let index = jobsIndex()
        index.delete([1, 3])
        XCTAssertEqual(index.allPostings(), [2, 4])
        XCTAssertEqual(index.postings(name: "__name__", value: "up"), [2])
        XCTAssertEqual(index.postings(name: "job", value: "api"), [4])
        XCTAssertEqual(index.postings(name: "job", value: "web"), [2])
        XCTAssertEqual(try select(index, (.regexMatch, "job", ".*")), [2, 4])
        index.delete([2])
        XCTAssertEqual(index.labelValues("job"), ["api"])  // emptied values disappear
        XCTAssertEqual(index.labelValues("__name__"), ["down"])
        index.delete([4])
        XCTAssertEqual(index.labelNames(), [])  // and emptied names
        XCTAssertEqual(index.seriesCount, 0)
    }

    func testDeleteAffectingKnownLabelsEqualsFullDelete() {
        let series: [Labels] = [["__name__": "up", "job": "api"], ["__name__": "up", "job": "web"], ["__name__": "up"], ["__name__": "down", "job": "api"]]
        let scanned = makeIndex(series)
        let targeted = makeIndex(series)
        scanned.delete([1, 3])
        targeted.delete([1, 3], affecting: [series[0], series[2]])
        XCTAssertEqual(targeted.allPostings(), scanned.allPostings())
        for name in scanned.labelNames() {
            XCTAssertEqual(targeted.labelValues(name), scanned.labelValues(name))
            for value in scanned.labelValues(name) {
                XCTAssertEqual(targeted.postings(name: name, value: value), scanned.postings(name: name, value: value))
            }
        }
        XCTAssertEqual(targeted.labelNames(), scanned.labelNames())
    }

    func testPostingsAlgebraHandlesSkewedLengths() {
        let long = Array(SeriesRef(0)..<10_000).map { $0 * 2 }  // even numbers
        let short: [SeriesRef] = [1, 2, 4, 19_998, 30_000]
        XCTAssertEqual(Postings.intersect(short, long), [2, 4, 19_998])
        XCTAssertEqual(Postings.intersect(long, short), [2, 4, 19_998])
        XCTAssertEqual(Postings.subtract(short, long), [1, 30_000])
        XCTAssertEqual(Postings.subtract(long, short).count, 10_000 - 3)
        XCTAssertEqual(Postings.union([[5, 9], [1, 5], [2], [9, 10]]), [1, 2, 5, 9, 10])
    }

    func testConcurrentSelectsDuringAppendsSeeSortedConsistentResults() throws {
        let index = MemPostings()
        let up = try matcher(.equal, "__name__", "up")
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            if worker == 0 {
                for ref in SeriesRef(1)...20_000 { index.add(ref, ["__name__": "up", "n": "\(ref % 7)"]) }
                return
            }
            for _ in 0..<200 {
                let selected = index.select([up])
                XCTAssertEqual(selected, selected.isEmpty ? [] : Array(1...selected.last!))
            }
        }
        XCTAssertEqual(index.select([up]).count, 20_000)
    }

    // MARK: Labels

    func testLabelsSortByNameAndLookUpValues() {
        let labels = Labels(["job": "api", "__name__": "up", "instance": "h:9090"])
        XCTAssertEqual(labels.names, ["__name__", "instance", "job"])
        XCTAssertEqual(labels["job"], "api")
        XCTAssertNil(labels["zone"])
        XCTAssertEqual(labels.map(\.value), ["up", "h:9090", "api"])
    }

    func testLabelsEqualityAndHashIgnoreConstructionOrder() {
        let a = Labels(["a": "1", "b": "2"])
        let b: Labels = ["b": "2", "a": "1"]
        let c = Labels(sortedPairs: [(name: "a", value: "1"), (name: "b", value: "2")])
        XCTAssertEqual(a, b)
        XCTAssertEqual(a, c)
        XCTAssertEqual(a.hashValue, b.hashValue)
        XCTAssertEqual(a.stableHash, c.stableHash)
        XCTAssertEqual(Set([a, b, c]).count, 1)
    }

    func testLabelsStableHashIsXXH64OverNameValueSeparators() {
        // Reference values from the xxhash C library (python-xxhash).
        XCTAssertEqual(Labels().stableHash, 0xEF46_DB37_51D8_E999)  // XXH64("")
        XCTAssertEqual(Labels(["__name__": "up", "job": "api"]).stableHash, 0x2796_7EC8_7265_EAEF)
        let bytes = (0..<100).map(UInt8.init)
        XCTAssertEqual(bytes.withUnsafeBytes { XXH64.hash($0) }, 0x6AC1_E580_3216_6597)  // 32-byte stripes
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { XXH64.hash($0) }, 0x44BC_2CF5_AD77_0999)
    }

    func testLabelsHashAndEqualityDistinguishShiftedBoundaries() {
        let a = Labels(["a": "bc"])
        let b = Labels(["ab": "c"])
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.stableHash, 0x2574_3FBA_3CC4_6906)
        XCTAssertEqual(b.stableHash, 0x4793_0896_7D48_9BA5)
    }

    func testLabelsOrderLikePrometheusCompare() {
        let sets: [Labels] = [["a": "2"], ["a": "1", "b": "1"], ["a": "1"], ["B": "9"], ["a": "1", "c": "0"]]
        XCTAssertEqual(sets.sorted().map(\.description), [
            #"{B="9"}"#, #"{a="1"}"#, #"{a="1", b="1"}"#, #"{a="1", c="0"}"#, #"{a="2"}"#,
        ])
    }

    func testLabelsDescriptionQuotesLikeGo() {
        XCTAssertEqual(Labels(["__name__": "up", "job": "x"]).description, #"{__name__="up", job="x"}"#)
        XCTAssertEqual(Labels(["msg": "a\"b\\c\nd\u{7}\u{A0}é"]).description, #"{msg="a\"b\\c\nd\a\u00a0é"}"#)
        XCTAssertEqual(Labels(["host.name": "h", "0x": "y"]).description, #"{"0x"="y", "host.name"="h"}"#)
        XCTAssertEqual(Labels().description, "{}")
    }

    func testValidateReportsEmptyDuplicateAndUnsortedNames() {
        XCTAssertNoThrow(try Labels(["a": "1", "b": "2"]).validate())
        XCTAssertThrowsError(try Labels(sortedPairs: [(name: "", value: "x")]).validate()) { error in
            XCTAssertEqual(error as? LabelsError, .emptyName(position: 0))
        }
        XCTAssertThrowsError(try Labels(sortedPairs: [(name: "a", value: "1"), (name: "a", value: "2")]).validate()) { error in
            XCTAssertEqual(error as? LabelsError, .duplicateName("a"))
        }
        XCTAssertThrowsError(try Labels(sortedPairs: [(name: "b", value: "1"), (name: "a", value: "2")]).validate()) { error in
            XCTAssertEqual(error as? LabelsError, .unsorted(previous: "b", next: "a"))
        }
    }
}

final class CardinalityStatsTests: XCTestCase {
    func testListsAreTheLargestFirstAndCutAtTheLimit() {
        let postings = MemPostings()
        var ref: SeriesRef = 1
        for (name, count) in [("http_requests_total", 3), ("up", 2), ("go_goroutines", 1)] {
            for i in 0..<count {
                postings.add(ref, ["__name__": name, "instance": "host-\(i)", "job": "api"])
                ref += 1
            }
        }
        let stats = CardinalityStats(postings, limit: 2)
        XCTAssertEqual(stats.seriesCountByMetricName.map(\.name), ["http_requests_total", "up"])
        XCTAssertEqual(stats.seriesCountByMetricName.map(\.value), [3, 2])
        XCTAssertEqual(stats.labelValueCountByLabelName.map(\.name), ["__name__", "instance"])
        XCTAssertEqual(stats.labelValueCountByLabelName.map(\.value), [3, 3])
        XCTAssertEqual(stats.seriesCountByLabelValuePair.first?.name, "job=api")
        XCTAssertEqual(stats.seriesCountByLabelValuePair.first?.value, 6)
        // __name__: 19×3 + 2×2 + 13×1 bytes; instance: 6 bytes × 6 series; job: 3 × 6.
        XCTAssertEqual(stats.memoryInBytesByLabelName.map(\.value), [74, 36])
        XCTAssertEqual(stats.numLabelPairs, 3 + 3 + 1)
    }
}
