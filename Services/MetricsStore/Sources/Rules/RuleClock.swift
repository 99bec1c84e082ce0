import Foundation

/// Wall-clock time for rule evaluation and notification, injectable so tests drive
/// time by hand instead of sleeping.
public protocol RuleClock: Sendable {
    /// Unix milliseconds.
    func now() -> Int64
    /// Returns at or after `time` (Unix milliseconds), or throws when cancelled.
    func sleep(until time: Int64) async throws
}

/// The system clock.
public struct SystemRuleClock: RuleClock {
    public init() {}

    public func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    public func sleep(until time: Int64) async throws {
        let delay = time - now()
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
    }
}
