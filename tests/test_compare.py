"""Comparing runs: ``compare`` (runs x facts) and ``diff-runs`` (two whole runs), through the
CLI as users call them. The store is written here with ``RunWriter``; truth comes from what the
test wrote: its frames, its metric dicts, and the bytes of the data files on disk."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from explorer import RunWriter, Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FRAMES = {
    "r1": pd.DataFrame({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0]}),
    "r2": pd.DataFrame({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0]}),  # the same rows again
    "r3": pd.DataFrame({"id": [1, 2, 3, 4], "v": [1.0, 2.5, 3.0, 4.0], "w": ["a", "b", "c", "d"]}),
}
METRICS = {"r1": {"auc": 0.71, "folds": [{"auc": 0.7}]}, "r2": {"auc": 0.74, "folds": [{"auc": 0.73}]},
           "r3": {"auc": 0.69, "folds": [{"auc": 0.68}]}}
OWNERS = {"r1": "ana", "r2": "ana", "r3": "bo"}


@pytest.fixture
def runs_store(tmp_path) -> str:
    path = str(tmp_path / "store")
    for i, label in enumerate(FRAMES):
        with RunWriter(path, job="train", run_id=f"2026010{i + 1}T000000Z-{label}", started_at=T0 + timedelta(days=i)) as run:
            run.write("table", FRAMES[label], metadata={"owner": OWNERS[label]}, keys=["id"])
            run.write("metrics", METRICS[label])
            if label == "r1":
                run.write("scratch", {"only": "in r1"})
    return path


def _file_hash(store: str, data_path: str) -> str:
    return hashlib.sha256(Path(store, data_path).read_bytes()).hexdigest()


def test_compare_lists_each_runs_facts_and_marks_what_changed(cli, runs_store):
    res = cli("compare", runs_store, "r1", "r2", "r3", "-m", "metrics:auc", "-m", "metrics:folds.0.auc", "--format", "json")
    assert res.code == 0, res.err
    grid = res.json()
    assert grid["runs"] == [f"2026010{i}T000000Z-r{i}" for i in (1, 2, 3)]
    rows = {(r["asset"], r["fact"]): r for r in grid["rows"]}
    assert rows[("table", "rows")]["values"] == [len(FRAMES[r]) for r in ("r1", "r2", "r3")]
    assert rows[("table", "metadata.owner")]["values"] == [OWNERS[r] for r in ("r1", "r2", "r3")]
    assert rows[("metrics", "auc")]["values"] == [METRICS[r]["auc"] for r in ("r1", "r2", "r3")]
    assert rows[("metrics", "folds.0.auc")]["values"] == [METRICS[r]["folds"][0]["auc"] for r in ("r1", "r2", "r3")]
    # scratch is only in r1: nothing to compare it with, so it has not changed; the others show None
    assert rows[("scratch", "hash")]["values"][1:] == [None, None] and not rows[("scratch", "hash")]["changed"]
    assert rows[("table", "rows")]["changed"] and rows[("metrics", "auc")]["changed"]
    # identical frames -> identical files -> the same content hash in r1 and r2
    h = rows[("table", "hash")]["values"]
    store = Store.open(runs_store)
    files = [_file_hash(runs_store, store.version("table", r).data_path) for r in ("r1", "r2", "r3")]
    assert (h[0] == h[1]) == (files[0] == files[1]) and (h[1] == h[2]) == (files[1] == files[2])


def test_compare_only_changed_sorted_by_a_metric(cli, runs_store):
    res = cli("compare", runs_store, "--changed", "-m", "metrics:auc", "--sort", "metrics:auc", "--desc", "--format", "json")
    assert res.code == 0, res.err
    grid = res.json()
    by_auc = sorted(METRICS, key=lambda r: METRICS[r]["auc"], reverse=True)
    assert [r.rsplit("-", 1)[1] for r in grid["runs"]] == by_auc
    assert all(r["changed"] for r in grid["rows"])
    assert ("table", "metadata.owner") in {(r["asset"], r["fact"]) for r in grid["rows"]}


def test_compare_table_fits_80_columns_and_names_the_runs_left_out(cli, runs_store, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    res = cli("compare", runs_store, "-m", "metrics:auc")
    assert res.code == 0, res.err
    assert all(len(line) <= 60 for line in res.out.splitlines())
    assert "r3" in res.out  # newest first: the newest run is always shown
    assert "metrics:auc" not in res.out and "auc" in res.out


def test_compare_refuses_bad_names_in_one_line(cli, runs_store):
    for argv, word in [(("compare", runs_store, "r9"), "r9"), (("compare", runs_store, "-m", "nope:auc"), "nope"),
                       (("compare", runs_store, "-m", "metrics"), "ASSET:PATH"),
                       (("compare", runs_store, "--sort", "metrics:nope"), "metrics:nope")]:
        res = cli(*argv)
        assert res.code == 2 and word in res.err and len(res.err.strip().splitlines()) == 1, (argv, res.err)


def test_diff_runs_per_asset_against_the_files(cli, runs_store):
    res = cli("diff-runs", runs_store, "r1", "r3", "--format", "json")
    assert res.code == 0, res.err
    out = res.json()
    kinds = {a["asset"]: a["kind"] for a in out["assets"]}
    store = Store.open(runs_store)
    for asset in ("table", "metrics"):
        same = _file_hash(runs_store, store.version(asset, "r1").data_path) == _file_hash(runs_store, store.version(asset, "r3").data_path)
        assert kinds[asset] == ("equal" if same else "changed")
    assert kinds["scratch"] == "only_a"
    assert out["counts"] == {k: list(kinds.values()).count(k) for k in ("changed", "only_a", "only_b", "equal")}
    table = next(a for a in out["assets"] if a["asset"] == "table")
    assert table["rows"] == {"a": len(FRAMES["r1"]), "b": len(FRAMES["r3"])}
    added = set(FRAMES["r3"].columns) - set(FRAMES["r1"].columns)
    assert {c["name"] for c in table["schema"] if c["a"] is None} == added
    assert table["metadata"] == [{"name": "owner", "a": OWNERS["r1"], "b": OWNERS["r3"]}]


def test_diff_runs_tables_and_exit_code(cli, runs_store):
    res = cli("diff-runs", runs_store, "r1", "r3", "--tables", "--format", "json", "--exit-code")
    assert res.code == 1
    table = next(a for a in res.json()["assets"] if a["asset"] == "table")
    a, b = FRAMES["r1"].set_index("id"), FRAMES["r3"].set_index("id")
    changed = int((a["v"] != b.loc[a.index, "v"]).sum())
    assert table["table_diff"]["rows"]["added"] == len(b.index.difference(a.index))
    assert table["table_diff"]["rows"]["changed"] == changed
    # identical runs' contents: exit 0 under --exit-code when only the run differs
    same = cli("diff-runs", runs_store, "r1", "r2", "--exit-code", "--format", "json")
    kinds = {x["asset"]: x["kind"] for x in same.json()["assets"]}
    assert kinds["table"] == "equal" and kinds["scratch"] == "only_a" and same.code == 1
    res = cli("diff-runs", runs_store, "r1", "r3")
    assert res.code == 0 and "only in A" in res.out and "scratch" in res.out


def test_library_results_are_frames(runs_store):
    from explorer.compare import compare, diff_runs

    store = Store.open(runs_store)
    grid = compare(store.index, store.runs, metrics=[("metrics", "auc")], load=lambda v: store.load(v.asset, v.run_id))
    frame = grid.to_frame()
    assert list(frame.index) == [r.run_id for r in store.runs]
    assert frame["metrics:auc"].tolist() == [METRICS[r]["auc"] for r in ("r1", "r2", "r3")]
    d = diff_runs(store.index, store.run("r1"), store.run("r2")).to_frame()
    def kind(asset):
        same = _file_hash(runs_store, store.version(asset, "r1").data_path) == _file_hash(runs_store, store.version(asset, "r2").data_path)
        return "equal" if same else "changed"

    assert dict(zip(d["asset"], d["kind"])) == {"table": kind("table"), "metrics": kind("metrics"), "scratch": "only_a"}
    assert "<table" in grid._repr_html_()
