"""Every fault gives a clear message, never a traceback, and the rest of the store stays usable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from explorer import RunWriter, Store
from explorer.errors import ExplorerError


def _good_run(store_path: str, run_id: str = "good") -> None:
    with RunWriter(store_path, run_id=run_id, job="j") as run:
        run.write("a", pd.DataFrame({"x": [1, 2, 3]}))
        run.write("b", {"k": 1}, inputs=["a"])


def test_sidecar_without_its_data(store_path, cli):
    _good_run(store_path)
    os.remove(Path(store_path, "good", "a.parquet"))
    store = Store.open(store_path)
    with pytest.raises(ExplorerError, match="data of a in run good is missing"):
        store.load("a")
    assert store.load("b") == {"k": 1}
    r = cli("show", store_path, "a")
    assert r.code == 2 and "missing" in r.err and "Traceback" not in r.err
    assert cli("show", store_path, "b").code == 0


def test_data_without_sidecar_is_not_a_version(store_path):
    _good_run(store_path)
    Path(store_path, "good", "orphan.parquet").write_bytes(b"PAR1 half written")
    store = Store.open(store_path)
    assert store.assets() == ["a", "b"]
    assert store.warnings == []


def test_empty_store(tmp_path, cli):
    root = tmp_path / "empty"
    root.mkdir()
    (root / "_frontier_store.json").write_text(json.dumps({"format": "frontier-explore/store", "format_version": "1.0"}))
    store = Store.open(str(root))
    assert store.runs == [] and store.assets() == []
    r = cli("runs", root, "--format", "json")
    assert r.code == 0 and r.json() == []
    r = cli("assets", root)
    assert r.code == 0


def test_non_utf8_and_very_long_names(store_path, cli):
    _good_run(store_path)
    os.mkdir(os.path.join(os.fsencode(store_path), b"bad-\xff\xfe-name"))
    long_name = "r" * 250
    os.mkdir(os.path.join(store_path, long_name))
    r = cli("runs", store_path, "--format", "json")
    assert r.code == 0
    assert [x["run_id"] for x in r.json()] == ["good"]
    assert "folder without a run manifest" in r.err
    assert "Traceback" not in r.err
    r = cli("runs", store_path)
    assert r.code == 0


def test_preview_of_large_parquet_reads_only_what_it_shows(store_path):
    import numpy as np
    from fsspec.implementations.local import LocalFileSystem

    n = 3_000_000
    with RunWriter(store_path, run_id="big") as run:
        run.write("big", pd.DataFrame({"i": np.arange(n), "v": np.random.default_rng(1).random(n)}))
    store = Store.open(store_path)
    size = store.latest("big").size_bytes

    class CountingFile:
        def __init__(self, fh):
            self.fh, self.read_bytes = fh, 0

    read = {"n": 0}
    original = LocalFileSystem._open

    def counting_open(self, path, mode="rb", **kw):
        fh = original(self, path, mode, **kw)
        raw_read = fh.read

        def read_and_count(*a):
            data = raw_read(*a)
            read["n"] += len(data)
            return data

        fh.read = read_and_count
        return fh

    LocalFileSystem._open = counting_open
    try:
        head = store.preview("big", rows=10)
    finally:
        LocalFileSystem._open = original
    assert head["i"].tolist() == list(range(10))
    assert 0 < read["n"] < size / 4, (read["n"], size)


WRITER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from explorer import RunWriter
    w = RunWriter(sys.argv[1], run_id="killed", job="j", plan={"a": [], "b": ["a"]}).start()
    w.write("a", pd.DataFrame({"x": range(10)}))
    print("wrote a", flush=True)
    time.sleep(60)
    """
)


def test_killed_writer_leaves_a_running_run_and_only_complete_versions(store_path):
    _good_run(store_path)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, store_path], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "wrote a"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = Store.open(store_path)
    run = store.run("killed")
    assert run.status == "running"
    assert [v.asset for v in store.run_versions("killed")] == ["a"]
    assert store.load("a", run="killed")["x"].tolist() == list(range(10))
    g = store.asset_graph(run="killed")
    assert g.nodes["b"]["missing"]


def test_symlinks_outside_the_store_are_not_followed(tmp_path, store_path):
    _good_run(store_path)
    other = str(tmp_path / "other")
    _good_run(other, run_id="secret")
    os.symlink(os.path.join(other, "secret"), os.path.join(store_path, "linked"))
    # a sidecar whose data is a symlink to a file outside the store
    outside = tmp_path / "outside.json"
    outside.write_text('{"stolen": true}')
    with RunWriter(store_path, run_id="r2") as run:
        run.write("c", {"k": 2})
    os.remove(Path(store_path, "r2", "c.json"))
    os.symlink(outside, Path(store_path, "r2", "c.json"))
    store = Store.open(store_path)
    assert sorted(r.run_id for r in store.runs) == ["good", "r2"]
    assert any("linked/" in w and "outside the store" in w for w in store.warnings)
    with pytest.raises(ExplorerError, match="outside the store"):
        store.load("c")
