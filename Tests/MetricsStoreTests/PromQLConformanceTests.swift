import Foundation
import XCTest
@testable import MetricsStore

/// Runs every upstream PromQL test script in `shared/conformance/promql` (override with
/// `VIGIL_PROMQL_CONFORMANCE_DIR`). Every case of a core script must pass; skips are
/// allowed only for native histograms, each printed with its reason.
final class PromQLConformanceTests: XCTestCase {
    static func conformanceDirectory() -> URL? {
        if let override = ProcessInfo.processInfo.environment["VIGIL_PROMQL_CONFORMANCE_DIR"] {
            return URL(fileURLWithPath: override)
        }
        // Tests/MetricsStoreTests/<this file> → repository root → ../shared.
        let repoRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidate = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/conformance/promql")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    func testEveryCoreScriptPasses() async throws {
        guard let directory = Self.conformanceDirectory() else {
            throw XCTSkip("conformance scripts not found; set VIGIL_PROMQL_CONFORMANCE_DIR")
        }
        let only = ProcessInfo.processInfo.environment["VIGIL_PROMQL_CONFORMANCE_FILE"]
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".test") && (only == nil || $0 == only) }.sorted()
        XCTAssertFalse(files.isEmpty, "no .test files in \(directory.path)")
        var totals = (passed: 0, failed: 0, skipped: 0)
        for file in files {
            let outcome = try await PromQLConformanceRunner.run(directory.appendingPathComponent(file))
            let core = !PromQLConformanceRunner.experimentalFiles.contains(file)
            print("\(file) [\(core ? "core" : "experimental")]: \(outcome.passed) passed, \(outcome.failed.count) failed, \(outcome.skipped.count) skipped")
            for skip in outcome.skipped { print("  skipped \(skip)") }
            for failure in outcome.failed { print("  FAILED \(failure)") }
            for error in outcome.scriptErrors { print("  script error \(error)") }
            totals.passed += outcome.passed
            totals.failed += outcome.failed.count
            totals.skipped += outcome.skipped.count
            if core {
                XCTAssertTrue(outcome.scriptErrors.isEmpty, "\(file): script errors \(outcome.scriptErrors)")
                for failure in outcome.failed { XCTFail("\(file) \(failure)") }
            }
        }
        print("total: \(totals.passed) passed, \(totals.failed) failed, \(totals.skipped) skipped")
    }
}
