"""A store written by Dagster's stock FilesystemIOManager (no sidecars), read by the explorer:
listing alone, then with the Dagster instance (--dagster-home / DAGSTER_HOME)."""

from __future__ import annotations

import os

import pytest

dg = pytest.importorskip("dagster")

import dagster_jobs as jobs  # noqa: E402
import dagster_records as records  # noqa: E402
from explorer.dagster.stock import comparison_basis  # noqa: E402
from explorer import Store  # noqa: E402


@pytest.fixture(scope="module")
def stock(tmp_path_factory):
    """One diamond run, a run failing half-way and its re-execution from failure, and an
    asset materialization, all with Dagster's stock FilesystemIOManager and one instance."""
    tmp = tmp_path_factory.mktemp("stock")
    base, home = tmp / "storage", tmp / "dagster_home"
    home.mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTIER_TEST_BASE", str(base))
    try:
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            stock_io = {"io_manager": dg.FilesystemIOManager(base_dir=str(base))}
            diamond = jobs.diamond.execute_in_process(instance=instance, resources=stock_io)
            job = dg.reconstructable(jobs.flaky_stock)
            with records.failing(mp, "transform"):
                failed = dg.execute_job(job, instance=instance)
            retried = records.reexecute_from_failure(job, instance, failed)
            assets = dg.materialize(jobs.ASSETS, instance=instance, resources=stock_io)
    finally:
        mp.undo()
    assert diamond.success and not failed.success and retried.success and assets.success
    return {"base": base, "home": home, "diamond": diamond.run_id, "failed": failed.run_id,
            "retried": retried.run_id, "assets": assets.run_id}


def _sizes(base, run_id):
    """Truth from the file system: every file under the run folder, keyed as the explorer does."""
    root = base / run_id
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_listing_without_instance(stock, cli, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    out = cli("runs", stock["base"], "--format", "json")
    assert out.code == 0, out.err
    runs = {r["run_id"]: r for r in out.json()}
    # run folders only: the asset run wrote no run folder (stock asset storage is not run-scoped)
    assert set(runs) == {stock["diamond"], stock["failed"], stock["retried"]}
    assert {r["status"] for r in runs.values()} == {"unknown"}
    assert "no lineage" in out.err and "pass --dagster-home" in out.err

    store = Store.open(str(stock["base"]))
    for run_id in runs:
        got = {v.asset: v.size_bytes for v in store.run_versions(run_id)}
        assert got == _sizes(stock["base"], run_id)
        for v in store.run_versions(run_id):
            mtime = (stock["base"] / v.data_path).stat().st_mtime
            assert v.created_at.timestamp() == pytest.approx(mtime, abs=1e-3)
            assert v.data_format == "pickle" and v.content_hash.startswith("unhashed:")
            assert v.metadata["frontier/compare"] == "timestamps"
    assert store.asset_graph(all_runs=True).number_of_edges() == 0
    before = {r.run_id for r in store.runs}
    store.refresh()  # a stock store is read again in full (it has no manifests to cache)
    assert {r.run_id for r in store.runs} == before and store.run_versions(stock["diamond"])

    # stock pickles are never unpickled without the opt-in
    shown = cli("show", stock["base"], "combine/result", "--run", stock["diamond"])
    assert shown.code == 0 and "pickle" in shown.out
    trusted = cli("show", stock["base"], "publish/result", "--trust-pickle", "--format", "json")
    src = jobs.SOURCE
    assert trusted.json()["preview"] == {"rows": 4, "sum": float((src["value"] + 1).sum())}


def test_runs_and_lineage_from_the_instance(stock, cli, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    base, home = stock["base"], stock["home"]
    out = cli("runs", base, "--dagster-home", home, "--format", "json")
    assert out.code == 0, out.err
    runs = {r["run_id"]: r for r in out.json()}
    assert set(runs) == {stock["diamond"], stock["failed"], stock["retried"], stock["assets"]}
    assert runs[stock["diamond"]]["job"] == "diamond" and runs[stock["diamond"]]["status"] == "success"
    assert runs[stock["failed"]]["job"] == "flaky_stock" and runs[stock["failed"]]["status"] == "failed"
    assert runs[stock["retried"]]["status"] == "success"
    assert runs[stock["retried"]]["parent_run_id"] == stock["failed"]
    assert all(r["finished_at"] and r["duration_seconds"] >= 0 for r in runs.values())

    edges = cli("lineage", base, "--dagster-home", home, "--all-runs", "--format", "json").json()["edges"]
    expected = {
        ("load_source/result", "double/result"),
        ("load_source/result", "total/result"),
        ("double/result", "combine/result"),
        ("total/result", "combine/result"),
        ("extract/result", "transform/result"),
        ("transform/result", "publish/result"),
    }
    # asset edges as Dagster's asset graph has them (deps=[features] too: the event log records it)
    graph = dg.Definitions(assets=jobs.ASSETS).resolve_asset_graph()
    expected |= {("/".join(up.path), "/".join(k.path)) for k in graph.get_all_asset_keys() for up in graph.get(k).parent_keys}
    assert ("features", "report") in expected
    assert {(e["from"], e["to"]) for e in edges} == expected

    # the re-execution read extract from the failed parent run
    prov = cli("provenance", base, "publish/result", "--run", stock["retried"], "--dagster-home", home, "--format", "json").json()
    assert {(v["asset"], v["run_id"]) for v in prov["versions"]} == {
        ("publish/result", stock["retried"]),
        ("transform/result", stock["retried"]),
        ("extract/result", stock["failed"]),
    }

    # stock asset files (one address per key) belong to the run that materialized them last
    store = Store.open(str(base), dagster_home=str(home))
    assert {v.asset for v in store.run_versions(stock["assets"])} == {"warehouse/raw", "features", "model", "report"}
    model = store.version("model")
    assert model.data_path == "model" and model.size_bytes == os.path.getsize(base / "model")
    assert model.content_hash.startswith("dagster-data-version:")
    assert comparison_basis(model) == "data versions"


def test_dagster_home_from_the_environment(stock, cli, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(stock["home"]))
    runs = {r["run_id"]: r for r in cli("runs", stock["base"], "--format", "json").json()}
    assert runs[stock["failed"]]["status"] == "failed"
    assert runs[stock["retried"]]["job"] == "flaky_stock"


def test_bad_dagster_home_is_one_line(stock, cli, tmp_path):
    out = cli("runs", stock["base"], "--dagster-home", tmp_path / "nope")
    assert out.code == 2 and "no Dagster instance" in out.err and "Traceback" not in out.err


def test_staleness_by_timestamps(tmp_path, monkeypatch):
    """Without content hashes, a newer run of an upstream step makes its consumers stale even
    with identical data: the comparison is by run and time, and the versions say so."""
    if not hasattr(Store, "staleness"):
        pytest.skip("staleness is not on this branch yet")
    base, home = tmp_path / "storage", tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        io = {"io_manager": dg.FilesystemIOManager(base_dir=str(base))}
        first = jobs.diamond.execute_in_process(instance=instance, resources=io)
        second = jobs.diamond.execute_in_process(instance=instance, resources=io, op_selection=["load_source", "double"])
    assert first.success and second.success
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    store = Store.open(str(base), dagster_home=str(home))
    report = store.staleness()
    assert {a.asset: a.status for a in report.assets} == {
        "load_source/result": "fresh",
        "double/result": "fresh",
        "total/result": "stale",
        "combine/result": "stale",
    }
    total = report.get("total/result")
    assert {(c.asset, c.run_id) for c in total.root_causes} == {("load_source/result", second.run_id)}
    assert store.version("load_source/result").metadata["frontier/compare"] == "timestamps"
    assert comparison_basis(store.version("load_source/result")) == "timestamps"


def test_verify_says_stock_outputs_cannot_be_verified(stock, cli, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    out = cli("verify", stock["base"], "--all", "--format", "json")
    assert out.code == 1, out.err  # nothing could be checked: not a pass
    statuses = {v["status"] for v in out.json()["versions"]}
    assert statuses == {"unverifiable"}
    assert out.json()["problems"] == out.json()["checked"] > 0
    allowed = cli("verify", stock["base"], "--allow-unverifiable", "--format", "json")
    assert allowed.code == 0 and allowed.json()["problems"] == 0


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_an_empty_dagster_home_is_never_turned_into_an_instance(stock, cli, tmp_path, monkeypatch):
    """Dagster creates its SQLite files in any folder it is pointed at: reading must not."""
    empty = tmp_path / "empty_home"
    empty.mkdir()
    out = cli("runs", stock["base"], "--dagster-home", empty)
    assert out.code == 2 and "no Dagster instance" in out.err and out.err.count("\n") == 1
    assert _tree(empty) == []
    monkeypatch.setenv("DAGSTER_HOME", str(empty))  # from the environment: the listing alone
    out = cli("runs", stock["base"], "--format", "json")
    assert out.code == 0 and {r["status"] for r in out.json()} == {"unknown"}
    assert _tree(empty) == []


def test_reading_an_instance_creates_no_file_in_it(stock, cli):
    before = _tree(stock["home"])
    out = cli("runs", stock["base"], "--dagster-home", stock["home"], "--format", "json")
    assert out.code == 0
    assert _tree(stock["home"]) == before
