"""Partitioned Dagster assets (daily with TimeWindowPartitionMapping(-1), static, multi, dynamic,
a single-run backfill of a range) run for real with RunPrefixedIOManager and a persisted
instance, compared with the instance's own records: one key per asset, its partitions, the
latest materialization of every partition."""

from __future__ import annotations

import pytest

dg = pytest.importorskip("dagster")

import dagster_jobs as jobs  # noqa: E402
from explorer import Store  # noqa: E402
from explorer.dagster import RunPrefixedIOManager, consolidate_run  # noqa: E402

DAYS = ["2023-01-21", "2023-01-22", "2023-01-23"]


def _key(asset_key) -> str:
    return "/".join(asset_key.path)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("partitions")
    base, home = tmp / "store", tmp / "dagster_home"
    home.mkdir()
    io = {"io_manager": RunPrefixedIOManager(base_path=str(base))}
    mp = pytest.MonkeyPatch()
    runs: dict[str, str] = {}
    with dg.instance_for_test(temp_dir=str(home)) as instance:

        def run(name, assets, **kw):
            result = dg.materialize(assets, instance=instance, resources=io, **kw)
            assert result.success
            consolidate_run(str(base), result.run_id, "success")
            runs[name] = result.run_id

        try:
            for day in DAYS:
                run(f"events {day}", [jobs.events], partition_key=day)
            for day in DAYS[1:]:
                run(f"stats {day}", [jobs.events, jobs.yesterday_stats], selection=[jobs.yesterday_stats], partition_key=day)
            mp.setenv("FRONTIER_TEST_EVENTS_BUMP", "10")
            run("events again", [jobs.events], partition_key=DAYS[0])  # new content for 01-21
            mp.delenv("FRONTIER_TEST_EVENTS_BUMP")
            for color in ("red", "blue"):
                run(f"paint {color}", [jobs.paint], partition_key=color)
            run("multi", [jobs.multi_partitions_asset], partition_key=dg.MultiPartitionKey({"date": DAYS[0], "color": "blue"}))
            run("multi 2", [jobs.multi_partitions_asset], partition_key=dg.MultiPartitionKey({"date": DAYS[1], "color": "red"}))
            instance.add_dynamic_partitions("releases", ["1.5.0", "1.6.0"])
            for release in ("1.5.0", "1.6.0"):
                run(f"release {release}", [jobs.releases_metadata], partition_key=release)
            run("range", [jobs.daily_range], tags={"dagster/asset_partition_range_start": DAYS[0],
                                                   "dagster/asset_partition_range_end": DAYS[2]})
        finally:
            mp.undo()
        # the instance's records: truth for every comparison below
        graph = dg.Definitions(assets=jobs.PARTITIONED).resolve_asset_graph()
        truth = {}
        for asset_key in graph.get_all_asset_keys():
            parts = instance.get_materialized_partitions(asset_key)
            latest = {}
            for p in parts:
                [record] = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[p]), limit=1).records
                latest[p] = record.run_id
            truth[_key(asset_key)] = latest
        edges = {(_key(up), _key(k)) for k in graph.get_all_asset_keys() for up in graph.get(k).parent_keys}
    return {"base": base, "home": home, "runs": runs, "truth": truth, "edges": edges}


def test_the_explorer_shows_what_the_instance_recorded(project):
    store = Store.open(str(project["base"]), cache=False)
    truth = project["truth"]
    assert {a: sorted(p) for a, p in truth.items()} == {  # what the test ran
        "events": DAYS, "yesterday_stats": DAYS[1:], "paint": ["blue", "red"],
        "multi_partitions_asset": ["blue|2023-01-21", "red|2023-01-22"],
        "releases_metadata": ["1.5.0", "1.6.0"], "daily_range": DAYS}
    assert truth["events"][DAYS[0]] == project["runs"]["events again"]
    assert store.warnings == []
    assert store.assets() == sorted(truth)  # one key per asset, whatever its partitions
    assert set(store.asset_graph().nodes) == set(truth)
    assert set(store.asset_graph(all_runs=True).edges) == project["edges"]
    for asset, latest in truth.items():
        assert set(store.index.partitions(asset)) == set(latest), asset
        for partition, run_id in latest.items():
            assert store.index.latest(asset, partition).run_id == run_id, (asset, partition)
    multi = store.index.latest("multi_partitions_asset", "blue|2023-01-21")
    assert multi.partition_dimensions == {"color": "blue", "date": "2023-01-21"}
    assert (project["base"] / multi.run_id / "multi_partitions_asset" / "blue" / "2023-01-21").is_file()
    # the backfill run wrote its three partitions in one run
    assert sorted(v.partition for v in store.run_versions(project["runs"]["range"])) == DAYS
    assert store.load(f"daily_range[{DAYS[1]}]")["day"].tolist() == [DAYS[1]]


def test_partition_mapping_as_the_inputs_recorded_it(project):
    store = Store.open(str(project["base"]), cache=False)
    runs = project["runs"]
    for day, yesterday in zip(DAYS[1:], DAYS):
        [inp] = store.version(f"yesterday_stats[{day}]").inputs
        assert (inp.asset, inp.partition, inp.run_id) == ("events", yesterday, runs[f"events {yesterday}"])
    # events[01-21] got new content after stats[01-22] read it; stats[01-23] read 01-22, unchanged
    assert {p.partition: p.status for p in store.partitions("yesterday_stats")} == {DAYS[1]: "stale", DAYS[2]: "fresh"}
    assert store.staleness().status_of("yesterday_stats") == "stale"
    prov = store.provenance(f"yesterday_stats[{DAYS[2]}]")
    assert [(r.asset, r.partition) for r in prov.versions] == [("yesterday_stats", DAYS[2]), ("events", DAYS[1])]


def test_cli_show_lists_the_partitions_the_instance_knows(project, cli):
    r = cli("show", project["base"], "releases_metadata", "--format", "json", "--no-cache")
    assert r.code == 0, r.err
    latest = project["truth"]["releases_metadata"]
    assert {p["partition"]: p["run_id"] for p in r.json()["partitions"]} == latest
    r = cli("show", project["base"], "paint", "--partition", "blue", "--format", "json", "--no-cache")
    assert r.code == 0 and r.json()["run_id"] == project["truth"]["paint"]["blue"]


# ---------------------------------------------------------------------- Dagster's stock IO manager


@pytest.fixture(scope="module")
def stock(tmp_path_factory):
    """The same shapes with Dagster's stock FilesystemIOManager (``<base>/<asset>/<partition>``,
    overwritten each run) and a persisted instance."""
    tmp = tmp_path_factory.mktemp("stock_partitions")
    base, home = tmp / "storage", tmp / "dagster_home"
    home.mkdir()
    io = {"io_manager": dg.FilesystemIOManager(base_dir=str(base))}
    mp = pytest.MonkeyPatch()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        try:
            for day in DAYS:
                assert dg.materialize([jobs.events], instance=instance, resources=io, partition_key=day).success
            for day in DAYS[1:]:
                assert dg.materialize([jobs.events, jobs.yesterday_stats], selection=[jobs.yesterday_stats],
                                      instance=instance, resources=io, partition_key=day).success
            mp.setenv("FRONTIER_TEST_EVENTS_BUMP", "10")
            assert dg.materialize([jobs.events], instance=instance, resources=io, partition_key=DAYS[0]).success
            mp.delenv("FRONTIER_TEST_EVENTS_BUMP")
            for key in ({"date": DAYS[0], "color": "blue"}, {"date": DAYS[1], "color": "red"}):
                assert dg.materialize([jobs.multi_partitions_asset], instance=instance, resources=io,
                                      partition_key=dg.MultiPartitionKey(key)).success
        finally:
            mp.undo()
        assets = [jobs.events, jobs.yesterday_stats, jobs.multi_partitions_asset]
        truth = {}
        for asset in assets:
            for asset_key in asset.keys:
                truth[_key(asset_key)] = {
                    p: instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[p]),
                                                       limit=1).records[0].run_id
                    for p in instance.get_materialized_partitions(asset_key)}
        # which partition of events each stats partition read: the partition mapping of the
        # Definitions (the day before), as materialized by the latest run before the stats run
        # (the input event pointer names the latest materialization of *any* partition of events)
        mapping = jobs.yesterday_stats.get_partition_mapping(dg.AssetKey("events"))
        assert isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.start_offset == -1
        read = {}
        for p in DAYS[1:]:
            [rec] = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("yesterday_stats"), asset_partitions=[p]), limit=1).records
            yesterday = DAYS[DAYS.index(p) - 1]
            ups = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("events"), asset_partitions=[yesterday]), limit=100).records
            up = max((r for r in ups if r.timestamp < rec.timestamp), key=lambda r: r.timestamp)
            read[p] = (yesterday, up.run_id)
    return {"base": base, "home": home, "truth": truth, "read": read}


def test_stock_store_partitions_with_the_instance(stock, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    store = Store.open(str(stock["base"]), dagster_home=str(stock["home"]))
    truth = stock["truth"]
    assert {a: sorted(p) for a, p in truth.items()} == {
        "events": DAYS, "yesterday_stats": DAYS[1:], "multi_partitions_asset": ["blue|2023-01-21", "red|2023-01-22"]}
    assert sorted(a for a in store.assets() if not a.startswith(("compute_logs",))) >= sorted(truth)
    for asset, latest in truth.items():
        assert {p: vs[-1].run_id for p, vs in store.index.partitions(asset).items()} == latest, asset
    multi = store.index.latest("multi_partitions_asset", "blue|2023-01-21")
    assert multi.data_path == "multi_partitions_asset/blue/2023-01-21"
    assert multi.partition_dimensions == {"color": "blue", "date": "2023-01-21"}
    # each partition's input: the partition of events the mapping chose, from the event log
    for p, (up_partition, up_run) in stock["read"].items():
        [inp] = [i for i in store.version(f"yesterday_stats[{p}]").inputs if i.asset == "events"]
        assert (inp.partition, inp.run_id) == (up_partition, up_run)
    assert ("events", "yesterday_stats") in store.asset_graph().edges
    assert "events/2023-01-21" not in store.assets()
