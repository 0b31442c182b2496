"""History of an asset across runs, checked against facts read here from the files themselves."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from explorer import ExplorerError, RunWriter, Store
from explorer.errors import UnsafeLoad

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(demo_path):
    return Store.open(str(demo_path))


def _runs_with(root: Path, rel: str) -> list[str]:
    """Run folders holding the file, in run-id (= time) order: found by listing, not via the index."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_") and (p / rel).exists())


def test_history_of_raw_applications_matches_the_files(demo, demo_path):
    df = demo.history("raw/applications", ["num_rows", "size_bytes", "income.mean", "income.null_count",
                                           "metadata.extracted_rows", "age.min"])
    runs = _runs_with(demo_path, "raw/applications.parquet")
    assert df["run_id"].tolist() == runs
    assert list(df.columns) == ["run_id", "started_at", "status", "hash", "num_rows", "size_bytes", "income.mean",
                                "income.null_count", "metadata.extracted_rows", "age.min"]
    for row, run in zip(df.itertuples(index=False), runs):
        path = demo_path / run / "raw/applications.parquet"
        table = pq.read_table(path)
        assert row.num_rows == pq.ParquetFile(path).metadata.num_rows
        assert row.size_bytes == os.path.getsize(path)
        assert getattr(row, "_6") == pytest.approx(pc.mean(table["income"]).as_py())
        assert getattr(row, "_7") == table["income"].null_count
        assert getattr(row, "_8") == table.num_rows  # the demo records extracted_rows = rows written
        assert getattr(row, "_9") == pc.min(table["age"]).as_py()
    assert df["started_at"].is_monotonic_increasing
    assert str(df["started_at"].dt.tz) == "UTC"
    assert df.loc[df["run_id"].str.endswith("r3"), "status"].item() == "failed"
    assert all(len(h) == 12 for h in df["hash"])
    # R8 and R9 wrote identical bytes: the same hash
    assert df["hash"].iloc[-1] == df["hash"].iloc[-2]


def test_history_defaults_and_json_assets(demo, demo_path):
    df = demo.history("models/credit_risk", ["metadata.auc"])
    runs = _runs_with(demo_path, "models/credit_risk.json")
    assert df["run_id"].tolist() == runs
    assert list(df.columns)[4:] == ["metadata.auc"]
    assert df["metadata.auc"].notna().all()
    default = demo.history("models/credit_risk")
    assert list(default.columns)[4:] == ["size_bytes"]
    assert default["size_bytes"].tolist() == [os.path.getsize(demo_path / r / "models/credit_risk.json") for r in runs]
    assert list(demo.history("features").columns)[4:] == ["num_rows", "size_bytes"]


def test_history_reads_no_data(demo_path, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(demo_path, copy)
    expected = [pq.ParquetFile(copy / r / "features.parquet").metadata.num_rows for r in _runs_with(copy, "features.parquet")]
    for p in copy.rglob("features.parquet"):
        p.unlink()  # only sidecars remain
    df = Store.open(str(copy)).history("features", ["num_rows", "loan_to_income.mean"])
    assert df["num_rows"].tolist() == expected
    # the column only exists from code v1.1 on
    assert df["loan_to_income.mean"].isna().tolist() == [True] * (len(df) - 1) + [False]


def test_history_bad_stats(demo):
    with pytest.raises(ExplorerError, match="unknown statistic"):
        demo.history("features", ["bogus"])
    with pytest.raises(ExplorerError, match="has a column 'nope'"):
        demo.history("features", ["nope.mean"])
    with pytest.raises(ExplorerError, match="not a table"):
        demo.history("models/credit_risk", ["num_rows"])
    with pytest.raises(ExplorerError, match="unknown asset"):
        demo.history("nope")


def test_iter_versions_yields_each_versions_data(demo, demo_path):
    seen = []
    for version, data in demo.iter_versions("raw/bureau"):
        expected = pd.read_csv(demo_path / version.run_id / "raw/bureau.csv")
        pd.testing.assert_frame_equal(data.reset_index(drop=True), expected, check_dtype=False)
        seen.append(version.run_id)
    assert seen == _runs_with(demo_path, "raw/bureau.csv")
    arrays = list(demo.iter_versions("reports/score_distribution"))
    assert all(isinstance(a, np.ndarray) and a.shape == (20,) for _, a in arrays)


def test_iter_versions_refuses_pickles_unless_allowed(store_path):
    for i in (1, 2):
        with RunWriter(store_path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("obj", {"n": i, "s": {1, 2}}, format="pickle")
    store = Store.open(store_path)
    with pytest.raises(UnsafeLoad):
        store.iter_versions("obj")
    values = [d["n"] for _, d in store.iter_versions("obj", allow_pickle=True)]
    assert values == [1, 2]


def test_history_cli_gives_each_statistic_as_stored(cli, tmp_path):
    """An integer statistic stays an integer where another version lacks it (through a
    DataFrame it became 3.0 and 7.0 in JSON and CSV), a float keeps every digit, the times are
    the runs' own."""
    import json

    root = tmp_path / "s"
    t0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    metas = [{"n": 3, "auc": 0.123456789012345678}, {}, {"n": 7, "auc": 0.5}]
    for i, meta in enumerate(metas):
        with RunWriter(str(root), job="j", run_id=f"r{i}", started_at=t0 + timedelta(days=i)) as run:
            run.write("m", {"i": i}, metadata=meta)
    args = ("history", root, "m", "--stat", "metadata.n", "--stat", "metadata.auc")
    got = json.loads(cli(*args, "--format", "json").out)
    assert [r["metadata.n"] for r in got] == [3, None, 7]
    assert all(type(r["metadata.n"]) is int for r in got if r["metadata.n"] is not None)
    assert [r["metadata.auc"] for r in got] == [metas[0]["auc"], None, 0.5]
    assert [r["started_at"] for r in got] == [(t0 + timedelta(days=i)).isoformat().replace("+00:00", "Z") for i in range(3)]
    lines = cli(*args, "--format", "csv").out.splitlines()
    assert lines[0] == "run_id,started_at,status,hash,metadata.n,metadata.auc"
    assert [line.split(",")[4:] for line in lines[1:]] == [["3", repr(metas[0]["auc"])], ["", ""], ["7", "0.5"]]
