import XCTest
import VigilService
@testable import Collector

final class CollectorConfigTests: XCTestCase {
    static let fullConfig = """
    extensions:
      health_check:
        endpoint: 0.0.0.0:13133
      file_storage/queue:
        directory: /tmp/vigil-queue
    receivers:
      otlp:
        protocols:
          grpc:
            endpoint: 0.0.0.0:4317
          http:
            endpoint: 0.0.0.0:4318
    processors:
      batch:
        timeout: 5s
        send_batch_size: 1024
        send_batch_max_size: 2048
      memory_limiter:
        check_interval: 1s
        limit_mib: 512
        spike_limit_mib: 128
    exporters:
      prometheusremotewrite:
        endpoint: http://metrics-store:9090/api/v1/write
        resource_to_telemetry_conversion:
          enabled: true
        external_labels:
          cluster: local
      otlphttp/logs:
        endpoint: http://log-store:3100/otlp
      otlp/traces:
        endpoint: trace-store:4317
        tls:
          insecure: true
        sending_queue:
          storage: file_storage/queue
          queue_size: 50
        retry_on_failure:
          initial_interval: 200ms
          max_elapsed_time: 0
      debug:
        verbosity: detailed
    service:
      extensions: [health_check, file_storage/queue]
      telemetry:
        logs:
          level: debug
        metrics:
          address: 0.0.0.0:8888
      pipelines:
        traces:
          receivers: [otlp]
          processors: [memory_limiter, batch]
          exporters: [otlp/traces, debug]
        metrics:
          receivers: [otlp]
          processors: [batch]
          exporters: [prometheusremotewrite]
        logs:
          receivers: [otlp]
          processors: [batch]
          exporters: [otlphttp/logs]
    """

    func testLoadsAFullOtelcolConfig() throws {
        let config = try CollectorConfig.parse(yaml: Self.fullConfig)
        XCTAssertEqual(config.service.pipelines.count, 3)
        guard case .otlp(let otlp)? = config.receivers[ComponentID(type: "otlp")] else { return XCTFail("no otlp receiver") }
        XCTAssertEqual(otlp.grpc?.endpoint, HostPort(host: "0.0.0.0", port: 4317))
        XCTAssertEqual(otlp.http?.endpoint.port, 4318)
        guard case .batch(let batch)? = config.processors[ComponentID(type: "batch")] else { return XCTFail("no batch") }
        XCTAssertEqual(batch.timeout, .seconds(5))
        XCTAssertEqual(batch.sendBatchSize, 1024)
        XCTAssertEqual(batch.sendBatchMaxSize, 2048)
        let traces = try XCTUnwrap(config.exporters[ComponentID(type: "otlp", name: "traces")])
        XCTAssertEqual(traces.queue.storage, ComponentID(type: "file_storage", name: "queue"))
        XCTAssertEqual(traces.queue.queueSize, 50)
        XCTAssertEqual(traces.retry.initialInterval, .milliseconds(200))
        XCTAssertEqual(traces.retry.maxElapsedTime.nanoseconds, 0)
        guard case .remoteWrite(let rw) = try XCTUnwrap(config.exporters[ComponentID(type: "prometheusremotewrite")]).kind else {
            return XCTFail("not remote write")
        }
        XCTAssertTrue(rw.resourceToTelemetry)
        XCTAssertEqual(rw.externalLabels, ["cluster": "local"])
        XCTAssertEqual(rw.endpoint.absoluteString, "http://metrics-store:9090/api/v1/write")
        guard case .otlpHTTP(let endpoints, _, _) = try XCTUnwrap(config.exporters[ComponentID(type: "otlphttp", name: "logs")]).kind else {
            return XCTFail("not otlphttp")
        }
        XCTAssertEqual(endpoints.logs?.absoluteString, "http://log-store:3100/otlp/v1/logs")
        XCTAssertEqual(config.service.telemetry.logLevel, "debug")
    }

    func testProtocolWithNoValueMeansDefaults() throws {
        let config = try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols:
              grpc:
              http:
        exporters:
          debug:
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [debug]}
        """)
        guard case .otlp(let otlp)? = config.receivers[ComponentID(type: "otlp")] else { return XCTFail() }
        XCTAssertEqual(otlp.grpc?.endpoint.port, 4317)
        XCTAssertEqual(otlp.http?.endpoint.port, 4318)
    }

    func testUnknownKeyIsNamedWithItsPath() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols:
              grpc:
                endpiont: 0.0.0.0:4317
        exporters:
          debug:
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [debug]}
        """, file: "bad.yaml")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("bad.yaml: receivers.otlp.protocols.grpc.endpiont"), text)
            XCTAssertTrue(text.contains("unknown key \"endpiont\""), text)
        }
    }

    func testUnknownComponentTypeIsRefused() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          zipkin:
        exporters:
          debug:
        service:
          pipelines:
            traces: {receivers: [zipkin], exporters: [debug]}
        """)) { error in
            XCTAssertTrue("\(error)".contains("unknown receiver type \"zipkin\""), "\(error)")
        }
    }

    func testPipelineReferencingMissingExporterIsRefused() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols: {http: }
        exporters:
          debug:
        service:
          pipelines:
            logs: {receivers: [otlp], exporters: [otlphttp]}
        """)) { error in
            XCTAssertTrue("\(error)".contains("service.pipelines.logs.exporters: references exporter \"otlphttp\" which is not configured"), "\(error)")
        }
    }

    func testRemoteWriteExporterRefusedInTracesPipeline() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols: {grpc: }
        exporters:
          prometheusremotewrite:
            endpoint: http://localhost:9090/api/v1/write
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [prometheusremotewrite]}
        """)) { error in
            XCTAssertTrue("\(error)".contains("does not support traces"), "\(error)")
        }
    }

    func testBadDurationNamesTheKey() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols: {grpc: }
        processors:
          batch:
            timeout: 5 parsecs
        exporters:
          debug:
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
        """)) { error in
            XCTAssertTrue("\(error)".contains("processors.batch.timeout"), "\(error)")
        }
    }

    func testBatchMaxSmallerThanSizeIsRefused() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols: {grpc: }
        processors:
          batch:
            send_batch_size: 100
            send_batch_max_size: 10
        exporters:
          debug:
        service:
          pipelines:
            traces: {receivers: [otlp], processors: [batch], exporters: [debug]}
        """))
    }

    func testExporterKeyOfAnotherTypeIsRefused() {
        XCTAssertThrowsError(try CollectorConfig.parse(yaml: """
        receivers:
          otlp:
            protocols: {grpc: }
        exporters:
          otlp:
            endpoint: localhost:4317
            tls: {insecure: true}
            namespace: foo
        service:
          pipelines:
            traces: {receivers: [otlp], exporters: [otlp]}
        """)) { error in
            XCTAssertTrue("\(error)".contains("exporters.otlp.namespace"), "\(error)")
        }
    }

    func testGoDurations() throws {
        XCTAssertEqual(try GoDuration(parsing: "200ms").nanoseconds, 200_000_000)
        XCTAssertEqual(try GoDuration(parsing: "1m30s").nanoseconds, 90_000_000_000)
        XCTAssertEqual(try GoDuration(parsing: "1.5h").nanoseconds, 5_400_000_000_000)
        XCTAssertEqual(try GoDuration(parsing: "0").nanoseconds, 0)
        XCTAssertThrowsError(try GoDuration(parsing: "10"))
        XCTAssertThrowsError(try GoDuration(parsing: "5d"))
    }
}
