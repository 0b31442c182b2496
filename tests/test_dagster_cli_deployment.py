"""A Dagster project driven the way a deployment drives it: the ``dagster`` command line (each
run in its own process, the multiprocess executor), a persisted ``DAGSTER_HOME``, an observable
source observed in runs that never touch the store, then ``frontier-explore dagster-consolidate``.
What the explorer shows is compared with the instance's records (its runs, its observations and
Dagster's own stale-status resolver) read here through Dagster's API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

dg = pytest.importorskip("dagster")

from tests.dagster_records import dagster_home, key, observations  # noqa: E402

PROJECT = '''
import os
from pathlib import Path

import dagster as dg
import pandas as pd

from explorer.dagster import RunPrefixedIOManager, frontier_hooks

OUT = Path(os.environ["PROJECT_OUTSIDE"])


@dg.observable_source_asset
def source_file():
    return dg.DataVersion((OUT / "source.txt").read_text())


@dg.asset(deps=[source_file], code_version="1")
def topstory_ids() -> dg.MaterializeResult:  # the current quickstart_etl's style
    (OUT / "ids.txt").write_text("1 2 3")
    return dg.MaterializeResult(metadata={"num_records": 3})


@dg.asset(deps=[topstory_ids])
def topstories() -> pd.DataFrame:
    return pd.DataFrame({"id": [int(i) for i in (OUT / "ids.txt").read_text().split()]})


@dg.asset_check(asset=topstories)
def enough_stories(topstories: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(topstories) > 10, metadata={"rows": len(topstories)})


daily = dg.DailyPartitionsDefinition(start_date="2026-11-01", end_date="2026-11-04")


@dg.asset(partitions_def=daily)
def events(context) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key], "n": [1]})


@dg.asset(partitions_def=daily,
          ins={"events": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))})
def event_stats(events) -> pd.DataFrame:
    parts = events if isinstance(events, dict) else {"one": events}
    return pd.DataFrame({"partitions": [len(parts)]})


defs = dg.Definitions(
    assets=[source_file, topstory_ids, topstories, events, event_stats],
    asset_checks=[enough_stories],
    jobs=[dg.define_asset_job("hn_job", selection=["topstory_ids", "topstories"], hooks=frontier_hooks()),
          dg.define_asset_job("daily_job", selection=["events", "event_stats"], partitions_def=daily,
                              hooks=frontier_hooks())],
    resources={"io_manager": RunPrefixedIOManager(base_path=os.environ["PROJECT_STORE"])},
)
'''


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deployment")
    (folder / "project.py").write_text(textwrap.dedent(PROJECT))
    outside = folder / "outside"
    outside.mkdir()
    (outside / "source.txt").write_text("v1")
    home = dagster_home(folder)
    store = folder / "store"
    env = {**os.environ, "DAGSTER_HOME": str(home), "PROJECT_OUTSIDE": str(outside), "PROJECT_STORE": str(store),
           "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}
    bindir = Path(sys.executable).parent

    def dagster(*args: str) -> None:
        done = subprocess.run([str(bindir / "dagster"), *args, "-f", str(folder / "project.py")],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]

    dagster("asset", "materialize", "--select", "source_file")  # an observation run: no IO manager
    dagster("job", "execute", "-j", "hn_job")
    for day in ("2026-11-01", "2026-11-02"):
        dagster("job", "execute", "-j", "daily_job", "--tags", json.dumps({"dagster/partition": day}))
    # the day before rematerialized with the same content, then a new version of the source
    dagster("asset", "materialize", "--select", "events", "--partition", "2026-11-01")
    (outside / "source.txt").write_text("v2")
    dagster("asset", "materialize", "--select", "source_file")

    done = subprocess.run([str(bindir / "frontier-explore"), "dagster-consolidate", str(store),
                           "--dagster-home", str(home), "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stale = subprocess.run([str(bindir / "frontier-explore"), "stale", str(store), "--format", "json"],
                           env=env, capture_output=True, text=True, timeout=300)
    sys.path.insert(0, str(folder))
    os.environ.update({"PROJECT_OUTSIDE": str(outside), "PROJECT_STORE": str(store)})
    try:
        import project  # noqa: PLC0415 - the project module written above
    finally:
        sys.path.remove(str(folder))
    instance = dg.DagsterInstance.from_config(str(home))
    yield {"store": store, "instance": instance, "graph": project.defs.resolve_asset_graph(),
           "stale": json.loads(stale.stdout), "stale_rc": stale.returncode}
    instance.dispose()
    sys.modules.pop("project", None)


def test_every_run_the_instance_recorded_is_in_the_store_with_its_status(deployment):
    from explorer import Store

    store = Store.open(str(deployment["store"]))
    truth = {r.dagster_run.run_id: (r.dagster_run.job_name, r.dagster_run.status.value.lower().replace("failure", "failed"))
             for r in deployment["instance"].get_run_records()}
    assert len(truth) == 6
    assert {r.run_id: (r.job, r.status) for r in store.runs} == truth


def test_observations_are_the_instances_and_the_source_is_never_missing(deployment):
    from explorer import Store

    store = Store.open(str(deployment["store"]))
    assert [(o.run_id, o.data_version) for o in store.observations("source_file")] == \
        observations(deployment["instance"], "source_file")
    by_asset = {a["asset"]: a for a in deployment["stale"]["assets"]}
    assert by_asset["source_file"]["status"] == "fresh"
    assert "missing" not in {a["status"] for a in by_asset.values()}


def test_where_the_stale_status_differs_from_dagsters_the_report_says_why(deployment):
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    instance, graph = deployment["instance"], deployment["graph"]
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    dagster_stale: dict[str, set] = {}
    for k in graph.materializable_asset_keys:
        parts = graph.get(k).partitions_def
        for p in (parts.get_partition_keys() if parts else [None]):
            if resolver.get_status(k, p) == StaleStatus.STALE:
                dagster_stale.setdefault(key(k), set()).add(p)
    # the identical rematerialization of events[2026-11-01] makes both days that read it stale
    # for Dagster (a new data version); here their input's content is the same
    assert dagster_stale.get("event_stats") == {"2026-11-01", "2026-11-02"}
    assert "topstory_ids" in dagster_stale  # the source has a new data version

    by_asset = {a["asset"]: a for a in deployment["stale"]["assets"]}
    assert deployment["stale_rc"] == 1  # stale assets: the CI gate fails
    for name, report in by_asset.items():
        if name == "source_file":
            continue
        ours = report["status"] == "stale"
        if ours != (name in dagster_stale):
            notes = " ".join(report.get("dagster_differs", ()))
            assert notes, f"{name}: {report['status']} here, Dagster says otherwise, and the report does not say why"
    assert "events[2026-11-01] was rematerialized" in " ".join(by_asset["event_stats"]["dagster_differs"])
    for day in ("2026-11-01", "2026-11-02"):
        assert f"event_stats[{day}] stays fresh here" in " ".join(by_asset["event_stats"]["dagster_differs"])
    assert any(c["kind"] == "source_changed" for c in by_asset["topstory_ids"]["causes"])
