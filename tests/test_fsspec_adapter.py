"""What the library relies on from fsspec's private API, all of it in explorer/store/fsspec_adapter.py:
an fsspec or s3fs upgrade that changes it fails here."""

from __future__ import annotations

import boto3
import fsspec
from fsspec.implementations.local import LocalFileSystem
from s3_support import RequestCounter, bucket, moto_endpoint, s3_fs  # noqa: F401 - fixtures

from explorer.store.fs import open_fs
from explorer.store.fsspec_adapter import cat_many, names_after, open_takes_size, strip_protocol


def test_strip_protocol_names_paths_as_the_filesystem_does(tmp_path, moto_endpoint, bucket):
    s3 = s3_fs(moto_endpoint)
    assert strip_protocol(s3, f"s3://{bucket}/a/b.parquet") == f"{bucket}/a/b.parquet"
    assert strip_protocol(s3, f"{bucket}/a/b.parquet") == f"{bucket}/a/b.parquet"
    local, root = open_fs(str(tmp_path))
    assert strip_protocol(local, f"file://{root}/x") == f"{root}/x"
    assert strip_protocol(fsspec.filesystem("memory"), "memory://m/x") == "/m/x"


def test_only_s3fs_opens_a_file_with_its_size(moto_endpoint):
    assert open_takes_size(s3_fs(moto_endpoint))  # (so the data filesystem sends no HEAD: fs.KnownFiles)
    assert not open_takes_size(LocalFileSystem())


def test_cat_many_reads_each_file_with_one_get_and_returns_errors_in_place(moto_endpoint, bucket):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bodies = {f"{bucket}/k{i}.json": f'{{"i": {i}}}'.encode() for i in range(5)}
    for path, body in bodies.items():
        client.put_object(Bucket=bucket, Key=path.split("/", 1)[1], Body=body)
    paths = list(bodies) + [f"{bucket}/missing.json"]
    fs = s3_fs(moto_endpoint)
    with RequestCounter(fs) as counter:
        got = cat_many(fs, paths)
    assert got[:5] == list(bodies.values())
    assert isinstance(got[5], FileNotFoundError)
    assert dict(counter.counts) == {"GET": 6}  # one plain GET each: no HEAD, no listing


def test_names_after_lists_only_later_names_with_start_after(moto_endpoint, bucket, tmp_path):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    names = [f"2026010{i}T000000000000Z--r{i}" for i in range(1, 6)]
    for n in names + ["sub/deeper"]:
        client.put_object(Bucket=bucket, Key=f"p/log/{n}", Body=b"")
    fs = s3_fs(moto_endpoint)
    with RequestCounter(fs) as counter:
        got = names_after(fs, f"{bucket}/p/log", names[2])
        assert names_after(fs, f"{bucket}/p/none", "") == []
    assert got == names[3:]  # (not the folder "sub/" below it)
    assert dict(counter.counts) == {"LIST": 2} and all("start-after=" in url for _, url in counter.log)
    local, root = open_fs(str(tmp_path))
    for n in names:
        (tmp_path / n).write_bytes(b"")
    assert names_after(local, root, names[2]) == names[3:]
    assert names_after(local, f"{root}/missing", "") == []
