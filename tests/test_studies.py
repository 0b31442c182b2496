"""Studies across runs (issue 20): every version of an asset as one frame, SQL over all or some
versions, the store as it was at a past moment, metrics inside JSON over time, byte-identical
versions marked. The store is written here; truth is what the test wrote (frames, dicts, the
bytes of the data files)."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from explorer import RunWriter, Store
from explorer.errors import ExplorerError
from explorer.study import frame

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
LABELS = ("r1", "r2", "r3", "r4")
TABLES = {
    "r1": pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5]}),
    "r2": pd.DataFrame({"id": [1, 2, 3], "x": [0.5, 1.5, 2.5]}),
    "r3": pd.DataFrame({"id": [1, 2, 3], "x": [0.5, 1.5, 2.5]}),  # r2's rows again
    "r4": pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.0, 1.0, 2.0, 3.0], "y": ["a", "b", "c", "d"]}),
}
METRICS = {"r1": {"auc": 0.61, "cm": {"tp": 3}}, "r2": {"auc": 0.64, "cm": {"tp": 5}},
           "r3": {"auc": 0.64, "cm": {"tp": 5}}, "r4": {"auc": 0.7, "cm": {"tp": 9}}}


def run_id(label: str) -> str:
    return f"2026030{LABELS.index(label) + 1}T000000Z-{label}"


def started(label: str) -> datetime:
    return T0 + timedelta(days=7 * LABELS.index(label))


@pytest.fixture
def study_store(tmp_path) -> str:
    path = str(tmp_path / "store")
    for label in LABELS:
        t = started(label)
        ticks = iter(t + timedelta(minutes=m) for m in range(1, 100))
        with RunWriter(path, job="train", run_id=run_id(label), started_at=t, clock=lambda: next(ticks)) as run:
            run.write("t", TABLES[label], keys=["id"])
            run.write("metrics", METRICS[label], inputs=["t"])
    return path


def _stacked(labels) -> pd.DataFrame:
    return pd.concat([TABLES[l].assign(run_id=run_id(l)) for l in labels], ignore_index=True)


def test_frame_stacks_every_version_with_its_run(study_store):
    store = Store.open(study_store)
    got = store.frame("t")
    want = _stacked(LABELS)
    assert list(got.columns[:2]) == ["run_id", "created_at"]
    assert got["run_id"].tolist() == want["run_id"].tolist()
    assert got["x"].tolist() == want["x"].tolist()
    assert got["y"].isna().sum() == sum(len(TABLES[l]) for l in LABELS if "y" not in TABLES[l])
    created = {v.run_id: v.created_at for v in store.asset_versions("t")}
    assert [c.to_pydatetime() for c in got["created_at"]] == [created[r] for r in want["run_id"]]


def test_frame_of_some_runs_and_columns(study_store):
    store = Store.open(study_store)
    got = store.frame("t", runs=["r4", "r1"], columns=["x"])
    assert list(got.columns) == ["run_id", "created_at", "x"]
    assert got["x"].tolist() == TABLES["r4"]["x"].tolist() + TABLES["r1"]["x"].tolist()
    with pytest.raises(ExplorerError, match="unknown run"):
        store.frame("t", runs=["r9"])


def test_frame_of_json_versions_flattens_their_fields(study_store):
    got = Store.open(study_store).frame("metrics")
    assert got["auc"].tolist() == [METRICS[l]["auc"] for l in LABELS]
    assert got["cm.tp"].tolist() == [METRICS[l]["cm"]["tp"] for l in LABELS]


def test_frame_reads_versions_concurrently(study_store):
    """Two reads must be in flight at once: each waits for the other at a barrier (a serial
    reader would time out there)."""
    store = Store.open(study_store)
    barrier = threading.Barrier(2, timeout=20)

    def read(v, columns):
        barrier.wait()
        return store.read_table("t", v.run_id, columns)

    got = frame(store.asset_versions("t")[:2], read)
    assert len(got) == len(TABLES["r1"]) + len(TABLES["r2"])


def test_sql_over_all_versions_and_chosen_runs(study_store):
    store = Store.open(study_store)
    got = store.sql('select run_id, id, x from "t@*" order by run_id, id')
    want = _stacked(LABELS).sort_values(["run_id", "id"]).reset_index(drop=True)
    assert got["run_id"].tolist() == want["run_id"].tolist() and got["x"].tolist() == want["x"].tolist()
    got = store.sql('select run_id, count(*) as n from "t@r1,r4" group by run_id order by run_id')
    assert dict(zip(got["run_id"], got["n"])) == {run_id("r1"): len(TABLES["r1"]), run_id("r4"): len(TABLES["r4"])}
    with pytest.raises(ExplorerError, match="unknown run 'r9'"):
        store.sql('select * from "t@r1,r9"')


def test_sql_cli_reads_all_versions(cli, study_store):
    res = cli("sql", study_store, 'select run_id, sum(x) as s from "t@*" group by run_id order by run_id', "--format", "json")
    assert res.code == 0, res.err
    assert [r["s"] for r in res.json()] == [float(TABLES[l]["x"].sum()) for l in LABELS]


def test_the_store_as_it_was_at_a_run(study_store):
    store = Store.open(study_store)
    past = store.at("r2")
    assert [r.run_id for r in past.runs] == [run_id("r1"), run_id("r2")]
    assert past.load("t").equals(TABLES["r2"])
    assert past.staleness().to_dict()["assets"] == store.staleness(as_of=run_id("r2")).to_dict()["assets"]
    assert past.sql("select count(*) as n from versions")["n"][0] == 4
    with pytest.raises(ExplorerError, match="read-only"):
        past.flag("t", "r2", "bad")
    # a time between two runs: r3 started, its first version written, its second not yet
    mid = started("r3") + timedelta(minutes=1, seconds=30)
    during = store.at(mid.isoformat())
    assert during.run("r3").status == "running"
    assert [v.asset for v in during.run_versions("r3")] == ["t"]


def test_flags_made_after_the_moment_are_not_in_the_past(study_store):
    store = Store.open(study_store)
    store.flag("t", "r1", "leaked label")
    assert store.refresh().flagged() == {("t", run_id("r1"))}
    assert store.at("r4").flagged() == set()  # the flag was written now, after r4


def test_runs_frame_and_report_frames(study_store):
    store = Store.open(study_store)
    runs = store.runs_frame()
    assert runs["run_id"].tolist() == [run_id(l) for l in LABELS]
    assert runs["started_at"].tolist() == [pd.Timestamp(started(l)) for l in LABELS]
    report = store.staleness(max_age="1d")
    frame_ = report.to_frame()
    assert frame_.set_index("asset")["status"].to_dict() == {a.asset: a.status for a in report.assets}
    assert "<table" in report._repr_html_()


def test_history_of_a_value_inside_json(cli, study_store):
    res = cli("history", study_store, "metrics:auc", "--format", "json")
    assert res.code == 0, res.err
    assert [r["value.auc"] for r in res.json()] == [METRICS[l]["auc"] for l in LABELS]
    res = cli("history", study_store, "metrics", "-s", "value.cm.tp", "--format", "json")
    assert [r["value.cm.tp"] for r in res.json()] == [METRICS[l]["cm"]["tp"] for l in LABELS]
    bad = cli("history", study_store, "t", "-s", "value.auc")
    assert bad.code == 2 and "not JSON" in bad.err


def test_byte_identical_versions_are_marked(cli, study_store):
    store = Store.open(study_store)
    digest = {l: hashlib.sha256(Path(study_store, store.version("t", l).data_path).read_bytes()).hexdigest() for l in LABELS}
    want = {}
    for i, l in enumerate(LABELS):
        earlier = [e for e in LABELS[:i] if digest[e] == digest[l]]
        want[run_id(l)] = run_id(earlier[0]) if earlier else None
    got = store.versions("t").set_index("run_id")["same_as"].to_dict()
    assert {k: (v if isinstance(v, str) else None) for k, v in got.items()} == want
    sql = store.sql("select run_id, same_as_run_id from versions where asset = 't'")
    assert {r: (s if isinstance(s, str) else None) for r, s in zip(sql["run_id"], sql["same_as_run_id"])} == want
    assert any(want.values())  # the test store does repeat a version
