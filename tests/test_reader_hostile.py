"""Readers touch only real, bounded, in-store files (issue 22, items 7, 9, 13, 14, 15, 17).

Hostile stores are built on disk (or on moto's S3 server) by writing a real store with
``RunWriter`` and then damaging it the way an attacker or an accident would: FIFOs, symbolic
links out of the store and loops, broken pandas metadata, appended or truncated objects, huge
previews. Truth comes from the test itself: the rows written, the bytes on disk, the bytes a
plain S3 client reads, the process's own read counter."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer import RunWriter, Store
from explorer.errors import ExplorerError
from explorer.store import data as data_mod
from s3_support import bucket, moto_endpoint  # noqa: F401 - fixtures


@pytest.fixture
def no_hang():
    """Fail the test (instead of hanging the suite) if a reader blocks for 20 s: SIGALRM
    interrupts a blocked ``open`` of a FIFO and raises here."""

    def alarm(signum, frame):
        raise TimeoutError("a reader blocked (opened a FIFO?)")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _two_runs(store_path: str) -> None:
    with RunWriter(store_path, run_id="r1", job="first") as run:
        run.write("t", pd.DataFrame({"a": [1, 2]}))
        run.write("u", pd.DataFrame({"a": [7]}))
        run.write("d", pd.DataFrame({"a": [1, 2], "p": ["x", "y"]}), format="directory", partition_by=["p"])
    with RunWriter(store_path, run_id="r2", job="second") as run:
        run.write("v", pd.DataFrame({"b": [3, 4, 5]}))


def _one_line_naming(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert any(all(w in line for w in words) for line in lines), err
    assert "Traceback" not in err


def _outside_parquet(tmp_path: Path) -> Path:
    outside = tmp_path / "_outside"
    outside.mkdir()
    secret = outside / "secret.parquet"
    pq.write_table(pa.table({"a": [666, 667], "p": ["x", "x"]}), secret)
    return secret


# --------------------------------------------------------------------------- item 14: FIFOs


def test_a_fifo_as_run_json_is_refused_naming_it_and_the_other_runs_load(store_path, cli, no_hang):
    _two_runs(store_path)
    manifest = Path(store_path, "r1", "_frontier", "run.json")
    manifest.unlink()
    os.mkfifo(manifest)
    r = cli("runs", store_path, "--format", "json")
    assert r.code == 0
    assert [run["run_id"] for run in r.json()] == ["r2"]
    _one_line_naming(r.err, "r1/_frontier/run.json", "not a regular file", "FIFO")
    shown = cli("show", store_path, "v")
    assert shown.code == 0 and "5" in shown.out


def test_a_fifo_as_a_data_file_is_refused_by_show_verify_and_sql_and_the_rest_reads(store_path, cli, no_hang):
    _two_runs(store_path)
    data = Path(store_path, "r1", "t.parquet")
    data.unlink()
    os.mkfifo(data)
    for argv in (("show", store_path, "t"), ("sql", store_path, "select * from t")):
        r = cli(*argv)
        assert r.code != 0, argv
        _one_line_naming(r.err, "r1/t.parquet", "not a regular file (a FIFO)")
    v = cli("verify", store_path, "--format", "json")
    assert v.code == 1
    assert [(x["asset"], x["status"]) for x in v.json()["versions"]] == [("t", "unreadable")]
    assert "FIFO" in v.json()["versions"][0]["detail"]
    ok = cli("show", store_path, "u", "--format", "json")
    assert ok.code == 0 and ok.json()["preview"] == [{"a": 7}]


def test_a_fifo_inside_a_directory_version_is_refused_naming_it(store_path, cli, no_hang):
    _two_runs(store_path)
    os.mkfifo(Path(store_path, "r1", "d", "p=x", "more.parquet"))
    r = cli("show", store_path, "d")
    assert r.code != 0
    _one_line_naming(r.err, "r1/d/p=x/more.parquet", "not a regular file")
    v = cli("verify", store_path, "--run", "r1", "--format", "json")
    assert v.code == 1 and [(x["asset"], x["status"]) for x in v.json()["versions"]] == [("d", "unreadable")]


# --------------------------------------------------------------------------- item 9: symlinks


def test_a_symlink_out_of_the_store_inside_a_directory_version_is_not_followed(store_path, cli, tmp_path):
    _two_runs(store_path)
    secret = _outside_parquet(tmp_path)
    link = Path(store_path, "r1", "d", "p=x", "evil.parquet")
    link.symlink_to(secret)
    for argv in (("show", store_path, "d"), ("trace", store_path, "d", "-w", "a=666"),
                 ("sql", store_path, 'select * from "d@r1"')):
        r = cli(*argv, "--format", "json")
        assert r.code != 0, argv
        assert "666" not in r.out
        _one_line_naming(r.err, "r1/d/p=x/evil.parquet", "symlink", "not followed")
    with pytest.raises(ExplorerError, match="symlink"):
        Store.open(store_path).read_table("d")
    v = cli("verify", store_path, "--run", "r1", "--format", "json")
    assert v.code == 1 and [(x["asset"], x["status"]) for x in v.json()["versions"]] == [("d", "unreadable")]
    # the listing the SQL and diff sources are built from refuses it too
    store = Store.open(store_path)
    with pytest.raises(ExplorerError, match="evil.parquet"):
        data_mod.directory_files(store.fs, store.root, store.version("d", "r1"))


def test_a_symlink_loop_in_a_directory_version_cannot_inflate_its_rows(store_path, cli):
    _two_runs(store_path)
    Path(store_path, "r1", "d", "p=y", "loop").symlink_to("..")
    r = cli("show", store_path, "d", "--format", "json")
    assert r.code != 0 and r.out == ""
    _one_line_naming(r.err, "r1/d/p=y/loop", "symlink")
    q = cli("sql", store_path, 'select count(*) as n from "d@r1"', "--format", "json")
    assert q.code != 0 and q.out == ""
    _one_line_naming(q.err, "r1/d/p=y/loop", "symlink")
    # without the loop the version reads as written: 2 rows
    Path(store_path, "r1", "d", "p=y", "loop").unlink()
    assert cli("show", store_path, "d", "--format", "json").json()["preview"] == [{"a": 1, "p": "x"}, {"a": 2, "p": "y"}]
    assert cli("sql", store_path, 'select count(*) as n from "d@r1"', "--format", "json").json() == [{"n": 2}]


def test_the_directory_listing_is_exactly_the_written_parquet_files(store_path):
    _two_runs(store_path)
    store = Store.open(store_path)
    folder = Path(store_path, "r1", "d")
    on_disk = sorted(str(p) for p in folder.rglob("*.parquet"))
    assert data_mod.directory_files(store.fs, store.root, store.version("d", "r1")) == on_disk
    (folder / "_SUCCESS").write_bytes(b"")
    assert data_mod.directory_files(store.fs, store.root, store.version("d", "r1")) == on_disk
    assert str(folder / "_SUCCESS") in data_mod.directory_files(store.fs, store.root, store.version("d", "r1"), data_only=False)


def test_a_data_file_linked_out_of_the_store_is_refused_by_sql_too(store_path, cli, tmp_path):
    _two_runs(store_path)
    secret = _outside_parquet(tmp_path)
    data = Path(store_path, "r1", "t.parquet")
    data.unlink()
    data.symlink_to(secret)
    for argv in (("show", store_path, "t"), ("sql", store_path, "select * from t")):
        r = cli(*argv)
        assert r.code != 0 and "666" not in r.out, argv
        _one_line_naming(r.err, "r1/t.parquet", "outside the store")


def test_a_running_runs_sidecar_linked_out_of_the_store_is_a_warning_and_not_read(store_path, cli, tmp_path):
    writer = RunWriter(store_path, run_id="r1", job="j")
    writer.start()
    writer.write("t", pd.DataFrame({"a": [1]}), metadata={"note": "inside"})
    writer.write("u", pd.DataFrame({"a": [2]}))
    sidecar = Path(store_path, "r1", "_frontier", "versions", "t.json")
    doc = json.loads(sidecar.read_bytes())
    doc["metadata"] = {"note": "from outside"}
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(doc))
    sidecar.unlink()
    sidecar.symlink_to(outside)
    r = cli("assets", store_path, "--format", "json")
    assert r.code == 0
    assert [a["asset"] for a in r.json()] == ["u"]
    _one_line_naming(r.err, "r1/_frontier/versions/t.json", "symlink pointing outside the store, not followed")
    assert "from outside" not in r.out


def _flag_then_move_out(store_path: str, tmp_path: Path, whole_folder: bool) -> None:
    _two_runs(store_path)
    store = Store.open(store_path)
    store.flag("t", "r1", "bad rows")
    folder = Path(store_path, "_frontier_flags")
    outside = tmp_path / "outside_flags"
    shutil.move(str(folder), str(outside))
    if whole_folder:
        folder.symlink_to(outside)
    else:
        folder.mkdir()
        (flag,) = outside.iterdir()
        (folder / flag.name).symlink_to(flag)


@pytest.mark.parametrize("whole_folder", [True, False], ids=["the folder", "one flag file"])
def test_flags_linked_out_of_the_store_are_not_active_and_say_so(store_path, cli, tmp_path, whole_folder):
    _flag_then_move_out(store_path, tmp_path, whole_folder)
    store = Store.open(store_path)
    assert store.active_flags() == {}
    assert any("_frontier_flags/" in w and "symlink pointing outside the store, not followed" in w for w in store.warnings)
    r = cli("flags", store_path, "--format", "json")
    assert r.code == 0 and r.json() == []
    _one_line_naming(r.err, "_frontier_flags/", "symlink pointing outside the store")
    stale = cli("stale", store_path, "--format", "json")
    (t,) = [a for a in stale.json()["assets"] if a["asset"] == "t"]
    assert t["status"] == "fresh" and t["causes"] == []


# --------------------------------------------------------------------------- item 15: pandas metadata


BROKEN_PANDAS = {
    "invalid JSON": b"{not json",
    "wrong types": json.dumps({"columns": 5, "index_columns": "a", "column_indexes": 1}).encode(),
    "missing keys": json.dumps({"creator": {"library": "pyarrow"}}).encode(),
}


@pytest.mark.parametrize("broken", list(BROKEN_PANDAS), ids=list(BROKEN_PANDAS))
def test_broken_pandas_metadata_is_ignored_with_a_warning_and_the_table_reads(store_path, cli, broken):
    rows = pd.DataFrame({"a": [1, 2, 3], "s": ["x", "y", "z"]})
    with RunWriter(store_path, run_id="r1") as run:
        run.write("t", rows)
    path = Path(store_path, "r1", "t.parquet")
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"pandas": BROKEN_PANDAS[broken]}), path)
    assert pq.read_schema(path).metadata[b"pandas"] == BROKEN_PANDAS[broken]  # the damage is real
    r = cli("show", store_path, "t", "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["preview"] == rows.to_dict(orient="records")
    _one_line_naming(r.err, "r1/t.parquet", "broken pandas metadata ignored")
    store = Store.open(store_path)
    assert store.load("t").equals(rows)
    assert any("r1/t.parquet: broken pandas metadata ignored" in w for w in store.warnings)
    assert cli("trace", store_path, "t", "-w", "a=2", "--format", "json").code == 0


# --------------------------------------------------------------------------- item 13: bounded previews


_MEASURE = r"""
import json, sys, tracemalloc
from pathlib import Path
from explorer import Store

def read_so_far():
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise SystemExit("no rchar in /proc/self/io")

# what the readers import on first use is loaded now, so the counter sees only the preview
import numpy, numpy.lib.format, pandas, pyarrow.csv, pyarrow.dataset, pyarrow.json  # noqa

store = Store.open(sys.argv[1])
tracemalloc.start()
before = read_so_far()
value = store.preview(sys.argv[2], rows=10)
read = read_so_far() - before
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
if isinstance(value, str):
    shown = {"text": value}
else:
    shown = {"columns": {c: value[c].tolist() for c in value.columns}}
print(json.dumps({"value": shown, "read": read, "peak": peak}))
"""


def _measure(store_path: str, asset: str):
    """Preview ``asset`` in a fresh process and return (value, bytes read, peak traced memory).

    A child of its own: Linux's read counter then counts only the preview, and tracemalloc
    runs with no other thread alive (CPython 3.11 can crash stopping tracemalloc while a
    thread such as fsspec's event loop, left by an S3 test in the same worker, allocates)."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, store_path, asset],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    value = out["value"]
    value = value["text"] if "text" in value else pd.DataFrame(value["columns"])
    return value, out["read"], out["peak"]


BIG = 256 * 1024 * 1024  # the size of each big file (sparse where the format allows)


def _big_version(store_path: str, asset: str, value, fill) -> Path:
    """A small version written by RunWriter whose data file is then replaced by a big one."""
    with RunWriter(store_path, run_id="r1") as run:
        v = run.write(asset, value)
    path = Path(store_path, v.data_path)
    with open(path, "wb") as fh:
        fill(fh)
    return path


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux's per-process read counter")
def test_previews_of_huge_npy_json_csv_and_bytes_read_only_what_they_show(store_path):
    n = BIG // 8

    def npy(fh):  # a sparse 256 MB array: the header, then zeros up to the size
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
        fh.write(np.arange(10, dtype="<f8").tobytes())
        fh.truncate(fh.tell() - 80 + n * 8)

    def js(fh):  # 256 MB of real JSON
        fh.write(b'{"values": [')
        chunk = b"12345678," * (1 << 17)
        for _ in range(BIG // len(chunk)):
            fh.write(chunk)
        fh.write(b"0]}")

    def csv(fh):
        fh.write(b"i,x\n")
        chunk = b"".join(b"%d,1.5\n" % i for i in range(1 << 16))
        for _ in range(BIG // len(chunk)):
            fh.write(chunk)

    def raw(fh):
        fh.write(b"MAGIC-HEADER")
        fh.truncate(BIG)

    _big_version(store_path, "arr", np.arange(3.0), npy)
    _big_version(store_path + "2", "doc", {"values": [1]}, js)
    with RunWriter(store_path + "4", run_id="r1") as run:
        rel = run.write("tab", pd.DataFrame({"i": [0], "x": [1.5]}), format="csv").data_path
    csv_path = Path(store_path + "4", rel)
    with open(csv_path, "wb") as fh:
        csv(fh)
    _big_version(store_path + "5", "blob", b"small", raw)

    value, read, peak = _measure(store_path, "arr")
    assert isinstance(value, str) and value.startswith("preview truncated: first 10 rows of a")
    assert "0., 1., 2., 3." in value
    assert read < 4 << 20 and peak < 4 << 20, (read, peak)

    value, read, peak = _measure(store_path + "2", "doc")
    assert value.startswith("preview truncated") and '{"values": [12345678,' in value
    assert read < 4 << 20 and peak < 8 << 20, (read, peak)

    value, read, peak = _measure(store_path + "4", "tab")
    assert value["i"].tolist() == list(range(10))
    assert read < 4 << 20, read

    value, read, peak = _measure(store_path + "5", "blob")
    assert "MAGIC-HEADER" in value
    assert read < 1 << 20 and peak < 1 << 20, (read, peak)


def test_small_json_and_arrays_preview_whole_as_before(store_path):
    arr = np.arange(12, dtype="int32").reshape(3, 4)
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    with RunWriter(store_path, run_id="r1") as run:
        run.write("doc", {"k": [1, 2, {"n": None}]})
        run.write("arr", arr)
        run.write("f", fortran)
    store = Store.open(store_path)
    assert store.preview("doc") == {"k": [1, 2, {"n": None}]}
    assert np.array_equal(store.preview("arr"), arr) and store.preview("arr").dtype == arr.dtype
    assert np.array_equal(store.preview("f"), fortran)
    tall = np.arange(200 * 3).reshape(200, 3)
    with RunWriter(store_path, run_id="r2") as run:
        run.write("arr", tall)
    head = store.refresh().preview("arr", rows=5)
    assert head.startswith("preview truncated: first 5 rows of a 200x3") and repr(tall[:5].tolist()[0])[1:-1].replace(" ", "") in head.replace(" ", "")


def test_a_damaged_npy_header_is_one_line(store_path, cli):
    with RunWriter(store_path, run_id="r1") as run:
        rel = run.write("arr", np.arange(5)).data_path
    path = Path(store_path, rel)
    path.write_bytes(path.read_bytes()[:20])
    r = cli("show", store_path, "arr")
    assert r.code != 0
    _one_line_naming(r.err, rel, "cannot read array")


# --------------------------------------------------------------------------- item 17: unverifiable


def _hash_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("recorded", ["none", "md5:0123456789abcdef0123456789abcdef"])
def test_a_version_without_a_sha256_is_unverifiable_and_fails_unless_allowed(store_path, cli, recorded):
    with RunWriter(store_path, run_id="r1") as run:
        run.write("good", {"k": 1})
        run.write("odd", {"k": 2})
    for sidecar_rel in ("r1/_frontier/versions/odd.json",):
        sidecar = Path(store_path, sidecar_rel)
        doc = json.loads(sidecar.read_bytes())
        doc["content_hash"] = recorded
        sidecar.write_text(json.dumps(doc))
    manifest = Path(store_path, "r1", "_frontier", "run.json")
    doc = json.loads(manifest.read_bytes())
    for entry in doc.get("versions", []):
        if entry["asset"] == "odd":
            entry["content_hash"] = recorded
    manifest.write_text(json.dumps(doc))
    Path(store_path, "r1", "odd.json").write_bytes(b"garbage, not what was written")
    r = cli("verify", store_path, "--format", "json")
    assert r.code == 1
    assert r.json()["problems"] == 1
    assert [(v["asset"], v["status"]) for v in r.json()["versions"]] == [("odd", "unverifiable")]
    text = cli("verify", store_path)
    assert text.code == 1 and "unverifiable" in text.out and "1 with problems" in text.out
    allowed = cli("verify", store_path, "--allow-unverifiable", "--format", "json")
    assert allowed.code == 0 and allowed.json()["problems"] == 0
    assets = cli("assets", store_path, "--verify", "--format", "json")
    assert assets.code == 1
    assert {a["asset"]: a["integrity"]["status"] for a in assets.json()} == {"good": "ok", "odd": "unverifiable"}
    assert cli("assets", store_path, "--verify", "--allow-unverifiable").code == 0


# --------------------------------------------------------------------------- item 7: verify reads the real object


DAMAGE = {  # the three ways an object changes: new bytes from the old
    "appended": lambda b: b + b"3,30\n",
    "truncated": lambda b: b[:-3],
    "replaced, same size": lambda b: b.replace(b"20", b"99"),
}


def test_verify_on_s3_sees_appended_truncated_and_replaced_objects(cli, moto_endpoint, bucket):
    import boto3

    url = f"s3://{bucket}/store"
    opts = {"endpoint_url": moto_endpoint}
    frame = pd.DataFrame({"id": [1, 2], "x": [10, 20]})
    names = ["appended", "truncated", "replaced, same size"]
    with RunWriter(url, run_id="r1", storage_options=opts) as run:
        rels = {name: run.write(f"t{i}", frame, format="csv").data_path for i, name in enumerate(names)}
        run.write("intact", frame, format="csv")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    expected = {}
    for i, name in enumerate(names):
        key = f"store/{rels[name]}"
        old = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        new = DAMAGE[name](old)
        client.put_object(Bucket=bucket, Key=key, Body=new)
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == new  # what any S3 client reads
        expected[f"t{i}"] = ("truncated" if len(new) < len(old) else "modified", len(new),
                             "sha256:" + hashlib.sha256(new).hexdigest())
    o = ["-o", f"endpoint_url={moto_endpoint}"]
    r = cli("verify", url, *o, "--format", "json")
    assert r.code == 1, r.err
    got = {v["asset"]: (v["status"], v["actual_size"], v["actual_hash"]) for v in r.json()["versions"]}
    assert got == expected
    assets = cli("assets", url, *o, "--verify", "--format", "json")
    assert assets.code == 1
    assert {a["asset"] for a in assets.json() if a["status"] == "corrupt"} == set(expected)


def test_verify_on_local_disk_sees_appended_truncated_and_replaced_files(store_path, cli):
    frame = pd.DataFrame({"id": [1, 2], "x": [10, 20]})
    names = ["appended", "truncated", "replaced, same size"]
    with RunWriter(store_path, run_id="r1") as run:
        rels = {name: run.write(f"t{i}", frame, format="csv").data_path for i, name in enumerate(names)}
        run.write("intact", frame, format="csv")
    expected = {}
    for i, name in enumerate(names):
        path = Path(store_path, rels[name])
        old = path.read_bytes()
        path.write_bytes(DAMAGE[name](old))
        new = path.read_bytes()
        expected[f"t{i}"] = ("truncated" if len(new) < len(old) else "modified", len(new), _hash_of(path))
    r = cli("verify", store_path, "--format", "json")
    assert r.code == 1
    assert {v["asset"]: (v["status"], v["actual_size"], v["actual_hash"]) for v in r.json()["versions"]} == expected


def test_previews_on_s3_are_ranged_reads_of_what_they_show(moto_endpoint, bucket):
    """On S3 a preview of a large JSON, array or bytes object asks for byte ranges covering
    little more than what it shows (s3fs alone would read 50 MB ahead)."""
    from s3_support import s3_fs

    url = f"s3://{bucket}/store"
    opts = {"endpoint_url": moto_endpoint}
    big = 12 * 1024 * 1024
    with RunWriter(url, run_id="r1", storage_options=opts) as run:
        run.write("doc", {"values": list(range(big // 8))})
        run.write("arr", np.arange(big // 8, dtype="int64"))
        run.write("blob", b"HEAD" + bytes(big))
    store = Store.open(url, opts)
    fs = s3_fs(moto_endpoint)
    fs.connect()
    spans: list[tuple[str, int]] = []

    def on_send(request, **kwargs):
        rng = request.headers.get("Range")
        if request.method.upper() == "GET" and "/r1/" in request.url:
            assert rng, f"a GET of a whole object: {request.url}"
            first, last = (rng.decode() if isinstance(rng, bytes) else rng).split("=")[1].split("-")
            spans.append((request.url.rsplit("/", 1)[-1], int(last) - int(first) + 1))

    store.fs.s3.meta.events.register("before-send.s3", on_send, unique_id="preview-ranges")
    try:
        doc = store.preview("doc")
        arr = store.preview("arr", rows=5)
        blob = store.preview("blob")
    finally:
        store.fs.s3.meta.events.unregister("before-send.s3", unique_id="preview-ranges")
    assert doc.startswith("preview truncated") and '"values"' in doc
    assert json.loads(doc.split("\n", 1)[1].rsplit(",", 1)[0] + "]}")["values"][:3] == [0, 1, 2]
    assert arr.startswith("preview truncated: first 5 rows") and "0, 1, 2, 3, 4" in arr
    assert blob.startswith(f"{big + 4} bytes; first bytes: b'HEAD")
    read = {}
    for name, n in spans:
        read[name] = read.get(name, 0) + n
    assert set(read) == {"doc.json", "arr.npy", "blob.bin"}, read
    assert all(n <= 3 * 1024 * 1024 for n in read.values()), read
