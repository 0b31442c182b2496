"""Partitioned versions (store format 1.1) written by RunWriter and read back; stores written
before partitions (format 1.0) still open. Truth: the files on disk and what the test wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from explorer import RunWriter, Store
from explorer.errors import WriteError

DAYS = ["2023-01-21", "2023-01-22", "2023-01-23"]
HOSTILE = ["[bold]red[/bold]", "a/b", "..", "x]y[z", "feat[1]", ".hidden", "50%", "a|b"]


def _events(day: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"day": [day] * n, "value": list(range(n))})


def _sidecars(root: Path, run_id: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / run_id / "_frontier" / "versions").glob("*.json"))]


@pytest.fixture
def partitioned(tmp_path):
    """A backfill run writing three days of ``events`` and their ``stats``, then a run
    rewriting one day; a multi-partitioned and a static-partitioned asset."""
    root = tmp_path / "store"
    with RunWriter(str(root), job="backfill") as backfill:
        for i, day in enumerate(DAYS):
            backfill.write("events", _events(day, i + 1), partition=day)
            backfill.write("stats", {"rows": i + 1}, inputs=[("events", backfill.run_id, day)], partition=day)
        backfill.write("multi", _events("x", 2), partition={"date": "2022-01-01", "color": "blue"})
        backfill.write("static", [1], partition="eu")
        backfill.write("plain", [1, 2])
    with RunWriter(str(root), job="daily") as daily:
        daily.write("events", _events(DAYS[1], 7), partition=DAYS[1])
    return root, backfill.run_id, daily.run_id


def test_partitioned_versions_written_and_read(partitioned):
    root, backfill, daily = partitioned
    docs = {(d["asset"], d.get("partition")): d for d in _sidecars(root, backfill)}
    assert set(docs) == {("events", d) for d in DAYS} | {("stats", d) for d in DAYS} | {
        ("multi", "blue|2022-01-01"), ("static", "eu"), ("plain", None)}
    assert {d["format_version"] for d in docs.values()} == {"1.1"}
    # the data below the asset key, one folder level per dimension of a multi-partition
    assert docs[("events", "2023-01-22")]["data_path"] == f"{backfill}/events/2023-01-22.parquet"
    assert docs[("multi", "blue|2022-01-01")]["data_path"] == f"{backfill}/multi/blue/2022-01-01.parquet"
    assert docs[("multi", "blue|2022-01-01")]["partition_dimensions"] == {"color": "blue", "date": "2022-01-01"}
    assert "partition" not in docs[("plain", None)]
    assert docs[("stats", "2023-01-23")]["inputs"][0]["partition"] == "2023-01-23"
    assert (root / backfill / "events" / "2023-01-23.parquet").exists()

    store = Store.open(str(root), cache=False)
    assert store.warnings == []
    assert store.assets() == ["events", "multi", "plain", "static", "stats"]  # one key per asset
    parts = store.index.partitions("events")
    assert list(parts) == DAYS
    assert [v.run_id for v in parts["2023-01-22"]] == [backfill, daily]
    assert store.index.latest("events", "2023-01-22").table.num_rows == 7
    assert store.index.latest("events", "2023-01-21").table.num_rows == 1
    assert store.index.partitions("plain") == {} and not store.index.is_partitioned("plain")
    multi = store.index.latest("multi", "blue|2022-01-01")
    assert multi.partition_dimensions == {"color": "blue", "date": "2022-01-01"}
    assert len(store.run_versions(backfill)) == 9
    # the same through the local cache (a warm reopen) and through the run's sidecars alone
    Store.open(str(root))
    warm = Store.open(str(root))
    assert {k: v.to_dict() for k, v in warm.index.versions.items()} == {k: v.to_dict() for k, v in store.index.versions.items()}


def test_running_run_read_from_partitioned_sidecars(tmp_path):
    root = tmp_path / "store"
    run = RunWriter(str(root), job="backfill").start()
    for day in DAYS:
        run.write("events", _events(day, 2), partition=day)
    store = Store.open(str(root), cache=False)  # not consolidated: read from its sidecars
    assert list(store.index.partitions("events")) == DAYS
    run.finish()


def test_a_partition_is_written_once_per_run(tmp_path):
    with RunWriter(str(tmp_path / "s")) as run:
        run.write("events", [1], partition="2023-01-22")
        with pytest.raises(WriteError, match="partition '2023-01-22' was already written"):
            run.write("events", [2], partition="2023-01-22")
        with pytest.raises(WriteError, match="control"):
            run.write("events", [2], partition="bad\x1b[2J")
        with pytest.raises(WriteError, match="non-empty"):
            run.write("events", [2], partition="")


def test_hostile_partition_keys_round_trip(tmp_path):
    root = tmp_path / "s"
    with RunWriter(str(root)) as run:
        for p in HOSTILE:
            run.write("h", {"p": p}, partition=p)
    store = Store.open(str(root), cache=False)
    assert store.warnings == []
    assert sorted(store.index.partitions("h")) == sorted(HOSTILE)
    for p in HOSTILE:
        v = store.index.latest("h", p)
        path = (root / v.data_path).resolve()
        assert path.is_relative_to((root / run.run_id / "h").resolve())  # never outside its asset
        assert json.loads(path.read_text()) == {"p": p}


OLD_RUN = {
    "format": "frontier-explore/run", "format_version": "1.0", "run_id": "r1", "job": "j",
    "status": "success", "started_at": "2025-01-01T00:00:00.000000Z",
    "finished_at": "2025-01-01T00:01:00.000000Z", "tags": {}, "code_version": "v1",
    "parent_run_id": None, "planned_assets": [{"asset": "b", "inputs": ["a"], "code_version": "v1"}],
    "consolidated": True,
    "versions": [
        {"format": "frontier-explore/sidecar", "format_version": "1.0", "asset": "a", "run_id": "r1",
         "created_at": "2025-01-01T00:00:01.000000Z", "data_path": "r1/a.json", "data_format": "json",
         "size_bytes": 3, "content_hash": "sha256:aa", "code_version": "v1", "metadata": {}, "inputs": []},
        {"format": "frontier-explore/sidecar", "format_version": "1.0", "asset": "b", "run_id": "r1",
         "created_at": "2025-01-01T00:00:02.000000Z", "data_path": "r1/b.json", "data_format": "json",
         "size_bytes": 3, "content_hash": "sha256:bb", "code_version": "v1", "metadata": {},
         "inputs": [{"asset": "a", "run_id": "r1", "content_hash": "sha256:aa"}]},
    ],
}


def test_a_store_written_before_partitions_still_opens(tmp_path):
    root = tmp_path / "old"
    (root / "r1" / "_frontier").mkdir(parents=True)
    (root / "_frontier_store.json").write_text(json.dumps({"format": "frontier-explore/store", "format_version": "1.0"}))
    (root / "r1" / "_frontier" / "run.json").write_text(json.dumps(OLD_RUN))
    (root / "r1" / "a.json").write_text("[1]")
    (root / "r1" / "b.json").write_text("[2]")
    store = Store.open(str(root), cache=False)
    assert store.warnings == []
    assert store.assets() == ["a", "b"]
    assert store.latest("b").partition is None and store.latest("b").inputs[0].partition is None
    assert store.staleness().status_of("b") == "fresh"
    assert store.load("b") == [2]
    # and a new partitioned run added to the old store
    with RunWriter(str(root), job="j") as run:
        run.write("a", [3], partition="p1")
    store = Store.open(str(root), cache=False)
    assert store.warnings == [] and list(store.index.partitions("a")) == ["p1"]
