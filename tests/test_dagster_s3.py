"""RunPrefixedIOManager writing to S3 (moto's standalone server on 127.0.0.1, through s3fs):
op graph, asset job and a re-execution from failure, read back with the explorer."""

from __future__ import annotations

import uuid

import pytest

dg = pytest.importorskip("dagster")
pytest.importorskip("moto")

from pandas.testing import assert_frame_equal  # noqa: E402

import dagster_jobs as jobs  # noqa: E402
import dagster_records as records  # noqa: E402
from explorer.dagster import RunPrefixedIOManager, consolidate_finished_runs, consolidate_run  # noqa: E402
from explorer import Store  # noqa: E402

ENV = {
    "AWS_ACCESS_KEY_ID": "AKIATESTKEYDAGSTER00",
    "AWS_SECRET_ACCESS_KEY": "dagster-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def endpoint():
    from moto.server import ThreadedMotoServer

    mp = pytest.MonkeyPatch()
    for k, v in ENV.items():
        mp.setenv(k, v)
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        mp.delenv(k, raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    mp.undo()


@pytest.fixture
def bucket(endpoint):
    import s3fs

    name = "dg-" + uuid.uuid4().hex[:10]
    s3fs.S3FileSystem(endpoint_url=endpoint).mkdir(name)
    return name


def test_ops_and_assets_on_s3(endpoint, bucket):
    options = {"endpoint_url": endpoint}
    base = f"s3://{bucket}/proj"
    iom = RunPrefixedIOManager(base_path=base, storage_options=options)
    instance = dg.DagsterInstance.ephemeral()
    ops = jobs.diamond.execute_in_process(instance=instance, resources={"io_manager": iom})
    first = dg.materialize(jobs.ASSETS, instance=instance, resources={"io_manager": iom})
    second = dg.materialize(jobs.ASSETS, instance=instance, resources={"io_manager": iom}, selection=["model"])
    assert ops.success and first.success and second.success
    consolidate_run(base, ops.run_id, "success", options)

    store = Store.open(base, options)
    assert store.warnings == []
    assert [r.run_id for r in store.runs] == [ops.run_id, first.run_id, second.run_id]
    assert store.run(ops.run_id).status == "success" and store.run(first.run_id).status == "running"
    expected = {
        ("load_source/result", "double/result"),
        ("load_source/result", "total/result"),
        ("double/result", "combine/result"),
        ("total/result", "combine/result"),
        ("warehouse/raw", "features"),
        ("features", "model"),
        ("features", "report"),
    }
    assert set(store.asset_graph().edges) == expected
    # the objects sit at Dagster's op layout and at run-scoped asset addresses
    assert store.fs.isfile(f"{bucket}/proj/{ops.run_id}/combine/result")
    assert store.fs.isfile(f"{bucket}/proj/{second.run_id}/model")
    prov = store.provenance("model", second.run_id)
    assert {(v.asset, v.run_id) for v in prov.versions} == {
        ("model", second.run_id),
        ("features", first.run_id),
        ("warehouse/raw", first.run_id),
    }
    src = jobs.SOURCE
    assert_frame_equal(store.load("features"), src.assign(feature=src["value"] / 10))


def test_reexecution_from_failure_on_s3(endpoint, bucket, tmp_path, monkeypatch):
    base = f"s3://{bucket}/proj"
    monkeypatch.setenv("FRONTIER_TEST_BASE", base)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # the job's IO manager has no storage_options
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # clients are cached by options, not by environment
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        job = dg.reconstructable(jobs.flaky)
        with records.failing(monkeypatch, "transform"):
            failed = dg.execute_job(job, instance=instance)
        retried = records.reexecute_from_failure(job, instance, failed)
        assert not failed.success and retried.success
        consolidate_finished_runs(base, instance, {"endpoint_url": endpoint})

    store = Store.open(base, {"endpoint_url": endpoint})
    assert [(r.run_id, r.status, r.parent_run_id) for r in store.runs] == [
        (failed.run_id, "failed", None),
        (retried.run_id, "success", failed.run_id),
    ]
    transform = store.version("transform/result", retried.run_id)
    assert [(i.asset, i.run_id) for i in transform.inputs] == [("extract/result", failed.run_id)]


def test_stock_store_on_s3_with_instance(endpoint, bucket, tmp_path, monkeypatch, cli):
    """Dagster's stock FilesystemIOManager writing to the bucket (through UPath and s3fs),
    read back from the listing and the instance."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    base = f"s3://{bucket}/dagster"
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = jobs.diamond.execute_in_process(instance=instance, resources={"io_manager": dg.FilesystemIOManager(base_dir=base)})
    assert result.success
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    truth = {p.split(f"{result.run_id}/", 1)[1]: info["size"] for p, info in fs.find(f"{bucket}/dagster/{result.run_id}", detail=True).items()}
    out = cli("assets", base, "-o", f"endpoint_url={endpoint}", "--format", "json")
    assert out.code == 0, out.err
    assert {a["asset"]: a["size_bytes"] for a in out.json()} == truth

    graph = cli("lineage", base, "-o", f"endpoint_url={endpoint}", "--dagster-home", home, "--format", "json").json()
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {
        ("load_source/result", "double/result"),
        ("load_source/result", "total/result"),
        ("double/result", "combine/result"),
        ("total/result", "combine/result"),
    }
    runs = cli("runs", base, "-o", f"endpoint_url={endpoint}", "--dagster-home", home, "--format", "json").json()
    assert [(r["run_id"], r["job"], r["status"]) for r in runs] == [(result.run_id, "diamond", "success")]
