"""metrics-store's query API: /api/v1/query and /api/v1/query_range in Prometheus's JSON
shapes and error answers, read by the real promtool (Debian's Prometheus 2.42), and the
same queries answered equally by a real Prometheus holding the same samples."""
from __future__ import annotations

import contextlib
import json
import subprocess
import time

import pytest
import requests

from test_metrics_store import MetricsStore

T0 = (int(time.time()) // 60) * 60 * 1000 - 3_600_000   # an hour ago, whole minute


def requests_series():
    """Four counters over an hour at 15 s: jobs api (1/s) and db (0.5/s), instances a and b."""
    return [({"__name__": "requests_total", "job": job, "instance": instance},
             [(T0 + i * 15_000, i * 15 * rate) for i in range(241)])
            for job, rate in (("api", 1.0), ("db", 0.5)) for instance in ("a", "b")]


@contextlib.contextmanager
def prometheus_with_requests(tmp_path, *flags):
    """A real Prometheus 2.42 holding `requests_series()`; yields its base URL."""
    from conftest import HOST, free_port, wait_until
    port = free_port()
    config = tmp_path / "prom.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")
    proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'prom'}",
                             f"--web.listen-address={HOST}:{port}", "--web.enable-remote-write-receiver", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        prom = MetricsStore(tmp_path)   # only for its write() helper, pointed at Prometheus
        prom.port = port
        wait_until(lambda: requests.get(f"http://{HOST}:{port}/-/ready", timeout=1).status_code == 200
                   if proc.poll() is None else False, timeout=30, message="prometheus ready")
        assert prom.write(requests_series()).status_code == 204
        yield f"http://{HOST}:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture
def loaded(tmp_path):
    store = MetricsStore(tmp_path).start()
    series = requests_series()
    series.append(({"__name__": "temperature", "room": "x<y"}, [(T0, 21.5), (T0 + 60_000, 1e-7)]))
    assert store.write(series).status_code == 204
    yield store
    store.stop()


def query(store, path, **params):
    return requests.get(store.url + path, params=params, timeout=10)


def test_instant_vector_shape_and_values(loaded):
    at = (T0 + 3_600_000) / 1000
    body = query(loaded, "/api/v1/query", query='sum by (job) (rate(requests_total[5m]))', time=at).json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    result = sorted(body["data"]["result"], key=lambda r: r["metric"]["job"])
    assert [r["metric"] for r in result] == [{"job": "api"}, {"job": "db"}]
    assert result[0]["value"][0] == at
    assert float(result[0]["value"][1]) == pytest.approx(2)      # two instances at 1/s
    assert float(result[1]["value"][1]) == pytest.approx(1)


def test_scalar_string_and_number_formatting(loaded):
    at = T0 / 1000 + 60.5
    body = query(loaded, "/api/v1/query", query="scalar(temperature)", time=at).json()
    assert body["data"] == {"resultType": "scalar", "result": [at, "0.0000001"]}
    body = query(loaded, "/api/v1/query", query='"hello"', time=at).json()
    assert body["data"] == {"resultType": "string", "result": [at, "hello"]}
    raw = query(loaded, "/api/v1/query", query="temperature", time=T0 / 1000 + 30).text
    assert '"room":"x\\u003cy"' in raw, "label values escaped as Go's encoder does"
    body = query(loaded, "/api/v1/query", query="1/0", time=at).json()
    assert body["data"]["result"][1] == "+Inf"


def test_range_query_matrix(loaded):
    start, end = T0 / 1000 + 600, T0 / 1000 + 900
    body = requests.post(loaded.url + "/api/v1/query_range", timeout=10,
                         data={"query": 'requests_total{job="db",instance="a"}', "start": start, "end": end, "step": "1m"}).json()
    assert body["data"]["resultType"] == "matrix"
    [series] = body["data"]["result"]
    assert series["metric"] == {"__name__": "requests_total", "job": "db", "instance": "a"}
    assert series["values"] == [[start + 60 * i, str(int(300 + 30 * i))] for i in range(6)]


def test_errors_have_prometheus_types_and_codes(loaded):
    bad = query(loaded, "/api/v1/query", query="sum(")
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"
    assert bad.json()["error"].startswith('invalid parameter "query": 1:5: parse error')
    step = query(loaded, "/api/v1/query_range", query="up", start=0, end=10, step=0)
    assert step.status_code == 400
    assert "zero or negative query resolution step widths are not accepted" in step.json()["error"]
    order = query(loaded, "/api/v1/query_range", query="up", start=10, end=0, step=1)
    assert order.json()["error"] == 'invalid parameter "end": end timestamp must not be before start time'
    points = query(loaded, "/api/v1/query_range", query="up", start=0, end=100000, step=1)
    assert "exceeded maximum resolution of 11,000 points" in points.json()["error"]
    many = query(loaded, "/api/v1/query", query='requests_total + on(job) group_left requests_total', time=T0 / 1000 + 60)
    assert many.status_code == 422 and many.json()["errorType"] == "execution"
    limit = query(loaded, "/api/v1/query", query="requests_total", time=T0 / 1000 + 60, limit=1).json()
    assert len(limit["data"]["result"]) == 1 and limit["warnings"] == ["results truncated due to limit"]
    timeout = query(loaded, "/api/v1/query", query="up", timeout="x")
    assert timeout.json()["error"] == 'invalid parameter "timeout": cannot parse "x" to a valid duration'
    # The server still answers after all of that.
    assert query(loaded, "/api/v1/query", query="1").status_code == 200


def test_max_samples_limit_is_an_execution_error(tmp_path):
    store = MetricsStore(tmp_path, ["--query.max-samples=100"]).start()
    try:
        assert store.write([({"__name__": "m", "i": str(i)}, [(T0 + j * 1000, j) for j in range(50)]) for i in range(5)]).status_code == 204
        response = query(store, "/api/v1/query", query="m[1h]", time=T0 / 1000 + 60)
        assert response.status_code == 422
        assert response.json()["error"] == "query processing would load too many samples into memory in query execution"
    finally:
        store.stop()


def promtool(*args: str) -> str:
    result = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_promtool_queries(loaded):
    at = str(T0 // 1000 + 3600)
    out = promtool("query", "instant", "--time=" + at, loaded.url, 'sum(requests_total{job="api"})')
    assert out.strip() == "{} => 7200 @[%s]" % at
    out = promtool("query", "range", "--start=" + str(T0 / 1000), "--end=" + str(T0 / 1000 + 120), "--step=60s",
                   loaded.url, 'requests_total{job="api",instance="a"}')
    assert "0 @[%s]" % (T0 // 1000) in out and "120 @[%s]" % (T0 // 1000 + 120) in out
    out = promtool("query", "series", "--match=requests_total", loaded.url)
    assert out.count("requests_total") == 4
    out = promtool("query", "labels", loaded.url, "job")
    assert out.split() == ["api", "db"]


def same(ours: list, theirs: list) -> bool:
    """Equal series, values equal to 1e-12 relative (summation order may differ in the
    last bit)."""
    key = lambda r: json.dumps(r["metric"], sort_keys=True)
    ours, theirs = sorted(ours, key=key), sorted(theirs, key=key)
    if [r["metric"] for r in ours] != [r["metric"] for r in theirs]:
        return False
    for a, b in zip(ours, theirs):
        pa, pb = a.get("values", [a.get("value")]), b.get("values", [b.get("value")])
        if [p[0] for p in pa] != [p[0] for p in pb]:
            return False
        if any(float(x[1]) != pytest.approx(float(y[1]), rel=1e-12) for x, y in zip(pa, pb)):
            return False
    return True


def test_same_answers_as_a_real_prometheus(loaded, tmp_path):
    """A real Prometheus 2.42 gets the same samples through its remote-write receiver, then
    both answer the same queries. Evaluation times fall between sample times: Prometheus 3
    (whose semantics metrics-store follows) leaves range windows open on the left, 2.42
    closes them, so a sample exactly on a window's start would count in one only."""
    with prometheus_with_requests(tmp_path) as prometheus:
        at = T0 / 1000 + 1807
        for q in ['sum by (job) (rate(requests_total[5m]))', 'topk(2, requests_total)', 'requests_total{job=~"d.*"} * 2',
                  'histogram_quantile(0.5, sum by (le) (rate(requests_total[5m])))', 'count_values("v", requests_total)',
                  'avg_over_time(requests_total[10m]) / ignoring(job) group_left sum without(job) (requests_total)']:
            ours = query(loaded, "/api/v1/query", query=q, time=at).json()
            theirs = requests.get(prometheus + "/api/v1/query", params={"query": q, "time": at}, timeout=10).json()
            assert ours.get("status") == theirs.get("status"), q
            assert same(ours["data"]["result"], theirs["data"]["result"]), (q, ours, theirs)
        params = {"query": "rate(requests_total[2m])", "start": T0 / 1000 + 7, "end": T0 / 1000 + 3607, "step": 60}
        ours = requests.get(loaded.url + "/api/v1/query_range", params=params, timeout=10).json()
        theirs = requests.get(prometheus + "/api/v1/query_range", params=params, timeout=10).json()
        assert same(ours["data"]["result"], theirs["data"]["result"])


def test_stats_have_prometheus_shape(loaded):
    at = T0 / 1000 + 1807
    body = query(loaded, "/api/v1/query", query="requests_total", time=at, stats="1").json()
    stats = body["data"]["stats"]
    assert set(stats) == {"timings", "samples"}
    assert set(stats["timings"]) == {"evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime",
                                      "execQueueTime", "execTotalTime"}
    assert stats["samples"]["totalQueryableSamples"] == 4, "one sample per series"
    assert "totalQueryableSamplesPerStep" not in stats["samples"], "per step only with stats=all"
    assert stats["samples"]["peakSamples"] >= 4
    params = {"query": "rate(requests_total[2m])", "start": T0 / 1000 + 607, "end": T0 / 1000 + 787, "step": 60,
              "stats": "all"}
    samples = query(loaded, "/api/v1/query_range", **params).json()["data"]["stats"]["samples"]
    per_step = samples["totalQueryableSamplesPerStep"]
    assert [t for t, _ in per_step] == [T0 / 1000 + 607 + 60 * i for i in range(4)]
    assert [n for _, n in per_step] == [32] * 4, "8 samples in each 2m window of 4 series"
    assert samples["totalQueryableSamples"] == 128
    assert "stats" not in query(loaded, "/api/v1/query", query="requests_total", time=at).json()["data"]


def test_sample_counts_equal_a_real_prometheus(loaded, tmp_path):
    """totalQueryableSamples (and per step) is defined as Prometheus 2.42 defines it, so
    both agree on the same samples. peakSamples is each engine's own accounting."""
    with prometheus_with_requests(tmp_path, "--enable-feature=promql-per-step-stats") as prometheus:
        at = T0 / 1000 + 1807
        for q in ['requests_total', 'sum by (job) (rate(requests_total[5m]))', 'requests_total[3m]',
                  'max_over_time(rate(requests_total[2m])[10m:1m])', 'topk(1, requests_total) + requests_total']:
            ours = query(loaded, "/api/v1/query", query=q, time=at, stats="all").json()["data"]["stats"]["samples"]
            theirs = requests.get(prometheus + "/api/v1/query", timeout=10,
                                  params={"query": q, "time": at, "stats": "all"}).json()["data"]["stats"]["samples"]
            assert ours["totalQueryableSamples"] == theirs["totalQueryableSamples"], (q, ours, theirs)
            assert ours["totalQueryableSamplesPerStep"] == theirs["totalQueryableSamplesPerStep"], (q, ours, theirs)
        for q in ['rate(requests_total[2m])', 'requests_total * 2', 'avg_over_time(requests_total[10m])']:
            params = {"query": q, "start": T0 / 1000 + 7, "end": T0 / 1000 + 3607, "step": 60, "stats": "all"}
            ours = requests.get(loaded.url + "/api/v1/query_range", params=params, timeout=10).json()["data"]["stats"]["samples"]
            theirs = requests.get(prometheus + "/api/v1/query_range", params=params, timeout=10).json()["data"]["stats"]["samples"]
            assert ours["totalQueryableSamples"] == theirs["totalQueryableSamples"], q
            assert ours["totalQueryableSamplesPerStep"] == theirs["totalQueryableSamplesPerStep"], q


def test_default_subquery_step_follows_evaluation_interval_across_reloads(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 30s\n")
    store = MetricsStore(tmp_path, [f"--config.file={config}", "--web.enable-lifecycle"]).start()
    try:
        assert store.write([({"__name__": "g"}, [(T0 + i * 15_000, i) for i in range(241)])]).status_code == 204
        at = T0 / 1000 + 1807

        def points_in_10m() -> str:
            body = query(store, "/api/v1/query", query="count_over_time(g[10m:])", time=at).json()
            return body["data"]["result"][0]["value"][1]

        assert points_in_10m() == "20", "a 10m subquery at the 30s evaluation interval"
        config.write_text("global:\n  evaluation_interval: 2m\n")
        assert requests.post(store.url + "/-/reload", timeout=10).status_code == 200
        assert points_in_10m() == "5"
        config.write_text("global:\n  scrape_interval: 1m\n")   # evaluation_interval back to its default
        assert requests.post(store.url + "/-/reload", timeout=10).status_code == 200
        assert points_in_10m() == "10"
    finally:
        store.stop()
