"""The real OpenTelemetry Python SDK sends traces, logs and metrics through the collector.

One collector for the module: OTLP receiver (gRPC + HTTP), batch (100ms), and
- traces  → `otlp` exporter            → gRPC sink
- logs    → `otlphttp` exporter        → HTTP sink
- metrics → `prometheusremotewrite`    → remote-write sink
What arrives is checked field by field against what the SDK generated. Each test uses its
own service.name so the tests sharing the sinks never see each other's data.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

import grpc
import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from conftest import Collector, GrpcSink, HttpSink, RemoteWriteSink, standard_config, wait_until

DELIVERY_TIMEOUT = 15


@pytest.fixture(scope="module")
def sinks():
    grpc_sink = GrpcSink().start()
    http_sink = HttpSink().start()
    rw_sink = RemoteWriteSink().start()
    yield grpc_sink, http_sink, rw_sink
    grpc_sink.stop()
    http_sink.stop()
    rw_sink.stop()


@pytest.fixture(scope="module")
def collector(sinks, tmp_path_factory):
    grpc_sink, http_sink, rw_sink = sinks
    retry = {"initial_interval": "100ms", "max_interval": "500ms", "max_elapsed_time": "30s"}

    def config(c):
        return standard_config(
            c,
            exporters={
                "otlp": {"endpoint": grpc_sink.endpoint, "tls": {"insecure": True}, "retry_on_failure": retry},
                "otlphttp": {"endpoint": http_sink.base_url, "retry_on_failure": retry},
                "prometheusremotewrite": {"endpoint": f"{rw_sink.base_url}/api/v1/write", "retry_on_failure": retry},
            },
            pipelines={
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp"]},
                "logs": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlphttp"]},
                "metrics": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["prometheusremotewrite"]},
            })

    c = Collector(tmp_path_factory.mktemp("sdk"), config)
    c.start()
    yield c
    c.kill9()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def hex_trace_id(ctx) -> str:
    return format(ctx.trace_id, "032x")


def hex_span_id(ctx) -> str:
    return format(ctx.span_id, "016x")


def any_value(v):
    which = v.WhichOneof("value")
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    return getattr(v, which) if which else None


def attribute_dict(kvs) -> dict:
    return {kv.key: any_value(kv.value) for kv in kvs}


# ---------------------------------------------------------------------------------------
# traces


def _emit_trace(provider: TracerProvider):
    """A SERVER span with a CLIENT child (error status) and an event; returns their contexts."""
    tracer = provider.get_tracer("vigil.test.tracer", "1.2.3")
    with tracer.start_as_current_span("GET /checkout", kind=SpanKind.SERVER,
                                      attributes={"http.method": "GET", "http.status_code": 200, "ratio": 0.25,
                                                  "cached": True, "tags": ["a", "b"]}) as parent:
        parent.add_event("cache.miss", {"cache.key": "user:42", "attempt": 2})
        with tracer.start_as_current_span("SELECT users", kind=SpanKind.CLIENT,
                                          attributes={"db.system": "postgresql"}) as child:
            child.set_status(Status(StatusCode.ERROR, "db timeout"))
        parent.set_status(Status(StatusCode.OK))
    return parent.get_span_context(), child.get_span_context()


def _check_trace(sink: GrpcSink, service: str, parent_ctx, child_ctx):
    def mine():
        got = [(r, s, sp) for r, s, sp in sink.spans()
               if attribute_dict(r.attributes).get("service.name") == service]
        return got if len(got) >= 2 else None

    spans = wait_until(mine, DELIVERY_TIMEOUT, message=f"2 spans of {service} at the gRPC sink")
    assert len(spans) == 2, f"expected exactly 2 spans, got {len(spans)}"
    by_name = {sp.name: (r, s, sp) for r, s, sp in spans}
    assert set(by_name) == {"GET /checkout", "SELECT users"}

    resource, scope, parent = by_name["GET /checkout"]
    assert attribute_dict(resource.attributes)["service.name"] == service
    assert attribute_dict(resource.attributes)["telemetry.sdk.language"] == "python"
    assert scope.name == "vigil.test.tracer"
    assert scope.version == "1.2.3"
    assert parent.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert parent.trace_id.hex() == hex_trace_id(parent_ctx)
    assert parent.span_id.hex() == hex_span_id(parent_ctx)
    assert parent.parent_span_id == b""
    assert attribute_dict(parent.attributes) == {"http.method": "GET", "http.status_code": 200, "ratio": 0.25,
                                                 "cached": True, "tags": ["a", "b"]}
    assert parent.status.code == trace_pb2.Status.STATUS_CODE_OK
    assert len(parent.events) == 1
    assert parent.events[0].name == "cache.miss"
    assert attribute_dict(parent.events[0].attributes) == {"cache.key": "user:42", "attempt": 2}
    assert parent.events[0].time_unix_nano >= parent.start_time_unix_nano
    assert parent.end_time_unix_nano > parent.start_time_unix_nano

    _, _, child = by_name["SELECT users"]
    assert child.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert child.trace_id.hex() == hex_trace_id(child_ctx) == hex_trace_id(parent_ctx)
    assert child.span_id.hex() == hex_span_id(child_ctx)
    assert child.parent_span_id.hex() == hex_span_id(parent_ctx)
    assert attribute_dict(child.attributes) == {"db.system": "postgresql"}
    assert child.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    assert child.status.message == "db timeout"


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip], ids=["plain", "gzip"])
def test_traces_from_sdk_grpc_exporter_reach_grpc_backend(collector, sinks, compression):
    grpc_sink, _, _ = sinks
    service = unique("sdk-traces-grpc")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(GrpcSpanExporter(endpoint=f"http://{collector.grpc_target}",
                                                                    insecure=True, timeout=5,
                                                                    compression=compression)))
    try:
        parent_ctx, child_ctx = _emit_trace(provider)
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
    _check_trace(grpc_sink, service, parent_ctx, child_ctx)


@pytest.mark.parametrize("compression", [HttpCompression.NoCompression, HttpCompression.Gzip], ids=["plain", "gzip"])
def test_traces_from_sdk_http_exporter_reach_grpc_backend(collector, sinks, compression):
    grpc_sink, _, _ = sinks
    service = unique("sdk-traces-http")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(HttpSpanExporter(endpoint=f"{collector.http_url}/v1/traces",
                                                                    timeout=5, compression=compression)))
    try:
        parent_ctx, child_ctx = _emit_trace(provider)
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
    _check_trace(grpc_sink, service, parent_ctx, child_ctx)


# ---------------------------------------------------------------------------------------
# logs


@pytest.mark.filterwarnings("ignore:.*LoggingHandler.*:DeprecationWarning")
def test_logs_from_sdk_logging_handler_carry_trace_context(collector, sinks):
    _, http_sink, _ = sinks
    service = unique("sdk-logs")
    resource = Resource.create({"service.name": service})
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(HttpLogExporter(endpoint=f"{collector.http_url}/v1/logs", timeout=5)))
    tracer_provider = TracerProvider(resource=resource)
    handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    py_logger = logging.getLogger(f"vigil.itest.{service}")
    py_logger.setLevel(logging.INFO)
    py_logger.propagate = False
    py_logger.addHandler(handler)
    try:
        with tracer_provider.get_tracer("vigil.test").start_as_current_span("checkout") as span:
            py_logger.warning("payment failed for %s", "order-42", extra={"order.id": "order-42", "attempt": 3})
        py_logger.info("outside any span")
        assert logger_provider.force_flush(10_000)
    finally:
        py_logger.removeHandler(handler)
        logger_provider.shutdown()
        tracer_provider.shutdown()
    ctx = span.get_span_context()

    def mine():
        got = [(r, s, rec) for r, s, rec in http_sink.log_records()
               if attribute_dict(r.attributes).get("service.name") == service]
        return got if len(got) >= 2 else None

    records = wait_until(mine, DELIVERY_TIMEOUT, message="2 log records at the HTTP sink")
    assert len(records) == 2
    by_body = {rec.body.string_value: (r, s, rec) for r, s, rec in records}
    assert set(by_body) == {"payment failed for order-42", "outside any span"}

    _, scope, warn = by_body["payment failed for order-42"]
    assert scope.name == f"vigil.itest.{service}"
    assert warn.severity_number == logs_pb2.SEVERITY_NUMBER_WARN
    assert warn.severity_text == "WARN"
    attributes = attribute_dict(warn.attributes)
    assert attributes["order.id"] == "order-42"
    assert attributes["attempt"] == 3
    assert warn.trace_id.hex() == hex_trace_id(ctx)
    assert warn.span_id.hex() == hex_span_id(ctx)
    assert warn.flags & 0xFF == int(ctx.trace_flags)  # the span's W3C trace flags (sampled)
    assert warn.flags & 0x01 == 1
    assert warn.time_unix_nano > 0

    _, _, info = by_body["outside any span"]
    assert info.severity_number == logs_pb2.SEVERITY_NUMBER_INFO
    assert info.severity_text == "INFO"
    assert info.trace_id == b""
    assert info.span_id == b""

    # The otlphttp exporter's request shape (it compresses with gzip by default).
    request = next(r for r in http_sink.accepted("/v1/logs")
                   if any(attribute_dict(rl.resource.attributes).get("service.name") == service
                          for rl in r.message.resource_logs))
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers.get("content-encoding") == "gzip"


# ---------------------------------------------------------------------------------------
# metrics → Prometheus remote write


def _metrics_resource(service: str, extra: dict | None = None) -> Resource:
    return Resource.create({"service.name": service, "service.namespace": "shop",
                            "service.instance.id": "instance-7", "deployment.environment": "itest",
                            **(extra or {})})


def _latest(series_list):
    """The newest sample among series (the SDK may export the same point more than once)."""
    samples = [s for series in series_list for s in series.samples]
    assert samples, "no samples"
    return max(samples, key=lambda s: s[1])


def test_sdk_metrics_become_prometheus_series(collector, sinks):
    _, _, rw = sinks
    service = unique("checkout")
    job = f"shop/{service}"
    histogram_view = View(instrument_name="http.server.duration",
                          aggregation=ExplicitBucketHistogramAggregation(boundaries=[10.0, 100.0, 1000.0]))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"http://{collector.grpc_target}",
                                                              insecure=True, timeout=5),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(resource=_metrics_resource(service), metric_readers=[reader], views=[histogram_view])
    meter = provider.get_meter("vigil.test.meter", "0.1.0")

    requests_counter = meter.create_counter("app.requests", unit="{request}", description="requests served")
    sent_counter = meter.create_counter("app.sent", unit="By", description="bytes sent")
    queue_depth = meter.create_up_down_counter("app.queue.depth", unit="{item}")
    temperature = meter.create_gauge("app.temperature", unit="Cel")
    duration = meter.create_histogram("http.server.duration", unit="ms")

    requests_counter.add(3, {"http.method": "GET"})
    requests_counter.add(4, {"http.method": "GET"})
    requests_counter.add(1, {"http.method": "POST"})
    sent_counter.add(1500)
    queue_depth.add(5)
    queue_depth.add(-2)
    temperature.set(21.5, {"room.name": "lab"})
    for v in (5, 20, 200):
        duration.record(v, {"http.route": "/checkout"})

    before_ms = int(time.time() * 1000)
    try:
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()

    expected_names = {"app_requests_total", "app_sent_bytes_total", "app_queue_depth", "app_temperature_celsius",
                      "http_server_duration_milliseconds_bucket", "http_server_duration_milliseconds_sum",
                      "http_server_duration_milliseconds_count", "target_info"}

    def all_arrived():
        names = {s.name for s in rw.series() if s.labels.get("job") == job}
        return names if expected_names <= names else None

    try:
        wait_until(all_arrived, DELIVERY_TIMEOUT, message="all expected series at the remote-write sink")
    except AssertionError:
        got = sorted({s.name for s in rw.series() if s.labels.get("job") == job})
        raise AssertionError(f"expected series {sorted(expected_names)}, got {got}") from None

    mine = [s for s in rw.series() if s.labels.get("job") == job]
    names = {s.name for s in mine}
    # No series keeps the OTel name or loses its suffixes.
    for wrong in ("app_requests", "app.requests", "app_sent_total", "app_sent_bytes", "app_queue_depth_total",
                  "http_server_duration_bucket", "http_server_duration_milliseconds"):
        assert wrong not in names, f"unexpected series {wrong}"

    for series in mine:
        assert series.labels["instance"] == "instance-7", series.labels
        assert all("." not in name for name in series.labels), f"label name with a dot: {series.labels}"
        assert list(series.labels) == sorted(series.labels), f"labels not sorted by name: {list(series.labels)}"
        for value, ts in series.samples:
            assert abs(ts - before_ms) < 120_000, f"timestamp {ts} not in milliseconds near now ({before_ms})"

    get_ = rw.find("app_requests_total", job=job, http_method="GET")
    post = rw.find("app_requests_total", job=job, http_method="POST")
    assert get_ and post
    assert _latest(get_)[0] == 7
    assert _latest(post)[0] == 1
    assert "http.method" not in get_[0].labels

    assert _latest(rw.find("app_sent_bytes_total", job=job))[0] == 1500
    assert _latest(rw.find("app_queue_depth", job=job))[0] == 3
    temp = rw.find("app_temperature_celsius", job=job, room_name="lab")
    assert temp, "gauge lost its attribute room.name → room_name"
    assert _latest(temp)[0] == 21.5

    buckets = {}
    for s in rw.find("http_server_duration_milliseconds_bucket", job=job, http_route="/checkout"):
        buckets[s.labels["le"]] = _latest([s])[0]
    assert buckets == {"10": 1, "100": 2, "1000": 3, "+Inf": 3}
    assert _latest(rw.find("http_server_duration_milliseconds_sum", job=job, http_route="/checkout"))[0] == 225
    assert _latest(rw.find("http_server_duration_milliseconds_count", job=job, http_route="/checkout"))[0] == 3

    info = rw.find("target_info", job=job)
    assert info, "no target_info"
    labels = info[0].labels
    assert labels["instance"] == "instance-7"
    assert labels["deployment_environment"] == "itest"
    assert labels["telemetry_sdk_language"] == "python"
    assert labels["telemetry_sdk_name"] == "opentelemetry"
    for identifying in ("service_name", "service_namespace", "service_instance_id"):
        assert identifying not in labels, f"target_info carries {identifying}: {labels}"
    assert _latest(info)[0] == 1

    # Resource attributes stay on target_info only (resource_to_telemetry_conversion is off).
    assert "deployment_environment" not in get_[0].labels


def test_histogram_exemplar_carries_trace_id(collector, sinks):
    _, _, rw = sinks
    service = unique("exemplars")
    job = f"shop/{service}"
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"http://{collector.grpc_target}",
                                                              insecure=True, timeout=5),
                                           export_interval_millis=3_600_000)
    view = View(instrument_name="checkout.latency",
                aggregation=ExplicitBucketHistogramAggregation(boundaries=[10.0, 100.0, 1000.0]))
    provider = MeterProvider(resource=_metrics_resource(service), metric_readers=[reader], views=[view],
                             exemplar_filter=TraceBasedExemplarFilter())
    tracer_provider = TracerProvider(resource=_metrics_resource(service))
    histogram = provider.get_meter("vigil.test.exemplars").create_histogram("checkout.latency", unit="ms")
    try:
        with tracer_provider.get_tracer("vigil.test").start_as_current_span("checkout") as span:
            histogram.record(42, {"http.route": "/pay"})
        histogram.record(7, {"http.route": "/pay"})  # no active span: no exemplar for this one
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
        tracer_provider.shutdown()
    ctx = span.get_span_context()
    assert ctx.trace_flags.sampled

    def bucket_with_exemplar():
        for s in rw.find("checkout_latency_milliseconds_bucket", job=job):
            if s.exemplars:
                return s
        return None

    series = wait_until(bucket_with_exemplar, DELIVERY_TIMEOUT, message="a _bucket series with an exemplar")
    assert series.labels["le"] == "100", f"exemplar of value 42 on bucket le={series.labels['le']}"
    labels, value, timestamp = series.exemplars[0]
    assert value == 42
    assert labels["trace_id"] == hex_trace_id(ctx)
    assert labels["span_id"] == hex_span_id(ctx)
    assert abs(timestamp - time.time() * 1000) < 120_000
    # The value recorded outside a span has no exemplar anywhere.
    for s in rw.find("checkout_latency_milliseconds_bucket", job=job):
        for _, v, _ in s.exemplars:
            assert v == 42


def test_remote_write_request_headers(collector, sinks):
    _, _, rw = sinks
    service = unique("headers")
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"http://{collector.grpc_target}",
                                                              insecure=True, timeout=5),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[reader])
    provider.get_meter("vigil.test").create_counter("pings").add(1)
    try:
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()

    def request_with_service():
        for r in rw.accepted():
            if any(l.name == "job" and l.value == service for ts in r.message.timeseries for l in ts.labels):
                return r
        return None

    request = wait_until(request_with_service, DELIVERY_TIMEOUT, message="a remote-write request")
    assert request.path == "/api/v1/write"
    assert request.headers["content-encoding"] == "snappy"
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["x-prometheus-remote-write-version"] == "0.1.0"
    assert request.raw != request.body, "body was not snappy-compressed"
    pings = [ts for ts in request.message.timeseries
             if {l.name: l.value for l in ts.labels}.get("__name__") == "pings_total"]
    assert pings and pings[0].samples[-1].value == 1


# ---------------------------------------------------------------------------------------
# self-metrics


def test_self_metrics_count_accepted_and_sent_spans(collector, sinks):
    grpc_sink, _, _ = sinks
    before = collector.metrics()
    service = unique("selfmetrics")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(GrpcSpanExporter(endpoint=f"http://{collector.grpc_target}",
                                                                    insecure=True, timeout=5)))
    tracer = provider.get_tracer("vigil.test")
    try:
        for i in range(10):
            with tracer.start_as_current_span(f"op-{i}"):
                pass
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()

    wait_until(lambda: len([1 for r, _, _ in grpc_sink.spans()
                            if attribute_dict(r.attributes).get("service.name") == service]) >= 10,
               DELIVERY_TIMEOUT, message="10 spans at the sink")

    def counted():
        after = collector.metrics()
        accepted = (after.value("otelcol_receiver_accepted_spans_total", receiver="otlp", transport="grpc")
                    - before.value("otelcol_receiver_accepted_spans_total", receiver="otlp", transport="grpc"))
        sent = (after.value("otelcol_exporter_sent_spans_total", exporter="otlp")
                - before.value("otelcol_exporter_sent_spans_total", exporter="otlp"))
        return (accepted, sent, after) if accepted >= 10 and sent >= 10 else None

    accepted, sent, after = wait_until(counted, 5, message="self-metrics counting 10 spans")
    # Other tests of this module may run concurrently only in theory; sequentially it is exact.
    assert accepted == 10
    assert sent == 10
    assert after.value("otelcol_receiver_refused_spans_total", receiver="otlp", transport="grpc") == \
        before.value("otelcol_receiver_refused_spans_total", receiver="otlp", transport="grpc")
    assert after.value("otelcol_exporter_send_failed_spans_total", exporter="otlp") == 0
    assert ("otelcol_exporter_queue_size", (("data_type", "traces"), ("exporter", "otlp"))) in after
    assert not math.isnan(after.value("otelcol_exporter_queue_size", exporter="otlp", data_type="traces"))


def test_health_check_answers_like_otelcol(collector):
    response = requests.get(collector.health_url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "Server available"
    assert "upSince" in body and "uptime" in body


def test_ready_and_healthy_probes_on_the_telemetry_port(collector):
    base = collector.metrics_url.rsplit("/metrics", 1)[0]
    ready = requests.get(base + "/ready", timeout=5)
    assert ready.status_code == 200 and ready.text.strip() == "ready"
    healthy = requests.get(base + "/healthy", timeout=5)
    assert healthy.status_code == 200 and healthy.text.strip() == "healthy"
