"""metrics-store: remote write in, Prometheus's metadata API out, durability across kill -9,
and a real Prometheus 2.42 remote-writing into it."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import cramjam
import pytest
import requests

from conftest import HOST, REMOTE_WRITE, _bin_dir, free_port, wait_until

WriteRequest = REMOTE_WRITE["WriteRequest"]


class MetricsStore:
    def __init__(self, workdir: Path, extra_flags: list[str] | None = None, remote_write: bool = True):
        self.workdir = workdir
        self.port = free_port()
        self.data = workdir / "data"
        self.flags = [f"--web.listen-address={HOST}:{self.port}", f"--storage.tsdb.path={self.data}"]
        if remote_write:
            self.flags.append("--web.enable-remote-write-receiver")
        self.flags += extra_flags or []
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "metrics-store.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "MetricsStore":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([str(_bin_dir() / "metrics-store"), *self.flags], stdout=log, stderr=log)
        wait_until(lambda: self._ready(), timeout=30, message="metrics-store ready")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"metrics-store exited: {self.log_path.read_text()}")
        try:
            return requests.get(self.url + "/-/ready", timeout=0.5).status_code == 200
        except requests.RequestException:
            return False

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def write(self, series: list[tuple[dict[str, str], list[tuple[int, float]]]], raw: bytes | None = None,
              headers: dict | None = None) -> requests.Response:
        if raw is None:
            request = WriteRequest()
            for labels, samples in series:
                ts = request.timeseries.add()
                for name, value in labels.items():
                    label = ts.labels.add()
                    label.name, label.value = name, value
                for t, v in samples:
                    sample = ts.samples.add()
                    sample.timestamp, sample.value = t, v
            raw = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
        h = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
             "X-Prometheus-Remote-Write-Version": "0.1.0"}
        h.update(headers or {})
        return requests.post(self.url + "/api/v1/write", data=raw, headers=h, timeout=10)

    def series(self, *match: str, **params) -> list[dict]:
        response = requests.get(self.url + "/api/v1/series", params={"match[]": list(match), **params}, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "success"
        return body["data"]


@pytest.fixture
def store(tmp_path):
    s = MetricsStore(tmp_path).start()
    yield s
    s.stop()


NOW = int(time.time() * 1000)


def test_remote_write_then_series_labels_and_values(store):
    response = store.write([({"__name__": "http_requests_total", "job": "api", "code": "200"}, [(NOW, 1), (NOW + 15000, 2)]),
                            ({"__name__": "http_requests_total", "job": "api", "code": "500"}, [(NOW, 7)]),
                            ({"__name__": "up", "job": "db"}, [(NOW, 1)])])
    assert response.status_code == 204, response.text
    assert store.series('http_requests_total{code="200"}') == [{"__name__": "http_requests_total", "job": "api", "code": "200"}]
    assert len(store.series('{job="api"}')) == 2
    assert len(store.series('http_requests_total', 'up')) == 3
    assert store.series('{job=~"a.*", code!="200"}') == [{"__name__": "http_requests_total", "job": "api", "code": "500"}]
    labels = requests.get(store.url + "/api/v1/labels", timeout=5).json()
    assert labels == {"status": "success", "data": ["__name__", "code", "job"]}
    values = requests.get(store.url + "/api/v1/label/job/values", timeout=5).json()
    assert values["data"] == ["api", "db"]
    values = requests.get(store.url + "/api/v1/label/job/values", params={"match[]": "up"}, timeout=5).json()
    assert values["data"] == ["db"]


def test_series_time_range_excludes_series_without_samples_in_it(store):
    assert store.write([({"__name__": "old", "i": "1"}, [(NOW - 3_600_000, 1)]), ({"__name__": "new", "i": "1"}, [(NOW, 1)])]).status_code == 204
    names = [s["__name__"] for s in store.series('{i="1"}', start=(NOW - 60_000) / 1000, end=(NOW + 60_000) / 1000)]
    assert names == ["new"]


def test_post_form_and_rfc3339_times(store):
    assert store.write([({"__name__": "m", "a": "b"}, [(NOW, 1)])]).status_code == 204
    response = requests.post(store.url + "/api/v1/series", data={"match[]": "m", "start": "2000-01-01T00:00:00Z"}, timeout=5)
    assert response.json()["data"] == [{"__name__": "m", "a": "b"}]


@pytest.mark.parametrize("match,fragment", [("up{", "parse error"), ('{a=""}', "at least one non-empty matcher"),
                                            ('up{a=~"("}', "")])
def test_bad_selector_is_bad_data(store, match, fragment):
    response = requests.get(store.url + "/api/v1/series", params={"match[]": match}, timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert fragment in body["error"], body["error"]


def test_series_without_match_is_bad_data(store):
    response = requests.get(store.url + "/api/v1/series", timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "no match[] parameter provided"


def test_malformed_snappy_is_400_and_server_keeps_serving(store):
    response = store.write([], raw=b"\xff\xff\xff\xff\xff\xff\x00garbage")
    assert response.status_code == 400 and "snappy" in response.text
    assert store.write([({"__name__": "after", "x": "1"}, [(NOW, 1)])]).status_code == 204


def test_malformed_protobuf_is_400(store):
    response = store.write([], raw=bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff\x0f")))
    assert response.status_code == 400 and "WriteRequest" in response.text


def test_series_without_name_or_with_duplicate_labels_are_skipped(store):
    request = WriteRequest()
    ts = request.timeseries.add()
    ts.labels.add(name="job", value="noname")
    ts.samples.add(timestamp=NOW, value=1)
    ts = request.timeseries.add()
    ts.labels.add(name="__name__", value="dup")
    ts.labels.add(name="a", value="1")
    ts.labels.add(name="a", value="2")
    ts.samples.add(timestamp=NOW, value=1)
    ts = request.timeseries.add()
    ts.labels.add(name="z", value="last")       # unsorted on the wire: Prometheus sorts
    ts.labels.add(name="__name__", value="good")
    ts.samples.add(timestamp=NOW, value=1)
    response = store.write([], raw=bytes(cramjam.snappy.compress_raw(request.SerializeToString())))
    assert response.status_code == 204
    assert store.series('{job="noname"}') == []
    assert store.series("dup") == []
    assert store.series("good") == [{"__name__": "good", "z": "last"}]


def test_out_of_order_sample_is_400_and_request_not_stored(store):
    assert store.write([({"__name__": "ooo"}, [(NOW, 1)])]).status_code == 204
    response = store.write([({"__name__": "fresh"}, [(NOW, 1)]), ({"__name__": "ooo"}, [(NOW - 1000, 2)])])
    assert response.status_code == 400 and "out of order sample" in response.text
    assert store.series("fresh") == [], "a refused request leaves nothing behind"


def test_duplicate_timestamp_with_other_value_is_400_same_value_is_ignored(store):
    assert store.write([({"__name__": "d"}, [(NOW, 1)])]).status_code == 204
    assert store.write([({"__name__": "d"}, [(NOW, 1)])]).status_code == 204
    response = store.write([({"__name__": "d"}, [(NOW, 2)])])
    assert response.status_code == 400 and "duplicate sample for timestamp" in response.text


def test_receiver_disabled_answers_404(tmp_path):
    s = MetricsStore(tmp_path, remote_write=False).start()
    try:
        response = s.write([({"__name__": "x"}, [(NOW, 1)])])
        assert response.status_code == 404
        assert "--web.enable-remote-write-receiver" in response.text
    finally:
        s.stop()


def test_status_endpoints(store):
    flags = requests.get(store.url + "/api/v1/status/flags", timeout=5).json()["data"]
    assert flags["web.enable-remote-write-receiver"] == "true"
    assert flags["storage.tsdb.path"] == str(store.data)
    build = requests.get(store.url + "/api/v1/status/buildinfo", timeout=5).json()
    assert build["status"] == "success" and "version" in build["data"]
    assert requests.get(store.url + "/-/healthy", timeout=5).status_code == 200
    store.write([({"__name__": "s1"}, [(NOW, 1)]), ({"__name__": "s2"}, [(NOW, 1)])])
    tsdb = requests.get(store.url + "/api/v1/status/tsdb", timeout=5).json()["data"]
    assert tsdb["headStats"]["numSeries"] == 2


def test_acknowledged_writes_survive_kill9(tmp_path):
    store = MetricsStore(tmp_path).start()
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int):
        n = 0
        while not stop.is_set():
            labels = {"__name__": "crash_test", "worker": str(worker), "n": str(n)}
            try:
                response = store.write([(labels, [(NOW + n, float(n))])])
            except requests.RequestException:
                return
            if response.status_code == 204:
                with lock:
                    acknowledged.append(worker * 1_000_000 + n)
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    store.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acknowledged) > 50, "the load should have produced acknowledged writes"

    store.start()
    try:
        stored = {int(s["worker"]) * 1_000_000 + int(s["n"]) for s in store.series("crash_test")}
        missing = sorted(set(acknowledged) - stored)
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
    finally:
        store.stop()


def test_corrupted_wal_tail_keeps_what_came_before(tmp_path):
    store = MetricsStore(tmp_path).start()
    for i in range(20):
        assert store.write([({"__name__": "before_corruption", "i": str(i)}, [(NOW, 1)])]).status_code == 204
    store.kill9()
    segments = sorted((store.data / "wal").iterdir())
    last = [p for p in segments if p.is_file()][-1]
    with open(last, "ab") as f:
        f.write(b"\x01\x7f\x00\x00garbage-torn-write")
    store.start()
    try:
        assert len(store.series("before_corruption")) == 20
        assert "corrupt" in store.log_path.read_text().lower()
        assert store.write([({"__name__": "after_corruption"}, [(NOW, 1)])]).status_code == 204
    finally:
        store.stop()


def test_real_prometheus_remote_writes_into_metrics_store(store, tmp_path):
    prometheus = Path("/usr/bin/prometheus")
    assert prometheus.exists(), "install Debian's prometheus package (scripts/install-test-deps.sh does)"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['{HOST}:{port}']
remote_write:
  - url: {store.url}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
""")
    log = open(tmp_path / "prometheus.log", "wb")
    process = subprocess.Popen([str(prometheus), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                                f"--web.listen-address={HOST}:{port}"], stdout=log, stderr=log)
    try:
        wait_until(lambda: store.series('up{job="prometheus"}') != [], timeout=60, message="up from Prometheus")
        time.sleep(3)
        # Series of a window that both have fully received: compare through both APIs.
        end = time.time() - 2
        start = end - 2
        selector = '{job="prometheus", __name__=~"prometheus_tsdb_head.*|up|prometheus_build_info"}'

        def both():
            ours = store.series(selector, start=start, end=end)
            theirs = requests.get(f"http://{HOST}:{port}/api/v1/series", params={"match[]": selector, "start": start, "end": end},
                                  timeout=5).json()["data"]
            key = lambda s: sorted(s.items())
            return sorted(ours, key=key), sorted(theirs, key=key)

        wait_until(lambda: both()[0] == both()[1] and both()[0], timeout=30, message="same series in both")
        ours, theirs = both()
        assert ours == theirs and len(ours) >= 3
        names = {s["__name__"] for s in ours}
        assert {"up", "prometheus_build_info"} <= names
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_otlp_metrics_from_the_python_sdk_become_series(store):
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    exporter = OTLPMetricExporter(endpoint=store.url + "/api/v1/otlp/v1/metrics")
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create(
        {"service.name": "checkout", "service.namespace": "shop", "service.instance.id": "pod-1"}))
    meter = provider.get_meter("test")
    meter.create_counter("orders.placed", unit="1").add(3, {"region": "eu"})
    meter.create_histogram("order.latency", unit="ms").record(42, {"region": "eu"})
    assert reader.force_flush(10_000)
    provider.shutdown()

    counter = store.series("orders_placed_total")
    assert len(counter) == 1, counter
    assert {k: counter[0][k] for k in ("__name__", "job", "instance", "region", "otel_scope_name")} == {
        "__name__": "orders_placed_total", "job": "shop/checkout", "instance": "pod-1", "region": "eu", "otel_scope_name": "test"}
    buckets = store.series("order_latency_milliseconds_bucket")
    assert any(s["le"] == "+Inf" for s in buckets)
    metadata = requests.get(store.url + "/api/v1/metadata", params={"metric": "order_latency_milliseconds"}, timeout=5).json()
    assert metadata["data"]["order_latency_milliseconds"][0]["type"] == "histogram"


def test_otlp_bad_body_and_content_type(store):
    response = requests.post(store.url + "/api/v1/otlp/v1/metrics", data=b"\x0a\xff\xff", headers={"Content-Type": "application/x-protobuf"}, timeout=5)
    assert response.status_code == 400
    response = requests.post(store.url + "/api/v1/otlp/v1/metrics", data=b"x", headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 415


def test_exemplars_are_queryable(store):
    request = WriteRequest()
    ts = request.timeseries.add()
    ts.labels.add(name="__name__", value="latency_bucket")
    ts.labels.add(name="le", value="0.5")
    ts.samples.add(timestamp=NOW, value=3)
    ex = ts.exemplars.add(value=0.42, timestamp=NOW)
    ex.labels.add(name="trace_id", value="5b8efff798038103d269b633813fc60c")
    assert store.write([], raw=bytes(cramjam.snappy.compress_raw(request.SerializeToString()))).status_code == 204
    body = requests.get(store.url + "/api/v1/query_exemplars",
                        params={"query": "latency_bucket", "start": (NOW - 1000) / 1000, "end": (NOW + 1000) / 1000}, timeout=5).json()
    assert body["status"] == "success"
    assert body["data"] == [{"seriesLabels": {"__name__": "latency_bucket", "le": "0.5"},
                             "exemplars": [{"labels": {"trace_id": "5b8efff798038103d269b633813fc60c"}, "value": "0.42",
                                            "timestamp": NOW / 1000}]}]


def test_federate_serves_the_newest_samples_in_text_format(store):
    now = int(time.time() * 1000)
    assert store.write([({"__name__": "fed", "a": "x"}, [(now - 2000, 1), (now - 1000, 2)])]).status_code == 204
    response = requests.get(store.url + "/federate", params={"match[]": "fed"}, timeout=5)
    assert response.status_code == 200
    assert response.text == f'# TYPE fed untyped\nfed{{a="x"}} 2 {now - 1000}\n'


def test_federate_adds_the_external_labels_a_series_lacks(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  external_labels:\n    cluster: east\n    replica: a\n")
    store = MetricsStore(tmp_path, [f"--config.file={config}"]).start()
    try:
        now = int(time.time() * 1000)
        assert store.write([({"__name__": "fed", "replica": "own"}, [(now - 1000, 5)])]).status_code == 204
        response = requests.get(store.url + "/federate", params={"match[]": "fed"}, timeout=5)
        assert response.status_code == 200
        assert response.text == f'# TYPE fed untyped\nfed{{cluster="east",replica="own"}} 5 {now - 1000}\n'
    finally:
        store.stop()


def test_tsdb_status_reports_cardinality(store):
    now = int(time.time() * 1000)
    series = [({"__name__": "busy", "pod": f"p{i}"}, [(now, 1)]) for i in range(5)] + [({"__name__": "quiet"}, [(now, 1)])]
    assert store.write(series).status_code == 204
    data = requests.get(store.url + "/api/v1/status/tsdb", params={"limit": 1}, timeout=5).json()["data"]
    assert data["headStats"]["numSeries"] == 6
    assert data["headStats"]["minTime"] == now and data["headStats"]["maxTime"] == now
    assert data["seriesCountByMetricName"] == [{"name": "busy", "value": 5}]
    assert data["labelValueCountByLabelName"] == [{"name": "pod", "value": 5}]
    bad = requests.get(store.url + "/api/v1/status/tsdb", params={"limit": "x"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"
