import XCTest

@testable import MetricsStore

/// Shared set-up of the rule manager tests: canned queries, a recording appender and
/// sender, and a manager loaded from YAML. Holds no tests itself.
class RuleManagerTestCase: XCTestCase {
    let t0: Int64 = 1_700_000_000_000
    let minute: Int64 = 60_000
    var querier = CannedRuleQuerier()
    var appender = RecordingAppender()
    var sender = RecordingAlertSender()

    override func setUp() {
        querier = CannedRuleQuerier()
        appender = RecordingAppender()
        sender = RecordingAlertSender()
    }

    func manager(_ yaml: String, options: RuleManager.Options = RuleManager.Options(), restoring: Bool = false) async throws -> RuleManager {
        let manager = RuleManager(querier: querier, appender: appender, sender: sender, clock: ManualRuleClock(now: t0))
        if !restoring {
            // The first load restores `for` state; most tests start from a warm manager.
            await manager.update(ruleFiles: [], options: options)
        }
        await manager.update(ruleFiles: [try RuleFile.parsing(yaml)], options: options)
        return manager
    }

    static let staleNaN = Double(bitPattern: 0x7ff0_0000_0000_0002)

    /// Runs assertions on the manager's pending and firing alerts (XCTAssert's
    /// autoclosures cannot await).
    func withAlerts(_ m: RuleManager, _ body: ([RulesAPI.AlertJSON]) -> Void) async {
        body(RulesAPI.alerts(await m.snapshot()).alerts)
    }
}

extension UInt64 {
    func remainder(_ modulus: Int64) -> Int64 { Int64(self % UInt64(modulus)) }
}

