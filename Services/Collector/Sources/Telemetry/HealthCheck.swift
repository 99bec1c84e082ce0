import Foundation
import Hummingbird
import Logging
import VigilService

/// The `health_check` extension: GET on its path answers 200 with otelcol's JSON shape
/// while the collector runs.
enum HealthCheck {
    static func application(endpoint: HostPort, path: String, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        let started = Date()
        router.get(RouterPath(path)) { _, _ -> Response in
            let uptime = Date().timeIntervalSince(started)
            let body = #"{"status":"Server available","upSince":"\#(ISO8601DateFormatter().string(from: started))","uptime":"\#(String(format: "%.3fs", uptime))"}"#
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        return Application(router: router, configuration: .init(address: .init(endpoint)), logger: logger)
    }
}
