"""metrics-store `kubernetes_sd_configs` against a fake Kubernetes API server.

No real API server can run on this machine (no kind, kube-apiserver or etcd binaries), so
`FakeKubernetesAPI` below stands in for one: the only hand-written fake in these tests. It
serves what discovery uses of core/v1 and nothing more, as the API server does it: list
calls (`GET /api/v1/pods`, `/api/v1/namespaces/<ns>/pods`, also services, endpoints, nodes,
and `/apis/discovery.k8s.io/v1/.../endpointslices`)
answering `{"kind": "PodList", "metadata": {"resourceVersion"}, "items": [...]}`, watch
calls (`?watch=1&resourceVersion=N`) answering a chunked stream of one JSON event per line
(`ADDED`/`MODIFIED`/`DELETED`, and an `ERROR` with a 410 Status for a version that is too
old), `labelSelector` equality selectors, and 401 without the expected bearer token. The
store itself, the exporter it scrapes and the HTTP between them are real.

The job uses the common annotation pattern: keep pods annotated prometheus.io/scrape=true
and scrape the port named by prometheus.io/port.
"""
from __future__ import annotations

import datetime
import http.server
import json
import ssl
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

from conftest import HOST, free_port, wait_until
from test_metrics_store import MetricsStore

TOKEN = "s3cr3t-token"


class FakeKubernetesAPI:
    """Pods, services and endpoints in memory, with a resource version per change."""

    def __init__(self, token: str, tls: ssl.SSLContext | None = None):
        self.token = token
        self.scheme = "https" if tls else "http"
        self.port = free_port()
        self.lock = threading.Condition()
        self.version = 100
        self.objects: dict[str, dict[str, dict]] = {"pods": {}, "services": {}, "endpoints": {}, "nodes": {},
                                                        "endpointslices": {}}
        self.events: list[tuple[int, str, str, dict]] = []  # (version, resource, type, object)
        self.oldest_watchable = 0
        self.failing = False
        self.requests: list[tuple[str, str]] = []  # (path with query, authorization header)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self)

        self.server = http.server.ThreadingHTTPServer((HOST, self.port), Handler)
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    def start(self) -> "FakeKubernetesAPI":
        self.thread.start()
        return self

    def stop(self):
        with self.lock:
            self.failing = True
            self.lock.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # -- changing the cluster -----------------------------------------------------------

    def put(self, resource: str, obj: dict):
        with self.lock:
            self.version += 1
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self.version)
            key = f'{meta.get("namespace", "")}/{meta["name"]}'
            kind = "MODIFIED" if key in self.objects[resource] else "ADDED"
            self.objects[resource][key] = obj
            self.events.append((self.version, resource, kind, obj))
            self.lock.notify_all()

    def delete(self, resource: str, namespace: str, name: str):
        """`namespace` is "" for cluster-wide objects (nodes)."""
        with self.lock:
            self.version += 1
            obj = self.objects[resource].pop(f"{namespace}/{name}")
            obj["metadata"]["resourceVersion"] = str(self.version)
            self.events.append((self.version, resource, "DELETED", obj))
            self.lock.notify_all()

    def set_failing(self, failing: bool):
        with self.lock:
            self.failing = failing
            self.lock.notify_all()

    def compact(self):
        """Forgets the event history, as etcd compaction does: watches from an older
        version, open ones included, get a 410 Gone event."""
        with self.lock:
            self.oldest_watchable = self.version
            self.events.clear()
            self.lock.notify_all()

    # -- serving -------------------------------------------------------------------------

    def handle(self, request: http.server.BaseHTTPRequestHandler):
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        auth = request.headers.get("Authorization", "")
        with self.lock:
            self.requests.append((request.path, auth))
            failing = self.failing
        if auth != f"Bearer {self.token}":
            return self.send_json(request, 401, status(401, "Unauthorized", "Unauthorized"))
        if failing:
            return self.send_json(request, 500, status(500, "InternalError", "etcd is on fire"))
        segments = parts.path.strip("/").split("/")
        groups = {("api", "v1"): {"pods", "services", "endpoints", "nodes"},
                  ("apis", "discovery.k8s.io", "v1"): {"endpointslices"}}
        group = next((g for g in groups if tuple(segments[:len(g)]) == g), None)
        if group is None:
            return self.send_json(request, 404, status(404, "NotFound", "not found"))
        rest = segments[len(group):]
        namespace = None
        if len(rest) == 3 and rest[0] == "namespaces":
            namespace, resource = rest[1], rest[2]
        elif len(rest) == 1:
            resource = rest[0]
        else:
            return self.send_json(request, 404, status(404, "NotFound", "not found"))
        if resource not in groups[group]:
            return self.send_json(request, 404, status(404, "NotFound", f"the server could not find {resource}"))

        def selected(obj: dict) -> bool:
            meta = obj["metadata"]
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            for term in filter(None, query.get("labelSelector", "").split(",")):
                name, value = term.split("=", 1)
                if (meta.get("labels") or {}).get(name) != value:
                    return False
            return True

        if query.get("watch") in ("1", "true"):
            return self.watch(request, resource, selected, int(query.get("resourceVersion") or 0),
                              min(int(query.get("timeoutSeconds") or 5), 5))
        with self.lock:
            items = [obj for obj in self.objects[resource].values() if selected(obj)]
            body = {"kind": resource.capitalize() + "List", "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.version)}, "items": items}
        self.send_json(request, 200, body)

    def watch(self, request, resource: str, selected, since: int, timeout: float):
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()

        def chunk(data: bytes):
            request.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            request.wfile.flush()

        deadline = time.monotonic() + timeout
        try:
            with self.lock:
                while not self.failing and time.monotonic() < deadline:
                    if since < self.oldest_watchable:
                        gone = status(410, "Expired", f"too old resource version: {since} ({self.oldest_watchable})")
                        chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                        break
                    for version, res, kind, obj in self.events:
                        if version > since and res == resource and selected(obj):
                            chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
                            since = version
                    self.lock.wait(timeout=max(0.0, deadline - time.monotonic()))
            chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def send_json(request, code: int, body: dict):
        data = json.dumps(body).encode()
        request.send_response(code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


def status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}


def pod(name: str, namespace: str, ip: str, scrape_port: int | None, labels: dict | None = None) -> dict:
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(scrape_port)} if scrape_port else {}
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                     "labels": labels or {}, "annotations": annotations},
        "spec": {"nodeName": "node-a", "containers": [
            {"name": "app", "image": "example/app:1", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": "192.168.0.2",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


class Exporter:
    """A tiny exporter: `/metrics` with one gauge, standing in for the pods' processes."""

    def __init__(self):
        self.port = free_port()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = b"# TYPE k8s_demo_value gauge\nk8s_demo_value 42\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer((HOST, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cluster():
    api = FakeKubernetesAPI(TOKEN).start()
    exporter = Exporter()
    yield api, exporter
    api.stop()
    exporter.stop()


def start_store(tmp_path: Path, api: FakeKubernetesAPI, token: str = TOKEN, flags: list[str] | None = None) -> MetricsStore:
    (tmp_path / "token").write_text(token + "\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "kubernetes-pods",
            "kubernetes_sd_configs": [{
                "role": "pod", "api_server": api.url, "bearer_token_file": str(tmp_path / "token"),
                "namespaces": {"names": ["shop"]},
            }],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "regex": "true", "action": "keep"},
                {"source_labels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
                 "regex": r"([^:]+)(?::\d+)?;(\d+)", "replacement": "$1:$2", "target_label": "__address__"},
                {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"},
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        }],
    }))
    return MetricsStore(tmp_path, extra_flags=[f"--config.file={config}"] + (flags or [])).start()


def active_targets(store: MetricsStore) -> list[dict]:
    return requests.get(store.url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]


def pods_targeted(store: MetricsStore) -> set[str]:
    return {t["labels"].get("pod") for t in active_targets(store)}


def series(store: MetricsStore, match: str) -> list[dict]:
    return requests.get(store.url + "/api/v1/series", params={"match[]": match}, timeout=5).json()["data"]


def federated(store: MetricsStore, match: str) -> str:
    return requests.get(store.url + "/federate", params={"match[]": match}, timeout=5).text


def test_pods_become_targets_and_follow_the_cluster(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, exporter.port, {"app": "web", "app.kubernetes.io/part-of": "shop"}))
    api.put("pods", pod("web-2", "shop", HOST, exporter.port, {"app": "web"}))
    api.put("pods", pod("db-1", "shop", HOST, None, {"app": "db"}))          # not annotated: dropped
    api.put("pods", pod("other-1", "elsewhere", HOST, exporter.port))        # namespace not watched
    store = start_store(tmp_path, api)
    try:
        wait_until(lambda: pods_targeted(store) == {"web-1", "web-2"}, timeout=20, message="web-1 and web-2 targeted")
        web1 = next(t for t in active_targets(store) if t["labels"]["pod"] == "web-1")
        assert web1["labels"] == {"job": "kubernetes-pods", "instance": f"{HOST}:{exporter.port}", "namespace": "shop",
                                  "pod": "web-1", "app": "web", "app_kubernetes_io_part_of": "shop"}
        assert web1["scrapeUrl"] == f"http://{HOST}:{exporter.port}/metrics"
        discovered = web1["discoveredLabels"]
        assert discovered["__address__"] == f"{HOST}:8080"
        assert discovered["__meta_kubernetes_pod_container_port_name"] == "http"
        assert discovered["__meta_kubernetes_pod_ready"] == "true"
        assert discovered["__meta_kubernetes_pod_uid"] == "uid-web-1"
        assert discovered["__meta_kubernetes_pod_labelpresent_app_kubernetes_io_part_of"] == "true"
        dropped = requests.get(store.url + "/api/v1/targets", timeout=5).json()["data"]["droppedTargets"]
        assert [t["discoveredLabels"]["__meta_kubernetes_pod_name"] for t in dropped] == ["db-1"]

        # Samples arrive carrying the pod's labels.
        wait_until(lambda: {s["pod"] for s in series(store, "k8s_demo_value")} == {"web-1", "web-2"},
                   timeout=15, message="samples from both pods")
        sample = next(s for s in series(store, 'k8s_demo_value{pod="web-1"}'))
        assert sample["app"] == "web" and sample["namespace"] == "shop" and sample["job"] == "kubernetes-pods"

        # The store listed and watched only the configured namespace, with the token.
        paths = [path for path, _ in api.requests]
        assert any(p.startswith("/api/v1/namespaces/shop/pods?") and "watch=1" in p for p in paths), paths
        assert not any(p.startswith("/api/v1/pods") or "elsewhere" in p for p in paths), paths
        assert all(auth == f"Bearer {TOKEN}" for _, auth in api.requests)

        # A pod added later arrives through the watch; a deleted one goes, its series marked stale.
        api.put("pods", pod("web-3", "shop", HOST, exporter.port, {"app": "web"}))
        wait_until(lambda: pods_targeted(store) == {"web-1", "web-2", "web-3"}, timeout=10, message="web-3 added")
        api.delete("pods", "shop", "web-2")
        wait_until(lambda: pods_targeted(store) == {"web-1", "web-3"}, timeout=10, message="web-2 removed")
        wait_until(lambda: 'pod="web-2"' not in federated(store, "k8s_demo_value"), timeout=10,
                   message="web-2's series stale")
        assert 'pod="web-1"' in federated(store, "k8s_demo_value")

        # Annotation removed (MODIFIED): relabeling now drops the pod.
        api.put("pods", pod("web-3", "shop", HOST, None, {"app": "web"}))
        wait_until(lambda: pods_targeted(store) == {"web-1"}, timeout=10, message="web-3 no longer scraped")
        # All of these changes came through the one watch stream: one list call in all.
        assert len([p for p, _ in api.requests if "watch=" not in p]) == 1, api.requests
    finally:
        store.stop()


def test_reload_keeps_an_unchanged_discovery_and_restarts_a_changed_one(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, exporter.port, {"app": "web"}))
    store = start_store(tmp_path, api, flags=["--web.enable-lifecycle"])
    config = tmp_path / "prometheus.yml"
    try:
        wait_until(lambda: pods_targeted(store) == {"web-1"}, timeout=20, message="web-1 targeted")

        def lists() -> int:
            return len([p for p, _ in api.requests if "watch=" not in p])

        assert lists() == 1
        assert requests.post(store.url + "/-/reload", timeout=10).status_code == 200
        time.sleep(1)
        assert lists() == 1, "an unchanged kubernetes_sd_configs entry keeps its watch"
        assert pods_targeted(store) == {"web-1"}

        # A changed entry (other namespace) is a new discovery: it lists that namespace.
        api.put("pods", pod("job-1", "batch", HOST, exporter.port, {"app": "job"}))
        config.write_text(config.read_text().replace("- shop", "- batch"))
        assert requests.post(store.url + "/-/reload", timeout=10).status_code == 200
        wait_until(lambda: pods_targeted(store) == {"job-1"}, timeout=10, message="job-1 after reload")
        assert lists() == 2 and api.requests[-1][0].startswith("/api/v1/namespaces/batch/pods")
    finally:
        store.stop()


def test_failing_api_server_keeps_the_last_targets(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, exporter.port, {"app": "web"}))
    store = start_store(tmp_path, api)
    try:
        wait_until(lambda: pods_targeted(store) == {"web-1"}, timeout=20, message="web-1 targeted")
        requests_before = len(api.requests)
        api.set_failing(True)
        wait_until(lambda: len(api.requests) > requests_before, timeout=15, message="a request while failing")
        wait_until(lambda: "500" in store.log_path.read_text(), timeout=10, message="the failure logged")
        assert pods_targeted(store) == {"web-1"}, "last good targets are kept while the API server fails"
        time.sleep(1.5)
        assert 'pod="web-1"' in federated(store, "k8s_demo_value"), "still scraped"

        # Recovered, the store lists again and sees the change made meanwhile.
        api.put("pods", pod("web-2", "shop", HOST, exporter.port, {"app": "web"}))
        api.set_failing(False)
        wait_until(lambda: pods_targeted(store) == {"web-1", "web-2"}, timeout=20, message="web-2 after recovery")
    finally:
        store.stop()


def test_expired_watch_lists_again(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, exporter.port, {"app": "web"}))
    store = start_store(tmp_path, api)
    try:
        wait_until(lambda: pods_targeted(store) == {"web-1"}, timeout=20, message="web-1 targeted")
        wait_until(lambda: any("watch=1" in path for path, _ in api.requests), timeout=10, message="a watch")
        lists_before = sum("watch=" not in path for path, _ in api.requests)
        # Changes the open watch never sees: the history is compacted before it wakes.
        with api.lock:
            api.delete("pods", "shop", "web-1")
            api.put("pods", pod("web-9", "shop", HOST, exporter.port, {"app": "web"}))
            api.compact()
        wait_until(lambda: pods_targeted(store) == {"web-9"}, timeout=20, message="web-9 after the 410")
        assert sum("watch=" not in path for path, _ in api.requests) > lists_before, "listed again"
        # A 410 is the normal end of a watch, not a failure (which would wait before retrying).
        assert "Kubernetes API request failed" not in store.log_path.read_text()
    finally:
        store.stop()


def test_wrong_token_is_logged_and_finds_nothing(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, exporter.port))
    store = start_store(tmp_path, api, token="wrong")
    try:
        wait_until(lambda: any(auth == "Bearer wrong" for _, auth in api.requests), timeout=15, message="a request")
        wait_until(lambda: "401" in store.log_path.read_text(), timeout=10, message="the 401 logged")
        assert active_targets(store) == []
    finally:
        store.stop()


def test_endpoints_role_attaches_service_and_pod_labels(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, None, {"app": "web"}))
    api.put("pods", pod("batch-1", "shop", HOST, None, {"app": "batch"}))   # outside the pod selector
    api.put("services", {"kind": "Service", "apiVersion": "v1",
                         "metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "front"}},
                         "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                                  "ports": [{"name": "metrics", "port": exporter.port, "protocol": "TCP"}]}})
    api.put("endpoints", {"kind": "Endpoints", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "shop"},
                          "subsets": [{"addresses": [{"ip": HOST, "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1"}}],
                                       "notReadyAddresses": [{"ip": "10.9.9.9"}],
                                       "ports": [{"name": "metrics", "port": exporter.port, "protocol": "TCP"}]}]})
    (tmp_path / "token").write_text(TOKEN)
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "endpoints",
            "kubernetes_sd_configs": [{
                "role": "endpoints", "api_server": api.url, "authorization": {"credentials_file": str(tmp_path / "token")},
                "selectors": [{"role": "pod", "label": "app=web"}],
            }],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_endpoint_ready"], "regex": "true", "action": "keep"},
                {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
                {"source_labels": ["__meta_kubernetes_service_label_tier"], "target_label": "tier"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        }],
    }))
    store = MetricsStore(tmp_path, extra_flags=[f"--config.file={config}"]).start()
    try:
        wait_until(lambda: len(active_targets(store)) == 1, timeout=20, message="one ready endpoint")
        target = active_targets(store)[0]
        assert target["labels"] == {"job": "endpoints", "instance": f"{HOST}:{exporter.port}",
                                    "service": "web", "tier": "front", "pod": "web-1"}
        assert target["discoveredLabels"]["__meta_kubernetes_endpoint_port_name"] == "metrics"
        wait_until(lambda: series(store, 'k8s_demo_value{service="web", pod="web-1"}'), timeout=15,
                   message="samples with service and pod labels")
        # All namespaces (no `namespaces`), and the pod selector reached the pod list only.
        paths = [path for path, _ in api.requests]
        assert any(p.startswith("/api/v1/endpoints?") or p == "/api/v1/endpoints" for p in paths), paths
        assert any(p.startswith("/api/v1/pods?labelSelector=app%3Dweb") for p in paths), paths
        assert not any("labelSelector" in p for p in paths if not p.startswith("/api/v1/pods")), paths
    finally:
        store.stop()


def test_endpointslice_role_follows_slices_of_a_service(tmp_path, cluster):
    api, exporter = cluster
    api.put("pods", pod("web-1", "shop", HOST, None, {"app": "web"}))
    api.put("services", {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "shop"},
                         "spec": {"type": "ClusterIP", "ports": [{"port": exporter.port}]}})
    api.put("endpointslices", {
        "kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
        "metadata": {"name": "web-abcde", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [HOST], "conditions": {"ready": True},
                       "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-1"}}],
        "ports": [{"name": "metrics", "port": exporter.port, "protocol": "TCP"}]})
    (tmp_path / "token").write_text(TOKEN)
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "slices",
            "kubernetes_sd_configs": [{"role": "endpointslice", "api_server": api.url, "bearer_token": TOKEN,
                                       "namespaces": {"names": ["shop"]}}],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_endpointslice_endpoint_conditions_ready"], "regex": "true", "action": "keep"},
                {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        }],
    }))
    store = MetricsStore(tmp_path, extra_flags=[f"--config.file={config}"]).start()
    try:
        wait_until(lambda: [t["labels"] for t in active_targets(store)]
                   == [{"job": "slices", "instance": f"{HOST}:{exporter.port}", "service": "web", "pod": "web-1"}],
                   timeout=20, message="the slice's endpoint targeted")
        wait_until(lambda: series(store, 'k8s_demo_value{service="web", pod="web-1"}'), timeout=15, message="samples")
        paths = [path for path, _ in api.requests]
        assert any(p.startswith("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices") for p in paths), paths
        api.delete("endpointslices", "shop", "web-abcde")
        wait_until(lambda: active_targets(store) == [], timeout=10, message="slice removed")
    finally:
        store.stop()


def test_node_role_scrapes_each_kubelet_port_named_after_the_node(tmp_path, cluster):
    api, exporter = cluster
    api.put("nodes", {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "node-a", "labels": {"zone": "z1"}},
                      "status": {"addresses": [{"type": "Hostname", "address": "node-a"}, {"type": "InternalIP", "address": HOST}],
                                 "conditions": [{"type": "Ready", "status": "True"}],
                                 "daemonEndpoints": {"kubeletEndpoint": {"Port": exporter.port}}}})
    (tmp_path / "token").write_text(TOKEN)
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "nodes",
            "kubernetes_sd_configs": [{"role": "node", "api_server": api.url, "bearer_token": TOKEN,
                                       "namespaces": {"names": ["ignored-for-nodes"]}}],
            "relabel_configs": [{"action": "labelmap", "regex": "__meta_kubernetes_node_label_(.+)"}],
        }],
    }))
    store = MetricsStore(tmp_path, extra_flags=[f"--config.file={config}"]).start()
    try:
        wait_until(lambda: [t["labels"] for t in active_targets(store)] == [{"job": "nodes", "instance": "node-a", "zone": "z1"}],
                   timeout=20, message="node-a targeted")
        assert active_targets(store)[0]["scrapeUrl"] == f"http://{HOST}:{exporter.port}/metrics"
        wait_until(lambda: series(store, 'k8s_demo_value{instance="node-a", zone="z1"}'), timeout=15, message="node samples")
        assert all(path.startswith("/api/v1/nodes") for path, _ in api.requests), api.requests
        api.delete("nodes", "", "node-a")
        wait_until(lambda: active_targets(store) == [], timeout=10, message="node-a removed")
    finally:
        store.stop()


# ---------------------------------------------------------------------------------------
# TLS, as every real API server speaks it


def make_tls_files(directory: Path, server_name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `server_name` only (no IP SAN), PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-kubernetes-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@pytest.mark.parametrize("server_name, found", [("kubernetes.default.svc", True), (None, False)])
def test_https_api_server_is_verified_against_ca_file(tmp_path, server_name, found):
    """The certificate names kubernetes.default.svc, not 127.0.0.1: with `server_name`
    the connection verifies; without it the store refuses the server and finds nothing."""
    ca_file, cert_file, key_file = make_tls_files(tmp_path, "kubernetes.default.svc")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    api = FakeKubernetesAPI(TOKEN, tls=context).start()
    exporter = Exporter()
    api.put("pods", pod("web-1", "shop", HOST, exporter.port, {"app": "web"}))
    (tmp_path / "token").write_text(TOKEN)
    tls_config = {"ca_file": str(ca_file)} | ({"server_name": server_name} if server_name else {})
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "pods",
            "kubernetes_sd_configs": [{"role": "pod", "api_server": api.url, "bearer_token_file": str(tmp_path / "token"),
                                       "tls_config": tls_config}],
        }],
    }))
    store = MetricsStore(tmp_path, extra_flags=[f"--config.file={config}"]).start()
    try:
        if found:
            wait_until(lambda: {t["discoveredLabels"].get("__meta_kubernetes_pod_name") for t in active_targets(store)} == {"web-1"},
                       timeout=20, message="web-1 discovered over https")
            assert all(auth == f"Bearer {TOKEN}" for _, auth in api.requests)
        else:
            wait_until(lambda: "Kubernetes API request failed" in store.log_path.read_text(), timeout=20,
                       message="the TLS failure logged")
            assert active_targets(store) == []
            assert api.requests == [], "no request got through the failed handshake"
    finally:
        store.stop()
        api.stop()
        exporter.stop()
