"""metrics-store scraping: a real prometheus-node-exporter and the store itself scraped
every second, target health in /api/v1/targets, relabel-dropped targets, `up` turning 0
when a target dies, and POST /-/reload applying an edited prometheus.yml."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import HOST, free_port, wait_until
from test_metrics_store import MetricsStore

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


@pytest.fixture
def node_exporter(tmp_path):
    if not Path(NODE_EXPORTER).exists():
        pytest.skip("prometheus-node-exporter is not installed")
    port = free_port()
    log = open(tmp_path / "node-exporter.log", "ab")
    process = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address={HOST}:{port}"], stdout=log, stderr=log)
    wait_until(lambda: _serves(f"http://{HOST}:{port}/metrics"), timeout=20, message="node_exporter serving")
    yield process, f"{HOST}:{port}"
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


def _serves(url: str) -> bool:
    try:
        return requests.get(url, timeout=0.5).status_code == 200
    except requests.RequestException:
        return False


def write_config(path: Path, jobs: list[dict]):
    path.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": jobs}))


def start_store(tmp_path: Path, node_address: str, lifecycle: bool = True) -> tuple[MetricsStore, Path]:
    config = tmp_path / "prometheus.yml"
    store = MetricsStore(tmp_path, extra_flags=[f"--config.file={config}"] + (["--web.enable-lifecycle"] if lifecycle else []))
    write_config(config, [
        {"job_name": "node", "static_configs": [{"targets": [node_address]}]},
        {"job_name": "self", "static_configs": [{"targets": [f"{HOST}:{store.port}", "drop-me:1"]}],
         "relabel_configs": [{"source_labels": ["__address__"], "regex": "drop-me:.*", "action": "drop"}]},
    ])
    return store.start(), config


def targets(store: MetricsStore, state: str = "any") -> dict:
    return requests.get(store.url + "/api/v1/targets", params={"state": state}, timeout=5).json()["data"]


def series(store: MetricsStore, match: str) -> list[dict]:
    return requests.get(store.url + "/api/v1/series", params={"match[]": match}, timeout=5).json()["data"]


def up_values(store: MetricsStore) -> dict[str, float]:
    """job -> newest `up` value, from /federate."""
    text = requests.get(store.url + "/federate", params={"match[]": "up"}, timeout=5).text
    values = {}
    for line in text.splitlines():
        if line.startswith("up{"):
            labels, value, _ = line.rsplit(" ", 2)
            job = labels.split('job="', 1)[1].split('"', 1)[0]
            values[job] = float(value)
    return values


def healthy(store: MetricsStore) -> bool:
    active = targets(store, "active")["activeTargets"]
    return len(active) == 2 and all(t["health"] == "up" for t in active)


def test_scrapes_node_exporter_and_itself(tmp_path, node_exporter):
    _, address = node_exporter
    store, _ = start_store(tmp_path, address)
    try:
        wait_until(lambda: healthy(store), timeout=20, message="both targets healthy")
        wait_until(lambda: up_values(store) == {"node": 1.0, "self": 1.0}, timeout=10, message="up == 1 for both")
        assert any(s["__name__"].startswith("node_") for s in series(store, '{__name__=~"node_.+", job="node"}'))
        assert {s["job"] for s in series(store, "scrape_samples_scraped")} == {"node", "self"}
        assert series(store, 'up{job="node"}')[0]["instance"] == address

        data = targets(store)
        node = next(t for t in data["activeTargets"] if t["scrapePool"] == "node")
        assert node["labels"] == {"job": "node", "instance": address}
        assert node["scrapeUrl"] == f"http://{address}/metrics"
        assert node["scrapeInterval"] == "1s" and node["lastError"] == ""
        assert node["discoveredLabels"]["__address__"] == address
        assert [t["discoveredLabels"]["__address__"] for t in data["droppedTargets"]] == ["drop-me:1"]
        assert data["droppedTargetCounts"] == {"self": 1}
        assert targets(store, "dropped")["activeTargets"] == []
        assert targets(store, "active")["droppedTargets"] == []
    finally:
        store.stop()


def test_up_turns_zero_when_target_stops(tmp_path, node_exporter):
    process, address = node_exporter
    store, _ = start_store(tmp_path, address)
    try:
        wait_until(lambda: up_values(store).get("node") == 1.0, timeout=20, message="node up")
        process.terminate()
        process.wait(timeout=10)
        wait_until(lambda: up_values(store).get("node") == 0.0, timeout=10, message="node up == 0")
        node = next(t for t in targets(store)["activeTargets"] if t["scrapePool"] == "node")
        assert node["health"] == "down" and node["lastError"]
        # Its node_* series were marked stale: /federate no longer shows them.
        text = requests.get(store.url + "/federate", params={"match[]": '{job="node"}'}, timeout=5).text
        assert "node_" not in text
    finally:
        store.stop()


def test_reload_removes_a_job(tmp_path, node_exporter):
    _, address = node_exporter
    store, config = start_store(tmp_path, address)
    try:
        wait_until(lambda: healthy(store), timeout=20, message="both targets healthy")
        write_config(config, [{"job_name": "self", "static_configs": [{"targets": [f"{HOST}:{store.port}"]}]}])
        assert requests.post(store.url + "/-/reload", timeout=10).status_code == 200
        assert [t["scrapePool"] for t in targets(store)["activeTargets"]] == ["self"]
        assert "node" not in requests.get(store.url + "/api/v1/status/config", timeout=5).json()["data"]["yaml"]

        # A bad file is refused with 500 and the running configuration stays.
        config.write_text("scrape_configs:\n  - job_name: x\n    bogus: 1\n")
        reply = requests.post(store.url + "/-/reload", timeout=10)
        assert reply.status_code == 500 and "bogus" in reply.text
        assert [t["scrapePool"] for t in targets(store)["activeTargets"]] == ["self"]
    finally:
        store.stop()


def test_reload_needs_lifecycle_flag(tmp_path, node_exporter):
    _, address = node_exporter
    store, _ = start_store(tmp_path, address, lifecycle=False)
    try:
        reply = requests.post(store.url + "/-/reload", timeout=10)
        assert reply.status_code == 403 and "Lifecycle API is not enabled." in reply.text
    finally:
        store.stop()


def test_missing_explicit_config_file_is_fatal(tmp_path):
    store = MetricsStore(tmp_path, extra_flags=[f"--config.file={tmp_path}/nope.yml"])
    with pytest.raises(AssertionError, match="nope.yml"):
        store.start()
    store.stop()
