"""Offline checks of the deployment files: docker/ (Dockerfile, compose, collector config)
and k8s/ (manifests, kustomization, kind cluster).

Nothing here builds an image or starts a cluster. The compose file is resolved by Debian's
docker-compose (1.29), and every Kubernetes manifest is validated against the API's JSON
schemas shipped in the `kubernetes-validate` PyPI package, in strict mode (unknown fields
are errors). Neither tool is optional: a missing one fails the test, it never skips.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
K8S = REPO / "k8s"

# The Kubernetes API version the manifests are validated against: the oldest release
# kind's current node images still cover, and one kubernetes-validate ships schemas for.
K8S_VERSION = "1.30.0"

# Files under k8s/ that are not Kubernetes API objects, with their own checks below.
NON_API_FILES = {"kustomization.yaml", "kind-cluster.yaml"}

PIPELINES = {"traces", "metrics", "logs"}

# ---------------------------------------------------------------------------------------
# helpers


def _kubernetes_validate():
    try:
        import kubernetes_validate  # noqa: PLC0415
    except ImportError:
        pytest.fail(
            "the kubernetes-validate package is not installed: `pip install kubernetes-validate`",
            pytrace=False,
        )
    return kubernetes_validate


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "docker-compose is not on PATH: install Debian's package with "
            "`apt-get install -y docker-compose`",
            pytrace=False,
        )
    return path


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.y*ml") if p.name not in NON_API_FILES)


def _documents(path: Path) -> list[dict]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def _k8s_objects() -> dict[tuple[str, str], dict]:
    """Every API object under k8s/, keyed by (kind, metadata.name)."""
    objects: dict[tuple[str, str], dict] = {}
    for path in _manifest_files():
        for doc in _documents(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{path.name}: {key} is defined twice"
            objects[key] = doc
    return objects


def _published_ports(service: dict) -> set[int]:
    """Host ports of a resolved compose service; docker-compose 1.x prints
    {published, target} mappings, other versions may print "host:container" strings."""
    ports = set()
    for p in service.get("ports", []):
        if isinstance(p, dict):
            assert int(p["published"]) == int(p["target"]), p
            ports.add(int(p["published"]))
        else:
            host, _, container = str(p).rpartition(":")
            assert host.split(":")[-1] == container.split("/")[0], p
            ports.add(int(container.split("/")[0]))
    return ports


def _check_collector_config(config: dict, where: str) -> None:
    """An OTel Collector config with the three pipelines, each wired to defined components."""
    assert isinstance(config, dict), f"{where}: not a YAML mapping"
    for section in ("receivers", "processors", "exporters", "extensions", "service"):
        assert section in config, f"{where}: no top-level `{section}`"

    service = config["service"]
    assert set(service["pipelines"]) == PIPELINES, f"{where}: pipelines {set(service['pipelines'])}"
    for name, pipeline in service["pipelines"].items():
        for part in ("receivers", "processors", "exporters"):
            assert pipeline.get(part), f"{where}: pipeline {name} has no {part}"
            for component in pipeline.get(part, []):
                assert component in config[part], (
                    f"{where}: pipeline {name} uses {part[:-1]} `{component}`, which is not defined"
                )
    for extension in service.get("extensions", []):
        assert extension in config["extensions"], f"{where}: extension `{extension}` not defined"

    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    exporters = config["exporters"]
    assert exporters["prometheusremotewrite"]["endpoint"] == "http://metrics-store:9090/api/v1/write"
    assert exporters["otlphttp/logs"]["endpoint"] == "http://log-store:3100/otlp"
    assert exporters["otlp/traces"]["endpoint"] == "trace-store:4317"
    assert exporters["otlp/traces"]["tls"]["insecure"] is True
    assert service["pipelines"]["metrics"]["exporters"] == ["prometheusremotewrite"]
    assert service["pipelines"]["logs"]["exporters"] == ["otlphttp/logs"]
    assert service["pipelines"]["traces"]["exporters"] == ["otlp/traces"]
    assert "health_check" in service["extensions"]
    assert config["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    assert service["telemetry"]["metrics"]["address"] == "0.0.0.0:8888"


# ---------------------------------------------------------------------------------------
# docker/


@pytest.fixture(scope="module")
def compose_config() -> dict:
    compose = _docker_compose()
    result = subprocess.run(
        [compose, "-f", "docker/docker-compose.yml", "config"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, (
        f"`docker-compose config` failed (exit {result.returncode}):\n{result.stderr}"
    )
    return yaml.safe_load(result.stdout)


def test_compose_resolves_collector_service(compose_config):
    collector = compose_config["services"]["collector"]

    build = collector["build"]
    assert Path(build["context"]).resolve() == REPO
    assert (Path(build["context"]) / build.get("dockerfile", "Dockerfile")).resolve() == (
        DOCKER / "Dockerfile"
    )
    assert build["args"]["SERVICE"] == "collector"

    assert {4317, 4318, 8888} <= _published_ports(collector)

    command = collector["command"]
    if isinstance(command, str):
        command = command.split()
    assert command == ["--config=/etc/vigil/collector.yaml"]

    assert "test" in collector["healthcheck"], "the collector service needs a healthcheck"


def test_compose_mounts_the_collector_config(compose_config):
    collector = compose_config["services"]["collector"]
    mounts = {}
    for volume in collector.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume["source"]
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    source = mounts.get("/etc/vigil/collector.yaml")
    assert source is not None, f"nothing mounted at /etc/vigil/collector.yaml: {mounts}"
    assert Path(source).resolve() == (DOCKER / "collector.yaml").resolve()


def test_compose_collector_config_is_complete():
    with (DOCKER / "collector.yaml").open() as f:
        _check_collector_config(yaml.safe_load(f), "docker/collector.yaml")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    text = (DOCKER / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))
    out = []
    for line in text.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


def test_dockerfile_is_multi_stage_and_parameterised_by_service():
    instructions = _dockerfile_instructions()
    stages = [args for ins, args in instructions if ins == "FROM"]
    assert len(stages) >= 2, f"expected a multi-stage build, found FROM {stages}"
    assert re.match(r"swift:\S+\s+AS\s+\w+", stages[0], re.I), f"build stage: FROM {stages[0]}"

    # ARG SERVICE with the collector default, declared in the build stage.
    first_runtime = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    build_stage = instructions[:first_runtime]
    assert ("ARG", "SERVICE=collector") in build_stage

    builds = [args for ins, args in build_stage if ins == "RUN" and "swift build" in args]
    assert builds, "no `swift build` in the build stage"
    assert any(
        re.search(r"-c release", b) and re.search(r'--product\s+"?\$\{?SERVICE\}?"?', b)
        for b in builds
    ), f"the build does not use --product $SERVICE: {builds}"

    runtime_stage = instructions[first_runtime:]
    assert any(ins == "COPY" and args.startswith("--from=") for ins, args in runtime_stage)
    users = [args for ins, args in runtime_stage if ins == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image must not run as root"
    entrypoints = [args for ins, args in runtime_stage if ins == "ENTRYPOINT"]
    assert entrypoints == ['["/usr/local/bin/service"]']


# ---------------------------------------------------------------------------------------
# k8s/


def test_kubernetes_validate_has_schemas_for_the_pinned_version():
    kv = _kubernetes_validate()
    from kubernetes_validate.utils import major_minor  # noqa: PLC0415

    assert major_minor(K8S_VERSION) <= kv.latest_version()


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: p.name)
def test_manifest_is_valid_kubernetes(path):
    kv = _kubernetes_validate()
    documents = _documents(path)
    assert documents, f"{path.name} has no documents"
    problems = []
    for doc in documents:
        what = f"{path.name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kv.validate(doc, K8S_VERSION, strict=True)
        except kv.SchemaNotFoundError as e:
            problems.append(f"{what}: {e.message}")
        except kv.ValidationError as e:
            path_in_doc = ".".join(str(p) for p in e.absolute_path)
            problems.append(f"{what}: at {path_in_doc or '<root>'}: {e.message}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_configmap_holds_the_collector_config():
    objects = _k8s_objects()
    configmap = objects[("ConfigMap", "collector-config")]
    embedded = yaml.safe_load(configmap["data"]["collector.yaml"])
    _check_collector_config(embedded, "ConfigMap collector-config")

    # One config for both deployments: backends have the same names in compose and k8s.
    with (DOCKER / "collector.yaml").open() as f:
        assert embedded == yaml.safe_load(f), "k8s and docker collector configs differ"


def test_collector_deployment():
    objects = _k8s_objects()
    deployment = objects[("Deployment", "collector")]
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]

    assert container["image"] == "vigil/collector:latest"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["args"] == ["--config=/etc/vigil/collector.yaml"]

    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert {4317, 4318, 8888, 13133} <= set(ports.values())
    for probe in ("readinessProbe", "livenessProbe"):
        port = container[probe]["httpGet"]["port"]
        assert ports.get(port, port) == 13133, f"{probe} is not on the health_check port"

    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert {"cpu", "memory"} <= set(resources["limits"])

    # The config file is the ConfigMap's key, mounted where --config points.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/etc/vigil")
    config_map_name = volumes[mount["name"]]["configMap"]["name"]
    assert ("ConfigMap", config_map_name) in objects
    assert "collector.yaml" in objects[("ConfigMap", config_map_name)]["data"]

    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_collector_service():
    objects = _k8s_objects()
    service = objects[("Service", "collector")]["spec"]
    assert service.get("type", "ClusterIP") == "ClusterIP"
    ports = {p["name"]: p["port"] for p in service["ports"]}
    assert ports == {"otlp-grpc": 4317, "otlp-http": 4318, "metrics": 8888}

    pod_labels = objects[("Deployment", "collector")]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items(), "the Service selects no collector pod"

    container = objects[("Deployment", "collector")]["spec"]["template"]["spec"]["containers"][0]
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    for p in service["ports"]:
        target = p.get("targetPort", p["port"])
        assert named.get(target, target) == p["port"], f"Service port {p['name']} -> {target}"


def test_kustomization_lists_every_manifest():
    (kustomization,) = _documents(K8S / "kustomization.yaml")
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert "collector.yaml" in resources
    for resource in resources:
        assert (K8S / resource).is_file(), f"kustomization lists missing file {resource}"
    assert sorted(resources) == sorted(p.name for p in _manifest_files())


def test_kind_cluster_maps_the_node_ports():
    (cluster,) = _documents(K8S / "kind-cluster.yaml")
    assert cluster["kind"] == "Cluster"
    assert cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    mappings = [m for node in cluster["nodes"] for m in node.get("extraPortMappings", [])]
    assert {(m["containerPort"], m["hostPort"]) for m in mappings} >= {
        (30300, 30300),
        (30090, 30090),
        (30093, 30093),
    }


def test_compose_has_the_metrics_store_with_a_volume(compose_config):
    service = compose_config["services"]["metrics-store"]
    assert service["build"]["args"]["SERVICE"] == "metrics-store"
    assert "--web.enable-remote-write-receiver" in service["command"]
    published = {str(p.get("target")) if isinstance(p, dict) else str(p).split(":")[-1] for p in service["ports"]}
    assert "9090" in published
    assert "metrics-data" in compose_config.get("volumes", {})


def test_metrics_store_statefulset_and_nodeport():
    docs = [d for d in yaml.safe_load_all((REPO / "k8s" / "metrics-store.yaml").read_text()) if d]
    kinds = {d["kind"]: d for d in docs}
    container = kinds["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
    assert "--web.enable-remote-write-receiver" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert kinds["StatefulSet"]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert kinds["Service"]["spec"]["ports"][0]["nodePort"] == 30090


# ---------------------------------------------------------------------------------------
# object store (docker/object-store.toml, k8s/object-store.yaml, k8s/object-store-bootstrap.yaml)

BOOTSTRAP_IN_IMAGE = "/usr/local/bin/object-store-bootstrap"
CREDENTIAL_NAMES = ("LOKI_KEY_ID", "LOKI_SECRET", "TEMPO_KEY_ID", "TEMPO_SECRET")


def _mounts(service: dict) -> dict[str, str]:
    """target -> source of a resolved compose service's volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume["source"]
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    return mounts


def _toml(text: str) -> dict:
    import tomllib  # noqa: PLC0415

    return tomllib.loads(text)


def test_compose_has_the_object_store_with_its_config_and_a_volume(compose_config):
    service = compose_config["services"]["object-store"]
    assert service["build"]["args"]["SERVICE"] == "object-store"
    assert (Path(service["build"]["context"]) / service["build"]["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert _published_ports(service) == {3900, 3903}
    assert service["command"] == ["-c", "/etc/vigil/garage.toml", "server"]
    assert "test" in service["healthcheck"]

    mounts = _mounts(service)
    assert Path(mounts["/etc/vigil/garage.toml"]).resolve() == DOCKER / "object-store.toml"
    assert mounts["/var/lib/vigil"] == "object-store-data"
    assert "object-store-data" in compose_config["volumes"]

    config = _toml((DOCKER / "object-store.toml").read_text())
    assert config["metadata_dir"].startswith("/var/lib/vigil/")
    assert config["data_dir"].startswith("/var/lib/vigil/")
    assert config["s3_api"]["api_bind_addr"] == "0.0.0.0:3900"
    assert config["admin"]["api_bind_addr"] == "0.0.0.0:3903"
    assert config["admin"]["admin_token"]


def test_compose_bootstrap_runs_the_repository_script_against_the_node(compose_config):
    service = compose_config["services"]["object-store-bootstrap"]
    assert service["build"]["args"]["SERVICE"] == "object-store"
    assert service["image"] == compose_config["services"]["object-store"]["image"]
    assert service["entrypoint"] == ["bash", BOOTSTRAP_IN_IMAGE, "-c", "/etc/vigil/garage.toml"]
    # The CLI finds the admin API at 127.0.0.1:3903 because it shares the node's network.
    assert service["network_mode"] == "service:object-store"
    assert service["depends_on"]["object-store"]["condition"] == "service_healthy"
    assert service["restart"] == "no"
    assert service["environment"]["OBJECT_STORE_BIN"] == "/usr/local/bin/service"
    assert Path(_mounts(service)["/etc/vigil/garage.toml"]).resolve() == DOCKER / "object-store.toml"

    # The image carries the script from scripts/ at the path the entrypoint names.
    copies = [args.split() for ins, args in _dockerfile_instructions() if ins == "COPY"]
    assert ["scripts/object-store-bootstrap.sh", BOOTSTRAP_IN_IMAGE] in copies

    # Compose and k8s import the same development credentials.
    secret = _k8s_objects()[("Secret", "object-store-credentials")]["stringData"]
    for name in CREDENTIAL_NAMES:
        assert service["environment"][name] == secret[name], name


def test_object_store_statefulset_service_and_configmap():
    objects = _k8s_objects()
    statefulset = objects[("StatefulSet", "object-store")]["spec"]
    assert statefulset["serviceName"] == "object-store"
    pod = statefulset["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "vigil/object-store:latest"
    assert container["args"] == ["-c", "/etc/vigil/garage.toml", "server"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"s3": 3900, "admin": 3903}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "admin"}

    (claim,) = statefulset["volumeClaimTemplates"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_map = objects[("ConfigMap", volumes[mounts["/etc/vigil/garage.toml"]["name"]]["configMap"]["name"])]
    config = _toml(config_map["data"][mounts["/etc/vigil/garage.toml"]["subPath"]])
    data_mount = next(path for path, m in mounts.items() if m["name"] == claim["metadata"]["name"])
    assert config["metadata_dir"].startswith(data_mount + "/")
    assert config["data_dir"].startswith(data_mount + "/")
    assert config["s3_api"]["api_bind_addr"].endswith(":3900")
    assert config["admin"]["api_bind_addr"].endswith(":3903")

    # admin_token_file is the Secret's key, mounted where the file says.
    token_dir, _, token_key = config["admin"]["admin_token_file"].rpartition("/")
    secret_volume = volumes[mounts[token_dir]["name"]]["secret"]
    assert secret_volume["secretName"] == "object-store-credentials"
    assert {"key": token_key, "path": token_key} in secret_volume["items"]

    service = objects[("Service", "object-store")]["spec"]
    assert {p["name"]: p["port"] for p in service["ports"]} == {"s3": 3900, "admin": 3903}
    assert service["selector"].items() <= statefulset["template"]["metadata"]["labels"].items()


def test_object_store_bootstrap_job_runs_the_script_with_the_secret_credentials():
    objects = _k8s_objects()
    job = objects[("Job", "object-store-bootstrap")]["spec"]
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] in ("OnFailure", "Never")
    (container,) = pod["containers"]
    assert container["image"] == "vigil/object-store:latest"
    assert container["command"][:2] == ["bash", BOOTSTRAP_IN_IMAGE]
    config_path = container["command"][container["command"].index("-c") + 1]

    env = {e["name"]: e for e in container["env"]}
    assert env["OBJECT_STORE_BIN"]["value"] == "/usr/local/bin/service"
    secret = objects[("Secret", "object-store-credentials")]["stringData"]
    for name in CREDENTIAL_NAMES:
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "object-store-credentials" and ref["key"] in secret

    # The CLI's config points at the node's Service on the admin port, with the same token.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_map = objects[("ConfigMap", volumes[mounts[config_path]["name"]]["configMap"]["name"])]
    config = _toml(config_map["data"][mounts[config_path]["subPath"]])
    node_config = _toml(config_map["data"]["garage.toml"])
    assert config["admin"]["api_bind_addr"] == "object-store:3903"
    assert config["admin"]["admin_token_file"] == node_config["admin"]["admin_token_file"]
    token_dir = config["admin"]["admin_token_file"].rpartition("/")[0]
    assert volumes[mounts[token_dir]["name"]]["secret"]["secretName"] == "object-store-credentials"
