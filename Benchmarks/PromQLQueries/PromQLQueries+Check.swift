import ArgumentParser
import AsyncHTTPClient
import Foundation
import MetricsStore
import NIOCore

/// Comparing the engine's answers with Prometheus's on the benchmark's data.
extension PromQLQueries {
    /// Answers with more points than this are not compared (the two `/` queries return
    /// 14 M points, hundreds of MB of JSON).
    static let checkedPointLimit = 200_000

    /// Each query once more on both sides, at times between samples: Prometheus 2.42
    /// closes range windows on the left while the engine leaves them open (as Prometheus 3
    /// does), so a sample exactly on a window's start would count on one side only. Range
    /// queries are compared from 10 minutes into the data: where a `rate` window reaches
    /// back to a counter's first samples, 2.42 clamps the extrapolation at the counter's
    /// zero point before its threshold test and Prometheus 3 (and the engine) after it.
    /// Returns a description of every difference (empty when all answers are equal:
    /// same series, same timestamps, values equal to 1e-9 relative).
    func compareAnswers(_ engine: PromQLEngine, _ peer: Peer) async throws -> [String] {
        var differences: [String] = []
        let shift: Int64 = 7_500
        let warmUp: Int64 = 600_000
        for query in queries {
            let ours: PromQLValue
            if query.range {
                ours = try await engine.rangeQuery(query.text, start: start + warmUp - shift, end: end - shift, step: Self.interval).value
            } else {
                ours = try await engine.instantQuery(query.text, at: end - shift).value
            }
            let points: [String: [(Int64, Double)]]
            switch ours {
            case .vector(let samples): points = Dictionary(uniqueKeysWithValues: samples.map { ($0.labels.description, [($0.timestamp, $0.value)]) })
            case .matrix(let series): points = Dictionary(uniqueKeysWithValues: series.map { ($0.labels.description, $0.points.map { ($0.timestamp, $0.value) }) })
            default: points = [:]
            }
            guard points.values.reduce(0, { $0 + $1.count }) <= Self.checkedPointLimit else {
                print("not compared (too large): \(query.text)")
                continue
            }
            let theirs = try await answer(peer.client, query, from: start + warmUp - shift, at: end - shift)
            if let difference = Self.difference(points, theirs) {
                differences.append("\(query.text) (\(query.range ? "range" : "instant")): \(difference)")
            }
        }
        return differences
    }

    /// Prometheus's answer (range queries from `from`), as label set → points (ms, value).
    func answer(_ client: HTTPClient, _ query: Query, from first: Int64, at last: Int64) async throws -> [String: [(Int64, Double)]] {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/\(query.range ? "query_range" : "query")")!
        var items = [URLQueryItem(name: "query", value: query.text)]
        if query.range {
            items += [URLQueryItem(name: "start", value: "\(Double(first) / 1000)"),
                      URLQueryItem(name: "end", value: "\(Double(last) / 1000)"), URLQueryItem(name: "step", value: "15")]
        } else {
            items.append(URLQueryItem(name: "time", value: "\(Double(last) / 1000)"))
        }
        components.queryItems = items
        var request = HTTPClientRequest(url: components.url!.absoluteString.replacingOccurrences(of: "+", with: "%2B"))
        request.headers.add(name: "Accept-Encoding", value: "identity")
        let response = try await client.execute(request, timeout: .seconds(300))
        let body = try await response.body.collect(upTo: 1 << 28)
        guard let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else {
            throw ValidationError("unexpected answer from Prometheus for \(query.text)")
        }
        var out: [String: [(Int64, Double)]] = [:]
        for entry in result {
            let labels = Labels(entry["metric"] as? [String: String] ?? [:])
            let raw = (entry["values"] as? [[Any]]) ?? (entry["value"] as? [Any]).map { [$0] } ?? []
            out[labels.description] = raw.map { point in
                let seconds = point.first as? Double ?? .nan
                let value = Double(point.last as? String ?? "") ?? .nan
                return (Int64((seconds * 1000).rounded()), value)
            }
        }
        return out
    }

    /// The first difference between two answers, or nil when they are equal.
    static func difference(_ ours: [String: [(Int64, Double)]], _ theirs: [String: [(Int64, Double)]]) -> String? {
        guard Set(ours.keys) == Set(theirs.keys) else {
            return "series differ: only ours \(Set(ours.keys).subtracting(theirs.keys).sorted().prefix(3)), only theirs \(Set(theirs.keys).subtracting(ours.keys).sorted().prefix(3))"
        }
        for (labels, points) in ours {
            let other = theirs[labels]!
            guard points.map(\.0) == other.map(\.0) else { return "\(labels): timestamps differ" }
            for ((t, a), (_, b)) in zip(points, other) {
                let equal = (a.isNaN && b.isNaN) || a == b || abs(a - b) <= 1e-9 * max(abs(a), abs(b))
                if !equal { return "\(labels) at \(t): \(a) vs \(b)" }
            }
        }
        return nil
    }
}
