"""Writers racing for the same run id or the same version: exactly one wins, every time.

Two processes (spawned: forking a worker whose threads hold locks, such as fsspec's event loop
or DuckDB's pool, can hang the child) are released by one barrier per trial and both try to start the run with
the same explicit id (or, in a shared run, to commit the same asset). The winner's manifest and
data are what the store holds, byte for byte; the loser is told with one line naming the run.
On S3 (moto's server) the exclusive create is a conditional PUT (``If-None-Match: *``).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp

import pytest

from explorer import RunWriter, Store
from explorer.errors import WriteError
from explorer.store.fs import open_fs
from s3_support import bucket, moto_endpoint  # noqa: F401 - fixtures

TRIALS = 8
NAMES = ("alice", "bob")


def _race_starts(url, options, name, barrier, results):
    for t in range(TRIALS):
        barrier.wait()
        try:
            with RunWriter(url, run_id=f"race{t}", job=name, storage_options=options) as run:
                run.write("data", {"who": name})
            results.put((t, name, "ok"))
        except WriteError as exc:
            results.put((t, name, str(exc)))


def _race_commits(url, options, name, barrier, results):
    for t in range(TRIALS):
        barrier.wait()
        try:
            RunWriter.join(url, "shared", storage_options=options).write(f"out{t}", {"who": name})
            results.put((t, name, "ok"))
        except WriteError as exc:
            results.put((t, name, str(exc)))


def _race(target, url, options) -> dict[int, dict[str, str]]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(len(NAMES)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, options, n, barrier, results)) for n in NAMES]
    for p in procs:
        p.start()
    got: dict[int, dict[str, str]] = {}
    for _ in range(TRIALS * len(NAMES)):
        t, name, outcome = results.get(timeout=120)
        got.setdefault(t, {})[name] = outcome
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return got


def _winner(outcomes: dict[str, str], run_id: str) -> str:
    winners = [n for n, o in outcomes.items() if o == "ok"]
    assert len(winners) == 1, outcomes
    (loser,) = [n for n in outcomes if n not in winners]
    message = outcomes[loser]
    assert run_id in message and "\n" not in message
    return winners[0]


@pytest.fixture(params=["local", "s3"])
def target(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "store"), {}
    endpoint = request.getfixturevalue("moto_endpoint")
    name = request.getfixturevalue("bucket")
    return f"s3://{name}", {"endpoint_url": endpoint}


def test_two_processes_starting_one_run_id_exactly_one_wins(target):
    url, options = target
    got = _race(_race_starts, url, options)
    fs, root = open_fs(url, options)
    assert sorted(got) == list(range(TRIALS))
    for t, outcomes in got.items():
        run_id = f"race{t}"
        winner = _winner(outcomes, run_id)
        manifest = json.loads(fs.cat_file(f"{root}/{run_id}/_frontier/run.json"))
        assert manifest["job"] == winner and manifest["status"] == "success"
        assert [v["asset"] for v in manifest["versions"]] == ["data"]
        data = fs.cat_file(f"{root}/{run_id}/data.json")
        assert json.loads(data) == {"who": winner}
        assert manifest["versions"][0]["content_hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert fs.ls(f"{root}/{run_id}/_frontier/versions", detail=False) == [f"{root}/{run_id}/_frontier/versions/data.json"]
    store = Store.open(url, options, cache=False)
    assert store.warnings == []
    for t, outcomes in got.items():
        winner = _winner(outcomes, f"race{t}")
        assert store.load("data", f"race{t}") == {"who": winner}


def test_two_joined_processes_committing_one_version_exactly_one_wins(target):
    url, options = target
    owner = RunWriter(url, run_id="shared", job="multi", storage_options=options).start()
    got = _race(_race_commits, url, options)
    owner.finish()
    fs, root = open_fs(url, options)
    manifest = json.loads(fs.cat_file(f"{root}/shared/_frontier/run.json"))
    listed = {v["asset"]: v for v in manifest["versions"]}
    assert sorted(listed) == sorted(f"out{t}" for t in range(TRIALS))
    for t, outcomes in got.items():
        winner = _winner(outcomes, "shared")
        data = fs.cat_file(f"{root}/shared/out{t}.json")
        assert json.loads(data) == {"who": winner}
        assert listed[f"out{t}"]["content_hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
