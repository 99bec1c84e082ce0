/// The exponential backoff of `retry_on_failure`: each wait is the current interval
/// spread by ±randomization_factor, and the interval grows by `multiplier` up to
/// `max_interval`. A Retry-After from the backend is honoured when it is longer.
struct RetryBackoff {
    let settings: RetrySettings
    private var interval: Double
    private var elapsed: Double = 0

    init(settings: RetrySettings) {
        self.settings = settings
        self.interval = settings.initialInterval.seconds
    }

    /// The next wait in seconds, or nil when `max_elapsed_time` would be exceeded.
    mutating func nextWait(retryAfter: Duration?, random: Double = Double.random(in: -1...1)) -> Double? {
        guard settings.enabled else { return nil }
        var wait = interval * (1 + settings.randomizationFactor * random)
        if let retryAfter {
            let seconds = Double(retryAfter.components.seconds) + Double(retryAfter.components.attoseconds) / 1e18
            wait = max(wait, seconds)
        }
        let limit = settings.maxElapsedTime.seconds
        if limit > 0, elapsed + wait > limit { return nil }
        elapsed += wait
        interval = min(interval * settings.multiplier, settings.maxInterval.seconds)
        return wait
    }
}
