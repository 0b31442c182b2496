"""What a Dagster instance recorded, read through Dagster's own API: the truth the Dagster
project tests (tests/test_dagster_*.py) compare the explorer with. Shared by them, so that each
reads the instance the same way."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg


def key(asset_key) -> str:
    """A Dagster ``AssetKey`` as the explorer names it: its path joined with ``/``."""
    return "/".join(asset_key.path)


def dagster_home(folder: Path) -> Path:
    """A new Dagster home in ``folder`` (a ``dagster.yaml`` without telemetry): persisted runs,
    event log and, with the default IO manager, asset files under ``storage``."""
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def outside_folder(folder: Path, source: str = "v1 alpha beta") -> Path:
    """Where tests/dagster_projects.py's assets write their data themselves
    (``FRONTIER_TEST_OUTSIDE``), with the observable source's file."""
    outside = folder / "outside"
    outside.mkdir()
    (outside / "source.txt").write_text(source)
    return outside


def project_environment(tmp: Path):
    """A store, a Dagster home and the outside folder in ``tmp`` for tests/dagster_projects.py,
    named where the projects read them (``DAGSTER_HOME``, ``FRONTIER_TEST_BASE``,
    ``FRONTIER_TEST_OUTSIDE``) on a ``pytest.MonkeyPatch`` the caller undoes:
    ``(base, home, outside, mp)``."""
    import pytest

    base, home, outside = tmp / "store", dagster_home(tmp), outside_folder(tmp)
    mp = pytest.MonkeyPatch()
    mp.setenv("DAGSTER_HOME", str(home))
    mp.setenv("FRONTIER_TEST_BASE", str(base))
    mp.setenv("FRONTIER_TEST_OUTSIDE", str(outside))
    return base, home, outside, mp


@contextmanager
def failing(mp, step: str):
    """The test jobs' and projects' op or asset ``step`` raises inside this block
    (``FRONTIER_TEST_FAIL``, set on the ``pytest.MonkeyPatch`` ``mp``)."""
    mp.setenv("FRONTIER_TEST_FAIL", step)
    try:
        yield
    finally:
        mp.delenv("FRONTIER_TEST_FAIL")


def reexecute_from_failure(job, instance, failed):
    """Re-execute the failed run ``failed`` of ``job`` from its failure: Dagster reads from the
    instance's records which steps failed or did not run, and reuses the outputs of the others."""
    options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
    return dg.execute_job(job, instance=instance, reexecution_options=options)


def edges(graph) -> set[tuple[str, str]]:
    """Every (parent, child) of an asset graph."""
    return {(key(up), key(k)) for k in graph.get_all_asset_keys() for up in graph.get(k).parent_keys}


def check_evaluations(instance, run_ids) -> set[tuple]:
    """(run, asset, check, passed, severity, run of the materialization checked) of every asset
    check evaluation of those runs."""
    out = set()
    for run_id in run_ids:
        for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            ev = e.dagster_event.event_specific_data
            out.add((run_id, key(ev.asset_key), ev.check_name, ev.passed, ev.severity.value,
                     ev.target_materialization_data.run_id))
    return out


def observations(instance, asset: str) -> list[tuple[str, str]]:
    """(run, data version) of every observation of a source asset, oldest first."""
    records = instance.fetch_observations(dg.AssetKey.from_user_string(asset), limit=100, ascending=True).records
    return [(r.run_id, r.asset_observation.tags["dagster/data_version"]) for r in records]


def stale_assets(instance, graph) -> set[str]:
    """The materializable assets Dagster's stale-status resolver calls STALE."""
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
    from dagster._core.loader import LoadingContextForTest

    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    return {key(k) for k in graph.materializable_asset_keys if resolver.get_status(k) == StaleStatus.STALE}


def partitions_read(instance, graph, child, parent) -> dict[tuple[str | None, str], set[tuple[str, str]]]:
    """For every materialization of ``child`` (by its partition and run), the partitions of
    ``parent`` it read and the runs that had written them then: the partition mapping of the
    asset graph (``get_partition_mapping``) at the child's time, each mapped partition's latest
    materialization before the child's. Dynamic partitions are mapped as they are when this is
    called: call it before adding ones the child could not have seen."""
    mapping = graph.get_partition_mapping(child, parent)
    child_def, parent_def = graph.get(child).partitions_def, graph.get(parent).partitions_def
    out = {}
    for record in instance.fetch_materializations(child, limit=1000).records:
        part = record.asset_materialization.partition
        subset = child_def.subset_with_partition_keys([part]) if part is not None else None
        mapped = mapping.get_upstream_mapped_partitions_result_for_partitions(
            subset, child_def, parent_def, current_time=datetime.fromtimestamp(record.timestamp, timezone.utc),
            dynamic_partitions_store=instance).partitions_subset.get_partition_keys()
        read = set()
        for up in mapped:
            before = instance.fetch_materializations(dg.AssetRecordsFilter(
                asset_key=parent, asset_partitions=[up], before_timestamp=record.timestamp), limit=1).records
            read.update((up, r.run_id) for r in before)  # a partition not written then was not read
        out[(part, record.run_id)] = read
    return out
