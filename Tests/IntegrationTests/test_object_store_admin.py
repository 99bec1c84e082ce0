"""Administration of the object store as with Garage: the TOML config (unknown keys are
errors naming the key), the CLI's output shapes, the admin API's bearer token, the layout
commands, and the bootstrap script's idempotence."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from object_store_node import REPO, ObjectStoreNode, object_store_binary


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = ObjectStoreNode(tmp_path_factory.mktemp("object-store-admin")).start()
    yield n
    n.stop()


def test_unknown_config_key_is_an_error_naming_it(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('metadata_dir = "/tmp/m"\ndata_dir = "/tmp/d"\n\n[s3_api]\napi_bind_addr = "127.0.0.1:1"\ns3_regoin = "x"\n')
    result = subprocess.run([str(object_store_binary()), "-c", str(config), "server"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "s3_api.s3_regoin" in result.stderr and "unknown key" in result.stderr


def test_missing_required_key_and_bad_types_are_errors(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('data_dir = "/tmp/d"\n')
    result = subprocess.run([str(object_store_binary()), "-c", str(config), "server"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "metadata_dir" in result.stderr
    config.write_text('metadata_dir = "/tmp/m"\ndata_dir = "/tmp/d"\nreplication_factor = "three"\n')
    result = subprocess.run([str(object_store_binary()), "-c", str(config), "server"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "replication_factor" in result.stderr and "integer" in result.stderr


def test_key_create_prints_garage_lines(node):
    out = node.cli("key", "create", "printed-key").stdout.splitlines()
    key_id = next(l for l in out if l.startswith("Key ID: ")).split(": ", 1)[1]
    secret = next(l for l in out if l.startswith("Secret key: ")).split(": ", 1)[1]
    assert key_id.startswith("GK") and len(key_id) == 26
    assert len(secret) == 64 and all(c in "0123456789abcdef" for c in secret)
    assert key_id in node.cli("key", "list").stdout
    info = node.cli("key", "info", "printed-key").stdout
    assert key_id in info and secret not in info and "Can create buckets: false" in info
    assert "Can create buckets: true" in node.cli("key", "allow", "--create-bucket", "printed-key").stdout
    assert "Can create buckets: false" in node.cli("key", "deny", "--create-bucket", key_id).stdout


def test_bucket_commands(node):
    key_id, _ = node.create_key("bucket-cmd-key")
    assert "Bucket admin-made was created." in node.cli("bucket", "create", "admin-made").stdout
    assert "admin-made" in node.cli("bucket", "list").stdout
    out = node.cli("bucket", "allow", "--read", "--write", "admin-made", "--key", "bucket-cmd-key").stdout
    assert "read true, write true, owner false" in out
    info = node.cli("bucket", "info", "admin-made").stdout
    assert "Objects: 0" in info and key_id in info and "RW " in info
    out = node.cli("bucket", "deny", "--write", "admin-made", "--key", key_id).stdout
    assert "read true, write false, owner false" in out
    failed = node.cli("bucket", "create", "admin-made", check=False)
    assert failed.returncode != 0 and "BucketAlreadyExists" in (failed.stdout + failed.stderr)
    missing = node.cli("bucket", "info", "no-such-bucket", check=False)
    assert missing.returncode != 0 and "NoSuchBucket" in (missing.stdout + missing.stderr)
    assert "was deleted" in node.cli("bucket", "delete", "--yes", "admin-made").stdout
    assert "admin-made" not in node.cli("bucket", "list").stdout


def test_layout_assign_apply_show(node):
    status = node.cli("status").stdout
    node_id = status.splitlines()[2].split()[0]
    assert len(node_id) == 16
    assert "NO ROLE ASSIGNED" in status
    node.cli("layout", "assign", "-z", "dc1", "-c", "1G", node_id)
    shown = node.cli("layout", "show").stdout
    assert "STAGED ROLE CHANGES" in shown and "layout apply --version 1" in shown
    wrong = node.cli("layout", "apply", "--version", "5", check=False)
    assert wrong.returncode != 0 and "must be 1" in (wrong.stdout + wrong.stderr)
    node.cli("layout", "apply", "--version", "1")
    shown = node.cli("layout", "show").stdout
    assert "Current cluster layout version: 1" in shown and "dc1" in shown and "STAGED" not in shown
    assert "dc1" in node.cli("status").stdout
    unknown = node.cli("layout", "assign", "-z", "dc1", "-c", "1G", "ffffffffffffffff", check=False)
    assert unknown.returncode != 0 and "Unknown node" in (unknown.stdout + unknown.stderr)


def test_admin_api_needs_the_bearer_token(node):
    assert requests.get(node.admin_url + "/health", timeout=5).status_code == 200
    assert requests.get(node.admin_url + "/v1/bucket", timeout=5).status_code == 403
    wrong = requests.get(node.admin_url + "/v1/bucket", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 403 and wrong.json()["code"] == "Forbidden"
    ok = requests.get(node.admin_url + "/v1/bucket", headers={"Authorization": f"Bearer {node.admin_token}"}, timeout=5)
    assert ok.status_code == 200 and isinstance(ok.json(), list)
    metrics = requests.get(node.admin_url + "/metrics", timeout=5)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")


def test_bootstrap_script_is_idempotent(node):
    env = dict(os.environ, OBJECT_STORE_BIN=str(object_store_binary()))
    script = REPO / "scripts" / "object-store-bootstrap.sh"
    first = subprocess.run([str(script), "-c", str(node.config_path)], capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([str(script), "-c", str(node.config_path)], capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout  # same keys, not new ones
    creds = dict(line.split("=", 1) for line in first.stdout.split())
    keys = node.cli("key", "list").stdout
    assert keys.count("loki-key") == 1 and keys.count("tempo-key") == 1
    buckets = node.cli("bucket", "list").stdout
    assert buckets.count("loki-chunks") == 1 and buckets.count("tempo-traces") == 1
    loki = node.client((creds["LOKI_KEY_ID"], creds["LOKI_SECRET"]))
    loki.put_object(Bucket="loki-chunks", Key="chunk", Body=b"c")
    assert loki.get_object(Bucket="loki-chunks", Key="chunk")["Body"].read() == b"c"
    with pytest.raises(Exception):
        loki.put_object(Bucket="tempo-traces", Key="nope", Body=b"x")
    tempo = node.client((creds["TEMPO_KEY_ID"], creds["TEMPO_SECRET"]))
    tempo.put_object(Bucket="tempo-traces", Key="block", Body=b"b")


def test_bootstrap_script_imports_given_credentials(tmp_path):
    n = ObjectStoreNode(tmp_path / "import").start()
    try:
        env = dict(os.environ, OBJECT_STORE_BIN=str(object_store_binary()),
                   LOKI_KEY_ID="GK" + "1" * 24, LOKI_SECRET="2" * 64, TEMPO_KEY_ID="GK" + "3" * 24, TEMPO_SECRET="4" * 64)
        out = subprocess.run([str(REPO / "scripts" / "object-store-bootstrap.sh"), "-c", str(n.config_path)],
                             capture_output=True, text=True, env=env, timeout=120, check=True).stdout
        assert f"LOKI_KEY_ID=GK{'1' * 24}" in out and f"TEMPO_SECRET={'4' * 64}" in out
        n.client(("GK" + "1" * 24, "2" * 64)).put_object(Bucket="loki-chunks", Key="k", Body=b"v")
    finally:
        n.stop()
