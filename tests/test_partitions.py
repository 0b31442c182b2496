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
    assert {k: d["format_version"] for k, d in docs.items()}[("plain", None)] == "1.0"
    assert {d["format_version"] for k, d in docs.items() if k[1]} == {"1.1"}
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
        with pytest.raises(WriteError, match="longer than 255"):
            run.write("events", [2], partition="é" * 100)  # 600 characters once percent-encoded


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


# ---------------------------------------------------------------------- the library, per partition


@pytest.fixture
def daily(tmp_path):
    """``events`` daily; ``stats[D]`` built from ``events[D-1]`` (TimeWindowPartitionMapping(-1)),
    one run per day; then ``events[2023-01-21]`` is rewritten with new content."""
    root = tmp_path / "daily"
    runs = {}
    with RunWriter(str(root), job="events") as r:
        for day in DAYS:
            r.write("events", _events(day, 2), partition=day)
    runs["events"] = r.run_id
    for prev, day in zip(DAYS, DAYS[1:]):
        with RunWriter(str(root), job="stats", tags={"dagster/partition": day}, plan={"stats": ["events"]}) as r:
            r.write("stats", {"day": day}, inputs=[("events", runs["events"], prev)], partition=day)
        runs[day] = r.run_id
    with RunWriter(str(root), job="events", tags={"dagster/partition": DAYS[0]}) as r:
        r.write("events", _events(DAYS[0], 5), partition=DAYS[0])
    runs["rewrite"] = r.run_id
    return root, runs


def test_staleness_follows_the_partition_each_input_recorded(daily):
    root, runs = daily
    store = Store.open(str(root), cache=False)
    # stats[01-22] read events[01-21], which changed; stats[01-23] read events[01-22], unchanged
    got = {p.partition: p.status for p in store.partitions("stats")}
    assert got == {"2023-01-22": "stale", "2023-01-23": "fresh"}
    cause = next(p for p in store.partitions("stats") if p.partition == "2023-01-22").causes[0]
    assert (cause.kind, cause.asset, cause.partition, cause.run_id) == ("upstream_changed", "events", DAYS[0], runs["rewrite"])
    assert "events[2023-01-21] changed" in cause.describe()
    assert {p.partition: (p.status, p.versions) for p in store.partitions("events")} == {
        DAYS[0]: ("fresh", 2), DAYS[1]: ("fresh", 1), DAYS[2]: ("fresh", 1)}
    report = store.staleness()
    assert report.status_of("stats") == "stale" and report.status_of("events") == "fresh"
    assert [c.in_partition for c in report.get("stats").causes] == ["2023-01-22"]
    # one node per asset in the lineage graph
    assert sorted(store.asset_graph().nodes) == ["events", "stats"]
    assert list(store.asset_graph().edges) == [("events", "stats")]


def test_a_failed_run_of_a_partition_and_a_missing_one(daily):
    root, runs = daily
    with pytest.raises(RuntimeError):
        with RunWriter(str(root), job="stats", tags={"dagster/partition": DAYS[2]}, plan={"stats": ["events"]}):
            raise RuntimeError("boom")
    with RunWriter(str(root), job="late") as r:  # consumed a partition of stats never written
        r.write("report", [1], inputs=[("stats", runs[DAYS[1]], DAYS[1])])
    store = Store.open(str(root), cache=False)
    got = {p.partition: p.status for p in store.partitions("stats")}
    assert got == {"2023-01-22": "stale", "2023-01-23": "failed"}


def test_names_with_partitions_resolve(daily):
    root, runs = daily
    store = Store.open(str(root), cache=False)
    v = store.version("events[2023-01-21]")
    assert (v.partition, v.run_id, v.table.num_rows) == (DAYS[0], runs["rewrite"], 5)
    assert store.version("events", runs["events"], partition=DAYS[1]).partition == DAYS[1]
    assert [x.run_id for x in store.asset_versions("events[2023-01-21]")] == [runs["events"], runs["rewrite"]]
    assert len(store.load("events[2023-01-22]")) == 2
    prov = store.provenance(f"stats[{DAYS[1]}]")
    assert [(r.asset, r.partition) for r in prov.versions] == [("stats", DAYS[1]), ("events", DAYS[0])]
    assert prov.versions[1].run_id == runs["events"]
    with pytest.raises(Exception, match="3 partitions of 'events'"):
        store.version("events", runs["events"])
    with pytest.raises(Exception, match="no partition '1999-01-01'"):
        store.version("events[1999-01-01]")
    diff = store.diff("events[2023-01-21]", "previous", "latest")
    assert diff.to_dict()  # the two versions of one partition compared
    hist = store.history("events[2023-01-21]")
    assert list(hist["run_id"]) == [runs["events"], runs["rewrite"]]


def test_partition_names_with_brackets(tmp_path):
    from explorer.names import split_partition

    keys = {"feat", "feat[1]", "a/b"}
    assert split_partition("feat", keys) == ("feat", None)
    assert split_partition("feat[1]", keys) == ("feat[1]", None)  # an asset key wins
    assert split_partition("feat[x]y[1]]", keys) == ("feat", "x]y[1]")
    assert split_partition("feat[1][2]", keys) == ("feat", "1][2")
    assert split_partition("a/b[c/d]", keys) == ("a/b", "c/d")
    assert split_partition("nope[x]", keys) == ("nope[x]", None)
    assert split_partition("feat[]", keys) == ("feat[]", None)


# ---------------------------------------------------------------------- the command line


def test_cli_show_lists_partitions_and_takes_one(daily, cli):
    root, runs = daily
    r = cli("show", root, "stats", "--format", "json")
    assert r.code == 0, r.err
    assert [(p["partition"], p["status"]) for p in r.json()["partitions"]] == [(DAYS[1], "stale"), (DAYS[2], "fresh")]
    r = cli("show", root, "stats")
    assert r.code == 0 and "2 partitions of stats" in r.out and "stale" in r.out
    for argv in (("events[2023-01-22]",), ("events", "--partition", "2023-01-22")):
        r = cli("show", root, *argv, "--format", "json")
        assert r.code == 0, r.err
        assert r.json()["partition"] == "2023-01-22" and "partitions" not in r.json()
    r = cli("versions", root, "events", "-p", DAYS[0], "--format", "json")
    assert r.code == 0 and [v["run_id"] for v in r.json()] == [runs["rewrite"], runs["events"]]
    r = cli("provenance", root, f"stats[{DAYS[1]}]")
    assert r.code == 0 and f"events[{DAYS[0]}]" in r.out
    r = cli("history", root, "events", "--partition", DAYS[0], "--format", "json")
    assert r.code == 0 and len(r.json()) == 2
    r = cli("show", root, "events[1999-01-01]")
    assert r.code == 2 and "no partition '1999-01-01'" in r.err and "Traceback" not in r.err


def test_cli_hostile_partitions_reach_the_terminal_as_text(tmp_path, cli):
    root = tmp_path / "s"
    with RunWriter(str(root)) as run:
        for p in HOSTILE:
            run.write("h", {"p": p}, partition=p)
    r = cli("show", root, "h")
    assert r.code == 0, r.err
    for p in HOSTILE:
        assert p in r.out  # "[bold]red[/bold]" printed as written, never taken as markup
    r = cli("show", root, "h[[bold]red[/bold]]", "--format", "json")
    assert r.code == 0 and r.json()["partition"] == "[bold]red[/bold]"
    r = cli("show", root, "h", "--partition", "x]y[z", "--format", "json")
    assert r.code == 0 and r.json()["partition"] == "x]y[z"
    r = cli("show", root, "h[a/b]", "--partition", "..")
    assert r.code == 2 and "Traceback" not in r.err
    # a store edited by hand with an escape sequence in a partition: one warning, no crash
    side = next((root / run.run_id / "_frontier" / "versions").glob("h@a%2Fb.json"))
    doc = json.loads(side.read_text())
    doc["partition"] = "evil\x1b]52;c;aGk=\x07"
    side.write_text(json.dumps(doc))
    manifest = root / run.run_id / "_frontier" / "run.json"
    m = json.loads(manifest.read_text())
    m["versions"] = [doc if v.get("partition") == "a/b" else v for v in m["versions"]]
    manifest.write_text(json.dumps(m))
    r = cli("show", root, "h", "--no-cache")
    assert r.code == 0 and "\x1b" not in r.out + r.err
    store = Store.open(str(root), cache=False)
    assert len(store.index.partitions("h")) == len(HOSTILE) - 1 and "control" in store.warnings[0]


# ---------------------------------------------------------------------- SQL


def test_sql_gives_the_latest_version_of_every_partition(partitioned, cli):
    root, backfill, daily = partitioned
    store = Store.open(str(root), cache=False)
    got = store.sql('select "partition", run_id, count(*) as n from events group by all order by 1')
    assert got.values.tolist() == [[DAYS[0], backfill, 1], [DAYS[1], daily, 7], [DAYS[2], backfill, 3]]
    pinned = store.sql(f'select "partition", count(*) as n from "events@{backfill}" group by 1 order by 1')
    assert pinned.values.tolist() == [[DAYS[0], 1], [DAYS[1], 2], [DAYS[2], 3]]
    every = store.sql('select "partition", run_id from "events@*" group by all order by 1, 2')
    assert every.values.tolist() == sorted([[DAYS[0], backfill], [DAYS[1], backfill], [DAYS[1], daily], [DAYS[2], backfill]])
    assert store.sql('select "partition", color from (select "partition" as color, * from multi) limit 1').values.tolist() == [
        ["blue|2022-01-01", "blue|2022-01-01"]]
    assert store.sql("select count(*) from versions where partition is not null").iloc[0, 0] == 9
    latest = store.sql("select partition from versions where asset = 'events' and is_latest order by 1")
    assert latest["partition"].tolist() == DAYS
    r = cli("sql", root, 'select "partition", count(*) as n from events group by 1 order by 1', "--format", "json")
    assert r.code == 0, r.err
    assert [(row["partition"], row["n"]) for row in r.json()] == [(DAYS[0], 1), (DAYS[1], 7), (DAYS[2], 3)]


def test_cli_trace_and_stale_with_partitions(daily, cli):
    root, runs = daily
    r = cli("trace", root, "events", "--partition", DAYS[0], "--where", "value=0", "--format", "json")
    assert r.code == 0, r.err
    r = cli("stale", root, "--format", "json")
    assert r.code == 1  # stats[2023-01-22] read the events of 2023-01-21, which changed since
    [stats] = [a for a in r.json()["assets"] if a["asset"] == "stats"]
    assert [(c["kind"], c["partition"], c["in_partition"]) for c in stats["causes"]] == [
        ("upstream_changed", DAYS[0], DAYS[1])]
