"""The object store's S3 API against real clients (boto3, awscli): buckets, objects,
conditional and range reads, checksums, copy, listing, batch delete, presigned URLs,
signed and trailer aws-chunked uploads, virtual-host addressing, and the S3 error code
for each kind of bad request, with the node still serving afterwards."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import subprocess
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from object_store_node import REGION, ROOT_DOMAIN, ObjectStoreNode, TLSFront, signed_chunked_put


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = ObjectStoreNode(tmp_path_factory.mktemp("object-store")).start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def key(node):
    return node.create_key("main-key", create_bucket=True)


@pytest.fixture(scope="module")
def s3(node, key):
    return node.client(key)


_counter = [0]


@pytest.fixture
def bucket(s3):
    _counter[0] += 1
    name = f"test-bucket-{_counter[0]}-{os.urandom(3).hex()}"
    s3.create_bucket(Bucket=name)
    return name


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def aws(node, key, *args, check=True, stdin=""):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION=REGION)
    result = subprocess.run(["aws", "--endpoint-url", node.endpoint, *args], capture_output=True, text=True, env=env,
                            timeout=120, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


# ---------------------------------------------------------------------------------------
# buckets


def test_bucket_operations_with_awscli(node, key):
    aws(node, key, "s3", "mb", "s3://cli-bucket")
    assert "cli-bucket" in aws(node, key, "s3", "ls").stdout
    aws(node, key, "s3api", "head-bucket", "--bucket", "cli-bucket")
    location = json.loads(aws(node, key, "s3api", "get-bucket-location", "--bucket", "cli-bucket").stdout)
    assert location["LocationConstraint"] == REGION
    aws(node, key, "s3", "cp", "-", "s3://cli-bucket/x.txt", "--content-type", "text/plain", stdin="from stdin")
    assert aws(node, key, "s3", "cp", "s3://cli-bucket/x.txt", "-").stdout == "from stdin"
    refused = aws(node, key, "s3", "rb", "s3://cli-bucket", check=False)
    assert refused.returncode != 0 and "BucketNotEmpty" in refused.stderr
    aws(node, key, "s3", "rm", "s3://cli-bucket/x.txt")
    aws(node, key, "s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in aws(node, key, "s3", "ls").stdout


def test_bucket_errors(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket)
    assert error_code(e) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Not_A_Valid_Name")
    assert error_code(e) == "InvalidBucketName"
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert error_code(e) == "NoSuchBucket"
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="no-such-bucket-here")
    assert error_code(e) == "NoSuchBucket"


def test_list_buckets_shows_only_granted_buckets(node, s3, bucket):
    other = node.create_key("other-key", create_bucket=True)
    other_s3 = node.client(other)
    other_s3.create_bucket(Bucket="others-bucket")
    mine = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    theirs = [b["Name"] for b in other_s3.list_buckets()["Buckets"]]
    assert bucket in mine and "others-bucket" not in mine
    assert theirs == ["others-bucket"]


# ---------------------------------------------------------------------------------------
# objects


def test_put_get_head_delete_with_metadata(s3, bucket):
    body = os.urandom(200_000)
    put = s3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=body, ContentType="application/x-test",
                        Metadata={"colour": "blue", "Owner-Name": "ada"}, CacheControl="max-age=60",
                        ContentDisposition="attachment")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"colour": "blue", "owner-name": "ada"}
    assert got["CacheControl"] == "max-age=60" and got["ContentDisposition"] == "attachment"
    head = s3.head_object(Bucket=bucket, Key="dir/obj.bin")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]
    s3.delete_object(Bucket=bucket, Key="dir/obj.bin")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/obj.bin")
    assert error_code(e) == "NoSuchKey"
    s3.delete_object(Bucket=bucket, Key="never-existed")  # S3 answers 204 for a missing key


def test_empty_and_overwritten_objects(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    s3.put_object(Bucket=bucket, Key="k", Body=b"first" * 40_000)
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"second"


def test_large_bodies_uploaded_together_get_their_own_md5_etags(s3, bucket):
    # Bodies past 512 KiB are hashed side by side in the SIMD lanes of one thread; unequal
    # lengths (some not a multiple of the 64-byte MD5 block) end in different lanes.
    sizes = [512 * 1024 + 1, 1024 * 1024, 3 * 1024 * 1024 + 17, 2 * 1024 * 1024 - 63, 5 * 1024 * 1024 + 55,
             700_001, 4 * 1024 * 1024, 1_500_000]
    bodies = [os.urandom(size) for size in sizes]

    def put(index):
        return s3.put_object(Bucket=bucket, Key=f"together/{index}", Body=bodies[index])["ETag"]

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        etags = list(pool.map(put, range(len(bodies))))
    for index, body in enumerate(bodies):
        assert etags[index] == f'"{hashlib.md5(body).hexdigest()}"', sizes[index]
        got = s3.get_object(Bucket=bucket, Key=f"together/{index}")
        assert got["ETag"] == etags[index]
        assert got["Body"].read() == body


def test_range_reads(s3, bucket):
    body = os.urandom(3 * 1024 * 1024 + 17)  # spans several 1 MiB checksum blocks
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    for header, expected in [("bytes=0-9", body[:10]), ("bytes=1048570-1048590", body[1048570:1048591]),
                             ("bytes=-100", body[-100:]), ("bytes=3145720-", body[3145720:]),
                             ("bytes=5-99999999", body[5:])]:
        got = s3.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["Body"].read() == expected, header
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"].endswith(f"/{len(body)}")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert error_code(e) == "InvalidRange"
    s3.put_object(Bucket=bucket, Key="small", Body=b"0123456789")
    assert s3.get_object(Bucket=bucket, Key="small", Range="bytes=2-4")["Body"].read() == b"234"


def test_conditional_reads(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert error_code(e) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"other"')["Body"].read() == b"conditional"
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"conditional"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert error_code(e) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=future)["Body"].read() == b"conditional"


def test_content_md5_and_checksums_are_verified(s3, bucket):
    body = b"checksummed body " * 1000
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="md5", Body=body, ContentMD5=md5)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="md5-bad", Body=body, ContentMD5=base64.b64encode(b"x" * 16).decode())
    assert error_code(e) == "BadDigest"
    for algorithm in ["CRC32", "SHA1", "SHA256"]:  # botocore computes CRC32C only with awscrt
        put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=body, ChecksumAlgorithm=algorithm)
        got = s3.get_object(Bucket=bucket, Key=f"sum-{algorithm}", ChecksumMode="ENABLED")
        assert got["Body"].read() == body
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
    expected_crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert s3.head_object(Bucket=bucket, Key="sum-CRC32", ChecksumMode="ENABLED")["ChecksumCRC32"] == expected_crc
    # CRC32C("123456789") is 0xE3069283, the check value of the Castagnoli polynomial.
    s3.put_object(Bucket=bucket, Key="crc32c", Body=b"123456789", ChecksumCRC32C=base64.b64encode(bytes.fromhex("e3069283")).decode())
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="crc32c-bad", Body=b"123456789", ChecksumCRC32C="AAAAAA==")
    assert error_code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="crc-bad", Body=body, ChecksumCRC32="AAAAAA==")
    assert error_code(e) == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="crc-bad")


def test_sdk_default_https_upload_uses_trailer_checksums(node, key, bucket, tmp_path):
    """Over HTTPS boto3 sends STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32
    trailer by default; the TLS front relays it to the node unchanged."""
    front = TLSFront(tmp_path, node.s3_port)
    try:
        client = boto3.client("s3", endpoint_url=front.endpoint, aws_access_key_id=key[0], aws_secret_access_key=key[1],
                              region_name=REGION, verify=str(front.cert),
                              config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        seen = []
        client.meta.events.register("before-send.s3.PutObject", lambda request, **_: seen.append(dict(request.headers)))
        body = os.urandom(300_000)
        client.put_object(Bucket=bucket, Key="trailer", Body=body)
        sent = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in seen[-1].items()}
        assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
        assert client.get_object(Bucket=bucket, Key="trailer")["Body"].read() == body
        small = client.put_object(Bucket=bucket, Key="trailer-small", Body=b"tiny")
        assert small["ETag"] == f'"{hashlib.md5(b"tiny").hexdigest()}"'
    finally:
        front.close()


def test_signed_aws_chunked_uploads(node, key, bucket, s3):
    data = os.urandom(200_000)
    response = signed_chunked_put(node.endpoint, key, bucket, "chunked", data)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
    response = signed_chunked_put(node.endpoint, key, bucket, "chunked-trailer", data, trailer_crc32=True)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="chunked-trailer")["Body"].read() == data
    tampered = signed_chunked_put(node.endpoint, key, bucket, "tampered", data, tamper_chunk=1)
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="tampered")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_copy_object_metadata_directives(s3, bucket):
    body = os.urandom(150_000)
    s3.put_object(Bucket=bucket, Key="src", Body=body, ContentType="text/src", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="copy")
    assert got["Body"].read() == body and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/src"
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   ContentType="text/new", Metadata={"b": "2"})
    got = s3.get_object(Bucket=bucket, Key="replaced")
    assert got["Body"].read() == body and got["Metadata"] == {"b": "2"} and got["ContentType"] == "text/new"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert error_code(e) == "InvalidRequest"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/missing")
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src", CopySourceIfMatch='"nope"')
    assert error_code(e) == "PreconditionFailed"


# ---------------------------------------------------------------------------------------
# listing and batch delete


def test_list_objects_v2_prefix_delimiter_and_pages(s3, bucket):
    keys = [f"logs/2024/{i:03d}.txt" for i in range(25)] + ["logs/readme", "other/x", "top", "logs/2025/a", "a b+c"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    everything = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in everything["Contents"]] == sorted(keys) and everything["KeyCount"] == len(keys)
    grouped = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["logs/", "other/"]
    assert [o["Key"] for o in grouped["Contents"]] == ["a b+c", "top"]
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["logs/2024/", "logs/2025/"]
    assert [o["Key"] for o in nested["Contents"]] == ["logs/readme"]
    pages, token = [], None
    while True:
        args = dict(Bucket=bucket, Prefix="logs/2024/", MaxKeys=10)
        if token:
            args["ContinuationToken"] = token
        page = s3.list_objects_v2(**args)
        pages.append([o["Key"] for o in page["Contents"]])
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == sorted(k for k in keys if k.startswith("logs/2024/"))
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="logs/2024/020.txt", Prefix="logs/2024/")
    assert [o["Key"] for o in after["Contents"]] == [f"logs/2024/{i:03d}.txt" for i in range(21, 25)]
    # botocore asks for encoding-type=url on every listing and decodes it (the checks above);
    # asked for explicitly, the encoded form comes through as sent.
    encoded = s3.list_objects_v2(Bucket=bucket, Prefix="a", EncodingType="url")
    assert [o["Key"] for o in encoded["Contents"]] == ["a%20b%2Bc"]
    paginator = s3.get_paginator("list_objects_v2")
    prefixes = [p["Prefix"] for page in paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1})
                for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["logs/", "other/"]


def test_list_objects_v1_marker(s3, bucket):
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    first = s3.list_objects(Bucket=bucket, MaxKeys=3)
    assert [o["Key"] for o in first["Contents"]] == ["k0", "k1", "k2"] and first["IsTruncated"]
    second = s3.list_objects(Bucket=bucket, Marker="k2", MaxKeys=3)
    assert [o["Key"] for o in second["Contents"]] == ["k3", "k4", "k5"]
    with pytest.raises(ClientError) as e:
        s3.list_objects(Bucket=bucket, EncodingType="gzip")
    assert error_code(e) == "InvalidArgument"


def test_delete_objects_batch_and_malformed_xml(node, key, s3, bucket):
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d{i}", Body=os.urandom(100_000))
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"d{i}"} for i in range(4)] + [{"Key": "ghost"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["d0", "d1", "d2", "d3", "ghost"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["d4"]
    request = AWSRequest(method="POST", url=f"{node.endpoint}/{bucket}?delete", data=b"<Delete><Object><Key>d4</Key></Obj",
                         headers={"Content-MD5": base64.b64encode(hashlib.md5(b"<Delete><Object><Key>d4</Key></Obj").digest()).decode()})
    request.headers["x-amz-content-sha256"] = hashlib.sha256(request.data).hexdigest()
    SigV4Auth(Credentials(*key), "s3", REGION).add_auth(request)
    response = requests.post(request.url, data=request.data, headers=dict(request.headers), timeout=10)
    assert response.status_code == 400 and "<Code>MalformedXML</Code>" in response.text
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["d4"]


# ---------------------------------------------------------------------------------------
# presigned URLs


def test_presigned_get_and_put(s3, bucket):
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned"}, ExpiresIn=300)
    assert requests.put(put_url, data=b"uploaded via presigned url", timeout=10).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned"}, ExpiresIn=300)
    response = requests.get(get_url, timeout=10)
    assert response.status_code == 200 and response.content == b"uploaded via presigned url"
    tampered = get_url.replace("presigned?", "presigned-other?")
    assert "<Code>SignatureDoesNotMatch</Code>" in requests.get(tampered, timeout=10).text


def test_presigned_url_expires(s3, bucket):
    s3.put_object(Bucket=bucket, Key="expiring", Body=b"soon gone")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "expiring"}, ExpiresIn=2)
    assert requests.get(url, timeout=10).status_code == 200
    time.sleep(3.2)
    response = requests.get(url, timeout=10)
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code>" in response.text and "Request has expired" in response.text


# ---------------------------------------------------------------------------------------
# addressing


def test_virtual_host_style_addressing(node, key, s3, bucket):
    s3.put_object(Bucket=bucket, Key="vhost/key.txt", Body=b"virtual host")
    request = AWSRequest(method="GET", url=f"{node.endpoint}/vhost/key.txt",
                         headers={"Host": f"{bucket}{ROOT_DOMAIN}:{node.s3_port}", "x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    SigV4Auth(Credentials(*key), "s3", REGION).add_auth(request)
    response = requests.get(request.url, headers=dict(request.headers), timeout=10)
    assert response.status_code == 200 and response.content == b"virtual host"


# ---------------------------------------------------------------------------------------
# auth and permissions


def test_wrong_secret_unknown_key_and_anonymous(node, key, bucket):
    s3_bad = node.client((key[0], "0" * 64))
    with pytest.raises(ClientError) as e:
        s3_bad.list_objects_v2(Bucket=bucket)
    assert error_code(e) == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        node.client(("GK" + "0" * 24, "0" * 64)).list_objects_v2(Bucket=bucket)
    assert error_code(e) == "InvalidAccessKeyId"
    anonymous = requests.get(f"{node.endpoint}/{bucket}", timeout=10)
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text
    assert "<RequestId>" in anonymous.text and f"<Resource>/{bucket}</Resource>" in anonymous.text


def test_permissions_are_enforced_per_key_and_bucket(node, s3, bucket):
    reader = node.create_key("reader-key")
    node.cli("bucket", "allow", "--read", bucket, "--key", reader[0])
    s3.put_object(Bucket=bucket, Key="readable", Body=b"r")
    as_reader = node.client(reader)
    assert as_reader.get_object(Bucket=bucket, Key="readable")["Body"].read() == b"r"
    with pytest.raises(ClientError) as e:
        as_reader.put_object(Bucket=bucket, Key="nope", Body=b"w")
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        as_reader.delete_bucket(Bucket=bucket)
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        as_reader.create_bucket(Bucket="reader-made")
    assert error_code(e) == "AccessDenied"
    node.cli("bucket", "deny", "--read", bucket, "--key", reader[0])
    with pytest.raises(ClientError) as e:
        as_reader.get_object(Bucket=bucket, Key="readable")
    assert error_code(e) == "AccessDenied"
    node.cli("key", "allow", "--create-bucket", reader[0])
    as_reader.create_bucket(Bucket="reader-made")
    assert "reader-made" in [b["Name"] for b in as_reader.list_buckets()["Buckets"]]


def test_server_keeps_serving_after_bad_requests(node, key, s3, bucket):
    garbage = [
        requests.put(f"{node.endpoint}/{bucket}/x", data=b"x", headers={"Authorization": "AWS4-HMAC-SHA256 nonsense"}, timeout=10),
        requests.get(f"{node.endpoint}/{bucket}?list-type=2", headers={"Authorization": "AWS abc:def"}, timeout=10),
        requests.put(f"{node.endpoint}/{bucket}/x", data=b"x" * 10,
                     headers={"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, timeout=10),
    ]
    assert all(400 <= r.status_code < 500 for r in garbage), [r.status_code for r in garbage]
    assert all("<Error>" in r.text for r in garbage)
    s3.put_object(Bucket=bucket, Key="still-alive", Body=b"yes")
    assert s3.get_object(Bucket=bucket, Key="still-alive")["Body"].read() == b"yes"


def test_corrupted_data_file_is_an_error_not_wrong_bytes(node, s3, bucket):
    body = os.urandom(2 * 1024 * 1024)
    before = set(node.blob_files())
    s3.put_object(Bucket=bucket, Key="fragile", Body=body)
    (blob,) = set(node.blob_files()) - before
    raw = bytearray(blob.read_bytes())
    raw[1_500_000] ^= 0x01
    blob.write_bytes(bytes(raw))
    assert s3.get_object(Bucket=bucket, Key="fragile", Range="bytes=0-1000")["Body"].read() == body[:1001]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="fragile", Range="bytes=1100000-1600000")
    assert error_code(e) == "InternalError"
    # The first block is fine, so the response starts; the bad block aborts it mid-body.
    try:
        data = s3.get_object(Bucket=bucket, Key="fragile")["Body"].read()
    except Exception:  # noqa: BLE001 - botocore reports the cut-short body
        data = None
    assert data is None, "a full read of a corrupt object returned data"


def test_request_metrics_on_the_admin_port(node, s3, bucket):
    s3.put_object(Bucket=bucket, Key="counted", Body=b"1")
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="not-there")
    text = requests.get(node.admin_url + "/metrics", timeout=10).text
    puts = [l for l in text.splitlines() if l.startswith("api_s3_request_counter") and 'api_endpoint="PutObject"' in l]
    assert puts and float(puts[0].split()[-1]) >= 1
    assert any(l.startswith("api_s3_error_counter") and 'api_endpoint="GetObject"' in l and 'status_code="404"' in l
               for l in text.splitlines())


def test_expect_100_continue_is_answered_before_the_body(node, s3, bucket):
    """The SDKs send `Expect: 100-continue` on larger PUTs and wait up to a second for it."""
    import socket

    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "continued"}, ExpiresIn=60)
    path = url.split(f":{node.s3_port}", 1)[1]
    with socket.create_connection(("127.0.0.1", node.s3_port), timeout=5) as conn:
        conn.sendall(f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{node.s3_port}\r\nContent-Length: 5\r\n"
                     f"Expect: 100-continue\r\n\r\n".encode())
        interim = conn.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        conn.sendall(b"hello")
        final = b""
        while b"\r\n\r\n" not in final:
            final += conn.recv(1024)
        assert final.startswith(b"HTTP/1.1 200")
    assert s3.get_object(Bucket=bucket, Key="continued")["Body"].read() == b"hello"
