"""Dagster projects in the shapes of Dagster's examples (tests/dagster_stock_projects.py: hackernews in
quickstart_etl's older style, graph-backed airlines assets, daily and multi-partitions) run for
real with Dagster's stock FilesystemIOManager and a persisted instance (DAGSTER_HOME in a tmp
folder: asset files and Dagster's compute logs side by side in ``$DAGSTER_HOME/storage``), under
the multiprocess executor and in process, with a failure, its re-execution from failure and a
subset run. What the explorer shows is compared with the instance's own records."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

dg = pytest.importorskip("dagster")

import dagster_records as records  # noqa: E402
from tui_support import settle  # noqa: E402
import dagster_stock_projects as projects  # noqa: E402
from explorer import Store  # noqa: E402

DAYS = ["2023-01-21", "2023-01-22", "2023-01-23"]
RELEASES = ["1.5.0", "1.6.0", "1.7.0"]
INTERNAL = "layover_breakdown_2022.filter_for_2022/result"  # an op inside a graph-backed asset


_key = records.key


def _latest(instance, asset_key, partition=None):
    flt = dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition] if partition is not None else None)
    [record] = instance.fetch_materializations(flt, limit=1).records
    return record


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from dagster._utils.test.data_versions import get_stale_status_resolver

    tmp = tmp_path_factory.mktemp("projects")
    home = records.dagster_home(tmp)
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(home))
    tests = str(Path(__file__).parent)  # the multiprocess executor's step processes import the project
    mp.setenv("PYTHONPATH", os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH")) if p))
    runs: dict[str, str] = {}
    instance = dg.DagsterInstance.get()
    try:
        in_process = dg.reconstructable(projects.get_airline_job_in_process)
        result = dg.execute_job(dg.reconstructable(projects.get_airline_job), instance=instance)  # multiprocess
        assert result.success
        runs["airlines"] = result.run_id
        runs["hackernews"] = dg.materialize(projects.HACKERNEWS, instance=instance).run_id
        with records.failing(mp, "filter_for_2022"):
            failed = dg.execute_job(in_process, instance=instance)
        assert not failed.success
        retried = records.reexecute_from_failure(in_process, instance, failed)
        assert retried.success
        runs["failed"], runs["retried"] = failed.run_id, retried.run_id
        planned = {_key(e.dagster_event.event_specific_data.asset_key) for e in instance.all_logs(
            failed.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)}
        written = {_key(e.dagster_event.event_specific_data.materialization.asset_key) for e in instance.all_logs(
            failed.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
        mp.setenv("FRONTIER_TEST_STORIES", "6")  # a subset run that changes topstories
        runs["subset"] = dg.materialize(projects.HACKERNEWS, selection=[projects.topstories], instance=instance).run_id
        mp.delenv("FRONTIER_TEST_STORIES")
        for day in DAYS:
            assert dg.materialize([projects.jobs.events], instance=instance, partition_key=day).success
        for day in DAYS[1:]:
            assert dg.materialize(projects.PARTITIONED, selection=[projects.jobs.yesterday_stats], instance=instance,
                                  partition_key=day).success
        mp.setenv("FRONTIER_TEST_EVENTS_BUMP", "10")  # the day stats[DAYS[1]] read gets new data
        assert dg.materialize([projects.jobs.events], instance=instance, partition_key=DAYS[0]).success
        mp.delenv("FRONTIER_TEST_EVENTS_BUMP")
        for color, day in (("blue", DAYS[0]), ("red", DAYS[1])):
            key = dg.MultiPartitionKey({"color": color, "date": day})
            assert dg.materialize([projects.jobs.multi_partitions_asset], instance=instance, partition_key=key).success
        key = dg.MultiPartitionKey({"color": "blue", "date": DAYS[0]})
        assert dg.materialize(projects.PARTITIONED, selection=[projects.multi_partition_summary], instance=instance,
                              partition_key=key).success
        # static partitions: both colors and their mixes, then red again (its mix is stale)
        for asset, color in ((projects.jobs.paint, "red"), (projects.jobs.paint, "blue"), (projects.paint_mix, "red"),
                             (projects.paint_mix, "blue"), (projects.jobs.paint, "red")):
            assert dg.materialize(projects.PARTITIONED, selection=[asset], instance=instance, partition_key=color).success
        # dynamic partitions: two releases, the notes of the first, the summary of both; then a third release
        instance.add_dynamic_partitions("releases", RELEASES[:2])
        for asset, release in ((projects.jobs.releases_metadata, RELEASES[0]), (projects.jobs.releases_metadata, RELEASES[1]),
                               (projects.release_notes, RELEASES[0])):
            assert dg.materialize(projects.PARTITIONED, selection=[asset], instance=instance, partition_key=release).success
        for asset in (projects.releases_summary, projects.latest_release):
            assert dg.materialize(projects.PARTITIONED, selection=[asset], instance=instance).success
        # what they read, while the dynamic partitions are those they saw (the mappings map onto
        # the partitions as they are when asked)
        graph = dg.Definitions(assets=projects.ASSETS + projects.PARTITIONED).resolve_asset_graph()
        read_releases = {(_key(k), "releases_metadata"): records.partitions_read(
            instance, graph, k, projects.jobs.releases_metadata.key)
            for k in (projects.release_notes.key, projects.releases_summary.key, projects.latest_release.key)}
        instance.add_dynamic_partitions("releases", RELEASES[2:])
        assert dg.materialize(projects.PARTITIONED, selection=[projects.jobs.releases_metadata], instance=instance,
                              partition_key=RELEASES[2]).success

        # ---- the instance's records: truth for every comparison below
        definitions = projects.ASSETS + projects.PARTITIONED
        graph = dg.Definitions(assets=definitions).resolve_asset_graph()
        keys = graph.get_all_asset_keys()
        resolver = get_stale_status_resolver(instance, definitions)
        latest, stale, metadata, data_versions = {}, {}, {}, {}
        for k in keys:
            if graph.get(k).is_partitioned:
                parts = instance.get_materialized_partitions(k)
                latest[_key(k)] = {p: _latest(instance, k, p).run_id for p in parts}
                stale[_key(k)] = {p: resolver.get_status(k, p).value.lower() for p in parts}
            else:
                record = _latest(instance, k)
                latest[_key(k)] = record.run_id
                stale[_key(k)] = resolver.get_status(k).value.lower()
                mat = record.asset_materialization
                metadata[_key(k)] = {n: v.value for n, v in mat.metadata.items()}
                data_versions[_key(k)] = mat.tags["dagster/data_version"]
        history = {_key(k): {} for k in keys if graph.get(k).is_partitioned}  # asset -> partition -> runs, oldest first
        for asset in history:
            for r in instance.fetch_materializations(dg.AssetKey.from_user_string(asset), limit=1000, ascending=True).records:
                history[asset].setdefault(r.asset_materialization.partition, []).append(r.run_id)
        read = {(_key(k), _key(up)): records.partitions_read(instance, graph, k, up)
                for k in keys for up in graph.get(k).parent_keys if graph.get(up).is_partitioned}
        read.update(read_releases)
        truth = {
            "history": history, "read": read,
            "assets": sorted(_key(k) for k in keys),
            "edges": {(_key(up), _key(k)) for k in keys for up in graph.get(k).parent_keys},
            "runs": {r.dagster_run.run_id: r.dagster_run for r in instance.get_run_records()},
            "latest": latest, "stale": stale, "metadata": metadata, "data_versions": data_versions,
            "failed_planned": planned, "failed_written": written,
        }
    finally:
        instance.dispose()
        mp.undo()
    return {"home": home, "storage": home / "storage", "runs": runs, "truth": truth}


def _open(project, with_instance=True):
    return Store.open(str(project["storage"]), dagster_home=str(project["home"]) if with_instance else None, cache=False)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_compute_logs_are_never_assets(project, cli):
    storage = project["storage"]
    logs = sorted(storage.glob("*/compute_logs/*"))
    assert {p.suffix for p in logs} >= {".out", ".err", ".complete"}  # Dagster wrote them beside the data
    outputs = {f"{run}/{f}" for run in project["truth"]["runs"] if (storage / run).is_dir()
               for f in _files(storage / run) if not f.startswith("compute_logs/")}
    for with_instance in (False, True):
        store = _open(project, with_instance)
        paths = {v.data_path for v in store.index.versions.values() if v.stored}
        assert not any("compute_logs" in p for p in paths)
        assert not any("compute_logs" in a for a in store.assets())
        assert not any("compute_logs" in w for w in store.warnings)
        if not with_instance:  # from the files alone: the run folders' op outputs, nothing else
            assert paths == outputs and store.assets() == [INTERNAL]
            folders = [p.name for p in storage.iterdir() if p.is_dir() and p.name not in project["truth"]["runs"]]
            assert folders and [w for w in store.warnings if "no run folders" in w] == [
                w for w in store.warnings if f"{len(folders)} folders beside the runs" in w and "--dagster-home" in w]
            assert len([w for w in store.warnings if "no run folders" in w]) == 1
        else:
            assert not any("run manifest" in w or "no run folders" in w for w in store.warnings)
    out = cli("assets", storage, "--format", "json")
    assert out.code == 0 and [r["asset"] for r in out.json()] == [INTERNAL]
    log = logs[0].relative_to(storage / logs[0].parent.parent.name)
    shown = cli("show", storage, str(log), "--trust-pickle")
    assert shown.code != 0 and "Traceback" not in shown.err  # not an asset: nothing to unpickle


def test_assets_edges_and_runs_as_the_instance_recorded_them(project, cli):
    truth = project["truth"]
    store = _open(project)
    assert store.assets() == truth["assets"]
    assert set(store.asset_graph(all_runs=True).edges) == truth["edges"]
    assert set(store.asset_graph(all_runs=True).nodes) == set(truth["assets"])
    runs = {r.run_id: r for r in store.runs}
    assert set(runs) == set(truth["runs"])
    for run_id, dagster_run in truth["runs"].items():
        expected = {"SUCCESS": "success", "FAILURE": "failed"}[dagster_run.status.value]
        assert (runs[run_id].status, runs[run_id].parent_run_id, runs[run_id].job) == (
            expected, dagster_run.parent_run_id, dagster_run.job_name)
    for asset, latest in truth["latest"].items():
        if isinstance(latest, dict):
            assert {p: vs[-1].run_id for p, vs in store.index.partitions(asset).items()} == latest, asset
        else:
            assert store.version(asset).run_id == latest, asset
    edges = cli("lineage", project["storage"], "--dagster-home", project["home"], "--all-runs", "--format", "json").json()
    assert {(e["from"], e["to"]) for e in edges["edges"]} == truth["edges"]


def test_ops_inside_graph_backed_assets_are_op_outputs_of_their_run(project, cli):
    storage, runs = project["storage"], project["runs"]
    store = _open(project)
    for name in ("airlines", "retried"):  # the multiprocess run and the re-execution wrote the internal output
        run_id = runs[name]
        on_disk = [f for f in _files(storage / run_id) if not f.startswith("compute_logs/")]
        assert on_disk == [INTERNAL]
        ops = [v for v in store.run_versions(run_id) if v.inside]
        assert [(v.asset, v.data_path, v.size_bytes, v.inside) for v in ops] == [
            (INTERNAL, f"{run_id}/{INTERNAL}", (storage / run_id / INTERNAL).stat().st_size, ("layover_breakdown_2022",))]
    assert not [v for v in store.run_versions(runs["failed"]) if v.inside]  # filter_for_2022 failed: nothing written
    # what the failed run planned and did not write is missing in its graph
    truth = project["truth"]
    assert truth["failed_planned"] - truth["failed_written"] == {"layover_breakdown_2022"}
    g = store.asset_graph(run=runs["failed"])
    assert {n for n in g if g.nodes[n].get("missing")} == truth["failed_planned"] - truth["failed_written"]
    assert INTERNAL not in store.assets() and INTERNAL not in store.asset_graph(all_runs=True)
    listed = cli("assets", storage, "--dagster-home", project["home"], "--format", "json").json()
    assert INTERNAL not in {r["asset"] for r in listed}
    # the graph-backed asset's input is the asset its graph read, not the op output
    v = store.version("layover_breakdown_2022")
    assert [(i.asset, i.run_id) for i in v.inputs] == [("us_flights", runs["failed"])]  # reused from the parent run


def test_materialization_metadata_is_shown(project, cli):
    storage, home, truth = project["storage"], project["home"], project["truth"]
    md = truth["metadata"]["topstories"]
    assert md["num_records"] == 6  # the subset run's
    shown = cli("show", storage, "topstories", "--dagster-home", home, "--format", "json")
    assert shown.code == 0, shown.err
    meta = shown.json()["metadata"]
    assert meta["num_records"] == md["num_records"] and meta["preview"] == md["preview"]
    words = cli("show", storage, "most_frequent_words", "--dagster-home", home, "--format", "json").json()["metadata"]
    assert words["top_words"] == truth["metadata"]["most_frequent_words"]["top_words"]
    table = cli("show", storage, "topstories", "--dagster-home", home)
    assert "metadata.num_records" in table.out and "| id | title |" in table.out

    from textual.widgets import DataTable, Static

    from explorer.tui.app import ExplorerApp
    from explorer.tui.screens.asset import AssetScreen

    async def go():
        app = ExplorerApp(str(storage), open_options={"cache": False, "dagster_home": str(home)})
        async with app.run_test(size=(140, 50)) as pilot:
            await settle(app, pilot)
            app.open_asset("topstories")
            await settle(app, pilot)
            assert isinstance(app.screen, AssetScreen)
            facts = str(app.screen.query_one("#facts", Static).render())
            assert f"num_records: {md['num_records']}" in facts
            app.open_asset("topstory_ids")  # its data version (a UUID) in the versions table
            await settle(app, pilot)
            table = app.screen.query_one("#versions-table", DataTable)
            hashes = [str(table.get_cell(row, "hash")) for row in table.rows]
            assert hashes == [f"dv:{truth['data_versions']['topstory_ids'].split('-')[0]}…"]

    asyncio.run(go())


def test_staleness_agrees_with_dagster(project):
    """Dagster's stale status (its CachingStaleStatusResolver, over the same Definitions) and the
    explorer's, asset by asset and partition by partition."""
    truth = project["truth"]["stale"]
    assert truth["most_frequent_words"] == "stale"  # the subset run changed topstories
    assert truth["yesterday_stats"] == {DAYS[1]: "stale", DAYS[2]: "fresh"}
    store = _open(project)
    report = store.staleness()
    for asset, expected in truth.items():
        if isinstance(expected, dict):
            assert {p.partition: p.status for p in store.partitions(asset)} == expected, asset
        else:
            assert report.status_of(asset) == expected, asset


def test_partition_inputs_from_the_event_log(project):
    storage, runs = project["storage"], project["truth"]["runs"]
    store = _open(project)
    multi = store.index.latest("multi_partitions_asset", f"blue|{DAYS[0]}")
    assert (storage / multi.data_path).is_file() and multi.data_path == f"multi_partitions_asset/blue/{DAYS[0]}"
    assert multi.partition_dimensions == {"color": "blue", "date": DAYS[0]}
    summary = store.version(f"multi_partition_summary[blue|{DAYS[0]}]")
    [inp] = summary.inputs
    assert (inp.asset, inp.partition, inp.run_id) == ("multi_partitions_asset", f"blue|{DAYS[0]}", multi.run_id)
    assert runs[multi.run_id].tags["dagster/partition"] == f"blue|{DAYS[0]}"
    # each day of stats read the day before, from the run that wrote it then
    latest = project["truth"]["latest"]["events"]
    for day, yesterday in zip(DAYS[1:], DAYS):
        [inp] = store.version(f"yesterday_stats[{day}]").inputs
        assert inp.partition == yesterday and runs[inp.run_id].tags["dagster/partition"] == yesterday
        assert (inp.run_id == latest[yesterday]) == (day != DAYS[1])  # DAYS[0] was written again since


def test_static_and_dynamic_partitions_as_the_instance_recorded_them(project, cli):
    """Every materialization of every partition (static colors, dynamic releases added with
    ``add_dynamic_partitions``, days, multi-partitions) is a version of that partition, each
    consumer's inputs are the partitions Dagster's partition mapping chose, from the runs that
    had written them then; without --dagster-home the asset files cannot be attributed and are
    only counted."""
    storage, home, truth = project["storage"], project["home"], project["truth"]
    assert truth["history"]["paint"] == {"red": [truth["history"]["paint"]["red"][0], truth["latest"]["paint"]["red"]],
                                         "blue": [truth["latest"]["paint"]["blue"]]}  # what the test ran
    assert sorted(truth["history"]["releases_metadata"]) == RELEASES
    store = _open(project)
    for asset, parts in truth["history"].items():
        assert {p: [v.run_id for v in vs] for p, vs in store.index.partitions(asset).items()} == parts, asset
    assert store.index.partitions("releases_summary") == {}  # unpartitioned
    for (asset, up), reads in truth["read"].items():
        for (partition, run_id), read in reads.items():
            v = store.index.version(asset, run_id, partition)
            assert v is not None, (asset, partition, run_id)
            assert {(i.partition, i.run_id) for i in v.inputs if i.asset == up} == read, (asset, partition, up)
    assert [{p for p, _ in read} for read in truth["read"][("releases_summary", "releases_metadata")].values()] == [
        set(RELEASES[:2])]
    assert [{p for p, _ in read} for read in truth["read"][("latest_release", "releases_metadata")].values()] == [
        {RELEASES[1]}]
    # the summary read two releases, the latest the second; a third was written since: both
    # stale, as Dagster says
    report = store.staleness()
    for asset in ("releases_summary", "latest_release"):
        assert truth["stale"][asset] == report.status_of(asset) == "stale", asset
        [cause] = [c for c in report.get(asset).causes if c.kind == "upstream_changed"]
        assert (cause.asset, cause.partition) == ("releases_metadata", RELEASES[2])
        assert f"releases_metadata[{RELEASES[2]}] is new since" in cause.describe()
    shown = cli("show", storage, "release_notes", "--dagster-home", home, "--format", "json")
    assert shown.code == 0, shown.err
    assert {row["partition"]: row["status"] for row in shown.json()["partitions"]} == truth["stale"]["release_notes"]
    shown = cli("show", storage, "paint_mix", "--partition", "red", "--dagster-home", home, "--format", "json").json()
    assert (shown["partition"], shown["run_id"]) == ("red", truth["latest"]["paint_mix"]["red"])
    # from the files alone: the partition folders are counted, never taken for runs or assets
    bare = _open(project, with_instance=False)
    assert not any(a.startswith(("paint", "release")) for a in bare.assets())
    [warning] = [w for w in bare.warnings if "no run folders" in w]
    assert "--dagster-home" in warning


def test_data_versions_are_shown_recognizably(project, cli):
    storage, home, truth = project["storage"], project["home"], project["truth"]
    store = _open(project)
    v = store.version("topstories")
    dv = truth["data_versions"]["topstories"]
    assert v.content_hash == f"dagster-data-version:{dv}"
    assert v.code_version is None  # Dagster's default (the run id) stood in: the asset declares none
    tree = cli("provenance", storage, "most_frequent_words", "--dagster-home", home)
    assert tree.code == 0, tree.err
    read = store.version("most_frequent_words").inputs[0].content_hash.split(":", 1)[1]
    assert f"dv:{read[:12]}" in tree.out and "-data-versio" not in tree.out
    shown = cli("show", storage, "topstories", "--dagster-home", home)
    assert dv in shown.out.replace("\n", "") or dv[:40] in shown.out  # whole where there is room
    ids = store.version("topstory_ids")  # a data version of the asset's own (a UUID)
    assert ids.content_hash == f"dagster-data-version:{truth['data_versions']['topstory_ids']}"
    assert ids.code_version == "hn-ids-v1" and "hn-ids-v1" in cli("show", storage, "topstory_ids", "--dagster-home", home).out
    uuid = truth["data_versions"]["topstory_ids"]
    tree = cli("provenance", storage, "topstories", "--dagster-home", home)
    assert f"dv:{uuid.split('-')[0]}…" in tree.out, tree.out


# ---------------------------------------------------------------------- versions without data, checks, observations


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """tests/dagster_projects.py's shapes (MaterializeResult, -> None, deps=, asset checks, an
    observable source) on a stock store: observe, everything, the quickstart again failing at
    its last asset, observe a new source version."""
    tmp = tmp_path_factory.mktemp("recorded")
    home, outside = records.dagster_home(tmp), records.outside_folder(tmp)
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(home))
    mp.setenv("FRONTIER_TEST_OUTSIDE", str(outside))
    defs = projects.stock_events_defs
    runs = {}
    instance = dg.DagsterInstance.get()
    try:
        observe = defs.resolve_job_def("stock_observe")
        runs["observe v1"] = observe.execute_in_process(instance=instance).run_id
        result = defs.resolve_job_def("stock_everything").execute_in_process(instance=instance)
        assert result.success
        runs["everything"] = result.run_id
        mp.setenv("FRONTIER_TEST_STORIES", "7")
        with records.failing(mp, "most_frequent_words"):
            failed = defs.resolve_job_def("stock_quickstart").execute_in_process(instance=instance, raise_on_error=False)
        assert not failed.success
        runs["failed"] = failed.run_id
        (outside / "source.txt").write_text("v2 alpha beta gamma")
        runs["observe v2"] = observe.execute_in_process(instance=instance).run_id

        graph = defs.resolve_asset_graph()
        materializations = {}  # (asset, run) -> (metadata values, data version)
        for k in graph.materializable_asset_keys:
            for r in instance.fetch_materializations(k, limit=100).records:
                mat = r.asset_materialization
                materializations[(_key(k), r.run_id)] = (
                    {n: getattr(v, "value", v) for n, v in mat.metadata.items()}, mat.tags.get("dagster/data_version"))
        checks = records.check_evaluations(instance, runs.values())
        observations = records.observations(instance, "source_file")
        stale = records.stale_assets(instance, graph)
        edges = records.edges(graph)
    finally:
        instance.dispose()
        mp.undo()
    return {"home": home, "storage": home / "storage", "runs": runs, "materializations": materializations,
            "checks": checks, "observations": observations, "stale": stale, "edges": edges}


def _recorded_store(recorded):
    return Store.open(str(recorded["storage"]), dagster_home=str(recorded["home"]), cache=False)


def test_every_materialization_is_a_version_with_or_without_data_in_the_store(recorded, cli):
    storage, truth = recorded["storage"], recorded["materializations"]
    store = _recorded_store(recorded)
    got = {(v.asset, v.run_id): v for v in store.index.versions.values() if not v.inside}
    assert set(got) == set(truth)
    for (asset, run_id), (metadata, data_version) in truth.items():
        v = got[(asset, run_id)]
        latest = store.version(asset).run_id == run_id
        on_disk = (storage / asset).is_file()
        assert v.stored == (latest and on_disk), (asset, run_id)  # a stock file holds the latest only
        assert v.content_hash == f"dagster-data-version:{data_version}"
        for name, value in metadata.items():
            if name != "path":
                assert v.metadata[name] == value, (asset, name)
        if not v.stored:
            assert v.data_format == "external" and v.data_path is None
    # quickstart's current style wrote nothing into the store: its versions say so
    ids = store.version("topstory_ids")
    assert not ids.stored and not (storage / "topstory_ids").exists()
    assert "value went elsewhere" in ids.metadata["frontier/not_in_store"]
    shown = cli("show", storage, "topstories", "--dagster-home", recorded["home"], "--format", "json")
    assert shown.code == 0, shown.err
    assert shown.json()["stored"] is False and shown.json()["metadata"]["num_records"] == 7
    older = store.version("orders", recorded["runs"]["everything"])
    assert older.stored  # orders ran once: its file is this version's
    assert set(store.asset_graph(all_runs=True).edges) == recorded["edges"]


def test_check_results_and_observations_from_the_event_log(recorded, cli):
    store = _recorded_store(recorded)
    got = {(c.run_id, c.asset, c.name, c.passed, c.severity, c.target_run_id) for c in store.index.all_checks()}
    assert got == recorded["checks"]
    assert {(c.name, c.passed) for c in store.checks("orders")} == {
        (name, passed) for _, asset, name, passed, _, _ in recorded["checks"] if asset == "orders"}
    assert not any(a.startswith("orders/") for a in store.assets())  # checks are no assets
    assert [(o.run_id, o.data_version) for o in store.observations("source_file")] == recorded["observations"]
    runs = {r["run_id"]: r for r in cli("runs", recorded["storage"], "--dagster-home", recorded["home"],
                                        "--format", "json").json()}
    assert [o["data_version"] for o in runs[recorded["runs"]["observe v2"]]["observations"]] == ["v2 alpha beta gamma"]
    shown = cli("show", recorded["storage"], "orders", "--dagster-home", recorded["home"], "--format", "json").json()
    assert {c["check"]: c["passed"] for c in shown["checks"]} == {
        name: passed for _, asset, name, passed, _, _ in recorded["checks"] if asset == "orders"}


def test_staleness_on_a_stock_store_against_dagsters(recorded):
    store = _recorded_store(recorded)
    report = store.staleness()
    ours = {a.asset for a in report.assets if a.status == "stale"}
    dagster = recorded["stale"]
    assert {"asset1", "most_frequent_words"} <= dagster & ours  # a new source version; topstories rewritten
    [cause] = [c for c in report.get("asset1").causes if c.kind == "source_changed"]
    assert (cause.consumed_hash, cause.latest_hash) == ("dagster-data-version:v1 alpha beta",
                                                         "dagster-data-version:v2 alpha beta gamma")
    assert report.get("source_file").status == "fresh"
    for asset in ours ^ dagster:  # where the rules differ on purpose, the report says why
        assert report.get(asset).dagster_differs, asset
    assert ours - dagster == {"orders"}  # its failed ERROR check


# ---------------------------------------------------------------------- a UPathIOManager subclass


@pytest.fixture(scope="module")
def upath_store(tmp_path_factory):
    from upath import UPath

    tmp = tmp_path_factory.mktemp("upath")
    base, home = tmp / "lake", tmp / "dagster_home"
    home.mkdir()
    io = {"io_manager": projects.ParquetIOManager(base_path=UPath(str(base)))}
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        airlines = dg.materialize(projects.AIRLINES, instance=instance, resources=io)
        for day in DAYS[:2]:
            assert dg.materialize([projects.jobs.events], instance=instance, resources=io, partition_key=day).success
        stats = dg.materialize([projects.jobs.events, projects.jobs.yesterday_stats], selection=[projects.jobs.yesterday_stats],
                               instance=instance, resources=io, partition_key=DAYS[1])
        assert airlines.success and stats.success
        keys = dg.Definitions(assets=projects.AIRLINES + [projects.jobs.events, projects.jobs.yesterday_stats]
                              ).resolve_asset_graph().get_all_asset_keys()
    return {"base": base, "home": home, "airlines": airlines.run_id, "assets": sorted(_key(k) for k in keys)}


def test_a_upath_io_manager_store(upath_store, cli):
    """Files with the IO manager's extension are read by it: parquet previews, loads and SQL."""
    import pandas as pd

    base = upath_store["base"]
    store = Store.open(str(base), dagster_home=str(upath_store["home"]), cache=False)
    assert store.assets() == upath_store["assets"]
    flights = store.version("us_flights")
    assert (flights.data_path, flights.data_format) == ("us_flights.parquet", "parquet")
    pd.testing.assert_frame_equal(store.load("us_flights"), pd.read_parquet(base / "us_flights.parquet"))
    day = store.version(f"events[{DAYS[0]}]")
    assert day.data_path == f"events/{DAYS[0]}.parquet" and day.data_format == "parquet"
    [inp] = store.version(f"yesterday_stats[{DAYS[1]}]").inputs
    assert (inp.asset, inp.partition) == ("events", DAYS[0])
    expected = sum(len(pd.read_parquet(p)) for p in (base / "events").glob("*.parquet"))
    assert int(store.sql("select count(*) as n from events")["n"][0]) == expected
    [internal] = [v for v in store.run_versions(upath_store["airlines"]) if v.inside]
    assert (internal.asset, internal.data_format) == (INTERNAL, "parquet")
    assert (base / upath_store["airlines"] / f"{INTERNAL}.parquet").is_file()
