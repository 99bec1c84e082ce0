import Foundation
import Hummingbird
import NIOCore

/// /api/v1/targets and /-/reload, in Prometheus's shapes and wording.
extension MetricsStoreRoutes {
    /// Prometheus's answers: 403 without --web.enable-lifecycle, 500 with the error text
    /// when the file is bad (the running configuration stays), 200 otherwise.
    func reload() async -> Response {
        guard options.lifecycleEnabled else { return plain(.forbidden, "Lifecycle API is not enabled.") }
        do {
            try await reloader.reload()
        } catch {
            return plain(.internalServerError, "failed to reload config: \(error)")
        }
        return Response(status: .ok)
    }

    func targets(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        let state = (params["state"] ?? "").lowercased()
        let showActive = state.isEmpty || state == "any" || state == "active"
        let showDropped = state.isEmpty || state == "any" || state == "dropped"
        let snapshot = await scrapeManager.snapshot()
        let poolFilter = params.all("scrapePool").filter { !$0.isEmpty }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let globalBase = "http://\(Self.hostname()):\(options.listenAddress.split(separator: ":").last ?? "9090")"
        let active: [[String: Any]] = !showActive ? [] : snapshot.active
            .filter { poolFilter.isEmpty || poolFilter.contains($0.target.job) }
            .map { entry in
                [
                    "discoveredLabels": Self.labelDictionary(entry.target.discoveredLabels),
                    "labels": Self.labelDictionary(entry.target.labels),
                    "scrapePool": entry.target.job,
                    "scrapeUrl": entry.target.url,
                    "globalUrl": Self.globalURL(entry.target.url, fallbackHost: globalBase),
                    "lastError": entry.lastError,
                    // Go's zero time when never scraped, as Prometheus shows it.
                    "lastScrape": entry.lastScrape.map { formatter.string(from: $0) } ?? "0001-01-01T00:00:00Z",
                    "lastScrapeDuration": entry.lastDuration,
                    "health": entry.health,
                    "scrapeInterval": entry.interval.description,
                    "scrapeTimeout": entry.timeout.description,
                ] as [String: Any]
            }
        let droppedPools = snapshot.dropped.filter { poolFilter.isEmpty || poolFilter.contains($0.key) }
        let dropped: [[String: Any]] = !showDropped ? [] : droppedPools.keys.sorted().flatMap { job in
            droppedPools[job]!.map { ["discoveredLabels": Self.labelDictionary($0)] as [String: Any] }
        }
        var data: [String: Any] = ["activeTargets": active, "droppedTargets": dropped]
        data["droppedTargetCounts"] = Dictionary(uniqueKeysWithValues: snapshot.dropped.map { ($0.key, $0.value.count) })
        return APIResponse.success(data)
    }

    /// Prometheus's `globalURL`: a target on a loopback address is shown with this
    /// host's name so the link works from elsewhere.
    static func globalURL(_ url: String, fallbackHost: String) -> String {
        guard var components = URLComponents(string: url), let host = components.host else { return url }
        if host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]" {
            components.host = hostname()
        }
        return components.string ?? url
    }

    static func hostname() -> String { ProcessInfo.processInfo.hostName }
}
