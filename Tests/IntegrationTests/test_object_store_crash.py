"""Durability of the object store: kill -9 in the middle of concurrent uploads, restart, and
every acknowledged object is there byte for byte; nothing half-written is visible; the
temporary files of the interrupted uploads are swept at start-up."""

from __future__ import annotations

import hashlib
import random
import threading
import time

from botocore.exceptions import ClientError

from object_store_node import ObjectStoreNode


def content_for(key: str) -> bytes:
    """Deterministic bytes for a key: small (stored inline) or up to 3 MiB (data files)."""
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    size = rng.choice([rng.randint(0, 60_000), rng.randint(70_000, 3 * 1024 * 1024)])
    return rng.randbytes(size)


def test_acknowledged_uploads_survive_kill9(tmp_path):
    node = ObjectStoreNode(tmp_path / "crash").start()
    try:
        key = node.create_key("crash-key", create_bucket=True)
        node.client(key).create_bucket(Bucket="durable")
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def uploader(worker: int):
            s3 = node.client(key)
            i = 0
            while not stop.is_set():
                name = f"w{worker}/obj-{i:05d}"
                try:
                    s3.put_object(Bucket="durable", Key=name, Body=content_for(name))
                except Exception:  # noqa: BLE001 - the node was killed mid-request
                    return
                with lock:
                    acknowledged.append(name)
                i += 1

        threads = [threading.Thread(target=uploader, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        time.sleep(4)
        node.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert len(acknowledged) > 20, "too few uploads finished before the kill to test anything"

        node.start()
        s3 = node.client(key)
        for name in acknowledged:
            body = s3.get_object(Bucket="durable", Key=name)["Body"].read()
            assert body == content_for(name), f"{name} differs after restart"
        listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="durable") for o in page.get("Contents", [])]
        assert set(acknowledged) <= set(listed)
        for name in set(listed) - set(acknowledged):
            # Committed but not yet acknowledged when the process died: must still be whole.
            assert s3.get_object(Bucket="durable", Key=name)["Body"].read() == content_for(name)
        assert node.temp_files() == []
        assert len(node.blob_files()) <= len(listed)
        s3.put_object(Bucket="durable", Key="after-restart", Body=b"ok")
        assert s3.get_object(Bucket="durable", Key="after-restart")["Body"].read() == b"ok"
    finally:
        node.stop()


def test_interrupted_upload_leaves_nothing_visible(tmp_path):
    """A PUT whose body never finishes (the client dies) is not committed."""
    import socket

    node = ObjectStoreNode(tmp_path / "partial").start()
    try:
        key = node.create_key("partial-key", create_bucket=True)
        s3 = node.client(key)
        s3.create_bucket(Bucket="partial")
        url = s3.generate_presigned_url("put_object", Params={"Bucket": "partial", "Key": "half"}, ExpiresIn=60)
        path = url.split(f":{node.s3_port}", 1)[1]
        with socket.create_connection(("127.0.0.1", node.s3_port)) as conn:
            conn.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{node.s3_port}\r\nContent-Length: 5000000\r\n\r\n".encode())
            conn.sendall(b"x" * 2_000_000)
            time.sleep(0.5)
        time.sleep(0.5)
        try:
            s3.head_object(Bucket="partial", Key="half")
            raise AssertionError("a half-sent object is visible")
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert node.temp_files() == []
        assert node.blob_files() == []
    finally:
        node.stop()


def test_uploads_past_the_limit_get_slow_down_and_the_node_recovers(tmp_path):
    """Under overload the node refuses with 503 SlowDown + Retry-After instead of buffering."""
    import socket

    node = ObjectStoreNode(tmp_path / "overload", server_args=("--max-concurrent-uploads", "2")).start()
    try:
        key = node.create_key("overload-key", create_bucket=True)
        s3 = node.client(key)
        s3.create_bucket(Bucket="busy")
        held = []
        for i in range(2):
            url = s3.generate_presigned_url("put_object", Params={"Bucket": "busy", "Key": f"slow-{i}"}, ExpiresIn=60)
            conn = socket.create_connection(("127.0.0.1", node.s3_port))
            conn.sendall(f"PUT {url.split(f':{node.s3_port}', 1)[1]} HTTP/1.1\r\nHost: 127.0.0.1:{node.s3_port}\r\n"
                         f"Content-Length: 1000000\r\n\r\n".encode() + b"x" * 1000)
            held.append(conn)
        time.sleep(0.5)
        try:
            s3.put_object(Bucket="busy", Key="third", Body=b"refused")
            raise AssertionError("a third concurrent upload was accepted past the limit of 2")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "SlowDown"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert error.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after") == "1"
        assert s3.list_objects_v2(Bucket="busy")["KeyCount"] == 0  # reads still served
        for conn in held:
            conn.close()
        time.sleep(0.5)
        s3.put_object(Bucket="busy", Key="after", Body=b"accepted")
        assert s3.get_object(Bucket="busy", Key="after")["Body"].read() == b"accepted"
    finally:
        node.stop()
