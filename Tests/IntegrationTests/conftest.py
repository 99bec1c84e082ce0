"""Shared fixtures for the integration tests that run the real `collector` executable.

- `Collector`: writes an otelcol YAML config into a temporary directory, starts the binary
  (output to a log file), waits until it serves, and offers `.metrics()`, `.kill9()`,
  `.stop()`, `.restart()`. Every collector started through the `collector_factory` fixture
  is killed when the test (or module) ends.
- Sinks that stand in for the backends and record what the exporters deliver:
  `GrpcSink` (OTLP gRPC: TraceService/MetricsService/LogsService Export), `HttpSink`
  (OTLP/HTTP, protobuf or JSON, gzip), `RemoteWriteSink` (Prometheus remote write 1.0,
  snappy + protobuf WriteRequest decoded with message classes built at runtime).

Only 127.0.0.1 is used, on ports found by binding port 0.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import grpc
import pytest
import requests
import yaml
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


# ---------------------------------------------------------------------------------------
# binary and ports


@functools.lru_cache(maxsize=1)
def _bin_dir() -> Path:
    env = os.environ.get("VIGIL_BIN_DIR")
    if env:
        return Path(env)
    try:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True,
                             text=True, timeout=120, check=True).stdout.strip()
        if out:
            return Path(out)
    except (OSError, subprocess.SubprocessError):
        pass
    return REPO / ".build" / "debug"


def collector_binary() -> Path:
    path = _bin_dir() / "collector"
    if not path.exists():
        pytest.fail(f"collector binary not found at {path} (build it with `swift build`, or set VIGIL_BIN_DIR)")
    return path


_used_ports: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and was not handed out before."""
    with _port_lock:
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((HOST, 0))
                port = s.getsockname()[1]
            if port not in _used_ports:
                _used_ports.add(port)
                return port
    raise RuntimeError("no free port")


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, message: str = "condition"):
    """Polls `predicate` until it returns a truthy value (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - polled predicates may fail while starting
            last_error = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# /metrics parsing


class MetricsSnapshot(dict):
    """Prometheus text exposition parsed into {(name, ((label, value), ...)): float}."""

    def value(self, name: str, **labels: str) -> float:
        """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
        total = 0.0
        for (n, lbls), v in self.items():
            if n == name and all(dict(lbls).get(k) == want for k, want in labels.items()):
                total += v
        return total

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        return [(dict(lbls), v) for (n, lbls), v in self.items() if n == name]


def _parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    i = 0
    while i < len(text):
        eq = text.index("=", i)
        name = text[i:eq].strip().lstrip(",").strip()
        assert text[eq + 1] == '"', text
        j = eq + 2
        value = []
        while text[j] != '"':
            if text[j] == "\\":
                nxt = text[j + 1]
                value.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, nxt))
                j += 2
            else:
                value.append(text[j])
                j += 1
        labels[name] = "".join(value)
        i = j + 1
        while i < len(text) and text[i] in ", ":
            i += 1
    return labels


def parse_prometheus_text(text: str) -> MetricsSnapshot:
    result = MetricsSnapshot()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            label_text, value_text = rest.rsplit("}", 1)
            labels = _parse_labels(label_text)
        else:
            name, value_text = line.split(None, 1)
            labels = {}
        value = float(value_text.split()[0])
        result[(name, tuple(sorted(labels.items())))] = value
    return result


# ---------------------------------------------------------------------------------------
# the collector process


class Collector:
    """One collector process with its own config file, ports and log.

    `config` is a dict (or a callable taking this Collector and returning one) in otelcol
    YAML shape; use `self.grpc_port`, `self.http_port`, `self.metrics_port` and
    `self.health_port` in it (see `standard_config`)."""

    def __init__(self, workdir: Path, config: dict | Callable[["Collector"], dict], name: str = "collector"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.config = config(self) if callable(config) else config
        self.config_path = self.workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self._log_file = None

    # URLs -------------------------------------------------------------------------------
    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.metrics_port}/metrics"

    @property
    def health_url(self) -> str:
        return f"http://{HOST}:{self.health_port}/"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _has_health(self) -> bool:
        exts = (self.config.get("service") or {}).get("extensions") or []
        return any(e == "health_check" or str(e).startswith("health_check/") for e in exts)

    def _receiver_ports(self) -> list[int]:
        ports = []
        for receiver in (self.config.get("receivers") or {}).values():
            for proto in ((receiver or {}).get("protocols") or {}).values():
                endpoint = (proto or {}).get("endpoint", "")
                if endpoint.startswith(f"{HOST}:"):
                    ports.append(int(endpoint.rsplit(":", 1)[1]))
        return ports

    # lifecycle --------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> "Collector":
        assert self.process is None or self.process.poll() is not None, "already running"
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n===== start {time.strftime('%H:%M:%S')} =====\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen([str(collector_binary()), f"--config={self.config_path}"],
                                        stdout=self._log_file, stderr=subprocess.STDOUT, cwd=self.workdir)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill9()
            raise
        return self

    def wait_ready(self, timeout: float):
        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"collector exited with {self.process.returncode}:\n{self.log()}")
            if self._has_health():
                if requests.get(self.health_url, timeout=0.5).status_code != 200:
                    return False
            if requests.get(self.metrics_url, timeout=0.5).status_code != 200:
                return False
            return all(port_open(p) for p in self._receiver_ports())

        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except RuntimeError:
                raise
            except Exception:  # noqa: BLE001
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"collector did not become ready within {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close_log()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._close_log()
        return self.process.returncode

    def restart(self, timeout: float = 20.0) -> "Collector":
        if self.running():
            self.stop()
        return self.start(timeout)

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    # observations -----------------------------------------------------------------------
    def metrics(self) -> MetricsSnapshot:
        response = requests.get(self.metrics_url, timeout=5)
        response.raise_for_status()
        return parse_prometheus_text(response.text)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def standard_config(c: Collector, *, exporters: dict, pipelines: dict, processors: dict | None = None,
                    extensions: dict | None = None, http_settings: dict | None = None,
                    grpc: bool = True, http: bool = True) -> dict:
    """An otelcol config with the `otlp` receiver on the collector's ports, health_check and
    self-metrics on theirs, plus the given components and pipelines."""
    protocols: dict = {}
    if grpc:
        protocols["grpc"] = {"endpoint": f"{HOST}:{c.grpc_port}"}
    if http:
        protocols["http"] = {"endpoint": f"{HOST}:{c.http_port}", **(http_settings or {})}
    all_extensions = {"health_check": {"endpoint": f"{HOST}:{c.health_port}"}, **(extensions or {})}
    config: dict = {
        "receivers": {"otlp": {"protocols": protocols}},
        "processors": processors or {"batch": {"timeout": "100ms"}},
        "exporters": exporters,
        "extensions": all_extensions,
        "service": {
            "extensions": list(all_extensions),
            "pipelines": pipelines,
            "telemetry": {"metrics": {"address": f"{HOST}:{c.metrics_port}"}},
        },
    }
    return config


@pytest.fixture
def collector_factory(tmp_path):
    """Creates (and starts, unless start=False) collectors that are killed at test end."""
    started: list[Collector] = []

    def make(config, name: str = "collector", start: bool = True) -> Collector:
        c = Collector(tmp_path / name, config, name=name)
        started.append(c)
        if start:
            c.start()
        return c

    yield make
    for c in started:
        c.kill9()


# ---------------------------------------------------------------------------------------
# OTLP gRPC sink


class GrpcSink:
    """A gRPC server implementing the three OTLP Export RPCs, recording decoded requests.

    `mode` is "ok" (answer success), "unavailable" (abort with UNAVAILABLE, which exporters
    retry) or "invalid_argument" (abort with INVALID_ARGUMENT, a permanent error). It can be
    stopped and started again on the same port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.traces: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.metrics: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self.logs: list[logs_service_pb2.ExportLogsServiceRequest] = []
        self.calls = 0
        self.metadata: list[dict[str, str]] = []
        self.mode = "ok"
        self.server: grpc.Server | None = None

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.port}"

    def _handle(self, store: list, request, context, response):
        with self.lock:
            self.calls += 1
            self.metadata.append({k: v for k, v in context.invocation_metadata()})
            mode = self.mode
        if mode == "unavailable":
            context.abort(grpc.StatusCode.UNAVAILABLE, "sink unavailable (test)")
        if mode == "invalid_argument":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "sink refuses this data (test)")
        with self.lock:
            store.append(request)
        return response

    def start(self) -> "GrpcSink":
        sink = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):  # noqa: N802
                return sink._handle(sink.traces, request, context, trace_service_pb2.ExportTraceServiceResponse())

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):  # noqa: N802
                return sink._handle(sink.metrics, request, context, metrics_service_pb2.ExportMetricsServiceResponse())

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request, context):  # noqa: N802
                return sink._handle(sink.logs, request, context, logs_service_pb2.ExportLogsServiceResponse())

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=[("grpc.so_reuseport", 0)])
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
        deadline = time.monotonic() + 10
        while True:
            try:
                bound = server.add_insecure_port(self.endpoint)
            except RuntimeError:
                bound = 0
            if bound == self.port:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gRPC sink cannot bind {self.endpoint}")
            time.sleep(0.1)
        server.start()
        self.server = server
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop(grace=0).wait(5)
            self.server = None

    def spans(self) -> list[tuple[Any, Any, Any]]:
        """Every received span as (resource, scope, span)."""
        with self.lock:
            requests_ = list(self.traces)
        return [(rs.resource, ss.scope, span)
                for req in requests_ for rs in req.resource_spans for ss in rs.scope_spans for span in ss.spans]

    def log_records(self) -> list[tuple[Any, Any, Any]]:
        with self.lock:
            requests_ = list(self.logs)
        return [(rl.resource, sl.scope, rec)
                for req in requests_ for rl in req.resource_logs for sl in rl.scope_logs for rec in sl.log_records]


@pytest.fixture
def grpc_sink():
    sink = GrpcSink().start()
    yield sink
    sink.stop()


# ---------------------------------------------------------------------------------------
# HTTP sinks

_REQUEST_TYPES = {
    "/v1/traces": trace_service_pb2.ExportTraceServiceRequest,
    "/v1/metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "/v1/logs": logs_service_pb2.ExportLogsServiceRequest,
}
_RESPONSE_TYPES = {
    "/v1/traces": trace_service_pb2.ExportTraceServiceResponse,
    "/v1/metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "/v1/logs": logs_service_pb2.ExportLogsServiceResponse,
}


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    raw: bytes          # body as received (possibly compressed)
    body: bytes         # body after undoing Content-Encoding
    status: int         # what the sink answered
    message: Any = None  # decoded protobuf message, when it could be decoded
    error: str | None = None
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class PlannedResponse:
    status: int
    retry_after: str | None = None
    body: bytes = b""


class _BaseHTTPSink:
    """An http.server in a thread. Answers come from a list of planned responses (consumed
    in order), then from `default_status`."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.planned: list[PlannedResponse] = []
        self.default_status = 200
        self.default_retry_after: str | None = None
        self.server: http.server.ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def plan(self, *responses: PlannedResponse):
        with self.lock:
            self.planned.extend(responses)

    def _next_response(self) -> PlannedResponse:
        with self.lock:
            if self.planned:
                return self.planned.pop(0)
            return PlannedResponse(self.default_status, self.default_retry_after)

    def decode(self, path: str, headers: dict[str, str], body: bytes) -> Any:
        raise NotImplementedError

    def success_body(self, path: str, headers: dict[str, str]) -> tuple[bytes, str]:
        return b"", "text/plain"

    def start(self) -> "_BaseHTTPSink":
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # silence
                pass

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                body, error = raw, None
                try:
                    body = sink.undo_encoding(headers, raw)
                except Exception as e:  # noqa: BLE001
                    error = f"cannot decompress: {e!r}"
                message = None
                if error is None:
                    try:
                        message = sink.decode(self.path, headers, body)
                    except Exception as e:  # noqa: BLE001
                        error = f"cannot decode: {e!r}"
                planned = sink._next_response()
                status = planned.status if error is None else 400
                with sink.lock:
                    sink.requests.append(RecordedRequest(self.path, headers, raw, body, status, message, error))
                if 200 <= status < 300:
                    payload, content_type = sink.success_body(self.path, headers)
                else:
                    payload, content_type = (planned.body or (error or "refused by test sink").encode()), "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                if planned.retry_after is not None and not 200 <= status < 300:
                    self.send_header("Retry-After", planned.retry_after)
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer((HOST, self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def undo_encoding(self, headers: dict[str, str], raw: bytes) -> bytes:
        return raw

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def accepted(self, path: str | None = None) -> list[RecordedRequest]:
        """Requests the sink answered with 2xx (optionally only for one path)."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300 and (path is None or r.path == path)]

    def all_requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self.requests)


class HttpSink(_BaseHTTPSink):
    """OTLP/HTTP backend: decodes protobuf (or JSON) bodies per path, handles gzip."""

    def undo_encoding(self, headers, raw):
        encoding = headers.get("content-encoding", "").lower()
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding in ("", "identity"):
            return raw
        raise ValueError(f"unexpected Content-Encoding {encoding!r}")

    def decode(self, path, headers, body):
        cls = _REQUEST_TYPES[path]
        if headers.get("content-type", "").startswith("application/json"):
            return otlp_json_to_message(body, cls)
        message = cls()
        message.ParseFromString(body)
        return message

    def success_body(self, path, headers):
        return _RESPONSE_TYPES[path]().SerializeToString(), "application/x-protobuf"

    def messages(self, path: str) -> list[Any]:
        return [r.message for r in self.accepted(path)]

    def log_records(self) -> list[tuple[Any, Any, Any]]:
        return [(rl.resource, sl.scope, rec)
                for req in self.messages("/v1/logs") for rl in req.resource_logs for sl in rl.scope_logs
                for rec in sl.log_records]


def otlp_json_to_message(body: bytes, cls):
    """OTLP/JSON → protobuf: ids are hex (not base64) in OTLP JSON, the rest is proto3 JSON."""
    from google.protobuf import json_format
    import base64

    def fix(node):
        if isinstance(node, dict):
            for key, value in list(node.items()):
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)
        return node

    return json_format.ParseDict(fix(json.loads(body)), cls(), ignore_unknown_fields=True)


@pytest.fixture
def http_sink():
    sink = HttpSink().start()
    yield sink
    sink.stop()


# ---------------------------------------------------------------------------------------
# Prometheus remote write sink


def _build_remote_write_classes() -> dict[str, Any]:
    """Message classes for prometheus/remote.proto (Shared/Protos/prometheus/remote.proto),
    built at runtime from a FileDescriptorProto in a private pool."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="vigil_test_prometheus_remote.proto",
                                             package="vigiltest.prometheus", syntax="proto3")

    def message(name: str, fields: list[tuple]) -> descriptor_pb2.DescriptorProto:
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return m

    REP, OPT = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    pkg = ".vigiltest.prometheus."
    message("WriteRequest", [("timeseries", 1, F.TYPE_MESSAGE, REP, pkg + "TimeSeries"),
                             ("metadata", 3, F.TYPE_MESSAGE, REP, pkg + "MetricMetadata")])
    fdp.message_type[-1].reserved_range.add(start=2, end=3)
    md = message("MetricMetadata", [("type", 1, F.TYPE_ENUM, OPT, pkg + "MetricMetadata.MetricType"),
                                    ("metric_family_name", 2, F.TYPE_STRING, OPT, None),
                                    ("help", 4, F.TYPE_STRING, OPT, None),
                                    ("unit", 5, F.TYPE_STRING, OPT, None)])
    enum = md.enum_type.add(name="MetricType")
    for number, name in enumerate(["UNKNOWN", "COUNTER", "GAUGE", "HISTOGRAM", "GAUGEHISTOGRAM", "SUMMARY",
                                   "INFO", "STATESET"]):
        enum.value.add(name=name, number=number)
    message("Sample", [("value", 1, F.TYPE_DOUBLE, OPT, None), ("timestamp", 2, F.TYPE_INT64, OPT, None)])
    message("Exemplar", [("labels", 1, F.TYPE_MESSAGE, REP, pkg + "Label"),
                         ("value", 2, F.TYPE_DOUBLE, OPT, None),
                         ("timestamp", 3, F.TYPE_INT64, OPT, None)])
    message("TimeSeries", [("labels", 1, F.TYPE_MESSAGE, REP, pkg + "Label"),
                           ("samples", 2, F.TYPE_MESSAGE, REP, pkg + "Sample"),
                           ("exemplars", 3, F.TYPE_MESSAGE, REP, pkg + "Exemplar")])
    message("Label", [("name", 1, F.TYPE_STRING, OPT, None), ("value", 2, F.TYPE_STRING, OPT, None)])

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName("vigiltest.prometheus." + name))
            for name in ("WriteRequest", "TimeSeries", "Label", "Sample", "Exemplar", "MetricMetadata")}


REMOTE_WRITE = _build_remote_write_classes()
WriteRequest = REMOTE_WRITE["WriteRequest"]


@dataclass
class Series:
    labels: dict[str, str]
    samples: list[tuple[float, int]]                       # (value, timestamp ms)
    exemplars: list[tuple[dict[str, str], float, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.labels.get("__name__", "")


class RemoteWriteSink(_BaseHTTPSink):
    """Prometheus remote write 1.0 receiver: snappy block format + protobuf WriteRequest."""

    def undo_encoding(self, headers, raw):
        import cramjam
        return bytes(cramjam.snappy.decompress_raw(raw))

    def decode(self, path, headers, body):
        request = WriteRequest()
        request.ParseFromString(body)
        return request

    def series(self) -> list[Series]:
        out = []
        for r in self.accepted():
            for ts in r.message.timeseries:
                out.append(Series({l.name: l.value for l in ts.labels},
                                  [(s.value, s.timestamp) for s in ts.samples],
                                  [({l.name: l.value for l in e.labels}, e.value, e.timestamp) for e in ts.exemplars]))
        return out

    def find(self, name: str, **labels: str) -> list[Series]:
        return [s for s in self.series() if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]


@pytest.fixture
def remote_write_sink():
    sink = RemoteWriteSink().start()
    yield sink
    sink.stop()


# ---------------------------------------------------------------------------------------
# OTLP request builders (for tests that talk to the receivers directly)


def make_trace_request(spans: list[dict], service: str = "integration-test",
                       scope: str = "vigil.integration") -> trace_service_pb2.ExportTraceServiceRequest:
    """spans: dicts with name, trace_id (bytes), span_id (bytes), optional attributes {k: str|int}."""
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    def kv(key, value):
        if isinstance(value, bool):
            return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(bool_value=value))
        if isinstance(value, int):
            return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(int_value=value))
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(string_value=str(value)))

    now = time.time_ns()
    pb_spans = []
    for s in spans:
        pb_spans.append(trace_pb2.Span(
            trace_id=s["trace_id"], span_id=s["span_id"], name=s["name"],
            kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=now - 1_000_000, end_time_unix_nano=now,
            attributes=[kv(k, v) for k, v in (s.get("attributes") or {}).items()]))
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource=resource_pb2.Resource(attributes=[kv("service.name", service)]),
        scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name=scope), spans=pb_spans)])])


def numbered_span_request(seq: int, run: str, spans_per_request: int = 1, padding: int = 0):
    """A request with `spans_per_request` spans carrying attributes run=<run>, seq=<seq>, part=<i>."""
    spans = []
    for i in range(spans_per_request):
        attrs: dict = {"run": run, "seq": seq, "part": i}
        if padding:
            attrs["padding"] = "x" * padding
        spans.append({"name": f"op-{seq}-{i}", "trace_id": os.urandom(16), "span_id": os.urandom(8),
                      "attributes": attrs})
    return make_trace_request(spans)


def make_logs_request(bodies: list[str], service: str = "integration-test"):
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    now = time.time_ns()
    records = [logs_pb2.LogRecord(time_unix_nano=now, observed_time_unix_nano=now,
                                  severity_number=logs_pb2.SEVERITY_NUMBER_INFO, severity_text="INFO",
                                  body=common_pb2.AnyValue(string_value=b)) for b in bodies]
    return ls.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(
            key="service.name", value=common_pb2.AnyValue(string_value=service))]),
        scope_logs=[logs_pb2.ScopeLogs(scope=common_pb2.InstrumentationScope(name="vigil.integration"),
                                       log_records=records)])])


def span_attributes(span) -> dict[str, Any]:
    out = {}
    for kv in span.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


def post_traces(c: Collector, request, timeout: float = 10.0) -> requests.Response:
    return requests.post(f"{c.http_url}/v1/traces", data=request.SerializeToString(),
                         headers={"Content-Type": "application/x-protobuf"}, timeout=timeout)
