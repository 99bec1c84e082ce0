#if canImport(Glibc)
import VigilTestSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

@testable import MetricsStore

/// The scrape body parser: the Prometheus text format 0.0.4 and OpenMetrics 1.0, read the
/// way Prometheus 3's `model/textparse` reads them.
final class ExpositionParserTests: XCTestCase {
    // MARK: Helpers

    private func parseText(_ body: String) throws -> ParsedExposition {
        var parser = ExpositionParser()
        return try parser.parse(Array(body.utf8), format: .prometheusText)
    }

    private func parseOpenMetrics(_ body: String) throws -> ParsedExposition {
        var parser = ExpositionParser()
        return try parser.parse(Array(body.utf8), format: .openMetrics)
    }

    /// Parses `body` expecting it to fail on `line` with an error of `kind`; returns it.
    @discardableResult
    private func assertFails(
        _ body: String,
        as format: ExpositionFormat,
        line: Int,
        kind: ExpositionParseError.Kind,
        file: StaticString = #filePath,
        sourceLine: UInt = #line
    ) -> ExpositionParseError? {
        var parser = ExpositionParser()
        do {
            let parsed = try parser.parse(Array(body.utf8), format: format)
            XCTFail("expected an error, parsed \(parsed.samples.count) samples", file: file, line: sourceLine)
            return nil
        } catch {
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: sourceLine)
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: sourceLine)
            return error
        }
    }

    private func sample(_ parsed: ParsedExposition, _ labels: Labels) -> ScrapedSample? {
        parsed.samples.first { $0.labels == labels }
    }

    // MARK: Realistic bodies

    func testParsesNodeExporterOutput() throws {
        let body = """
            # HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
            # TYPE node_cpu_seconds_total counter
            node_cpu_seconds_total{cpu="0",mode="idle"} 3029.87
            node_cpu_seconds_total{cpu="0",mode="iowait"} 7.86
            node_cpu_seconds_total{cpu="1",mode="idle"} 2629.39
            # HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
            # TYPE node_filesystem_avail_bytes gauge
            node_filesystem_avail_bytes{device="/dev/vda",fstype="ext4",mountpoint="/"} 7.818381312e+10
            # HELP node_load1 1m load average.
            # TYPE node_load1 gauge
            node_load1 0.39
            # HELP node_network_receive_bytes_total Network device statistic receive_bytes.
            # TYPE node_network_receive_bytes_total counter
            node_network_receive_bytes_total{device="eth0"} 2.34751519e+08
            # HELP node_uname_info Labeled system information as provided by the uname system call.
            # TYPE node_uname_info gauge
            node_uname_info{domainname="(none)",machine="x86_64",nodename="vigil-1",release="6.1.0-18-amd64",sysname="Linux",version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"} 1

            """
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.samples.count, 7)
        XCTAssertEqual(
            parsed.samples[0],
            ScrapedSample(labels: ["__name__": "node_cpu_seconds_total", "cpu": "0", "mode": "idle"], value: 3029.87)
        )
        XCTAssertEqual(
            sample(parsed, ["__name__": "node_filesystem_avail_bytes", "device": "/dev/vda", "fstype": "ext4", "mountpoint": "/"])?.value,
            7.818381312e+10
        )
        XCTAssertEqual(sample(parsed, ["__name__": "node_load1"])?.value, 0.39)
        XCTAssertEqual(parsed.samples[6].labels["version"], "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)")
        XCTAssertEqual(parsed.metadata.count, 5)
        XCTAssertEqual(
            parsed.metadata[0],
            ScrapedMetadata(family: "node_cpu_seconds_total", type: .counter, help: "Seconds the CPUs spent in each mode.")
        )
        XCTAssertTrue(parsed.samples.allSatisfy { $0.timestamp == nil && $0.exemplar == nil })
    }

    func testParsesClientGolangHistogramsAndSummaries() throws {
        let body = """
            # HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
            # TYPE go_gc_duration_seconds summary
            go_gc_duration_seconds{quantile="0"} 2.2021e-05
            go_gc_duration_seconds{quantile="0.25"} 3.1409e-05
            go_gc_duration_seconds{quantile="1"} 0.000208753
            go_gc_duration_seconds_sum 0.004207457
            go_gc_duration_seconds_count 62
            # HELP http_request_duration_seconds A histogram of request latencies.
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{handler="/api",le="0.005"} 24054
            http_request_duration_seconds_bucket{handler="/api",le="1"} 33444
            http_request_duration_seconds_bucket{handler="/api",le="1e+06"} 33444
            http_request_duration_seconds_bucket{handler="/api",le="+Inf"} 33444
            http_request_duration_seconds_sum{handler="/api"} 53423.5
            http_request_duration_seconds_count{handler="/api"} 33444

            """
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.samples.count, 11)
        // Prometheus 3 rewrites `le` and `quantile` into OpenMetrics float form.
        let quantiles = parsed.samples.prefix(3).compactMap { $0.labels["quantile"] }
        XCTAssertEqual(quantiles, ["0.0", "0.25", "1.0"])
        let buckets = parsed.samples.compactMap { $0.labels["le"] }
        XCTAssertEqual(buckets, ["0.005", "1.0", "1e+06", "+Inf"])
        XCTAssertEqual(sample(parsed, ["__name__": "go_gc_duration_seconds_count"])?.value, 62)
        XCTAssertEqual(
            sample(parsed, ["__name__": "http_request_duration_seconds_sum", "handler": "/api"])?.value,
            53423.5
        )
        XCTAssertEqual(parsed.metadata.map(\.type), [.summary, .histogram])
    }

    func testRewritesBucketBoundsOnlyForHistogramsAndQuantilesOnlyForSummaries() throws {
        let body = """
            # TYPE g gauge
            g{le="1",quantile="1"} 1
            # TYPE h histogram
            h_bucket{le="10",quantile="1"} 1
            # TYPE s summary
            s{le="1",quantile="0.50"} 1

            """
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.samples[0].labels, ["__name__": "g", "le": "1", "quantile": "1"])
        XCTAssertEqual(parsed.samples[1].labels, ["__name__": "h_bucket", "le": "10.0", "quantile": "1"])
        XCTAssertEqual(parsed.samples[2].labels, ["__name__": "s", "le": "1", "quantile": "0.5"])
    }

    func testFormatsRewrittenBoundsAsGoShortestFloats() {
        // Prometheus's `FormatOpenMetricsFloat`: Go's `%g` with the shortest digits, `.0`
        // added when there is neither a point nor an exponent.
        let cases: [(Double, String)] = [
            (1, "1.0"), (0, "0.0"), (-0.0, "0.0"), (-1, "-1.0"), (0.005, "0.005"), (2.5, "2.5"),
            (100_000, "100000.0"), (1e6, "1e+06"), (123_456_789, "1.23456789e+08"), (0.0001, "0.0001"),
            (0.00001, "1e-05"), (2.5e-7, "2.5e-07"), (1e100, "1e+100"), (0.1 + 0.2, "0.30000000000000004"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(ExpositionNumber.openMetricsText(value), expected, "\(value)")
        }
    }

    // MARK: Metadata

    func testCollectsHelpAndTypePerFamilyInOrderOfFirstAppearance() throws {
        let body = """
            # TYPE b_total counter
            # HELP a First family.
            # HELP b_total Help after type.
            # TYPE a untyped
            # HELP nohelp
            a 1
            b_total 2

            """
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.metadata, [
            ScrapedMetadata(family: "b_total", type: .counter, help: "Help after type."),
            ScrapedMetadata(family: "a", type: .unknown, help: "First family."),
            ScrapedMetadata(family: "nohelp", type: .unknown, help: ""),
        ])
    }

    func testUnescapesBackslashAndNewlineInTextFormatHelp() throws {
        let parsed = try parseText(#"# HELP m Line one\nline two, a backslash \\ and \"quotes\" kept"# + "\n")

        XCTAssertEqual(parsed.metadata.first?.help, "Line one\nline two, a backslash \\ and \\\"quotes\\\" kept")
    }

    func testUnescapesQuotesTooInOpenMetricsHelp() throws {
        let parsed = try parseOpenMetrics(#"# HELP m say \"hi\"\n\\"# + "\n# EOF\n")

        XCTAssertEqual(parsed.metadata.first?.help, "say \"hi\"\n\\")
    }

    func testSkipsOtherCommentsInTextFormat() throws {
        let body = """
            # Just a comment
            #
            #HELP not_metadata because there is no blank after the hash
            # HELPER not metadata either
            a 1

            """
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.samples.count, 1)
        XCTAssertEqual(parsed.metadata, [])
    }

    // MARK: Labels

    func testUnescapesLabelValues() throws {
        let parsed = try parseText(#"m{path="C:\\dir",quote="say \"hi\"",nl="a\nb",other="\t"} 1"# + "\n")

        XCTAssertEqual(
            parsed.samples.first?.labels,
            ["__name__": "m", "path": #"C:\dir"#, "quote": #"say "hi""#, "nl": "a\nb", "other": #"\t"#]
        )
    }

    func testAcceptsBlanksTrailingCommasAndEmptyLinesInTextFormat() throws {
        let body = "\n  m { a = \"1\" , b=\"2\", } 1\t 1000 \n\t\nm{c=\"3\" d=\"4\"}2\n   \n"
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.samples, [
            ScrapedSample(labels: ["__name__": "m", "a": "1", "b": "2"], timestamp: 1000, value: 1),
            ScrapedSample(labels: ["__name__": "m", "c": "3", "d": "4"], value: 2),
        ])
    }

    func testDropsLabelsWithEmptyValues() throws {
        let parsed = try parseText(#"m{a="",b="x"} 1"#)

        XCTAssertEqual(parsed.samples.first?.labels, ["__name__": "m", "b": "x"])
    }

    func testReadsQuotedUTF8MetricAndLabelNames() throws {
        let body = """
            # HELP "my.metric" A metric with dots.
            # TYPE "my.metric" gauge
            {"my.metric","a.b"="x",plain="y"} 1
            { "my.metric" , "strange ©™\\n\\"name\\""="z" } 2
            """
        let parsed = try parseText(body)

        XCTAssertEqual(parsed.samples.map(\.labels), [
            ["__name__": "my.metric", "a.b": "x", "plain": "y"],
            ["__name__": "my.metric", "strange ©™\n\"name\"": "z"],
        ])
        XCTAssertEqual(parsed.metadata, [ScrapedMetadata(family: "my.metric", type: .gauge, help: "A metric with dots.")])
    }

    func testKeepsLabelValuesAsUTF8Bytes() throws {
        let parsed = try parseText("m{v=\"Heizölrückstoßabdämpfung 10€\",nul=\"a\u{0}b\"} 1\n")

        XCTAssertEqual(parsed.samples.first?.labels["v"], "Heizölrückstoßabdämpfung 10€")
        XCTAssertEqual(parsed.samples.first?.labels["nul"], "a\u{0}b")
    }

    // MARK: Values and timestamps

    func testParsesSpecialAndExponentValues() throws {
        let body = """
            a{v="1"} NaN
            a{v="2"} +Inf
            a{v="3"} -Inf
            a{v="4"} Inf
            a{v="5"} inf
            a{v="6"} 1.5e3
            a{v="7"} -2E-3
            a{v="8"} .5
            a{v="9"} 5.
            a{v="10"} +3
            a{v="11"} -0
            a{v="12"} 1e-400
            a{v="13"} 0.1
            a{v="14"} 123456789012345678901234567890
            a{v="15"} nan
            a{v="16"} -Infinity
            """
        let values = try parseText(body).samples.map(\.value)

        XCTAssertEqual(values[0].bitPattern, 0x7FF8_0000_0000_0001, "NaN is Prometheus's normal NaN")
        XCTAssertEqual(Array(values[1...3]), [.infinity, -.infinity, .infinity])
        XCTAssertEqual(Array(values[4...10]), [.infinity, 1500, -0.002, 0.5, 5, 3, 0])
        XCTAssertEqual(values[10].sign, .minus)
        XCTAssertEqual(values[11], 0)
        XCTAssertEqual(values[12], 0.1)
        XCTAssertEqual(values[13], 1.2345678901234568e29)
        XCTAssertEqual(values[14].bitPattern, 0x7FF8_0000_0000_0001)
        XCTAssertEqual(values[15], -.infinity)
    }

    func testRejectsHexadecimalUnderscoresAndOverflowingValues() {
        // Prometheus refuses `p` and `_` in values, and Go's ParseFloat wants a `p`
        // exponent on hex, so no hexadecimal form is a valid value.
        for value in ["0x1A", "0x1p-3", "1_000", "1e400", "+NaN", "1e", "--1", "1.2.3", "0b1"] {
            let error = assertFails("ok 1\nm \(value)\n", as: .prometheusText, line: 2, kind: .invalidValue)
            XCTAssertTrue(error?.message.contains(value) ?? false, "\(value): \(String(describing: error))")
        }
    }

    func testReadsTextFormatTimestampsAsIntegerMilliseconds() throws {
        let parsed = try parseText("a 1 1520879607789\nb 2 0\nc 3\n")

        XCTAssertEqual(parsed.samples.map(\.timestamp), [1_520_879_607_789, 0, nil])
    }

    func testRejectsSignedFractionalAndOverflowingTextTimestamps() {
        assertFails("a 1 -5\n", as: .prometheusText, line: 1, kind: .unexpectedToken)
        assertFails("a 1\na 1 1.5\n", as: .prometheusText, line: 2, kind: .unexpectedToken)
        assertFails("a 1 99999999999999999999\n", as: .prometheusText, line: 1, kind: .invalidTimestamp)
        assertFails("a 1 2 3\n", as: .prometheusText, line: 1, kind: .unexpectedToken)
    }

    func testReadsOpenMetricsTimestampsAsFloatSeconds() throws {
        let body = """
            a 1 1520879607.789
            b 2 1520879607
            c 3 -1.5
            d 4 1.52087960778e9
            # EOF

            """
        let parsed = try parseOpenMetrics(body)

        XCTAssertEqual(parsed.samples.map(\.timestamp), [1_520_879_607_789, 1_520_879_607_000, -1500, 1_520_879_607_780])
    }

    func testRejectsNaNAndInfiniteOpenMetricsTimestamps() {
        assertFails("a 1 NaN\n# EOF\n", as: .openMetrics, line: 1, kind: .invalidTimestamp)
        assertFails("a 1\na 1 +Inf\n# EOF\n", as: .openMetrics, line: 2, kind: .invalidTimestamp)
        assertFails("a 1 1z\n# EOF\n", as: .openMetrics, line: 1, kind: .invalidTimestamp)
    }

    // MARK: OpenMetrics

    func testParsesOpenMetricsCountersWithExemplarsAndCreatedSamples() throws {
        let body = """
            # TYPE foo counter
            # HELP foo Requests served.
            foo_total 17.0 1520879607.789 # {trace_id="abc"} 1.0 1520879607.789
            foo_created 1520872607.123
            foo_total{a="b"} 5 # {trace_id="def",span_id="12"} 0.5
            # EOF
            """
        let parsed = try parseOpenMetrics(body)

        XCTAssertEqual(parsed.samples, [
            ScrapedSample(
                labels: ["__name__": "foo_total"], timestamp: 1_520_879_607_789, value: 17,
                exemplar: ScrapedExemplar(labels: ["trace_id": "abc"], value: 1, timestamp: 1_520_879_607_789)
            ),
            ScrapedSample(labels: ["__name__": "foo_created"], value: 1_520_872_607.123),
            ScrapedSample(
                labels: ["__name__": "foo_total", "a": "b"], value: 5,
                exemplar: ScrapedExemplar(labels: ["span_id": "12", "trace_id": "def"], value: 0.5)
            ),
        ])
        XCTAssertEqual(parsed.metadata, [ScrapedMetadata(family: "foo", type: .counter, help: "Requests served.")])
    }

    func testParsesOpenMetricsHistogramWithBucketExemplars() throws {
        let body = """
            # TYPE rpc_seconds histogram
            # UNIT rpc_seconds seconds
            rpc_seconds_bucket{le="0.1"} 8 # {trace_id="t1"} 0.054 1520879607.7
            rpc_seconds_bucket{le="1.0"} 10
            rpc_seconds_bucket{le="+Inf"} 11 # {trace_id="t2"} 4.5
            rpc_seconds_count 11
            rpc_seconds_sum 7.2
            rpc_seconds_created 1520430000.123
            # EOF

            """
        let parsed = try parseOpenMetrics(body)

        XCTAssertEqual(parsed.samples.count, 6)
        XCTAssertEqual(parsed.samples[0].exemplar, ScrapedExemplar(labels: ["trace_id": "t1"], value: 0.054, timestamp: 1_520_879_607_700))
        XCTAssertNil(parsed.samples[1].exemplar)
        XCTAssertEqual(parsed.samples[2].labels, ["__name__": "rpc_seconds_bucket", "le": "+Inf"])
        XCTAssertEqual(parsed.metadata, [ScrapedMetadata(family: "rpc_seconds", type: .histogram, unit: "seconds")])
    }

    func testParsesOpenMetricsInfoStatesetAndUnits() throws {
        let body = """
            # TYPE build info
            # HELP build Build information.
            build_info{version="1.2.3",revision="abc"} 1
            # TYPE feature stateset
            feature{feature="a"} 1
            feature{feature="b"} 0
            # TYPE temperature_celsius gauge
            # UNIT temperature_celsius celsius
            temperature_celsius 21.5
            # TYPE pressure gaugehistogram
            pressure_bucket{le="+Inf"} 3
            pressure_gcount 3
            pressure_gsum 12
            # TYPE mystery unknown
            mystery 1
            # EOF

            """
        let parsed = try parseOpenMetrics(body)

        XCTAssertEqual(parsed.samples.count, 8)
        XCTAssertEqual(parsed.samples[0].labels, ["__name__": "build_info", "revision": "abc", "version": "1.2.3"])
        XCTAssertEqual(parsed.metadata, [
            ScrapedMetadata(family: "build", type: .info, help: "Build information."),
            ScrapedMetadata(family: "feature", type: .stateset),
            ScrapedMetadata(family: "temperature_celsius", type: .gauge, unit: "celsius"),
            ScrapedMetadata(family: "pressure", type: .gaugehistogram),
            ScrapedMetadata(family: "mystery", type: .unknown),
        ])
    }

    func testAcceptsEOFWithoutTrailingNewline() throws {
        XCTAssertEqual(try parseOpenMetrics("a 1\n# EOF").samples.count, 1)
        XCTAssertEqual(try parseOpenMetrics("# EOF\n").samples.count, 0)
    }

    // MARK: Content-Type

    func testChoosesTheFormatFromTheContentType() throws {
        XCTAssertEqual(try ExpositionFormat.negotiate(contentType: "text/plain; version=0.0.4; charset=utf-8"), .prometheusText)
        XCTAssertEqual(
            try ExpositionFormat.negotiate(contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8"),
            .openMetrics
        )
        XCTAssertEqual(try ExpositionFormat.negotiate(contentType: "Application/OpenMetrics-Text"), .openMetrics)
        XCTAssertEqual(try ExpositionFormat.negotiate(contentType: nil, fallback: .prometheusText), .prometheusText)

        var parser = ExpositionParser()
        let parsed = try parser.parse(Array("a 1\n# EOF\n".utf8), contentType: "application/openmetrics-text; version=1.0.0")
        XCTAssertEqual(parsed.samples.count, 1)
    }

    func testRejectsBlankAndUnknownContentTypesWithoutFallback() {
        for contentType in [nil, "", "text/html", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"] {
            XCTAssertThrowsError(try ExpositionFormat.negotiate(contentType: contentType), "\(String(describing: contentType))") { error in
                XCTAssertEqual((error as? ExpositionParseError)?.kind, .unsupportedContentType)
            }
        }
    }

    // MARK: Malformed input

    func testMissingValueFailsOnItsLine() {
        let error = assertFails("# TYPE a gauge\na 1\nb\nc 3\n", as: .prometheusText, line: 3, kind: .unexpectedToken)
        XCTAssertEqual(error?.message, #"expected value after metric, got "\n" while parsing: "b""#)
    }

    func testMissingValueAfterLabelsFailsOnItsLine() {
        assertFails("a 1\nb{c=\"d\"}\n", as: .prometheusText, line: 2, kind: .unexpectedToken)
        assertFails("a 1\nb{c=\"d\"}\n# EOF\n", as: .openMetrics, line: 2, kind: .unexpectedToken)
    }

    func testBadValueFailsOnItsLine() {
        let error = assertFails("a 1\n\nb true\n", as: .prometheusText, line: 3, kind: .invalidValue)
        XCTAssertEqual(error?.message, #"cannot parse "true" as a float value while parsing: "b true""#)
        assertFails("a 1\nb 1,5\n# EOF\n", as: .openMetrics, line: 2, kind: .invalidValue)
    }

    func testUnterminatedLabelValueFailsOnItsLine() {
        let body = "a 1\nb 2\nc{d=\"unterminated} 3\ne{f=\"g\"} 4\n"
        assertFails(body, as: .prometheusText, line: 3, kind: .unterminatedQuotedString)
        assertFails(body + "# EOF\n", as: .openMetrics, line: 3, kind: .unterminatedQuotedString)
    }

    func testDuplicateLabelNameFailsOnItsLine() {
        let error = assertFails("a 1\nb{c=\"1\",d=\"2\",c=\"3\"} 2\n", as: .prometheusText, line: 2, kind: .duplicateLabelName)
        XCTAssertTrue(error?.message.hasPrefix(#"label name "c" is not unique"#) ?? false, "\(String(describing: error))")
        assertFails("b{__name__=\"x\"} 2\n", as: .prometheusText, line: 1, kind: .duplicateLabelName)
        assertFails("b{c=\"\",c=\"x\"} 2\n", as: .prometheusText, line: 1, kind: .duplicateLabelName)
        assertFails("a 1 # {t=\"1\",t=\"2\"} 1\n# EOF\n", as: .openMetrics, line: 1, kind: .duplicateLabelName)
    }

    func testInvalidMetricNameFailsOnItsLine() {
        assertFails("ok 1\nmy-metric 1\n", as: .prometheusText, line: 2, kind: .invalidMetricName)
        assertFails("ok 1\n9lives 1\n", as: .prometheusText, line: 2, kind: .invalidMetricName)
        assertFails("ok 1\nmy.metric{a=\"b\"} 1\n# EOF\n", as: .openMetrics, line: 2, kind: .invalidMetricName)
        assertFails("ok 1\n{\"\"} 1\n", as: .prometheusText, line: 2, kind: .invalidMetricName)
        assertFails("# HELP my-metric help\n", as: .prometheusText, line: 1, kind: .invalidMetricName)
    }

    func testMissingOrRepeatedMetricNameFails() {
        let error = assertFails("ok 1\n{a=\"ok\"} 1\n", as: .prometheusText, line: 2, kind: .invalidMetricName)
        XCTAssertEqual(error?.message, #"metric name not set while parsing: "{a=\"ok\"} 1""#)
        assertFails("a{\"b\"} 1\n", as: .prometheusText, line: 1, kind: .invalidMetricName)
    }

    func testInvalidLabelNameFailsOnItsLine() {
        assertFails("ok 1\na{b-c=\"d\"} 1\n", as: .prometheusText, line: 2, kind: .invalidLabelName)
        assertFails("a{0b=\"d\"} 1\n", as: .prometheusText, line: 1, kind: .invalidLabelName)
        assertFails("a{b:c=\"d\"} 1\n", as: .prometheusText, line: 1, kind: .invalidLabelName)
        assertFails("a{=\"d\"} 1\n", as: .prometheusText, line: 1, kind: .unexpectedToken)
        assertFails("a{b='c'} 1\n", as: .prometheusText, line: 1, kind: .unexpectedToken)
    }

    func testInvalidUTF8FailsOnItsLine() {
        var body = Array("ok 1\na{b=\"".utf8)
        body += [0xFF, 0xFE]
        body += Array("\"} 1\n".utf8)
        var parser = ExpositionParser()
        XCTAssertThrowsError(try parser.parse(body, format: .prometheusText)) { error in
            XCTAssertEqual((error as? ExpositionParseError)?.line, 2)
            XCTAssertEqual((error as? ExpositionParseError)?.kind, .invalidUTF8)
        }
    }

    func testInvalidMetricTypeFailsOnItsLine() {
        assertFails("# TYPE a gauge\n# TYPE b histgram\n", as: .prometheusText, line: 2, kind: .invalidMetricType)
        // `unknown` is OpenMetrics; the text format calls it `untyped`.
        assertFails("# TYPE a unknown\n", as: .prometheusText, line: 1, kind: .invalidMetricType)
        assertFails("# TYPE a untyped\n# EOF\n", as: .openMetrics, line: 1, kind: .invalidMetricType)
        assertFails("# TYPE a counter \n# EOF\n", as: .openMetrics, line: 1, kind: .invalidMetricType)
    }

    func testTextAfterEOFFails() {
        let error = assertFails("a 1\n# EOF\nb 2\n", as: .openMetrics, line: 3, kind: .dataAfterEOF)
        XCTAssertEqual(error?.message, "unexpected data after # EOF")
        assertFails("# EOF\n\n", as: .openMetrics, line: 2, kind: .dataAfterEOF)
        assertFails("a 1\n# EOF trailing\n", as: .openMetrics, line: 2, kind: .dataAfterEOF)
    }

    func testMissingEOFFailsAfterTheLastLine() {
        let error = assertFails("# TYPE a gauge\na 1\n", as: .openMetrics, line: 3, kind: .missingEOF)
        XCTAssertEqual(error?.message, "data does not end with # EOF")
        assertFails("a 1", as: .openMetrics, line: 1, kind: .missingEOF)
        assertFails("", as: .openMetrics, line: 1, kind: .missingEOF)
        assertFails("a 1\n#EOF\n", as: .openMetrics, line: 2, kind: .unexpectedToken)
    }

    func testOpenMetricsRejectsBlankLinesCommentsAndExtraWhitespace() {
        assertFails("a 1\n\nb 2\n# EOF\n", as: .openMetrics, line: 2, kind: .unexpectedToken)
        assertFails("# a comment\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails(" a 1\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a  1\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a\t1\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a{b=\"c\", d=\"e\"} 1\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a{b=\"c\"d=\"e\"} 1\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a 1 \n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("# HELP m\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
    }

    func testMalformedExemplarFailsOnItsLine() {
        assertFails("a 1\na_total 1 # {a=\"b\"}\n# EOF\n", as: .openMetrics, line: 2, kind: .unexpectedToken)
        assertFails("a_total 1 # {\"x\"} 1\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a_total 1 # {a=\"b\"} 1 2 3\n# EOF\n", as: .openMetrics, line: 1, kind: .unexpectedToken)
        assertFails("a_total 1 # {a=\"b\"} 1 NaN\n# EOF\n", as: .openMetrics, line: 1, kind: .invalidTimestamp)
        // The text format has no exemplars.
        assertFails("a_total 1 # {a=\"b\"} 1\n", as: .prometheusText, line: 1, kind: .unexpectedToken)
    }

    func testUnitMustBeASuffixOfTheFamilyName() {
        let error = assertFails("# UNIT metricseconds seconds\n# EOF\n", as: .openMetrics, line: 1, kind: .unitMismatch)
        XCTAssertEqual(error?.message, #"unit "seconds" not a suffix of metric "metricseconds""#)
        assertFails("# UNIT seconds seconds\n# EOF\n", as: .openMetrics, line: 1, kind: .unitMismatch)
    }

    func testStopsAtTheFirstError() {
        assertFails("a 1\nb x\nc{d=\"\n", as: .prometheusText, line: 2, kind: .invalidValue)
    }

    func testParserIsReusableAfterAnError() throws {
        var parser = ExpositionParser()
        XCTAssertThrowsError(try parser.parse(Array("a{b=\"c\",x 1\n".utf8), format: .prometheusText))
        let parsed = try parser.parse(Array("a{b=\"c\"} 1\n".utf8), format: .prometheusText)

        XCTAssertEqual(parsed.samples, [ScrapedSample(labels: ["__name__": "a", "b": "c"], value: 1)])
    }

    // MARK: Real exporter

    /// Scrapes a real node_exporter (`apt-get install prometheus-node-exporter`; run by
    /// scripts/install-test-deps.sh) on a free loopback port and parses all of it.
    func testParsesALiveNodeExporterScrape() async throws {
        let binary = "/usr/bin/prometheus-node-exporter"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail("\(binary) is not installed: run scripts/install-test-deps.sh or `apt-get install -y prometheus-node-exporter`")
            return
        }
        let port = try freeLoopbackPort()
        let exporter = Process()
        exporter.executableURL = URL(fileURLWithPath: binary)
        exporter.arguments = ["--web.listen-address=127.0.0.1:\(port)"]
        exporter.standardOutput = FileHandle.nullDevice
        exporter.standardError = FileHandle.nullDevice
        try exporter.run()
        defer {
            exporter.terminate()
            exporter.waitUntilExit()
        }

        let (body, contentType) = try await fetchMetrics(port: port)
        var parser = ExpositionParser()
        let parsed = try parser.parse(body, contentType: contentType)

        XCTAssertGreaterThan(parsed.samples.count, 100)
        XCTAssertTrue(parsed.samples.contains { $0.labels[Labels.metricName] == "node_exporter_build_info" })
        XCTAssertTrue(parsed.metadata.contains { $0.family == "node_cpu_seconds_total" && $0.type == .counter })
    }

    private func fetchMetrics(port: Int) async throws -> (body: [UInt8], contentType: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        request.setValue(
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4",
            forHTTPHeaderField: "Accept"
        )
        var lastError: Error?
        for _ in 0..<50 {
            do {
                let (data, response) = try await URLSession.shared.data(for: request)
                let http = try XCTUnwrap(response as? HTTPURLResponse)
                XCTAssertEqual(http.statusCode, 200)
                return (Array(data), http.value(forHTTPHeaderField: "Content-Type"))
            } catch {
                lastError = error
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        throw try XCTUnwrap(lastError)
    }
}
