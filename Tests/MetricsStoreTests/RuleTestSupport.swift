import Foundation
import Synchronization

@testable import MetricsStore

// Test doubles for the rule manager. The PromQL engine is being written separately;
// until it exists, rule tests answer queries from canned vectors keyed by expression.

/// Answers instant queries with canned vectors, keyed by the expression as the PromQL
/// printer writes it; unknown expressions return an empty vector.
final class CannedRuleQuerier: RuleQuerier {
    private let answers = Mutex<[String: [(labels: Labels, value: Double)]]>([:])
    private let failures = Mutex<[String: String]>([:])
    private let queries = Mutex<[(expr: String, time: Int64)]>([])

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func key(_ expr: String) -> String { (try? PromQLParser.parse(expr).description) ?? expr }

    func answer(_ expr: String, _ vector: [(labels: Labels, value: Double)]) {
        answers.withLock { $0[Self.key(expr)] = vector }
        failures.withLock { $0[Self.key(expr)] = nil }
    }

    func fail(_ expr: String, _ message: String) { failures.withLock { $0[Self.key(expr)] = message } }

    var asked: [(expr: String, time: Int64)] { queries.withLock { $0 } }

    func instantVector(_ expr: PromQLExpr, at time: Int64) async throws -> [(labels: Labels, value: Double)] {
        let key = expr.description
        queries.withLock { $0.append((key, time)) }
        if let message = failures.withLock({ $0[key] }) { throw Failure(description: message) }
        return answers.withLock { $0[key] } ?? []
    }
}

/// Keeps every appended sample, in order.
final class RecordingAppender: RuleAppender {
    private let appended = Mutex<[(labels: Labels, sample: Head.Sample)]>([])

    func appendRuleOutput(_ request: [(labels: Labels, samples: [Head.Sample])]) async throws {
        appended.withLock { all in
            for entry in request { for sample in entry.samples { all.append((entry.labels, sample)) } }
        }
    }

    var all: [(labels: Labels, sample: Head.Sample)] { appended.withLock { $0 } }

    func samples(named name: String) -> [(labels: Labels, sample: Head.Sample)] {
        all.filter { $0.labels[Labels.metricName] == name }
    }

    func samples(named name: String, at time: Int64) -> [(labels: Labels, sample: Head.Sample)] {
        samples(named: name).filter { $0.sample.timestamp == time }
    }

    func clear() { appended.withLock { $0 = [] } }
}

/// Collects what the rule manager hands to the notifier.
actor RecordingAlertSender: AlertSender {
    private(set) var batches: [[NotifierAlert]] = []
    func send(_ alerts: [NotifierAlert]) { batches.append(alerts) }
    var all: [NotifierAlert] { batches.flatMap { $0 } }
    func clear() { batches = [] }
}

/// A clock that stands still until the test moves it.
final class ManualRuleClock: RuleClock {
    private let state: Mutex<(now: Int64, sleepers: [(Int64, CheckedContinuation<Void, Never>)])>

    init(now: Int64) { state = Mutex((now, [])) }

    func now() -> Int64 { state.withLock { $0.now } }

    func sleep(until time: Int64) async throws {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if time <= state.now { return true }
                state.sleepers.append((time, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
        try Task.checkCancellation()
    }

    /// Moves time forward and wakes every sleeper whose time has come.
    func advance(to time: Int64) {
        let due = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now = time
            let due = state.sleepers.filter { $0.0 <= time }.map(\.1)
            state.sleepers.removeAll { $0.0 <= time }
            return due
        }
        for continuation in due { continuation.resume() }
    }

    var sleeperCount: Int { state.withLock { $0.sleepers.count } }
}

extension RuleFile {
    static func parsing(_ yaml: String, path: String = "/rules/test.yml") throws -> RuleFile {
        try RuleFileParser.parse(yaml, path: path)
    }
}
