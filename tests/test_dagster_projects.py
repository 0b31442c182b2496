"""Dagster projects in the shapes of Dagster's examples (tests/dagster_projects.py) run for real
with RunPrefixedIOManager and a persisted instance (DAGSTER_HOME in tmp), in process and under
the multiprocess executor, compared with the instance's own records computed here: asset keys,
edges, latest materialization of every asset, metadata of versions stored outside the store,
check evaluations, observations, and the stale set."""

from __future__ import annotations


import pytest

dg = pytest.importorskip("dagster")

import dagster_projects as P  # noqa: E402
import dagster_records as records  # noqa: E402
from tui_support import settle  # noqa: E402
from explorer import Store  # noqa: E402
from explorer.dagster import finish_run  # noqa: E402
from explorer.dagster.events import json_metadata  # noqa: E402


_key = records.key


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("projects")
    base, home, outside, mp = records.project_environment(tmp)
    runs: dict[str, str] = {}
    defs = P.definitions(str(base))
    instance = dg.DagsterInstance.get()
    try:
        observe = defs.resolve_job_def("observe_sources")
        runs["observe v1"] = observe.execute_in_process(instance=instance).run_id
        finish_run(str(base), runs["observe v1"], instance)
        result = defs.resolve_job_def("everything").execute_in_process(instance=instance)
        assert result.success
        runs["in process"] = result.run_id
        finish_run(str(base), result.run_id, instance)
        # the quickstart assets again under the multiprocess executor (each step in its own
        # process), most_frequent_words failing: what the hooks recorded before the run is
        # finished is there at once
        mp.setenv("FRONTIER_TEST_STORIES", "7")
        with records.failing(mp, "most_frequent_words"):
            multi = dg.execute_job(P.reconstructable("quickstart"), instance=instance, raise_on_error=False)
        assert not multi.success
        runs["multiprocess"] = multi.run_id
        before_finish = Store.open(str(base), cache=False)
        finish_run(str(base), multi.run_id, instance)
        (outside / "source.txt").write_text("v2 alpha beta gamma")
        runs["observe v2"] = observe.execute_in_process(instance=instance).run_id
        finish_run(str(base), runs["observe v2"], instance)

        # the instance's records: truth for every comparison below
        graph = defs.resolve_asset_graph()
        materializable = {_key(k) for k in graph.materializable_asset_keys}
        latest = {}
        for k in graph.materializable_asset_keys:
            event = instance.get_latest_materialization_event(k)
            if event is not None:
                latest[_key(k)] = (event.run_id, json_metadata(event.asset_materialization.metadata),
                                   event.asset_materialization.tags.get("dagster/data_version"))
        edges = records.edges(graph)
        checks = records.check_evaluations(instance, runs.values())
        observations = records.observations(instance, "source_file")
        dagster_stale = records.stale_assets(instance, graph)
        planned_by_multi = {s.key for s in instance.get_execution_plan_snapshot(
            instance.get_run_by_id(multi.run_id).execution_plan_snapshot_id).steps}
    finally:
        mp.undo()
    return {"base": base, "home": home, "runs": runs, "materializable": materializable, "latest": latest,
            "edges": edges, "checks": checks, "observations": observations, "dagster_stale": dagster_stale,
            "before_finish": before_finish, "planned_steps": planned_by_multi}


@pytest.fixture(scope="module")
def store(project):
    return Store.open(str(project["base"]), cache=False)


def test_every_materialization_is_a_version_even_when_its_data_went_elsewhere(project, store):
    assert store.warnings == []
    assert set(store.assets()) == project["materializable"]  # internal op outputs and checks are not assets
    for asset, (run_id, metadata, data_version) in project["latest"].items():
        v = store.index.latest(asset)
        assert v is not None and v.run_id == run_id, asset
    for asset in ("topstory_ids", "topstories", "e", "f"):
        run_id, metadata, data_version = project["latest"][asset]
        v = store.index.latest(asset)
        assert not v.stored and v.data_path is None, asset
        assert v.metadata == metadata, asset
        assert v.content_hash == f"dagster-data-version:{data_version}"
    assert store.index.latest("topstories").metadata["num_records"] == 7
    assert store.index.latest("topstory_ids").code_version == "ids-v1"
    # most_frequent_words failed in the multiprocess run: its latest version is the in-process one
    assert store.index.latest("most_frequent_words").run_id == project["runs"]["in process"]


def test_edges_are_dagsters(project, store):
    g = store.asset_graph(all_runs=True)
    assert set(g.edges) == project["edges"]
    assert set(g.nodes) == project["materializable"] | {"source_file"}
    assert g.nodes["source_file"]["missing"] is False  # observed, not missing
    assert not any("filter_big" in n for n in g.nodes)
    # the graph-backed asset's internal op output is an op output of its run
    assert any(v.asset == "big_count.filter_big/result" for v in store.run_versions(project["runs"]["in process"]))
    # in process too, the plan names the assets only: no checks, no ops inside the graph-backed asset
    assert {p.asset for p in store.run(project["runs"]["in process"]).planned} == project["materializable"]
    assert not any("filter_big" in a.asset for a in store.staleness().assets)


def test_the_hook_records_versions_before_the_run_is_finished(project):
    early = project["before_finish"]
    run_id = project["runs"]["multiprocess"]
    assert early.index.version("topstories", run_id) is not None
    assert not early.index.version("topstories", run_id).stored


def test_a_failed_multiprocess_run_shows_what_it_did_not_write(project, store):
    run = store.run(project["runs"]["multiprocess"])
    assert run.status == "failed"
    planned = {p.asset for p in run.planned}
    # the whole plan, whichever step's process wrote the manifest first
    assert planned == {"topstory_ids", "topstories", "most_frequent_words", "a", "c", "d"}
    assert not any(p.startswith("orders_") for p in planned)  # checks are not planned as outputs
    g = store.asset_graph(run=run.run_id)
    assert g.nodes["most_frequent_words"]["missing"] is True


def test_check_results_are_attached_to_the_version_they_checked(project, store):
    got = {(c.run_id, c.asset, c.name, c.passed, c.severity, c.target_run_id) for c in store.index.all_checks()}
    assert got == project["checks"]
    assert "orders/orders_id_has_no_nulls" not in store.assets()
    latest = store.index.latest("orders")
    assert {(c.name, c.passed) for c in store.index.latest_checks(latest)} == {
        ("orders_id_has_no_nulls", False), ("orders_not_empty", True), ("orders_amounts_positive", False)}


def test_observations_and_staleness_against_dagsters(project, store):
    assert [(o.run_id, o.data_version) for o in store.index.observations("source_file")] == project["observations"]
    report = store.staleness()
    ours = {a.asset for a in report.assets if a.status == "stale"}
    assert "asset1" in project["dagster_stale"] and "asset1" in ours
    [cause] = [c for c in report.get("asset1").causes if c.kind == "source_changed"]
    assert cause.asset == "source_file" and "new data version" in cause.describe()
    assert cause.consumed_hash == "dagster-data-version:v1 alpha beta"
    assert cause.latest_hash == "dagster-data-version:v2 alpha beta gamma"
    assert report.get("source_file").status == "fresh"  # observed: a source, never missing
    # where ours and Dagster's differ, on purpose, the report says why for that asset
    dagster = project["dagster_stale"]
    assert dagster - ours == {"e", "f"}  # c and d were rematerialized with identical content
    assert ours - dagster == {"orders"}  # its failed ERROR check
    for asset in ours ^ dagster:
        assert report.get(asset).dagster_differs, asset
    assert "identical content" in report.get("e").dagster_differs[0]
    assert "check" in report.get("orders").dagster_differs[0]
    [failed] = [c for c in report.get("orders").causes if c.kind == "check_failed"]
    assert failed.check == "orders_id_has_no_nulls"  # the WARN check's failure is no cause
    for asset in ours & dagster:
        assert not report.get(asset).dagster_differs, asset


def test_cli_show_assets_and_stale_say_what_dagster_recorded(project, cli):
    base = project["base"]
    run_id, metadata, _ = project["latest"]["topstories"]
    r = cli("show", base, "topstories", "--format", "json", "--no-cache")
    assert r.code == 0, r.err
    shown = r.json()
    assert (shown["stored"], shown["preview"], shown["run_id"], shown["metadata"]) == (False, None, run_id, metadata)
    r = cli("show", base, "topstories", "--no-cache")
    assert r.code == 0 and "stored outside the store" in r.out and "num_records" in r.out
    r = cli("show", base, "orders", "--format", "json", "--no-cache")
    truth = {(name, passed) for (_, asset, name, passed, _, target) in project["checks"]
             if asset == "orders" and target == project["latest"]["orders"][0]}
    assert {(c["check"], c["passed"]) for c in r.json()["checks"]} == truth
    r = cli("show", base, "orders", "--no-cache")
    assert "orders_id_has_no_nulls" in r.out and "failed" in r.out
    r = cli("assets", base, "--format", "json", "--no-cache")
    rows = {row["asset"]: row for row in r.json()}
    assert set(rows) == project["materializable"]
    assert rows["topstories"]["stored"] is False and rows["orders"]["stored"] is True
    assert sum(not c["passed"] for c in rows["orders"]["checks"]) == 2
    r = cli("show", base, "source_file", "--format", "json", "--no-cache")
    assert [(o["run_id"], o["data_version"]) for o in r.json()["observations"]] == project["observations"]
    r = cli("show", base, "source_file", "--no-cache")
    assert r.code == 0 and "v2 alpha beta gamma" in r.out
    r = cli("stale", base, "--format", "json", "--no-cache")
    assets = {a["asset"]: a for a in r.json()["assets"]}
    assert "identical content" in assets["e"]["dagster_differs"][0]
    assert any(c["kind"] == "check_failed" for c in assets["orders"]["causes"])
    assert any(c["kind"] == "source_changed" and c["asset"] == "source_file" for c in assets["asset1"]["causes"])
    r = cli("stale", base, "--format", "markdown", "--no-cache")
    assert "differs from Dagster" in r.out and "has a new data version since asset1 was built" in r.out


def test_the_app_says_stored_outside_the_store_and_shows_checks(project):
    import asyncio

    from textual.widgets import Static

    from explorer.tui.app import ExplorerApp
    from explorer.tui.screens.asset import AssetScreen

    async def go():
        app = ExplorerApp(str(project["base"]))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            app.open_asset("topstories")
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, AssetScreen)
            assert "stored outside the store" in str(screen.query_one("#facts", Static).render())
            assert "stored outside the store" in str(screen.query_one("#preview-text", Static).render())
            app.open_asset("orders")
            await settle(app, pilot)
            facts = str(app.screen.query_one("#facts", Static).render())
            assert "orders_id_has_no_nulls: failed (ERROR)" in facts and "orders_not_empty: passed" in facts

    asyncio.run(go())


def test_diff_compares_what_dagster_recorded_of_versions_stored_elsewhere(project, store):
    a, b = project["runs"]["in process"], project["runs"]["multiprocess"]
    d = store.diff("topstories", a, b)
    assert d.kind == "external" and not d.same_content
    assert {c.path: (c.a, c.b) for c in d.json.changed}["num_records"] == (5, 7)
    assert any("stored outside the store" in line for line in d.summary())


def test_sql_checks_and_observations_tables(project, store):
    got = store.sql('SELECT run_id, asset, "check", passed, severity, target_run_id FROM checks')
    assert set(map(tuple, got.itertuples(index=False))) == project["checks"]
    latest = store.sql("SELECT \"check\", passed FROM checks WHERE of_latest AND asset = 'orders' ORDER BY 1")
    assert list(map(tuple, latest.itertuples(index=False))) == [
        ("orders_amounts_positive", False), ("orders_id_has_no_nulls", False), ("orders_not_empty", True)]
    obs = store.sql("SELECT run_id, data_version FROM observations ORDER BY created_at")
    assert list(map(tuple, obs.itertuples(index=False))) == project["observations"]


def test_every_command_reads_the_project_store_without_a_traceback(project, cli):
    base = project["base"]
    commands = [("runs",), ("assets",), ("lineage",), ("stale",), ("verify",), ("export", "--format", "openlineage"),
                ("report",), ("diff-runs", project["runs"]["in process"], project["runs"]["multiprocess"])]
    for asset in ("topstories", "most_frequent_words", "orders", "big_count", "asset1", "e"):
        commands += [("show", asset), ("versions", asset), ("provenance", asset), ("impact", asset), ("history", asset),
                     ("show", asset, "--format", "json")]
    commands += [("diff", "topstories", project["runs"]["in process"], project["runs"]["multiprocess"]),
                 ("trace", "topstories", "--where", "id=1"), ("sql", "select * from topstories")]
    for argv in commands:
        r = cli(argv[0], base, *argv[1:], "--no-cache")
        assert r.code in (0, 1, 2), (argv, r.code, r.err)
        assert "Traceback" not in r.err and "Traceback" not in r.out, argv
        if r.code:
            assert len(r.err.strip().splitlines()) <= 3, (argv, r.err)
    r = cli("verify", base, "--no-cache", "--format", "json")
    statuses = {(v["asset"], v["status"]) for v in r.json()["versions"]}
    assert r.code == 0 and not statuses  # versions stored outside the store pass: no bytes here to change
