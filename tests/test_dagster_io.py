"""RunPrefixedIOManager with real Dagster runs (execute_in_process, re-execution from failure),
read back through the explorer: runs, lineage, provenance, data."""

from __future__ import annotations

import json

import pytest

dg = pytest.importorskip("dagster")

import pandas as pd  # noqa: E402
from pandas.testing import assert_frame_equal  # noqa: E402

import dagster_jobs as jobs  # noqa: E402
import dagster_records as records  # noqa: E402
from explorer.dagster import RunPrefixedIOManager, consolidate_run  # noqa: E402
from explorer.errors import UnsafeLoad  # noqa: E402
from explorer import Store  # noqa: E402
from explorer import format as fmt  # noqa: E402


@pytest.fixture
def instance():
    """A temporary in-memory Dagster instance (runs, event log, asset materializations)."""
    inst = dg.DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def _edges(store: Store, **kw) -> set[tuple[str, str]]:
    return set(store.asset_graph(**kw).edges)


def test_diamond_op_graph(tmp_path, instance, cli):
    base = str(tmp_path / "store")
    result = jobs.diamond.execute_in_process(
        instance=instance, resources={"io_manager": RunPrefixedIOManager(base_path=base)}, tags={"team": "ml"}
    )
    assert result.success
    consolidate_run(base, result.run_id, "success")

    store = Store.open(base)
    assert store.warnings == []
    [run] = store.runs
    assert run.run_id == result.run_id
    assert run.job == "diamond" and run.status == "success" and run.tags["team"] == "ml"
    assert run.consolidated and run.finished_at is not None

    # Dagster's own layout: <base>/<run_id>/<step_key>/<output_name>
    for step in ("load_source", "double", "total", "combine"):
        assert (tmp_path / "store" / result.run_id / step / "result").is_file()

    expected = {
        ("load_source/result", "double/result"),
        ("load_source/result", "total/result"),
        ("double/result", "combine/result"),
        ("total/result", "combine/result"),
    }
    assert _edges(store) == expected
    # the run manifest records the execution plan with the same edges and the code versions
    planned = {(i, p.asset) for p in run.planned for i in (p.inputs or ())}
    assert planned == expected
    assert {p.asset: p.code_version for p in run.planned} == {
        "load_source/result": "load-v1",
        "double/result": "double-v1",
        "total/result": None,
        "combine/result": None,
    }

    # values: tables as parquet (read by the explorer), the float as a pickle (opt-in only)
    src = jobs.SOURCE
    doubled = src.assign(value=src["value"] * 2)
    truth = doubled.assign(share=doubled["value"] / float(src["value"].sum()))
    assert store.version("combine/result").data_format == "parquet"
    assert_frame_equal(store.load("combine/result"), truth)
    assert store.version("total/result").data_format == "pickle"
    with pytest.raises(UnsafeLoad):
        store.load("total/result")
    assert store.load("total/result", allow_pickle=True) == float(src["value"].sum())

    # code versions and output metadata in the sidecars
    assert store.version("load_source/result").code_version == "load-v1"
    assert store.version("double/result").code_version == "double-v1"
    meta = store.version("combine/result").metadata
    assert meta["rows"] == 4 and meta["note"] == "doubled over total"

    # the IO manager told Dagster where the data is
    mats = [e for e in result.all_events if e.event_type_value == "HANDLED_OUTPUT" and e.step_key == "combine"]
    assert mats and mats[0].event_specific_data.metadata["frontier_key"].value == "combine/result"

    # the CLI sees the same graph
    out = cli("lineage", base, "--format", "json")
    assert out.code == 0
    assert {(e["from"], e["to"]) for e in out.json()["edges"]} == expected


def test_dynamic_outputs(tmp_path, instance, cli):
    base = str(tmp_path / "store")
    result = jobs.dynamic.execute_in_process(instance=instance, resources={"io_manager": RunPrefixedIOManager(base_path=base)})
    assert result.success
    assert result.output_for_node("add_up") == sum(jobs.FAN_OUT.values())

    store = Store.open(base)
    keys = set(store.assets())
    expected_keys = {f"fan_out/result/{k}" for k in jobs.FAN_OUT} | {f"count_rows[{k}]/result" for k in jobs.FAN_OUT} | {
        "add_up/result"
    }
    assert keys == expected_keys
    for k, n in jobs.FAN_OUT.items():  # <base>/<run_id>/<step_key>/<output_name>/<mapping_key>
        assert (tmp_path / "store" / result.run_id / "fan_out" / "result" / k).is_file()
        assert_frame_equal(store.load(f"fan_out/result/{k}"), jobs.SOURCE.head(n))
    expected = {(f"fan_out/result/{k}", f"count_rows[{k}]/result") for k in jobs.FAN_OUT} | {
        (f"count_rows[{k}]/result", "add_up/result") for k in jobs.FAN_OUT
    }
    assert _edges(store) == expected
    # the run is not consolidated: its versions come from the sidecars, its status is "running"
    assert store.run(result.run_id).status == "running"
    # mapped step keys keep their brackets in the terminal tables and trees
    table = cli("lineage", base)
    assert all(f"count_rows[{k}]/result" in table.out for k in jobs.FAN_OUT)
    tree = cli("provenance", base, "add_up/result")
    assert all(f"count_rows[{k}]/result" in tree.out and f"fan_out/result/{k}" in tree.out for k in jobs.FAN_OUT)


def test_asset_job_and_cross_run_inputs(tmp_path, instance):
    base = str(tmp_path / "store")
    iom = RunPrefixedIOManager(base_path=base)
    first = dg.materialize(jobs.ASSETS, instance=instance, resources={"io_manager": iom})
    assert first.success
    # second run: only the model, reading features from the first run
    second = dg.materialize(jobs.ASSETS, instance=instance, resources={"io_manager": iom}, selection=["model"])
    assert second.success
    for r in (first, second):
        consolidate_run(base, r.run_id, "success")

    # the IO manager registered each run once in the run log, under Dagster's run id
    logged = [fmt.parse_run_log_name(p.name)[1] for p in (tmp_path / "store" / fmt.RUN_LOG_DIR).iterdir()]
    assert sorted(logged) == sorted([first.run_id, second.run_id])

    store = Store.open(base)
    assert [r.run_id for r in store.runs] == [first.run_id, second.run_id]
    assert {v.asset for v in store.run_versions(first.run_id)} == {"warehouse/raw", "features", "model", "report"}
    assert {v.asset for v in store.run_versions(second.run_id)} == {"model"}
    # run-scoped asset addresses: <base>/<run_id>/<asset key path>
    assert (tmp_path / "store" / first.run_id / "warehouse" / "raw").is_file()
    assert (tmp_path / "store" / second.run_id / "model").is_file()

    expected = {("warehouse/raw", "features"), ("features", "model"), ("features", "report")}
    assert _edges(store) == expected
    assert store.version("features").code_version == "features-v1"

    # provenance of the second run's model crosses into the first run
    prov = store.provenance("model", second.run_id)
    got = {(v.asset, v.run_id) for v in prov.versions}
    assert got == {("model", second.run_id), ("features", first.run_id), ("warehouse/raw", first.run_id)}
    feats = jobs.SOURCE.assign(feature=jobs.SOURCE["value"] / 10)
    assert store.load("model", second.run_id, allow_pickle=True) == {"weights": float(feats["feature"].sum())}
    assert_frame_equal(store.load("features"), feats)


def test_failure_and_reexecution_from_failure(tmp_path, monkeypatch, cli):
    base = tmp_path / "store"
    monkeypatch.setenv("FRONTIER_TEST_BASE", str(base))
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        job = dg.reconstructable(jobs.flaky)
        with records.failing(monkeypatch, "transform"):
            failed = dg.execute_job(job, instance=instance)
        assert not failed.success

        # the failure hook marked the run failed at once; nothing consolidated it yet
        store = Store.open(str(base))
        run1 = store.run(failed.run_id)
        assert run1.status == "failed" and not run1.consolidated
        assert {v.asset for v in store.run_versions(failed.run_id)} == {"extract/result"}
        # the plan shows what the failed run did not write
        graph = store.asset_graph(run=failed.run_id)
        assert graph.nodes["transform/result"]["missing"] and graph.nodes["publish/result"]["missing"]

        retried = records.reexecute_from_failure(job, instance, failed)
        assert retried.success

    # finalize both runs from what the Dagster instance reports, from the command line
    done = cli("dagster-consolidate", base, "--dagster-home", tmp_path / "dagster_home", "--format", "json")
    assert done.code == 0, done.err
    assert {(r["run_id"], r["status"]) for r in done.json()} == {(failed.run_id, "failed"), (retried.run_id, "success")}
    again = cli("dagster-consolidate", base, "--dagster-home", tmp_path / "dagster_home", "--format", "json")
    assert again.json() == []  # nothing left to finalize

    store = Store.open(str(base))
    run1, run2 = store.run(failed.run_id), store.run(retried.run_id)
    assert (run1.status, run2.status) == ("failed", "success")
    assert run1.consolidated and run2.consolidated
    assert run2.parent_run_id == failed.run_id
    # the re-execution planned only the steps it ran
    assert {p.asset: p.inputs for p in run2.planned} == {
        "transform/result": ("extract/result",),
        "publish/result": ("transform/result",),
    }
    # the re-execution wrote only the steps it ran; extract was reused from the parent run
    assert {v.asset for v in store.run_versions(retried.run_id)} == {"transform/result", "publish/result"}
    assert not (base / retried.run_id / "extract").exists()

    transform = store.version("transform/result", retried.run_id)
    assert [(i.asset, i.run_id) for i in transform.inputs] == [("extract/result", failed.run_id)]
    assert transform.inputs[0].content_hash == store.version("extract/result", failed.run_id).content_hash

    prov = store.provenance("publish/result", retried.run_id)
    assert {(v.asset, v.run_id) for v in prov.versions} == {
        ("publish/result", retried.run_id),
        ("transform/result", retried.run_id),
        ("extract/result", failed.run_id),
    }
    impact = store.impact("extract/result", failed.run_id)
    assert {(v.asset, v.run_id) for v in impact.versions} == {
        ("extract/result", failed.run_id),
        ("transform/result", retried.run_id),
        ("publish/result", retried.run_id),
    }
    # the value went through load_input from the parent run's output
    src = jobs.SOURCE
    assert store.load("publish/result", allow_pickle=True) == {"rows": 4, "sum": float((src["value"] + 1).sum())}

    # the run manifest on disk records job and parent for any reader
    doc = json.loads((base / retried.run_id / "_frontier" / "run.json").read_text())
    assert doc["job"] == "flaky" and doc["parent_run_id"] == failed.run_id and doc["status"] == "success"


def test_load_input_keeps_dataframe_index_and_arrow_tables(tmp_path, instance):
    import pyarrow as pa

    indexed = pd.DataFrame({"v": [1.5, 2.5]}, index=pd.Index(["x", "y"], name="name"))

    @dg.op
    def make_df():
        return indexed

    @dg.op
    def make_arrow():
        return pa.table({"a": [1, 2, 3]})

    @dg.op
    def check(df, tbl):
        assert isinstance(tbl, pa.Table) and tbl.column("a").to_pylist() == [1, 2, 3]
        return df

    @dg.job
    def roundtrip():
        check(make_df(), make_arrow())

    base = str(tmp_path / "store")
    result = roundtrip.execute_in_process(instance=instance, resources={"io_manager": RunPrefixedIOManager(base_path=base)})
    assert result.success
    assert_frame_equal(result.output_for_node("check"), indexed)
    store = Store.open(base)
    assert store.version("make_arrow/result").data_format == "parquet"
    assert_frame_equal(store.load("make_df/result"), indexed)


def test_partitioned_assets(tmp_path, instance):
    base = str(tmp_path / "store")
    iom = RunPrefixedIOManager(base_path=base)
    runs = {}
    for region in ("emea", "apac"):
        result = dg.materialize([jobs.sales, jobs.sales_total], instance=instance, resources={"io_manager": iom}, partition_key=region)
        assert result.success
        runs[region] = result.run_id

    store = Store.open(base)
    # <base>/<run_id>/<asset key path>/<partition>: versions of the asset's partitions
    for region, run_id in runs.items():
        assert (tmp_path / "store" / run_id / "sales" / region).is_file()
        assert {(v.asset, v.partition) for v in store.run_versions(run_id)} == {("sales", region), ("sales_total", region)}
    assert set(store.asset_graph().edges) == {("sales", "sales_total")}
    assert store.load("sales_total[apac]", allow_pickle=True) == 12.0
    assert list(store.load("sales[emea]")["amount"]) == [1.0, 2.0]
    assert [i.partition for i in store.version("sales_total[emea]").inputs] == ["emea"]


def test_staleness_by_content_hash(tmp_path, instance):
    """Re-running the source with identical output leaves downstream fresh (same content hash);
    changing it makes everything downstream stale."""
    if not hasattr(Store, "staleness"):
        pytest.skip("staleness is not on this branch yet")
    base = str(tmp_path / "store")
    io = {"io_manager": RunPrefixedIOManager(base_path=base)}
    assert jobs.diamond.execute_in_process(instance=instance, resources=io).success
    same = jobs.diamond.execute_in_process(instance=instance, resources=io, op_selection=["load_source"])
    assert same.success
    store = Store.open(base)
    first, second = store.asset_versions("load_source/result")
    assert second.run_id == same.run_id and first.content_hash == second.content_hash
    report = store.staleness()
    assert {a.asset: a.status for a in report.assets} == dict.fromkeys(
        ["load_source/result", "double/result", "total/result", "combine/result"], "fresh"
    )


def test_reexecution_reads_outputs_of_the_stock_io_manager(tmp_path, monkeypatch):
    """A run written by Dagster's stock FilesystemIOManager fails; its re-execution runs with
    RunPrefixedIOManager and loads the parent's stock pickle from the same base path."""
    base = tmp_path / "store"
    monkeypatch.setenv("FRONTIER_TEST_BASE", str(base))
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        job = dg.reconstructable(jobs.switching)
        with records.failing(monkeypatch, "transform"):
            failed = dg.execute_job(job, instance=instance)
        assert not failed.success
        assert (base / failed.run_id / "extract" / "result").is_file()  # a stock pickle
        monkeypatch.setenv("FRONTIER_TEST_IO", "frontier")
        retried = records.reexecute_from_failure(job, instance, failed)
        assert retried.success

    store = Store.open(str(base))
    transform = store.version("transform/result", retried.run_id)
    # the input is recorded, without a content hash: the stock IO manager wrote none
    assert [(i.asset, i.run_id, i.content_hash) for i in transform.inputs] == [("extract/result", failed.run_id, None)]
    src = jobs.SOURCE
    assert_frame_equal(store.load("transform/result"), src.assign(value=src["value"] + 1))
    # the stock parent run has no manifest: skipped with a warning, its output shows as missing
    assert any(failed.run_id in w and "without a run manifest" in w for w in store.warnings)
    assert [r.asset for r in store.provenance("transform/result", retried.run_id).missing] == ["extract/result"]
    # with the instance, the mixed store is complete
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    store = Store.open(str(base), dagster_home=str(tmp_path / "home"))
    assert [(r.run_id, r.status) for r in store.runs] == [(failed.run_id, "failed"), (retried.run_id, "success")]
    prov = store.provenance("publish/result", retried.run_id)
    assert prov.missing == () and ("extract/result", failed.run_id) in {(v.asset, v.run_id) for v in prov.versions}


def test_consolidation_sensors(tmp_path, instance):
    """The run-status sensors (for deployments with the daemon) consolidate a finished run,
    invoked here with Dagster's own sensor-context builder on the run's real RUN_SUCCESS event."""
    from explorer.dagster import consolidation_sensors

    base = str(tmp_path / "store")
    result = jobs.diamond.execute_in_process(instance=instance, resources={"io_manager": RunPrefixedIOManager(base_path=base)})
    assert Store.open(base).run(result.run_id).status == "running"
    sensors = {s.name: s for s in consolidation_sensors(base)}
    assert set(sensors) == {"frontier_consolidate_success", "frontier_consolidate_failed"}
    [event] = [e.dagster_event for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)]
    context = dg.build_run_status_sensor_context(
        sensor_name="frontier_consolidate_success",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    )
    sensors["frontier_consolidate_success"](context)
    run = Store.open(base).run(result.run_id)
    assert run.status == "success" and run.consolidated and run.asset_count == 4


def _many_steps(n: int) -> list:
    """n assets whose values go elsewhere (MaterializeResult), chained: a step per asset."""
    out = []
    for i in range(n):

        @dg.asset(name=f"step_{i:02d}", deps=out[-1:], code_version="v1")
        def _asset() -> dg.MaterializeResult:
            return dg.MaterializeResult(metadata={"n": 1})

        out.append(_asset)
    return out


def test_the_success_hook_reads_only_what_its_step_wrote(tmp_path):
    """The hook of each step reads the run's event log back from its end to that step's start,
    not the whole log: what it fetches does not grow with the steps before it."""
    from explorer.dagster import finish_run, frontier_hooks

    base, n = str(tmp_path / "store"), 16
    assets = _many_steps(n)
    job = dg.define_asset_job("chain", selection=assets, hooks=frontier_hooks(), executor_def=dg.in_process_executor)
    defs = dg.Definitions(assets=assets, jobs=[job], resources={"io_manager": RunPrefixedIOManager(base_path=base)})
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        calls = []  # records returned by each read of a run's event log
        real = instance.get_records_for_run

        def counting(run_id, *args, **kwargs):
            conn = real(run_id, *args, **kwargs)
            calls.append(len(conn.records))
            return conn

        instance.get_records_for_run = counting
        result = defs.resolve_job_def("chain").execute_in_process(instance=instance)
        assert result.success
        during_run = list(calls)
        from explorer import format as fmt

        hooked = sorted(a.key.path[0] for a in assets  # sidecars of versions stored outside the store
                        if (tmp_path / "store" / fmt.sidecar_path(result.run_id, a.key.path[0])).is_file())
        records = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        finish_run(base, result.run_id, instance)
    assert len(records) == n
    assert hooked == sorted(a.key.path[0] for a in assets)  # each step's hook recorded its version
    store = Store.open(base, cache=False)
    assert {v.asset for v in store.run_versions(result.run_id)} == set(hooked)
    # the hooks read n pages of a few records: reading the whole log each time would fetch
    # 1 + 2 + ... + n materializations (136 for 16 steps)
    assert sum(during_run) <= 4 * n, during_run
    assert max(during_run) <= 4
