"""The upstream partitions a version read from a partitioned ``deps=`` upstream, as
RunPrefixedIOManager records them: data-less versions (``MaterializeResult``, ``-> None``)
through its hooks and ``finish_run``, versions with data through ``handle_output``.

Dagster's input event pointer names the upstream asset's latest materialization of *any*
partition, so daily assets materialized in an order that makes it point elsewhere (a later
day materialized after the day read) are run for real, with a persisted instance; what the
store records is compared with the truth computed here from the instance's records and
Dagster's own partition mappings (the identity and ``TimeWindowPartitionMapping(start_offset=-1)``,
which reads two days)."""

from __future__ import annotations

import pytest

dg = pytest.importorskip("dagster")

import pandas as pd  # noqa: E402

import dagster_records as records  # noqa: E402
from explorer import Store  # noqa: E402
from explorer.dagster import RunPrefixedIOManager, finish_run, frontier_hooks  # noqa: E402

DAYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
DAILY = dg.DailyPartitionsDefinition(start_date=DAYS[0], end_date="2024-01-06")


@dg.asset(partitions_def=DAILY)
def readings(context) -> pd.DataFrame:
    """Through the IO manager; each run gives new content and (no code version) a new data version."""
    return pd.DataFrame({"day": [context.partition_key], "run": [context.run.run_id]})


@dg.asset(partitions_def=DAILY, deps=[readings])
def same_day(context) -> dg.MaterializeResult:
    """The default identity mapping: reads ``readings`` of its own day."""
    return dg.MaterializeResult(metadata={"day": context.partition_key})


@dg.asset(partitions_def=DAILY,
          deps=[dg.AssetDep(readings, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))])
def two_days(context) -> None:
    """The day before and its own day."""


@dg.asset(partitions_def=DAILY, deps=[readings])
def same_day_table(context) -> pd.DataFrame:
    """A value through the IO manager, its upstream a ``deps=`` (not loaded): the identity."""
    return pd.DataFrame({"day": [context.partition_key]})


@dg.asset(partitions_def=DAILY,
          deps=[dg.AssetDep(readings, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))])
def two_days_table(context) -> pd.DataFrame:
    return pd.DataFrame({"day": [context.partition_key]})


CONSUMERS = [same_day, two_days, same_day_table, two_days_table]
ASSETS = [readings, *CONSUMERS]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("input-partitions")
    base, home = tmp / "store", records.dagster_home(tmp)
    io = {"io_manager": RunPrefixedIOManager(base_path=str(base))}
    hooked = dg.define_asset_job("downstream", selection=CONSUMERS,
                                 hooks=frontier_hooks(), executor_def=dg.in_process_executor)
    defs = dg.Definitions(assets=ASSETS, jobs=[hooked], resources=io)
    with dg.instance_for_test(temp_dir=str(home)) as instance:

        def upstream(day):
            result = dg.materialize([readings], instance=instance, resources=io, partition_key=day)
            assert result.success
            finish_run(str(base), result.run_id, instance)

        for day in DAYS:  # the latest materialization of readings is of the last day
            upstream(day)
        # through the job's hooks (per step) ...
        job = defs.resolve_job_def("downstream")
        for day in DAYS[1:3]:
            result = job.execute_in_process(instance=instance, partition_key=day)
            assert result.success
            finish_run(str(base), result.run_id, instance)
        upstream(DAYS[1])  # a new version of a day already read, then the next day's consumers
        # ... and through finish_run alone (no hooks)
        result = dg.materialize(ASSETS, selection=CONSUMERS, instance=instance, resources=io,
                                partition_key=DAYS[3])
        assert result.success
        finish_run(str(base), result.run_id, instance)

        # the truth: Dagster's partition mapping, and the upstream materializations before each
        graph = defs.resolve_asset_graph()
        truth = {}  # (asset, partition, run) -> (the partitions read with their runs, the pointer's partition)
        for asset in CONSUMERS:
            read = records.partitions_read(instance, graph, asset.key, readings.key)
            for record in instance.fetch_materializations(asset.key, limit=100).records:
                part = record.asset_materialization.partition
                pointer = int(record.asset_materialization.tags["dagster/input_event_pointer/readings"])
                [pointed] = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=readings.key, storage_ids=[pointer]), limit=1).records
                truth[(records.key(asset.key), part, record.run_id)] = (read[(part, record.run_id)],
                                                                        pointed.asset_materialization.partition)
        from dagster._utils.test.data_versions import get_stale_status_resolver

        resolver = get_stale_status_resolver(instance, ASSETS)
        stale = {records.key(a.key): {p: resolver.get_status(a.key, p).value.lower()
                                      for p in instance.get_materialized_partitions(a.key)} for a in CONSUMERS}
    return {"base": base, "truth": truth, "stale": stale}


def test_the_partitions_read_are_dagsters_not_the_pointers(project):
    truth = project["truth"]
    assert len(truth) == 12  # four consumers, each for three days
    # the shape this test is about: the pointer names a partition that was not read
    assert all(pointed not in {p for p, _ in read} for read, pointed in truth.values())
    assert {len(read) for (asset, _, _), (read, _) in truth.items() if asset.startswith("two_days")} == {2}
    store = Store.open(str(project["base"]), cache=False)
    assert store.warnings == []
    for (asset, partition, run_id), (read, _) in truth.items():
        v = store.index.version(asset, run_id, partition)
        assert v is not None and v.stored == asset.endswith("_table"), (asset, partition)
        assert {(i.partition, i.run_id) for i in v.inputs if i.asset == "readings"} == read, (asset, partition)
        for i in v.inputs:  # the content read is that partition's version in the store
            up = store.index.version("readings", i.run_id, i.partition)
            assert up is not None and i.content_hash == up.content_hash, (asset, partition, i)


def test_staleness_per_partition_follows_the_partitions_read(project):
    """readings of DAYS[1] was materialized again after the consumers of DAYS[1] and DAYS[2] read
    it: those are stale, the consumers of DAYS[3] (which read it afterwards) are not; as
    Dagster's stale-status resolver says, partition by partition."""
    stale = project["stale"]
    one, two = {DAYS[1]: "stale", DAYS[2]: "fresh", DAYS[3]: "fresh"}, {DAYS[1]: "stale", DAYS[2]: "stale", DAYS[3]: "fresh"}
    assert stale == {"same_day": one, "two_days": two, "same_day_table": one, "two_days_table": two}  # what the test ran
    store = Store.open(str(project["base"]), cache=False)
    for asset, expected in stale.items():
        assert {p.partition: p.status for p in store.partitions(asset)} == expected, asset
