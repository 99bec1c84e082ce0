"""metrics-store evaluates rule files with the PromQL engine: recording rules write series
that queries read back, and alerting rules fire to a real Alertmanager 0.25 (Debian's
prometheus-alertmanager), whose API and amtool then list the alert."""
from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
import requests

from conftest import HOST, free_port, wait_until
from test_metrics_store import MetricsStore

ALERTMANAGER = shutil.which("prometheus-alertmanager")


@pytest.fixture
def alertmanager(tmp_path):
    if ALERTMANAGER is None:
        pytest.fail("prometheus-alertmanager is not installed (scripts/install-test-deps.sh installs it)")
    port = free_port()
    config = tmp_path / "am.yml"
    config.write_text("route:\n  receiver: none\n  group_wait: 0s\nreceivers:\n  - name: none\n")
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
                             f"--web.listen-address={HOST}:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    wait_until(lambda: proc.poll() is None and requests.get(url + "/-/ready", timeout=1).status_code == 200,
               timeout=30, message="alertmanager ready")
    yield url, port
    proc.terminate()
    proc.wait(timeout=15)


def test_rules_record_and_alert_to_alertmanager(tmp_path, alertmanager):
    am_url, am_port = alertmanager
    rules = tmp_path / "rules.yml"
    rules.write_text("""groups:
  - name: vigil
    interval: 1s
    rules:
      - record: job:queue_depth:max
        expr: max by (job) (queue_depth)
      - alert: QueueTooDeep
        expr: job:queue_depth:max > 5
        labels:
          severity: page
        annotations:
          summary: "queue of {{ $labels.job }} is {{ $value }} deep"
""")
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global:
  evaluation_interval: 1s
  external_labels:
    cluster: test
rule_files:
  - rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{HOST}:{am_port}"]
""")
    store = MetricsStore(tmp_path, [f"--config.file={config}"]).start()
    try:
        def write_now():
            now = int(time.time() * 1000)
            assert store.write([({"__name__": "queue_depth", "job": "worker", "instance": "a"}, [(now, 9)]),
                                ({"__name__": "queue_depth", "job": "worker", "instance": "b"}, [(now, 3)])]).status_code == 204

        write_now()

        def recorded():
            write_now()
            r = requests.get(store.url + "/api/v1/query", params={"query": "job:queue_depth:max"}, timeout=5).json()
            return r["data"]["result"] and r["data"]["result"][0]["value"][1] == "9"
        wait_until(recorded, timeout=30, message="recording rule output")

        def in_alertmanager():
            write_now()
            alerts = requests.get(am_url + "/api/v2/alerts", timeout=5).json()
            return [a for a in alerts if a["labels"].get("alertname") == "QueueTooDeep"]
        wait_until(in_alertmanager, timeout=60, message="alert in Alertmanager")
        [alert] = in_alertmanager()
        assert alert["labels"] == {"alertname": "QueueTooDeep", "job": "worker", "severity": "page", "cluster": "test"}
        assert alert["annotations"]["summary"] == "queue of worker is 9 deep"
        assert alert["status"]["state"] == "active"

        amtool = subprocess.run(["amtool", f"--alertmanager.url={am_url}", "alert", "query", "-o", "json"],
                                capture_output=True, text=True, timeout=30)
        assert amtool.returncode == 0, amtool.stderr
        assert any(a["labels"]["alertname"] == "QueueTooDeep" for a in json.loads(amtool.stdout))

        firing = requests.get(store.url + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        assert [a["state"] for a in firing] == ["firing"] and firing[0]["value"] == "9e+00", firing
        groups = requests.get(store.url + "/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert [r["name"] for r in groups[0]["rules"]] == ["job:queue_depth:max", "QueueTooDeep"]
        assert all(r["health"] == "ok" for r in groups[0]["rules"])
        # ALERTS is written once `for` state restoration has run (after the group's
        # second evaluation), as Prometheus does.
        def alerts_series():
            write_now()
            return requests.get(store.url + "/api/v1/query", params={"query": 'ALERTS{alertname="QueueTooDeep"}'},
                                timeout=5).json()["data"]["result"]
        wait_until(alerts_series, timeout=30, message="ALERTS series")
        assert alerts_series()[0]["metric"]["alertstate"] == "firing"
    finally:
        store.stop()


def test_invalid_rule_file_is_refused_at_start(tmp_path):
    (tmp_path / "bad.yml").write_text("groups:\n  - name: g\n    rules:\n      - record: ok\n        expr: sum(\n")
    config = tmp_path / "prometheus.yml"
    config.write_text("rule_files:\n  - bad.yml\n")
    store = MetricsStore(tmp_path, [f"--config.file={config}"])
    with pytest.raises(AssertionError, match="could not parse expression"):
        store.start()
    promtool = subprocess.run(["promtool", "check", "rules", str(tmp_path / "bad.yml")], capture_output=True, text=True)
    assert promtool.returncode != 0
