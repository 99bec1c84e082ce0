"""Reliability of the collector against failing backends, crashes and overload.

Architecture principle 2: nothing acknowledged is lost (a backend outage, kill -9 with a
persistent queue), and under overload the collector pushes back (429 + Retry-After /
RESOURCE_EXHAUSTED) instead of growing without bound.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from concurrent import futures

import grpc
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from conftest import (GrpcSink, PlannedResponse, make_logs_request, numbered_span_request,
                      post_traces, span_attributes, standard_config, wait_until)

FAST_RETRY = {"enabled": True, "initial_interval": "100ms", "max_interval": "500ms", "max_elapsed_time": "0"}


def delivered_keys(sink: GrpcSink, run: str) -> Counter:
    """(seq, part) of every span of this run at the sink, with how often each arrived."""
    keys: Counter = Counter()
    for _, _, span in sink.spans():
        attrs = span_attributes(span)
        if attrs.get("run") == run:
            keys[(attrs["seq"], attrs["part"])] += 1
    return keys


def traces_to_grpc_sink_config(sink: GrpcSink, *, queue: dict | None = None, retry: dict | None = None,
                               batch: dict | None = None, extensions: dict | None = None):
    def config(c):
        exporter = {"endpoint": sink.endpoint, "tls": {"insecure": True}, "compression": "none",
                    "timeout": "2s", "retry_on_failure": retry or FAST_RETRY}
        if queue is not None:
            exporter["sending_queue"] = queue
        return standard_config(
            c, exporters={"otlp": exporter},
            processors={"batch": batch or {"timeout": "50ms"}},
            extensions=extensions,
            pipelines={"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp"]}})
    return config


# ---------------------------------------------------------------------------------------
# backend outage


def test_grpc_backend_outage_loses_no_acknowledged_span(collector_factory, grpc_sink):
    collector = collector_factory(traces_to_grpc_sink_config(grpc_sink))
    run = uuid.uuid4().hex
    acknowledged: list[int] = []
    refused: list[tuple[int, int]] = []
    seq = 0

    def send_for(seconds: float):
        nonlocal seq
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            response = post_traces(collector, numbered_span_request(seq, run))
            if response.status_code == 200:
                acknowledged.append(seq)
            else:
                refused.append((seq, response.status_code))
            seq += 1
            time.sleep(0.02)

    send_for(1.0)
    wait_until(lambda: delivered_keys(grpc_sink, run), 10, message="first spans at the sink")
    grpc_sink.stop()
    outage_started = seq
    send_for(3.0)
    grpc_sink.start()
    outage_ended = seq
    send_for(1.0)

    assert outage_ended > outage_started + 10, "too few requests sent during the outage"
    assert len(acknowledged) > 0.9 * seq, f"collector refused {len(refused)} of {seq} requests: {refused[:5]}"
    expected = {(s, 0) for s in acknowledged}

    try:
        wait_until(lambda: expected <= set(delivered_keys(grpc_sink, run)), 40, interval=0.2,
                   message="every acknowledged span at the restarted sink")
    except AssertionError:
        missing = sorted(expected - set(delivered_keys(grpc_sink, run)))
        raise AssertionError(f"{len(missing)} of {len(expected)} acknowledged spans never arrived "
                             f"(outage: seq {outage_started}..{outage_ended}); missing seqs: {missing[:20]}\n"
                             f"{collector.log()[-3000:]}") from None
    keys = delivered_keys(grpc_sink, run)
    duplicates = sum(n - 1 for n in keys.values())
    print(f"outage: {len(expected)} acknowledged, {len(keys)} distinct delivered, {duplicates} duplicates")
    metrics = collector.metrics()
    assert metrics.value("otelcol_exporter_sent_spans_total", exporter="otlp") >= len(expected)


# ---------------------------------------------------------------------------------------
# persistent queue survives kill -9


def test_persistent_queue_survives_kill9(collector_factory, tmp_path):
    sink = GrpcSink()  # not started yet: the backend is down while data is acknowledged
    queue_dir = tmp_path / "queue"
    queue_dir.mkdir()
    config = traces_to_grpc_sink_config(
        sink, queue={"enabled": True, "num_consumers": 2, "queue_size": 200, "storage": "file_storage/q"},
        extensions={"file_storage/q": {"directory": str(queue_dir)}})
    collector = collector_factory(config)
    run = uuid.uuid4().hex
    requests_sent = 40
    spans_per_request = 2
    try:
        # Concurrent senders, so that batches are cut while requests wait for the disk.
        def send(seq: int) -> tuple[int, int, bytes]:
            response = post_traces(collector, numbered_span_request(seq, run, spans_per_request))
            return seq, response.status_code, response.content

        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            for seq, status, content in pool.map(send, range(requests_sent)):
                assert status == 200, f"request {seq}: {status} {content!r}"
        collector.kill9()  # right after the last acknowledgement

        sink.start()
        collector.start()
        expected = {(s, p) for s in range(requests_sent) for p in range(spans_per_request)}
        try:
            wait_until(lambda: expected <= set(delivered_keys(sink, run)), 30, interval=0.2,
                       message="every acknowledged span after kill -9 and restart")
        except AssertionError:
            missing = sorted(expected - set(delivered_keys(sink, run)))
            raise AssertionError(f"{len(missing)} of {len(expected)} acknowledged spans lost after kill -9: "
                                 f"{missing[:20]}; queue dir: {sorted(os.listdir(queue_dir))[:10]}\n"
                                 f"{collector.log()[-3000:]}") from None
        keys = delivered_keys(sink, run)
        duplicates = sum(n - 1 for n in keys.values())
        print(f"persistent queue: {len(expected)} acknowledged spans, all delivered, {duplicates} duplicates")
        # Once delivered, the batches leave the disk queue.
        wait_until(lambda: collector.metrics().value("otelcol_exporter_queue_size", exporter="otlp") == 0, 10,
                   message="queue size back to 0")
    finally:
        sink.stop()


# ---------------------------------------------------------------------------------------
# overload: push back, bounded memory


def test_overload_pushes_back_and_memory_stays_bounded(collector_factory):
    dead_backend = GrpcSink()  # never started: every export fails and is retried
    config = traces_to_grpc_sink_config(
        dead_backend, queue={"enabled": True, "num_consumers": 1, "queue_size": 2},
        retry={"enabled": True, "initial_interval": "5s", "max_interval": "5s", "max_elapsed_time": "0"},
        batch={"timeout": "50ms", "send_batch_size": 1, "send_batch_max_size": 10})
    collector = collector_factory(config)
    run = uuid.uuid4().hex

    # HTTP: keep sending until the collector pushes back.
    refused = None
    for seq in range(200):
        response = post_traces(collector, numbered_span_request(seq, run))
        if response.status_code == 429:
            refused = response
            break
        assert response.status_code == 200, f"{response.status_code} {response.content!r}"
    assert refused is not None, "the collector never answered 429 with a full queue"
    retry_after = refused.headers.get("Retry-After")
    assert retry_after is not None, f"429 without Retry-After: {dict(refused.headers)}"
    assert retry_after.strip().isdigit() and int(retry_after) >= 1
    assert refused.headers["Content-Type"].startswith("application/x-protobuf")
    status = status_pb2.Status()
    status.ParseFromString(refused.content)
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert status.message

    # gRPC: RESOURCE_EXHAUSTED.
    with grpc.insecure_channel(collector.grpc_target) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        try:
            stub.Export(numbered_span_request(10_000, run), timeout=5)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
        else:
            raise AssertionError("gRPC Export succeeded although the queue is full")

        # Many more requests (about 40 KiB each) over both transports: all refused quickly,
        # memory stays bounded.
        payload = [numbered_span_request(20_000 + i, run, spans_per_request=20, padding=2000) for i in range(4)]
        bodies = [p.SerializeToString() for p in payload]
        counts: Counter = Counter()
        lock = threading.Lock()

        def http_worker(n: int):
            session = requests.Session()
            for i in range(n):
                r = session.post(f"{collector.http_url}/v1/traces", data=bodies[i % len(bodies)],
                                 headers={"Content-Type": "application/x-protobuf"}, timeout=10)
                with lock:
                    counts[f"http {r.status_code}"] += 1

        def grpc_worker(n: int):
            for i in range(n):
                try:
                    stub.Export(payload[i % len(payload)], timeout=10)
                    key = "grpc OK"
                except grpc.RpcError as error:
                    key = f"grpc {error.code().name}"
                with lock:
                    counts[key] += 1

        started = time.monotonic()
        with futures.ThreadPoolExecutor(max_workers=10) as pool:
            jobs = [pool.submit(http_worker, 150) for _ in range(6)] + [pool.submit(grpc_worker, 150) for _ in range(4)]
            for job in jobs:
                job.result()
        elapsed = time.monotonic() - started

    print(f"overload: {dict(counts)} in {elapsed:.1f}s")
    assert counts["http 429"] == 900, dict(counts)
    assert counts["grpc RESOURCE_EXHAUSTED"] == 600, dict(counts)
    assert collector.running()
    assert requests.get(collector.health_url, timeout=5).status_code == 200
    metrics = collector.metrics()
    assert metrics.value("otelcol_exporter_queue_size", exporter="otlp", data_type="traces") <= 2
    assert metrics.value("otelcol_receiver_refused_spans_total", receiver="otlp", transport="http") >= 900 * 20
    assert metrics.value("otelcol_receiver_refused_spans_total", receiver="otlp", transport="grpc") >= 600 * 20
    rss = collector.rss_bytes()
    print(f"overload: RSS {rss / 2**20:.1f} MiB")
    assert rss < 300 * 2**20, f"RSS {rss / 2**20:.1f} MiB after the overload"


# ---------------------------------------------------------------------------------------
# HTTP backend answers: retryable vs permanent


def logs_to_http_sink_config(sink):
    def config(c):
        return standard_config(
            c,
            exporters={"otlphttp": {"endpoint": sink.base_url, "compression": "none", "timeout": "2s",
                                    "retry_on_failure": FAST_RETRY}},
            processors={"batch": {"timeout": "50ms"}},
            pipelines={"logs": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlphttp"]}})
    return config


def post_logs(collector, request):
    return requests.post(f"{collector.http_url}/v1/logs", data=request.SerializeToString(),
                         headers={"Content-Type": "application/x-protobuf"}, timeout=10)


def test_http_backend_503_then_200_delivers_after_retries(collector_factory, http_sink):
    http_sink.plan(PlannedResponse(503, retry_after="1"), PlannedResponse(429), PlannedResponse(503))
    collector = collector_factory(logs_to_http_sink_config(http_sink))
    body = f"retry me {uuid.uuid4().hex}"
    assert post_logs(collector, make_logs_request([body])).status_code == 200

    def delivered():
        return [r for r in http_sink.accepted("/v1/logs")
                if any(rec.body.string_value == body for rl in r.message.resource_logs
                       for sl in rl.scope_logs for rec in sl.log_records)]

    wait_until(delivered, 15, message="the log record delivered after 503, 429, 503")
    attempts = http_sink.all_requests()
    assert [r.status for r in attempts] == [503, 429, 503, 200]
    assert all(r.message == attempts[0].message for r in attempts), "retries did not resend the same data"
    assert attempts[1].received_at - attempts[0].received_at >= 0.9, "Retry-After: 1 was not honoured"
    wait_until(lambda: collector.metrics().value("otelcol_exporter_sent_log_records_total", exporter="otlphttp") == 1,
               5, message="sent_log_records_total == 1")
    assert collector.metrics().value("otelcol_exporter_send_failed_log_records_total", exporter="otlphttp") == 0


def test_http_backend_400_drops_data_and_counts_failure(collector_factory, http_sink):
    http_sink.default_status = 400
    collector = collector_factory(logs_to_http_sink_config(http_sink))
    assert collector.metrics().value("otelcol_exporter_send_failed_log_records_total", exporter="otlphttp") == 0
    assert post_logs(collector, make_logs_request(["bad one", "bad two"])).status_code == 200

    wait_until(lambda: collector.metrics().value("otelcol_exporter_send_failed_log_records_total",
                                                 exporter="otlphttp") == 2,
               10, message="send_failed_log_records_total == 2")
    time.sleep(1.0)  # room for a (wrong) retry to show up
    attempts = http_sink.all_requests()
    assert len(attempts) == 1, f"a 400 must not be retried; sink saw {len(attempts)} requests"
    assert attempts[0].status == 400
    metrics = collector.metrics()
    assert metrics.value("otelcol_exporter_sent_log_records_total", exporter="otlphttp") == 0
    assert metrics.value("otelcol_exporter_queue_size", exporter="otlphttp", data_type="logs") == 0
    # And the collector still takes data.
    assert post_logs(collector, make_logs_request(["after"])).status_code == 200


def test_grpc_backend_unavailable_then_ok_delivers(collector_factory, grpc_sink):
    grpc_sink.mode = "unavailable"
    collector = collector_factory(traces_to_grpc_sink_config(grpc_sink))
    run = uuid.uuid4().hex
    assert post_traces(collector, numbered_span_request(0, run)).status_code == 200
    wait_until(lambda: grpc_sink.calls >= 3, 10, message="at least 3 attempts against the UNAVAILABLE backend")
    assert not delivered_keys(grpc_sink, run)
    grpc_sink.mode = "ok"
    wait_until(lambda: delivered_keys(grpc_sink, run) == Counter({(0, 0): 1}), 10,
               message="the span delivered once the backend recovers")
    wait_until(lambda: collector.metrics().value("otelcol_exporter_sent_spans_total", exporter="otlp") == 1, 5,
               message="sent_spans_total == 1")
    assert collector.metrics().value("otelcol_exporter_send_failed_spans_total", exporter="otlp") == 0


def test_grpc_backend_permanent_error_drops_and_counts(collector_factory, grpc_sink):
    grpc_sink.mode = "invalid_argument"
    collector = collector_factory(traces_to_grpc_sink_config(grpc_sink))
    run = uuid.uuid4().hex
    assert post_traces(collector, numbered_span_request(0, run, spans_per_request=3)).status_code == 200
    wait_until(lambda: collector.metrics().value("otelcol_exporter_send_failed_spans_total", exporter="otlp") == 3,
               10, message="send_failed_spans_total == 3")
    time.sleep(0.5)
    assert grpc_sink.calls == 1, f"INVALID_ARGUMENT is permanent, yet the exporter tried {grpc_sink.calls} times"
    assert collector.metrics().value("otelcol_exporter_sent_spans_total", exporter="otlp") == 0


def test_graceful_shutdown_flushes_the_pending_batch(collector_factory, grpc_sink):
    config = traces_to_grpc_sink_config(grpc_sink, batch={"timeout": "30s", "send_batch_size": 10_000})
    collector = collector_factory(config)
    run = uuid.uuid4().hex
    for seq in range(5):
        assert post_traces(collector, numbered_span_request(seq, run)).status_code == 200
    assert not delivered_keys(grpc_sink, run), "the batch left before its 30s timeout"
    started = time.monotonic()
    assert collector.stop() == 0, collector.log()
    assert time.monotonic() - started < 10
    assert set(delivered_keys(grpc_sink, run)) == {(s, 0) for s in range(5)}


# ---------------------------------------------------------------------------------------
# remote-write backend answers (Remote Write 1.0: retry 5xx, never retry other 4xx)


def metrics_to_remote_write_config(sink):
    def config(c):
        return standard_config(
            c,
            exporters={"prometheusremotewrite": {"endpoint": f"{sink.base_url}/api/v1/write", "timeout": "2s",
                                                 "retry_on_failure": FAST_RETRY}},
            processors={"batch": {"timeout": "50ms"}},
            pipelines={"metrics": {"receivers": ["otlp"], "processors": ["batch"],
                                   "exporters": ["prometheusremotewrite"]}})
    return config


def post_gauge(collector, name: str, value: float) -> requests.Response:
    body = {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "rw-test"}}]},
        "scopeMetrics": [{"metrics": [{"name": name, "gauge": {"dataPoints": [
            {"asDouble": value, "timeUnixNano": str(time.time_ns())}]}}]}]}]}
    return requests.post(f"{collector.http_url}/v1/metrics", json=body, timeout=10)


def test_remote_write_backend_5xx_is_retried(collector_factory, remote_write_sink):
    remote_write_sink.plan(PlannedResponse(500), PlannedResponse(503, retry_after="1"), PlannedResponse(502))
    collector = collector_factory(metrics_to_remote_write_config(remote_write_sink))
    assert post_gauge(collector, "rw_retry_gauge", 4.25).status_code == 200
    try:
        wait_until(lambda: remote_write_sink.find("rw_retry_gauge"), 10,
                   message="the series delivered after 500, 503, 502")
    except AssertionError:
        raise AssertionError(f"remote-write attempts: {[r.status for r in remote_write_sink.all_requests()]}; "
                             f"send_failed_metric_points_total="
                             f"{collector.metrics().value('otelcol_exporter_send_failed_metric_points_total')}"
                             ) from None
    assert [r.status for r in remote_write_sink.all_requests()] == [500, 503, 502, 200]
    assert remote_write_sink.find("rw_retry_gauge")[0].samples[-1][0] == 4.25


def test_remote_write_backend_4xx_drops_and_counts(collector_factory, remote_write_sink):
    remote_write_sink.default_status = 400
    collector = collector_factory(metrics_to_remote_write_config(remote_write_sink))
    assert post_gauge(collector, "rw_rejected_gauge", 1).status_code == 200
    wait_until(lambda: collector.metrics().value("otelcol_exporter_send_failed_metric_points_total",
                                                 exporter="prometheusremotewrite") == 1,
               10, message="send_failed_metric_points_total == 1")
    time.sleep(0.5)
    assert len(remote_write_sink.all_requests()) == 1, "a 400 from a remote-write backend must not be retried"
