import Foundation
import Hummingbird
import NIOCore

/// The HTTP API: remote write receiver, the metadata endpoints of Prometheus's API v1,
/// status endpoints and the /-/ready and /-/healthy probes, in Prometheus's shapes.
struct MetricsStoreRoutes: Sendable {
    let tsdb: TSDB
    let options: MetricsStoreOptions
    let startTime = Date()

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/v1/write") { request, _ in await self.write(request) }
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/api/v1/series", method: method) { request, _ in await self.series(request) }
            router.on("/api/v1/labels", method: method) { request, _ in await self.labelNames(request) }
        }
        router.get("/api/v1/label/{name}/values") { request, context in
            await self.labelValues(request, name: context.parameters.get("name") ?? "")
        }
        router.get("/api/v1/status/buildinfo") { _, _ in APIResponse.success(BuildInfo.json) }
        router.get("/api/v1/status/flags") { _, _ in APIResponse.success(options.flagValues) }
        router.get("/api/v1/status/runtimeinfo") { _, _ in self.runtimeInfo() }
        router.get("/api/v1/status/tsdb") { _, _ in self.tsdbStatus() }
        router.get("/-/healthy") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "Prometheus Server is Healthy.\n"))) }
        router.get("/-/ready") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "Prometheus Server is Ready.\n"))) }
    }

    // MARK: Remote write

    /// Prometheus's answers: 204 when stored, 400 for input a retry cannot fix (bad snappy,
    /// bad protobuf, out-of-order or duplicate samples), 500 when storing failed.
    func write(_ request: Request) async -> Response {
        guard options.remoteWriteReceiverEnabled else {
            return plain(.notFound, "remote write receiver needs to be enabled with --web.enable-remote-write-receiver")
        }
        if let encoding = request.headers[.contentEncoding], !encoding.isEmpty, encoding.lowercased() != "snappy" {
            return plain(.unsupportedMediaType, "unsupported compression: \(encoding); only snappy is supported")
        }
        var body = request.body
        guard let buffer = try? await body.collect(upTo: options.maxRequestBytes) else {
            return plain(.contentTooLarge, "request body is larger than \(options.maxRequestBytes) bytes")
        }
        let decoded: RemoteWriteIngest.Decoded
        do {
            decoded = try RemoteWriteIngest.decode(body: Array(buffer: buffer), maxDecodedBytes: options.maxRequestBytes * 8)
        } catch {
            return plain(.badRequest, error.description)
        }
        do {
            try await tsdb.append(decoded.series)
        } catch {
            switch error {
            case .rejected(let reason): return plain(.badRequest, reason.description)
            case .wal: return plain(.internalServerError, error.description)
            }
        }
        return Response(status: .noContent)
    }

    // MARK: Metadata API

    func series(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do {
            let selectors = try Self.selectors(params.all("match[]"))
            guard !selectors.isEmpty else { return APIResponse.error(.init(.badData, "no match[] parameter provided")) }
            let (start, end) = try Self.range(params)
            let series = tsdb.head.series(matching: selectors, mint: start, maxt: end)
            let limited = try Self.limit(params, series)
            return APIResponse.success(limited.map { labels in Dictionary(uniqueKeysWithValues: labels.map { ($0.name, $0.value) }) })
        } catch {
            return APIResponse.error(error)
        }
    }

    func labelNames(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do {
            let (start, end) = try Self.range(params)
            let selectors = try Self.selectors(params.all("match[]"))
            let series = tsdb.head.series(matching: selectors.isEmpty ? [[Self.anySeries]] : selectors, mint: start, maxt: end)
            let names = Set(series.flatMap { $0.names }).sorted()
            return APIResponse.success(try Self.limit(params, names))
        } catch {
            return APIResponse.error(error)
        }
    }

    func labelValues(_ request: Request, name: String) async -> Response {
        let params = await APIParameters.read(request)
        do {
            let (start, end) = try Self.range(params)
            let selectors = try Self.selectors(params.all("match[]"))
            let series = tsdb.head.series(matching: selectors.isEmpty ? [[Self.anySeries]] : selectors, mint: start, maxt: end)
            let values = Set(series.compactMap { $0[name] }).sorted()
            return APIResponse.success(try Self.limit(params, values))
        } catch {
            return APIResponse.error(error)
        }
    }

    // MARK: Status

    func runtimeInfo() -> Response {
        let formatter = ISO8601DateFormatter()
        return APIResponse.success([
            "startTime": formatter.string(from: startTime),
            "CWD": FileManager.default.currentDirectoryPath,
            "reloadConfigSuccess": true,
            "lastConfigTime": formatter.string(from: startTime),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": ProcessInfo.processInfo.activeProcessorCount,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": options.retentionDescription,
        ] as [String: Any])
    }

    func tsdbStatus() -> Response {
        APIResponse.success([
            "headStats": [
                "numSeries": tsdb.head.seriesCount,
                "numLabelPairs": tsdb.head.postings.labelNames().count,
                "chunkCount": 0,
                "minTime": 0,
                "maxTime": 0,
            ] as [String: Any],
            "seriesCountByMetricName": [Any](),
            "labelValueCountByLabelName": [Any](),
            "memoryInBytesByLabelName": [Any](),
            "seriesCountByLabelValuePair": [Any](),
        ] as [String: Any])
    }

    // MARK: Parameters

    static let anySeries = (try? LabelMatcher(.regexMatch, "__name__", ".+"))!

    static func selectors(_ texts: [String]) throws(APIResponse.Failure) -> [[LabelMatcher]] {
        var result: [[LabelMatcher]] = []
        for text in texts {
            do {
                result.append(try SeriesSelector.parse(text))
            } catch {
                throw APIResponse.Failure(.badData, "invalid parameter \"match[]\": \(error)")
            }
        }
        return result
    }

    static func range(_ params: APIParameters) throws(APIResponse.Failure) -> (Int64, Int64) {
        let start = try APITime.parse(params["start"], name: "start", default: APITime.min)
        let end = try APITime.parse(params["end"], name: "end", default: APITime.max)
        guard end >= start else { throw APIResponse.Failure(.badData, "invalid parameter \"end\": end timestamp must not be before start time") }
        return (start, end)
    }

    static func limit<T>(_ params: APIParameters, _ items: [T]) throws(APIResponse.Failure) -> [T] {
        guard let text = params["limit"], !text.isEmpty else { return items }
        guard let limit = Int(text), limit >= 0 else {
            throw APIResponse.Failure(.badData, "invalid parameter \"limit\": cannot parse \"\(text)\" to a valid limit")
        }
        return limit == 0 ? items : Array(items.prefix(limit))
    }

    func plain(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

extension APIResponse {
    static func error(_ error: any Error) -> Response {
        if let failure = error as? Failure { return Self.error(failure) }
        return Self.error(Failure(.internalError, "\(error)"))
    }
}

/// What /api/v1/status/buildinfo reports.
enum BuildInfo {
    static let version = "0.1.0"
    static var json: [String: String] {
        ["version": version, "revision": "", "branch": "", "buildUser": "vigil", "buildDate": "", "goVersion": "swift6"]
    }
}
