"""Helpers for the object-store integration tests: a node process with its own Garage-style
TOML config on free loopback ports, its CLI, boto3 clients, a hand-rolled SigV4 signer for
the request shapes the SDKs do not send (signed aws-chunked uploads), and a TLS front so the
SDK's HTTPS-only defaults (aws-chunked with trailer checksums) can be exercised."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import select
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

from conftest import HOST, REPO, _bin_dir, free_port, wait_until

REGION = "garage"
ROOT_DOMAIN = ".s3.garage.localhost"


def object_store_binary() -> Path:
    path = _bin_dir() / "object-store"
    if not path.exists():
        pytest.fail(f"object-store binary not found at {path} (build it with `swift build`, or set VIGIL_BIN_DIR)")
    return path


class ObjectStoreNode:
    """One `object-store -c FILE server` process; `cli(...)` runs admin subcommands."""

    def __init__(self, workdir: Path, admin_token: str = "test-admin-token", extra_config: str = "",
                 server_args: tuple[str, ...] = (), rpc_secret: str | None = None, replication_factor: int = 1):
        self.workdir = Path(workdir)
        self.server_args = server_args
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.s3_port = free_port()
        self.admin_port = free_port()
        self.admin_token = admin_token
        self.rpc_port = free_port()
        self.config_path = self.workdir / "garage.toml"
        self.write_config(extra_config, rpc_secret or os.urandom(32).hex(), replication_factor)
        self.log_path = self.workdir / "object-store.log"
        self.process: subprocess.Popen | None = None

    def write_config(self, extra_config: str, rpc_secret: str, replication_factor: int):
        """(Re)writes the node's TOML; ports and directories stay the same across rewrites."""
        self.config_path.write_text(f"""
metadata_dir = "{self.workdir / 'meta'}"
data_dir = "{self.workdir / 'data'}"
db_engine = "sqlite"
replication_factor = {replication_factor}
rpc_bind_addr = "127.0.0.1:{self.rpc_port}"
rpc_public_addr = "127.0.0.1:{self.rpc_port}"
rpc_secret = "{rpc_secret}"
{extra_config}

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "{HOST}:{self.s3_port}"
root_domain = "{ROOT_DOMAIN}"

[admin]
api_bind_addr = "{HOST}:{self.admin_port}"
admin_token = "{self.admin_token}"
""")

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    def start(self, timeout: float = 30.0) -> "ObjectStoreNode":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([str(object_store_binary()), "-c", str(self.config_path), "server", *self.server_args],
                                        stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        log.close()

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"object-store exited with {self.process.returncode}:\n{self.log()}")
            return requests.get(self.admin_url + "/health", timeout=0.5).status_code == 200 and _port_open(self.s3_port)

        wait_until(ready, timeout, message="object-store to serve")
        return self

    def kill9(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(object_store_binary()), "-c", str(self.config_path), *args],
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"object-store {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def create_key(self, name: str, create_bucket: bool = False) -> tuple[str, str]:
        out = self.cli("key", "create", name).stdout
        key_id = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Key ID:"))
        secret = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Secret key:"))
        if create_bucket:
            self.cli("key", "allow", "--create-bucket", key_id)
        return key_id, secret

    def create_bucket(self, name: str, key_id: str, *flags: str):
        self.cli("bucket", "create", name)
        self.cli("bucket", "allow", *(flags or ("--read", "--write", "--owner")), name, "--key", key_id)

    def client(self, key: tuple[str, str], endpoint: str | None = None, addressing: str = "path", **config):
        return boto3.client("s3", endpoint_url=endpoint or self.endpoint, aws_access_key_id=key[0],
                            aws_secret_access_key=key[1], region_name=REGION,
                            config=Config(s3={"addressing_style": addressing}, retries={"max_attempts": 1}, **config))

    def blob_files(self) -> list[Path]:
        return [p for p in (self.workdir / "data" / "blobs").rglob("*") if p.is_file()]

    def temp_files(self) -> list[Path]:
        return [p for p in (self.workdir / "data" / "tmp").glob("*") if p.is_file()]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# SigV4 by hand, for signed aws-chunked uploads (botocore never sends them)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str) -> bytes:
    return _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), REGION), "s3"), "aws4_request")


def signed_chunked_put(endpoint: str, key: tuple[str, str], bucket: str, object_key: str, data: bytes,
                       chunk_size: int = 65536, tamper_chunk: int | None = None, trailer_crc32: bool = False):
    """PUT with x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], every chunk
    signed in the chain the spec defines. `tamper_chunk` flips a byte of that chunk's data
    after signing (the server must refuse the upload)."""
    import zlib
    import base64

    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/{REGION}/s3/aws4_request"
    host = endpoint.split("://", 1)[1]
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" if trailer_crc32 else "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": mode,
               "x-amz-decoded-content-length": str(len(data)), "content-encoding": "aws-chunked"}
    if trailer_crc32:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = sorted(headers)
    canonical = "\n".join(["PUT", f"/{bucket}/{object_key}", "",
                           "".join(f"{h}:{headers[h]}\n" for h in signed), ";".join(signed), mode])
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    skey = signing_key(key[1], date)
    seed = hmac.new(skey, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={key[0]}/{scope}, SignedHeaders={';'.join(signed)}, "
                                f"Signature={seed}")
    body = bytearray()
    previous = seed
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    empty = hashlib.sha256(b"").hexdigest()
    for index, chunk in enumerate(chunks):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty, hashlib.sha256(chunk).hexdigest()])
        signature = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
        previous = signature
        sent = bytearray(chunk)
        if tamper_chunk == index and sent:
            sent[0] ^= 0xFF
        body += f"{len(chunk):x};chunk-signature={signature}\r\n".encode() + bytes(sent)
        if chunk:
            body += b"\r\n"
    if trailer_crc32:
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        trailer = f"x-amz-checksum-crc32:{crc}\n"
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, hashlib.sha256(trailer.encode()).hexdigest()])
        trailer_signature = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
        body += f"x-amz-checksum-crc32:{crc}\r\nx-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode()
    else:
        body += b"\r\n"
    headers.pop("host")
    return requests.put(f"{endpoint}/{bucket}/{object_key}", data=bytes(body), headers=headers, timeout=30)


# ---------------------------------------------------------------------------------------
# TLS front: the SDKs only use aws-chunked trailer checksums over HTTPS


class TLSFront:
    """Terminates TLS on a loopback port and relays bytes to the plain-HTTP S3 port, so that
    boto3 talks HTTPS (and picks its HTTPS defaults) to the node unchanged."""

    def __init__(self, workdir: Path, backend_port: int):
        self.cert = workdir / "front.crt"
        self.key = workdir / "front.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HOST}",
                        "-addext", f"subjectAltName=IP:{HOST}", "-keyout", str(self.key), "-out", str(self.cert)],
                       check=True, capture_output=True)
        self.backend_port = backend_port
        self.port = free_port()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(self.cert), str(self.key))
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, self.port))
        self.listener.listen(16)
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"https://{HOST}:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(raw,), daemon=True).start()

    def _relay(self, raw: socket.socket):
        try:
            client = self.context.wrap_socket(raw, server_side=True)
            backend = socket.create_connection((HOST, self.backend_port))
        except (OSError, ssl.SSLError):
            raw.close()
            return
        sockets = [client, backend]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (backend if s is client else client).sendall(data)
                while client.pending():
                    data = client.recv(65536)
                    if not data:
                        return
                    backend.sendall(data)
        except (OSError, ssl.SSLError):
            pass
        finally:
            client.close()
            backend.close()

    def close(self):
        self.closed = True
        self.listener.close()
