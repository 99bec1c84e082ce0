import Foundation
import Hummingbird
import NIOCore

/// /api/v1/query, /api/v1/query_range, /api/v1/format_query and /api/v1/parse_query, with
/// Prometheus's parameters, limits and error answers.
extension MetricsStoreRoutes {
    func addQueryRoutes<Context: RequestContext>(to router: Router<Context>) {
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/api/v1/query", method: method) { request, _ in await self.instantQuery(request) }
            router.on("/api/v1/query_range", method: method) { request, _ in await self.rangeQuery(request) }
            router.on("/api/v1/format_query", method: method) { request, _ in await self.formatQuery(request) }
            router.on("/api/v1/parse_query", method: method) { request, _ in await self.parseQuery(request) }
        }
    }

    func instantQuery(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do throws(APIResponse.Failure) {
            let limit = try Self.limit(params["limit"])
            let time = try APITime.parse(params["time"], name: "time", default: Self.now())
            let engine = try engine(timeout: params["timeout"])
            let query = params["query"] ?? ""
            return try await answer(limit: limit, stats: params["stats"], start: time, step: 1) {
                try await engine.instantQuery(query, at: time)
            }
        } catch {
            return APIResponse.error(error)
        }
    }

    func rangeQuery(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do throws(APIResponse.Failure) {
            let limit = try Self.limit(params["limit"])
            let start = try APITime.parse(params["start"], name: "start")
            let end = try APITime.parse(params["end"], name: "end")
            guard end >= start else {
                throw APIResponse.Failure(.badData, "invalid parameter \"end\": end timestamp must not be before start time")
            }
            let step = try Self.duration(params["step"], name: "step")
            guard step > 0 else {
                throw APIResponse.Failure(.badData, "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
            }
            guard (end - start) / step <= 11_000 else {
                throw APIResponse.Failure(.badData, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
            }
            let engine = try engine(timeout: params["timeout"])
            let query = params["query"] ?? ""
            return try await answer(limit: limit, stats: params["stats"], start: start, step: step) {
                try await engine.rangeQuery(query, start: start, end: end, step: step)
            }
        } catch {
            return APIResponse.error(error)
        }
    }

    func formatQuery(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do {
            let expr = try queryEngine.parse(params["query"] ?? "")
            return APIResponse.success(expr.description)
        } catch {
            return APIResponse.error(.init(.badData, "invalid parameter \"query\": \(error)"))
        }
    }

    /// The syntax tree as JSON, in a shape of our own (Prometheus's is internal to its UI).
    func parseQuery(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do {
            let expr = try queryEngine.parse(params["query"] ?? "")
            return APIResponse.success(["type": "\(expr.type.documentedName)", "expr": expr.description])
        } catch {
            return APIResponse.error(.init(.badData, "invalid parameter \"query\": \(error)"))
        }
    }

    // MARK: Evaluation

    /// Runs the query within the concurrency gate and writes the answer; engine errors
    /// become Prometheus's error types and status codes. `start` and `step` place the
    /// per-step statistics (`stats=all`).
    private func answer(limit: Int, stats: String?, start: Int64, step: Int64,
                        _ run: @Sendable @escaping () async throws -> PromQLQueryResult) async throws(APIResponse.Failure) -> Response {
        let queued = ContinuousClock.now
        let result: PromQLQueryResult
        let began: ContinuousClock.Instant
        do {
            (result, began) = try await queryGate.run {
                let began = ContinuousClock.now
                return (try await run(), began)
            }
        } catch let error as PromQLError {
            switch error {
            case .parse: throw APIResponse.Failure(.badData, "invalid parameter \"query\": \(error)")
            case .execution, .tooManySamples: throw APIResponse.Failure(.execution, error.description)
            case .timeout: throw APIResponse.Failure(.timeout, error.description)
            case .canceled: throw APIResponse.Failure(.canceled, error.description)
            }
        } catch is QueryGate.Full {
            throw APIResponse.Failure(.unavailable, "too many queries are waiting; try again later")
        } catch {
            throw APIResponse.Failure(.internalError, "\(error)")
        }
        var truncated = result
        var warnings = result.warnings
        if limit > 0 {
            switch result.value {
            case .vector(let samples) where samples.count > limit:
                truncated.value = .vector(Array(samples.prefix(limit)))
                warnings.append("results truncated due to limit")
            case .matrix(let series) where series.count > limit:
                truncated.value = .matrix(Array(series.prefix(limit)))
                warnings.append("results truncated due to limit")
            default: break
            }
        }
        var statsJSON: String?
        if let stats, !stats.isEmpty {
            statsJSON = QueryStatsJSON.render(result.stats, perStep: stats == "all", start: start, step: step,
                                              seconds: Self.seconds(ContinuousClock.now - began), queueSeconds: Self.seconds(began - queued))
        }
        let body = QueryResultJSON.success(truncated, warnings: warnings, infos: result.infos, stats: statsJSON)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The shared engine, or one with the request's shorter `timeout`.
    private func engine(timeout text: String?) throws(APIResponse.Failure) -> PromQLEngine {
        guard let text, !text.isEmpty else { return queryEngine }
        let ms = try Self.duration(text, name: "timeout")
        var options = queryEngine.options
        options.timeout = min(options.timeout, .milliseconds(ms))
        return PromQLEngine(storage: queryEngine.storage, options: options)
    }

    // MARK: Parameters

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func limit(_ text: String?) throws(APIResponse.Failure) -> Int {
        guard let text, !text.isEmpty else { return 0 }
        guard let value = Int(text) else {
            throw APIResponse.Failure(.badData, "invalid parameter \"limit\": strconv.Atoi: parsing \"\(text)\": invalid syntax")
        }
        guard value >= 0 else { throw APIResponse.Failure(.badData, "invalid parameter \"limit\": limit must be non-negative") }
        return value
    }

    /// A duration as Prometheus's API reads one: float seconds or a duration like `1m30s`;
    /// milliseconds.
    static func duration(_ text: String?, name: String) throws(APIResponse.Failure) -> Int64 {
        let text = text ?? ""
        if let seconds = Double(text), seconds.isFinite {
            guard abs(seconds) < 9.2e9 else {
                throw APIResponse.Failure(.badData, "invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid duration. It overflows int64")
            }
            return Int64((seconds * 1000).rounded())
        }
        if let duration = try? PrometheusDuration(parsing: text) { return duration.milliseconds }
        throw APIResponse.Failure(.badData, "invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid duration")
    }
}
