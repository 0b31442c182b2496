"""RunWriter -> Store round trips for every format, cross-run inputs, failed and running runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer import RunWriter, Store
from explorer.errors import UnknownAsset, UnknownRun, UnsafeLoad, WriteError


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_every_format(store_path):
    df = pd.DataFrame({"id": [1, 2, 3], "x": [0.5, None, 2.5], "name": ["a", "b", None]})
    arrow = pa.table({"k": ["u", "v"], "n": [10, 20]})
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    obj = {"weights": [0.1, -0.2], "nested": {"a": [1, 2]}}
    with RunWriter(store_path, job="all", code_version="c1") as run:
        run.write("tables/df", df)
        run.write("tables/arrow", arrow)
        run.write("tables/csv", df, format="csv")
        run.write("tables/dir", df.assign(part=["p", "q", "p"]), format="directory", partition_by=["part"])
        run.write("obj", obj)
        run.write("lst", [1, "two", None])
        run.write("arr", arr)
        run.write("blob", b"\x00\x01binary")
        run.write("pick", {"a": {1, 2}}, format="pickle")

    store = Store.open(store_path)
    assert store.warnings == []
    pd.testing.assert_frame_equal(store.load("tables/df"), df)
    assert store.load("tables/arrow", as_arrow=True).equals(arrow)
    csv_back = store.load("tables/csv")
    assert csv_back["id"].tolist() == [1, 2, 3]
    assert csv_back["x"].isna().tolist() == [False, True, False]
    dir_back = store.load("tables/dir").sort_values("id").reset_index(drop=True)
    assert dir_back["id"].tolist() == [1, 2, 3]
    assert sorted(dir_back["part"].astype(str)) == ["p", "p", "q"]
    assert store.load("obj") == obj
    assert store.load("lst") == [1, "two", None]
    loaded = store.load("arr")
    assert loaded.dtype == np.float32 and (loaded == arr).all()
    assert store.load("blob") == b"\x00\x01binary"
    with pytest.raises(UnsafeLoad):
        store.load("pick")
    assert store.load("pick", allow_pickle=True) == {"a": {1, 2}}

    # sidecar facts are the truth of the bytes on disk
    for key in ("tables/df", "tables/csv", "obj", "arr", "blob", "pick"):
        v = store.latest(key)
        path = Path(store_path) / v.data_path
        assert v.size_bytes == path.stat().st_size
        assert v.content_hash == _sha(path)
        assert v.code_version == "c1"
    t = store.latest("tables/df").table
    assert t.num_rows == 3
    assert t.schema["id"] == "int64" and t.schema["x"] == "double"
    assert t.schema["name"] in ("string", "large_string")
    x = t.column("x")
    assert (x.null_count, x.min, x.max, x.mean) == (1, 0.5, 2.5, 1.5)
    assert t.column("name").null_count == 1


def test_data_layout_and_sidecar_written_after_data(store_path):
    with RunWriter(store_path, job="j", run_id="run-1") as run:
        v = run.write("models/churn", {"auc": 0.9})
    root = Path(store_path)
    assert (root / "run-1" / "models" / "churn.json").exists()
    sidecar = root / "run-1" / "_frontier" / "versions" / "models%2Fchurn.json"
    doc = json.loads(sidecar.read_text())
    assert doc["asset"] == "models/churn" and doc["run_id"] == "run-1"
    assert doc["data_path"] == "run-1/models/churn.json"
    assert doc["created_at"].endswith("Z")
    manifest = json.loads((root / "run-1" / "_frontier" / "run.json").read_text())
    assert manifest["status"] == "success" and manifest["consolidated"] is True
    assert [d["asset"] for d in manifest["versions"]] == ["models/churn"]
    assert v.content_hash == _sha(root / "run-1" / "models" / "churn.json")


def test_cross_run_inputs_and_versions_across_runs(store_path):
    with RunWriter(store_path, job="train", run_id="r1") as r1:
        raw1 = r1.write("raw", pd.DataFrame({"a": [1, 2]}))
        f1 = r1.write("features", pd.DataFrame({"a": [2, 4]}), inputs=["raw"])
    with RunWriter(store_path, job="score", run_id="r2") as r2:
        s = r2.write("scores", pd.DataFrame({"s": [0.1]}), inputs=[("features", "r1")])
    store = Store.open(store_path)
    assert [r.run_id for r in store.runs] == ["r1", "r2"]
    assert store.version("scores").inputs[0].run_id == "r1"
    assert store.version("scores").inputs[0].content_hash == f1.content_hash
    assert store.version("features").inputs[0].content_hash == raw1.content_hash
    assert store.latest("features").run_id == "r1"
    assert [v.run_id for v in store.asset_versions("raw")] == ["r1"]
    assert store.run("r2").asset_count == 1
    assert s.inputs[0].asset == "features"


def test_input_from_unknown_run_is_refused(store_path):
    with RunWriter(store_path, run_id="r1") as run:
        with pytest.raises(WriteError, match="no version in run nope"):
            run.write("x", {"a": 1}, inputs=[("raw", "nope")])
        with pytest.raises(WriteError, match="has not been written"):
            run.write("y", {"a": 1}, inputs=["raw"])


def test_never_overwrites(store_path):
    with RunWriter(store_path, run_id="r1") as run:
        run.write("x", {"a": 1})
        with pytest.raises(WriteError, match="never overwritten"):
            run.write("x", {"a": 2})
    with pytest.raises(WriteError, match="already exists"):
        RunWriter(store_path, run_id="r1").start()
    assert Store.open(store_path).load("x") == {"a": 1}


def test_failed_with_block_marks_run_failed_and_keeps_outputs(store_path):
    with pytest.raises(RuntimeError):
        with RunWriter(store_path, job="j", run_id="r1", plan={"a": [], "b": ["a"]}) as run:
            run.write("a", {"v": 1})
            raise RuntimeError("boom")
    store = Store.open(store_path)
    run = store.run("r1")
    assert run.status == "failed" and run.finished_at is not None
    assert [p.asset for p in run.planned] == ["a", "b"]
    assert store.load("a") == {"v": 1}
    g = store.asset_graph()
    assert g.nodes["b"]["missing"] is True and ("a", "b") in g.edges


def test_running_run_is_read_from_its_sidecars(store_path):
    writer = RunWriter(store_path, job="j", run_id="r1").start()
    writer.write("a", {"v": 1})
    writer.write("b", [1, 2], inputs=["a"])
    store = Store.open(store_path)
    assert store.run("r1").status == "running"
    assert store.run("r1").finished_at is None
    assert sorted(v.asset for v in store.run_versions("r1")) == ["a", "b"]
    writer.finish()
    assert Store.open(store_path).run("r1").status == "success"


def test_preview_reads_only_the_first_row_groups(tmp_path, store_path):
    big = pa.table({"i": np.arange(1_000_000), "v": np.random.default_rng(0).random(1_000_000)})
    with RunWriter(store_path, run_id="r1") as run:
        run.write("big", big)
    store = Store.open(store_path)
    head = store.preview("big", rows=5)
    assert head["i"].tolist() == [0, 1, 2, 3, 4]
    meta = pq.ParquetFile(Path(store_path) / store.latest("big").data_path).metadata
    assert meta.num_row_groups > 1  # so that reading one group is less than reading all


def test_unknown_asset_and_run(store_path):
    with RunWriter(store_path, run_id="r1") as run:
        run.write("a", {"v": 1})
    store = Store.open(store_path)
    with pytest.raises(UnknownAsset):
        store.latest("nope")
    with pytest.raises(UnknownRun):
        store.version("a", "r9")
