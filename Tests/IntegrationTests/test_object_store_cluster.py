"""The object store as a three-node cluster with replication factor 3 (Garage's shape):
nodes connected with `node connect`, a layout with zones dc1/dc2/dc3 assigned and applied
with the CLI, objects written through one node and read through another; then one node is
killed with SIGKILL, reads, quorum writes, deletes and listings go on through the other
two, and when it comes back it catches up (checked by reading its own copy alone)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import signal
import time

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import HOST, wait_until
from object_store_node import ObjectStoreNode

BUCKET = "replicated"


@pytest.fixture
def cluster(tmp_path):
    secret = os.urandom(32).hex()
    nodes = [ObjectStoreNode(tmp_path / f"node{i}", rpc_secret=secret, replication_factor=3,
                             extra_config="anti_entropy_interval_msec = 1000") for i in range(3)]
    for node in nodes:
        node.start()
    yield nodes, secret
    for node in nodes:
        node.stop()


def node_id(node: ObjectStoreNode) -> str:
    return node.cli("node", "id").stdout.strip()


def healthy_count(node: ObjectStoreNode) -> int:
    out = node.cli("status").stdout
    healthy = out.split("==== FAILED NODES ====")[0]
    return sum(1 for line in healthy.splitlines()[2:] if line.strip())


def layout_version(node: ObjectStoreNode) -> int:
    match = re.search(r"Current cluster layout version: (\d+)", node.cli("layout", "show").stdout)
    return int(match.group(1)) if match else -1


def local_object_count(node: ObjectStoreNode) -> int:
    """Objects in the node's own metadata (the admin API's bucket info is not a cluster read)."""
    out = node.cli("bucket", "info", BUCKET).stdout
    return int(re.search(r"Objects: (\d+)", out).group(1))


def rpc_headers(secret: str, method: str, path: str, query: str = "") -> dict[str, str]:
    now = str(int(time.time()))
    message = f"{method}\n{path}\n{query}\n{now}".encode()
    signature = hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()
    return {"x-vigil-rpc-time": now, "x-vigil-rpc-signature": signature}


def digests(node: ObjectStoreNode, secret: str) -> dict[str, str]:
    answer = requests.get(f"http://{HOST}:{node.rpc_port}/rpc/digests", headers=rpc_headers(secret, "GET", "/rpc/digests"), timeout=5)
    answer.raise_for_status()
    return answer.json()


def local_uploads(node: ObjectStoreNode, secret: str) -> int:
    """Uploads in progress in the node's own metadata (RPC, not the cluster-wide S3 listing)."""
    answer = requests.get(f"http://{HOST}:{node.rpc_port}/rpc/uploads", params={"bucket": BUCKET},
                          headers=rpc_headers(secret, "GET", "/rpc/uploads", f"bucket={BUCKET}"), timeout=5)
    answer.raise_for_status()
    return len(answer.json()["uploads"])


def listed_keys(s3) -> set[str]:
    keys = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 3}):
        keys |= {item["Key"] for item in page.get("Contents", [])}
    return keys


def test_rpc_port_refuses_requests_without_the_cluster_secret(cluster, tmp_path):
    (node, _, _), secret = cluster
    # A node with another secret cannot be connected: it refuses the signed gossip.
    outsider = ObjectStoreNode(tmp_path / "outsider", replication_factor=3).start()
    try:
        refused = node.cli("node", "connect", node_id(outsider), check=False)
        assert refused.returncode != 0 and "rpc_secret" in refused.stdout + refused.stderr
        assert healthy_count(node) == 1
    finally:
        outsider.stop()
    url = f"http://{HOST}:{node.rpc_port}/rpc/catalog"
    assert requests.get(url, timeout=5).status_code == 403
    wrong = requests.get(url, headers=rpc_headers(os.urandom(32).hex(), "GET", "/rpc/catalog"), timeout=5)
    assert wrong.status_code == 403 and "rpc_secret" in wrong.text
    right = requests.get(url, headers=rpc_headers(secret, "GET", "/rpc/catalog"), timeout=5)
    assert right.status_code == 200 and "buckets" in right.json()


def form_cluster(nodes: list[ObjectStoreNode]) -> tuple[str, str]:
    """Connects the nodes, gives each a zone in layout version 1, creates a key and BUCKET
    through the first node and waits until every node knows them. Returns the key."""
    a, b, c = nodes
    ids = [node_id(n) for n in nodes]
    a.cli("node", "connect", ids[1])
    a.cli("node", "connect", ids[2])
    # b and c learn of each other through gossip.
    wait_until(lambda: all(healthy_count(n) == 3 for n in nodes), 20, interval=0.3, message="all nodes to see each other")
    for full_id, zone in zip(ids, ["dc1", "dc2", "dc3"]):
        a.cli("layout", "assign", "-z", zone, "-c", "1G", full_id.split("@")[0][:16])
    a.cli("layout", "apply", "--version", "1")
    wait_until(lambda: all(layout_version(n) == 1 for n in nodes), 20, interval=0.3, message="the layout to reach every node")
    assert all(zone in b.cli("layout", "show").stdout for zone in ["dc1", "dc2", "dc3"])

    key = a.create_key("cluster-key", create_bucket=True)
    a.create_bucket(BUCKET, key[0])
    wait_until(lambda: b.client(key).head_bucket(Bucket=BUCKET) and c.client(key).head_bucket(Bucket=BUCKET), 20,
               interval=0.2, message="the bucket and key to reach every node")
    return key


def test_three_nodes_keep_serving_with_one_killed_and_it_catches_up(cluster):
    nodes, secret = cluster
    a, b, c = nodes
    key = form_cluster(nodes)
    s3a, s3b = a.client(key), b.client(key)

    # Inline (small), one data file, and several 1 MiB blocks.
    before = {"before/small": os.urandom(100), "before/medium": os.urandom(200_000), "before/large": os.urandom(3_000_000)}
    for name, body in before.items():
        s3a.put_object(Bucket=BUCKET, Key=name, Body=body)
    for name, body in before.items():
        assert s3b.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
    wait_until(lambda: local_object_count(c) == 3, 10, interval=0.2, message="c to hold its replicas")

    # A replica that hangs (stopped, its socket still accepting) does not hold writes and
    # reads that the other two answer; the client's timeout is far below the RPC timeout.
    c.process.send_signal(signal.SIGSTOP)
    s3a_short = a.client(key, read_timeout=20)
    s3a_short.put_object(Bucket=BUCKET, Key="before/paused", Body=(paused := os.urandom(1000)))
    assert s3a_short.get_object(Bucket=BUCKET, Key="before/paused")["Body"].read() == paused
    c.kill9()
    for name, body in before.items():
        assert s3a.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
        assert s3b.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
    during = {"during/small": os.urandom(50), "during/medium": os.urandom(150_000), "during/large": os.urandom(2_500_000)}
    for name, body in during.items():
        s3b.put_object(Bucket=BUCKET, Key=name, Body=body)
    s3a.put_object(Bucket=BUCKET, Key="before/medium", Body=(replaced := os.urandom(90_000)))
    s3b.copy_object(Bucket=BUCKET, Key="during/copy", CopySource={"Bucket": BUCKET, "Key": "before/large"})
    # A multipart upload while c is down (its parts go to a and b).
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    upload = s3a.create_multipart_upload(Bucket=BUCKET, Key="during/multipart")["UploadId"]
    etags = [s3a.upload_part(Bucket=BUCKET, Key="during/multipart", UploadId=upload, PartNumber=n + 1, Body=part)["ETag"]
             for n, part in enumerate(parts)]
    s3a.complete_multipart_upload(Bucket=BUCKET, Key="during/multipart", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n + 1, "ETag": etag} for n, etag in enumerate(etags)]})
    s3a.delete_object(Bucket=BUCKET, Key="before/small")
    s3b.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "during/small"}]})
    with pytest.raises(ClientError) as missing:
        s3b.get_object(Bucket=BUCKET, Key="before/small")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    expected = {"before/medium": replaced, "before/large": before["before/large"],
                "during/medium": during["during/medium"], "during/large": during["during/large"],
                "during/copy": before["before/large"], "during/multipart": b"".join(parts), "before/paused": paused}
    assert listed_keys(s3a) == set(expected) and listed_keys(s3b) == set(expected)
    for name, body in expected.items():
        assert s3a.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
        assert s3b.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
    wait_until(lambda: "FAILED NODES" in a.cli("status").stdout, 10, interval=0.3, message="a to report c as failed")

    c.start()
    # Caught up: c's per-partition digests of (bucket, key, version), tombstones included,
    # equal a's and b's.
    wait_until(lambda: digests(c, secret) == digests(a, secret) == digests(b, secret), 30, interval=0.3, message="c to catch up")
    assert local_object_count(c) == len(expected)

    # Read c's own copy: the other two stopped, c alone in degraded mode (reads from one node).
    a.stop()
    b.stop()
    c.stop()
    c.write_config('anti_entropy_interval_msec = 1000\nconsistency_mode = "degraded"', secret, 3)
    c.start()
    s3c = c.client(key)
    for name, body in expected.items():
        got = s3c.get_object(Bucket=BUCKET, Key=name)["Body"].read()
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(body).hexdigest(), name
    for deleted in ["before/small", "during/small"]:
        with pytest.raises(ClientError) as gone:
            s3c.get_object(Bucket=BUCKET, Key=deleted)
        assert gone.value.response["Error"]["Code"] == "NoSuchKey"
    assert listed_keys(s3c) == set(expected)
    # Alone, c cannot reach a write quorum (2 of 3): the PUT is refused, not acknowledged.
    with pytest.raises(ClientError) as refused:
        s3c.put_object(Bucket=BUCKET, Key="alone", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"


def test_bootstrap_peers_join_a_node_at_start(tmp_path):
    secret = os.urandom(32).hex()
    first = ObjectStoreNode(tmp_path / "first", rpc_secret=secret, replication_factor=3).start()
    second = None
    try:
        first_id = node_id(first)
        second = ObjectStoreNode(tmp_path / "second", rpc_secret=secret, replication_factor=3,
                                 extra_config=f'bootstrap_peers = ["{first_id}"]').start()
        # The second node pings the first at start; the first learns it from that ping.
        wait_until(lambda: healthy_count(first) == 2 and healthy_count(second) == 2, 20, interval=0.3,
                   message="the two nodes to see each other")
        assert first_id.split("@")[0][:16] in second.cli("status").stdout
    finally:
        for node in (first, second):
            if node is not None:
                node.stop()


def test_multipart_upload_goes_through_any_node(cluster):
    """As behind a load balancer: every call of an upload may reach another node."""
    nodes, _ = cluster
    a, b, c = nodes
    key = form_cluster(nodes)
    s3a, s3b, s3c = a.client(key), b.client(key), c.client(key)
    name = "multipart/spread"
    parts = [os.urandom(5 * 1024 * 1024 + 17), os.urandom(5 * 1024 * 1024), os.urandom(3000)]

    upload = s3a.create_multipart_upload(Bucket=BUCKET, Key=name)["UploadId"]
    listed = s3c.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [(name, upload)]
    # Part 1 first through c with other bytes, then again through b: the later one wins.
    s3c.upload_part(Bucket=BUCKET, Key=name, UploadId=upload, PartNumber=1, Body=os.urandom(5 * 1024 * 1024))
    time.sleep(0.01)
    etags = {1: s3b.upload_part(Bucket=BUCKET, Key=name, UploadId=upload, PartNumber=1, Body=parts[0])["ETag"]}
    etags[2] = s3c.upload_part(Bucket=BUCKET, Key=name, UploadId=upload, PartNumber=2, Body=parts[1])["ETag"]
    # c misses part 3: it is written to a and b only.
    c.kill9()
    etags[3] = s3b.upload_part(Bucket=BUCKET, Key=name, UploadId=upload, PartNumber=3, Body=parts[2])["ETag"]
    c.start()
    wait_until(lambda: healthy_count(c) == 3 and healthy_count(a) == 3, 20, interval=0.3, message="c to be back")

    listed_parts = s3a.list_parts(Bucket=BUCKET, Key=name, UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed_parts] == [
        (n, etags[n], len(parts[n - 1])) for n in (1, 2, 3)]
    # Completed through c, which lacks part 3's data: it fetches it from a or b.
    s3c.complete_multipart_upload(Bucket=BUCKET, Key=name, UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]})
    whole = b"".join(parts)
    for client in (s3b, s3a, s3c):
        got = client.get_object(Bucket=BUCKET, Key=name)["Body"].read()
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(whole).hexdigest()
    for client in (s3a, s3b, s3c):
        assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    # Every node holds the object's three part files and no leftover (the replaced part 1).
    wait_until(lambda: all(len(n.blob_files()) == 3 for n in nodes), 10, interval=0.2,
               message="each node to keep exactly the object's three data files")

    # c is down when an upload completes: the object's entry, which repair brings to c,
    # drops c's copy of the upload (else ListMultipartUploads would list it for ever).
    late = s3b.create_multipart_upload(Bucket=BUCKET, Key="multipart/late")["UploadId"]
    late_etag = s3a.upload_part(Bucket=BUCKET, Key="multipart/late", UploadId=late, PartNumber=1, Body=b"y" * 2000)["ETag"]
    c.kill9()
    s3b.complete_multipart_upload(Bucket=BUCKET, Key="multipart/late", UploadId=late, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": late_etag}]})
    c.start()
    wait_until(lambda: healthy_count(a) == 3, 20, interval=0.3, message="c to be back")
    wait_until(lambda: s3a.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == [], 20, interval=0.3,
               message="c to drop the upload completed while it was down")
    assert s3c.get_object(Bucket=BUCKET, Key="multipart/late")["Body"].read() == b"y" * 2000
    wait_until(lambda: all(len(n.blob_files()) == 4 for n in nodes), 10, interval=0.2,
               message="each node to hold the two objects' four data files")

    # An upload aborted through another node than the one that created it is gone everywhere.
    other = s3b.create_multipart_upload(Bucket=BUCKET, Key="multipart/aborted")["UploadId"]
    s3a.upload_part(Bucket=BUCKET, Key="multipart/aborted", UploadId=other, PartNumber=1, Body=b"x" * 1000)
    s3c.abort_multipart_upload(Bucket=BUCKET, Key="multipart/aborted", UploadId=other)
    for client in (s3a, s3b, s3c):
        with pytest.raises(ClientError) as gone:
            client.list_parts(Bucket=BUCKET, Key="multipart/aborted", UploadId=other)
        assert gone.value.response["Error"]["Code"] == "NoSuchUpload"
    wait_until(lambda: all(len(n.blob_files()) == 4 for n in nodes), 10, interval=0.2,
               message="the aborted part's files to be removed")


def test_lost_or_corrupt_data_file_is_restored_from_a_replica(tmp_path):
    secret = os.urandom(32).hex()
    nodes = [ObjectStoreNode(tmp_path / f"node{i}", rpc_secret=secret, replication_factor=3,
                             extra_config="anti_entropy_interval_msec = 1000\nscrub_interval_msec = 1500") for i in range(3)]
    try:
        for node in nodes:
            node.start()
        a, b, c = nodes
        key = form_cluster(nodes)
        body = os.urandom(2_500_000)
        a.client(key).put_object(Bucket=BUCKET, Key="resync", Body=body)
        wait_until(lambda: all(len(n.blob_files()) == 1 for n in nodes), 10, interval=0.2, message="every replica to hold the file")
        original = a.blob_files()[0].read_bytes()
        lost = c.blob_files()[0]
        assert lost.name == a.blob_files()[0].name

        # Lost: a read through c is served from the others and queues the file's resync.
        lost.unlink()
        assert c.client(key).get_object(Bucket=BUCKET, Key="resync")["Body"].read() == body
        wait_until(lambda: lost.exists() and lost.read_bytes() == original, 10, interval=0.2,
                   message="c to fetch the lost data file again")

        # Corrupt (one byte flipped, no read): the scrub finds it and restores it.
        damaged = bytearray(b.blob_files()[0].read_bytes())
        damaged[1_500_000] ^= 0xFF
        b.blob_files()[0].write_bytes(bytes(damaged))
        wait_until(lambda: b.blob_files()[0].read_bytes() == original, 15, interval=0.3,
                   message="b's scrub to restore the corrupted data file")
        assert "restored data file" in b.log_path.read_text(errors="replace")
    finally:
        for node in nodes:
            node.stop()


def test_adding_a_fourth_node_moves_partitions_to_it(cluster, tmp_path):
    nodes, secret = cluster
    a = nodes[0]
    key = form_cluster(nodes)
    s3a = a.client(key)
    objects = {f"moved/{i:02d}": os.urandom(200_000) for i in range(16)}
    for name, body in objects.items():
        s3a.put_object(Bucket=BUCKET, Key=name, Body=body)
    s3a.delete_object(Bucket=BUCKET, Key="moved/00")
    del objects["moved/00"]
    # Uploads in progress move too: one part each, completed through the new node below.
    uploads = {f"uploading/{i}": (s3a.create_multipart_upload(Bucket=BUCKET, Key=f"uploading/{i}")["UploadId"], os.urandom(1000 + i))
               for i in range(8)}
    etags = {name: s3a.upload_part(Bucket=BUCKET, Key=name, UploadId=upload, PartNumber=1, Body=body)["ETag"]
             for name, (upload, body) in uploads.items()}

    d = ObjectStoreNode(tmp_path / "node3", rpc_secret=secret, replication_factor=3,
                        extra_config="anti_entropy_interval_msec = 1000").start()
    try:
        d_id = node_id(d)
        a.cli("node", "connect", d_id)
        wait_until(lambda: all(healthy_count(n) == 4 for n in nodes + [d]), 20, interval=0.3, message="d to join")
        a.cli("layout", "assign", "-z", "dc4", "-c", "1G", d_id.split("@")[0][:16])
        a.cli("layout", "apply", "--version", "2")
        everyone = nodes + [d]
        wait_until(lambda: all(layout_version(n) == 2 for n in everyone), 20, interval=0.3, message="layout 2 to reach every node")
        # Each object ends on exactly three nodes again (d gained some, the others handed
        # theirs over and dropped them), data files included.
        wait_until(lambda: sum(local_object_count(n) for n in everyone) == 3 * len(objects) and local_object_count(d) > 0,
                   30, interval=0.5, message="the moved partitions to settle on their new replicas")
        wait_until(lambda: sum(local_uploads(n, secret) for n in everyone) == 3 * len(uploads) and local_uploads(d, secret) > 0,
                   30, interval=0.5, message="the uploads to settle on their new replicas")
        wait_until(lambda: sum(len(n.blob_files()) for n in everyone) == 3 * (len(objects) + len(uploads)), 10, interval=0.3,
                   message="the old replicas to drop the data files they handed over")
        s3d = d.client(key)
        for name, (upload, body) in uploads.items():
            s3d.complete_multipart_upload(Bucket=BUCKET, Key=name, UploadId=upload,
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[name]}]})
            objects[name] = body
        for name, body in objects.items():
            assert s3d.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
        assert listed_keys(s3d) == set(objects)
        # With any one of the original nodes down, every object still has a quorum.
        nodes[1].kill9()
        for name, body in objects.items():
            assert s3a.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
    finally:
        d.stop()
