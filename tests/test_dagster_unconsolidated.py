"""A run the store has not finished yet (no hooks, no sensor, no ``dagster-consolidate``), read
with its Dagster instance: the explorer shows what Dagster recorded of it, as its end will write
it, and writes nothing. Run for real under the multiprocess executor with a persisted instance,
compared with the instance's own records (computed here) and with what ``finish_run`` then
writes."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

dg = pytest.importorskip("dagster")

import dagster_projects as P  # noqa: E402
import dagster_records as records  # noqa: E402
from explorer import Store  # noqa: E402
from explorer.dagster import finish_run  # noqa: E402
from explorer.dagster.events import json_metadata  # noqa: E402

OUTSIDE_THE_IO_MANAGER = {"topstory_ids", "topstories", "most_frequent_words"}  # MaterializeResult, None


def _files(base) -> dict[str, str]:
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() for p in base.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unconsolidated")
    base, home, _, mp = records.project_environment(tmp)
    mp.setenv("FRONTIER_TEST_STORIES", "5")
    try:
        instance = dg.DagsterInstance.get()
        result = dg.execute_job(P.reconstructable("unhooked"), instance=instance)  # multiprocess
        assert result.success
        run_id = result.run_id
        truth = {}  # the instance's materializations of the run: asset -> (metadata, data version)
        for k in P.definitions(str(base)).resolve_asset_graph().materializable_asset_keys:
            for r in instance.fetch_materializations(k, limit=10).records:
                if r.run_id == run_id:
                    m = r.asset_materialization
                    truth[records.key(k)] = (json_metadata(m.metadata), m.tags.get("dagster/data_version"))
        checks = records.check_evaluations(instance, [run_id])
        before = _files(base)
        plain = Store.open(str(base), cache=False)
        read = Store.open(str(base), cache=False, dagster_home=str(home))
        untouched = _files(base) == before
        shutil.copytree(base, tmp / "unfinished")  # for the CLI below
        finish_run(str(base), run_id, instance)
        finished = Store.open(str(base), cache=False)
    finally:
        mp.undo()
    return {"run_id": run_id, "truth": truth, "checks": checks, "plain": plain, "read": read,
            "untouched": untouched, "finished": finished, "home": home, "unfinished": tmp / "unfinished"}


def test_the_instance_shows_what_the_io_manager_never_saw(run):
    run_id, truth = run["run_id"], run["truth"]
    assert OUTSIDE_THE_IO_MANAGER <= set(truth) and {"orders", "a"} <= set(truth)
    plain = {v.asset for v in run["plain"].run_versions(run_id)}
    assert plain == set(truth) - OUTSIDE_THE_IO_MANAGER  # the store alone: only what the IO manager wrote
    read = {v.asset: v for v in run["read"].run_versions(run_id)}
    assert set(read) == set(truth)
    for asset in OUTSIDE_THE_IO_MANAGER:
        metadata, data_version = truth[asset]
        assert not read[asset].stored and read[asset].metadata == metadata, asset
        assert read[asset].content_hash == f"dagster-data-version:{data_version}", asset
    # topstories was built from this run's topstory_ids (deps=), as Dagster's input pointer says
    assert [(i.asset, i.run_id) for i in read["topstories"].inputs] == [("topstory_ids", run_id)]
    got = {(c.run_id, c.asset, c.name, c.passed, c.severity, c.target_run_id) for c in run["read"].index.all_checks()}
    assert got == run["checks"] and len(got) == 3
    assert run["read"].run(run_id).status == "success"
    assert {a.asset for a in run["read"].staleness().assets if a.status == "missing"} == set()


def test_reading_with_the_instance_writes_nothing(run):
    assert run["untouched"]


def test_the_run_once_finished_holds_what_was_shown(run):
    run_id = run["run_id"]
    shown = {v.ident: v.to_dict() for v in run["read"].run_versions(run_id)}
    written = {v.ident: v.to_dict() for v in run["finished"].run_versions(run_id)}
    assert shown == written
    checks = {c.to_dict()["check"]: c.to_dict() for c in run["finished"].index.all_checks()}
    assert checks == {c.to_dict()["check"]: c.to_dict() for c in run["read"].index.all_checks()}


def test_the_cli_with_dagster_home_says_what_dagster_recorded(run, cli):
    """``stale`` on the unfinished store: nothing missing; orders stale for its failed ERROR
    check (so the exit code is 1), which only the instance's record of the run holds."""
    res = cli("stale", run["unfinished"], "--dagster-home", run["home"], "--format", "json")
    assert res.code == 1, res.err
    assets = {a["asset"]: a for a in json.loads(res.out)["assets"]}
    assert set(assets) == set(run["truth"])
    assert {a for a, x in assets.items() if x["status"] != "fresh"} == {"orders"}
    assert "orders_id_has_no_nulls" in json.dumps(assets["orders"]["causes"])
    res = cli("stale", run["unfinished"], "--format", "json")  # without the instance: not what Dagster recorded
    assert {a["asset"] for a in json.loads(res.out)["assets"] if a["status"] == "missing"} == OUTSIDE_THE_IO_MANAGER
