"""Multipart uploads against the object store: boto3's transfer manager end to end, and the
low-level calls with S3's rules (ETag as MD5 of part MD5s with "-N", InvalidPart,
InvalidPartOrder, EntityTooSmall, NoSuchUpload, UploadPartCopy, ListParts, ListMultipartUploads)."""

from __future__ import annotations

import hashlib
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from object_store_node import ObjectStoreNode

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = ObjectStoreNode(tmp_path_factory.mktemp("object-store-multipart")).start()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def s3(node):
    key = node.create_key("multipart-key", create_bucket=True)
    client = node.client(key)
    client.create_bucket(Bucket="parts")
    return client


def multipart_etag(parts: list[bytes]) -> str:
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_transfer_manager_upload_and_download(s3, tmp_path):
    source = tmp_path / "big.bin"
    data = os.urandom(17 * MiB + 12345)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(source), "parts", "transfer/big.bin", Config=config)
    head = s3.head_object(Bucket="parts", Key="transfer/big.bin")
    chunks = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(chunks)
    assert head["PartsCount"] == 4
    target = tmp_path / "back.bin"
    s3.download_file("parts", "transfer/big.bin", str(target), Config=config)
    assert target.read_bytes() == data
    middle = s3.get_object(Bucket="parts", Key="transfer/big.bin", Range=f"bytes={5 * MiB - 10}-{5 * MiB + 10}")
    assert middle["Body"].read() == data[5 * MiB - 10:5 * MiB + 11]


def test_low_level_multipart_with_list_calls(s3):
    upload = s3.create_multipart_upload(Bucket="parts", Key="manual", ContentType="video/test", Metadata={"m": "1"})
    uid = upload["UploadId"]
    part1, part2 = os.urandom(5 * MiB), os.urandom(1234)
    e1 = s3.upload_part(Bucket="parts", Key="manual", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket="parts", Key="manual", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    assert e1 == f'"{hashlib.md5(part1).hexdigest()}"'
    listed = s3.list_parts(Bucket="parts", Key="manual", UploadId=uid)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [(1, len(part1), e1), (2, len(part2), e2)]
    uploads = s3.list_multipart_uploads(Bucket="parts")["Uploads"]
    assert any(u["UploadId"] == uid and u["Key"] == "manual" for u in uploads)
    with pytest.raises(ClientError):
        s3.head_object(Bucket="parts", Key="manual")  # not visible before completion
    done = s3.complete_multipart_upload(Bucket="parts", Key="manual", UploadId=uid,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert done["ETag"] == multipart_etag([part1, part2])
    got = s3.get_object(Bucket="parts", Key="manual")
    assert got["Body"].read() == part1 + part2
    assert got["ContentType"] == "video/test" and got["Metadata"] == {"m": "1"}
    assert not any(u["UploadId"] == uid for u in s3.list_multipart_uploads(Bucket="parts").get("Uploads", []))


def test_part_rules(s3):
    uid = s3.create_multipart_upload(Bucket="parts", Key="rules")["UploadId"]
    small = [os.urandom(1000), os.urandom(1000)]
    etags = [s3.upload_part(Bucket="parts", Key="rules", UploadId=uid, PartNumber=i + 1, Body=b)["ETag"] for i, b in enumerate(small)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="parts", Key="rules", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})
    assert code(e) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="parts", Key="rules", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}]})
    assert code(e) == "EntityTooSmall"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="parts", Key="rules", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert code(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="parts", Key="rules", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 7, "ETag": etags[0]}]})
    assert code(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="parts", Key="rules", UploadId=uid, PartNumber=10001, Body=b"x")
    assert code(e) == "InvalidArgument"
    # A single small part is fine: the last part may be of any size.
    done = s3.complete_multipart_upload(Bucket="parts", Key="rules", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": etags[0]}]})
    assert done["ETag"] == multipart_etag([small[0]])
    assert s3.get_object(Bucket="parts", Key="rules")["Body"].read() == small[0]


def test_abort_and_unknown_upload(s3, node):
    files_before = len(node.blob_files())
    uid = s3.create_multipart_upload(Bucket="parts", Key="aborted")["UploadId"]
    s3.upload_part(Bucket="parts", Key="aborted", UploadId=uid, PartNumber=1, Body=os.urandom(300_000))
    assert len(node.blob_files()) == files_before + 1
    s3.abort_multipart_upload(Bucket="parts", Key="aborted", UploadId=uid)
    assert len(node.blob_files()) == files_before
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="parts", Key="aborted", UploadId=uid, PartNumber=1, Body=b"x")
    assert code(e) == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket="parts", Key="aborted", UploadId="0" * 32)
    assert code(e) == "NoSuchUpload"


def test_upload_part_copy(s3):
    source = os.urandom(6 * MiB)
    s3.put_object(Bucket="parts", Key="copy-source", Body=source)
    uid = s3.create_multipart_upload(Bucket="parts", Key="assembled")["UploadId"]
    p1 = s3.upload_part_copy(Bucket="parts", Key="assembled", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": "parts", "Key": "copy-source"}, CopySourceRange=f"bytes=0-{5 * MiB - 1}")
    p2 = s3.upload_part_copy(Bucket="parts", Key="assembled", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": "parts", "Key": "copy-source"}, CopySourceRange=f"bytes={5 * MiB}-{6 * MiB - 1}")
    s3.complete_multipart_upload(Bucket="parts", Key="assembled", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="parts", Key="assembled")["Body"].read() == source


def test_multipart_upload_with_awscli(node, tmp_path):
    import subprocess
    key = node.create_key("cli-multipart", create_bucket=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION="garage")
    source = tmp_path / "cli.bin"
    source.write_bytes(os.urandom(9 * MiB))
    run = lambda *a: subprocess.run(["aws", "--endpoint-url", node.endpoint, *a], env=env, capture_output=True, text=True, timeout=120, check=True)
    run("s3", "mb", "s3://cli-parts")
    run("s3", "cp", str(source), "s3://cli-parts/cli.bin")
    run("s3", "cp", "s3://cli-parts/cli.bin", str(tmp_path / "cli-back.bin"))
    assert (tmp_path / "cli-back.bin").read_bytes() == source.read_bytes()
