import Foundation
import Hummingbird
import NIOCore
import OTLP
import PrometheusRemoteWrite

/// The HTTP API: remote write receiver, the metadata endpoints of Prometheus's API v1,
/// status endpoints and the /-/ready and /-/healthy probes, in Prometheus's shapes.
struct MetricsStoreRoutes: Sendable {
    let tsdb: TSDB
    let options: MetricsStoreOptions
    let reloader: ConfigReloader
    let scrapeManager: ScrapeManager
    let queryEngine: PromQLEngine
    let queryGate: QueryGate
    let startTime = Date()

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/v1/write") { request, _ in await self.write(request) }
        addQueryRoutes(to: router)
        router.post("/api/v1/otlp/v1/metrics") { request, _ in await self.otlpWrite(request) }
        router.get("/api/v1/metadata") { request, _ in await self.metadata(request) }
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/api/v1/query_exemplars", method: method) { request, _ in await self.queryExemplars(request) }
        }
        router.get("/federate") { request, _ in await self.federate(request) }
        router.get("/api/v1/status/config") { _, _ in self.config() }
        router.get("/api/v1/targets") { request, _ in await self.targets(request) }
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/-/reload", method: method) { _, _ in await self.reload() }
        }
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
        router.get("/api/v1/status/tsdb") { request, _ in self.tsdbStatus(request) }
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
            decoded = try RemoteWriteIngest.decode(body: buffer.readableBytesView, maxDecodedBytes: options.maxRequestBytes * 8)
        } catch {
            return plain(.badRequest, error.description)
        }
        if let failure = await store(decoded) { return failure }
        return Response(status: .noContent)
    }

    /// Appends decoded series; returns the error answer, or nil when stored.
    func store(_ decoded: RemoteWriteIngest.Decoded) async -> Response? {
        do {
            try await tsdb.append(decoded.batch, exemplars: decoded.exemplars)
        } catch {
            switch error {
            case .rejected(let reason): return plain(.badRequest, reason.description)
            case .wal: return plain(.internalServerError, error.description)
            }
        }
        for entry in decoded.metadata {
            tsdb.metadata.set(entry.metricFamilyName, .init(type: Self.typeName(entry.type), help: entry.help, unit: entry.unit))
        }
        return nil
    }

    static func typeName(_ type: MetricMetadata.MetricType) -> String {
        switch type {
        case .counter: return "counter"
        case .gauge: return "gauge"
        case .histogram: return "histogram"
        case .gaugehistogram: return "gaugehistogram"
        case .summary: return "summary"
        case .info: return "info"
        case .stateset: return "stateset"
        default: return "unknown"
        }
    }

    // MARK: OTLP

    func otlpWrite(_ request: Request) async -> Response {
        var body = request.body
        guard let buffer = try? await body.collect(upTo: options.maxRequestBytes) else {
            return plain(.contentTooLarge, "request body is larger than \(options.maxRequestBytes) bytes")
        }
        let otlp: ExportMetricsServiceRequest
        do {
            otlp = try OTLPMetricsIngest.decode(buffer, contentType: request.headers[.contentType],
                                                contentEncoding: request.headers[.contentEncoding], limit: options.maxRequestBytes * 8)
        } catch {
            if case .unsupportedContentType = error { return plain(.unsupportedMediaType, error.description) }
            return plain(.badRequest, error.description)
        }
        let (decoded, translation) = OTLPMetricsIngest.translate(otlp)
        if let failure = await store(decoded) { return failure }
        var reply = ExportMetricsServiceResponse()
        if translation.droppedDataPoints > 0 {
            reply.partialSuccess.rejectedDataPoints = Int64(translation.droppedDataPoints)
            reply.partialSuccess.errorMessage = translation.errors.prefix(3).joined(separator: "; ")
        }
        let bytes: [UInt8] = (try? reply.serializedBytes()) ?? []
        return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Metadata, exemplars, federation

    func metadata(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        var entries = tsdb.metadata.all()
        if let metric = params["metric"], !metric.isEmpty { entries = entries.filter { $0.key == metric } }
        var names = entries.keys.sorted()
        if let text = params["limit"], let limit = Int(text), limit > 0 { names = Array(names.prefix(limit)) }
        var data: [String: Any] = [:]
        for name in names {
            let e = entries[name]!
            data[name] = [["type": e.type, "help": e.help, "unit": e.unit]]
        }
        return APIResponse.success(data)
    }

    func queryExemplars(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do {
            guard let query = params["query"], !query.isEmpty else {
                throw APIResponse.Failure(.badData, "invalid parameter \"query\": query is empty")
            }
            let selectors: [[LabelMatcher]]
            do { selectors = try SeriesSelector.selectors(inQuery: query) } catch {
                throw APIResponse.Failure(.badData, "invalid parameter \"query\": \(error)")
            }
            let (start, end) = try Self.range(params)
            let groups = tsdb.exemplars.query(selectors, start: start, end: end)
            return APIResponse.success(groups.map { group in
                [
                    "seriesLabels": Self.labelDictionary(group.series),
                    "exemplars": group.exemplars.map { e in
                        ["labels": Self.labelDictionary(e.labels), "value": PrometheusNumber.format(e.value),
                         "timestamp": Double(e.timestamp) / 1000] as [String: Any]
                    },
                ] as [String: Any]
            })
        } catch {
            return APIResponse.error(error)
        }
    }

    /// /federate: the newest sample (within the lookback window) of every matching series,
    /// in the text exposition format.
    func federate(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        let selectors: [[LabelMatcher]]
        do { selectors = try Self.selectors(params.all("match[]")) } catch {
            return plain(.badRequest, error.message)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let lookback: Int64 = 5 * 60 * 1000
        // Federated series carry the external labels they lack, so the federating server
        // can tell where they came from (a series' own value wins, as in Prometheus).
        let external = reloader.loaded.config.global.externalLabels
        var lines: [String] = []
        var seen = Set<Labels>()
        var lastFamily = ""
        for matchers in selectors {
            for (labels, samples) in tsdb.head.select(matchers, mint: now - lookback, maxt: now) where !seen.contains(labels) {
                seen.insert(labels)
                guard let last = samples.last, !last.value.isStaleMarker else { continue }
                let name = labels["__name__"] ?? ""
                if name != lastFamily {
                    lines.append("# TYPE \(name) untyped")
                    lastFamily = name
                }
                var exported = Self.labelDictionary(labels)
                for (name, value) in external where exported[name] == nil { exported[name] = value }
                let rest = exported.filter { $0.key != "__name__" }.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",")
                lines.append("\(name){\(rest)} \(PrometheusNumber.formatText(last.value)) \(last.timestamp)")
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n"))))
    }

    func config() -> Response {
        APIResponse.success(["yaml": reloader.loaded.yaml])
    }

    static func labelDictionary(_ labels: Labels) -> [String: String] {
        Dictionary(uniqueKeysWithValues: labels.map { ($0.name, $0.value) })
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    // MARK: Metadata API

    func series(_ request: Request) async -> Response {
        let params = await APIParameters.read(request)
        do {
            let selectors = try Self.selectors(params.all("match[]"))
            guard !selectors.isEmpty else { return APIResponse.error(.init(.badData, "no match[] parameter provided")) }
            let (start, end) = try Self.range(params)
            let series = try tsdb.series(matching: selectors, mint: start, maxt: end)
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
            let series = try tsdb.series(matching: selectors.isEmpty ? [[Self.anySeries]] : selectors, mint: start, maxt: end)
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
            let series = try tsdb.series(matching: selectors.isEmpty ? [[Self.anySeries]] : selectors, mint: start, maxt: end)
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
            "reloadConfigSuccess": reloader.loaded.lastReloadSucceeded,
            "lastConfigTime": formatter.string(from: reloader.loaded.time),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": ProcessInfo.processInfo.activeProcessorCount,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": options.retentionDescription,
        ] as [String: Any])
    }

    /// Head statistics and the cardinality lists (`limit` entries each, default 10).
    func tsdbStatus(_ request: Request) -> Response {
        let limitText = request.uri.queryParameters["limit"].map(String.init) ?? "10"
        guard let limit = Int(limitText), limit > 0 else {
            return APIResponse.error(.init(.badData, "limit must be a positive number"))
        }
        let stats = CardinalityStats(tsdb.head.postings, limit: limit)
        let range = tsdb.head.timeRange
        func list(_ entries: [CardinalityStats.Entry]) -> [[String: Any]] {
            entries.map { ["name": $0.name, "value": $0.value] }
        }
        return APIResponse.success([
            "headStats": [
                "numSeries": tsdb.head.seriesCount,
                "numLabelPairs": stats.numLabelPairs,
                "chunkCount": tsdb.head.chunkCount,
                "minTime": range?.min ?? Int64.max,
                "maxTime": range?.max ?? Int64.min,
            ] as [String: Any],
            "seriesCountByMetricName": list(stats.seriesCountByMetricName),
            "labelValueCountByLabelName": list(stats.labelValueCountByLabelName),
            "memoryInBytesByLabelName": list(stats.memoryInBytesByLabelName),
            "seriesCountByLabelValuePair": list(stats.seriesCountByLabelValuePair),
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
