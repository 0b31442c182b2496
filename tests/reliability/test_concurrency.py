"""Several processes writing one run lose nothing; readers see a consistent prefix."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd

from explorer import RunWriter, Store

WORKER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from explorer import RunWriter
    root, run_id, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with RunWriter.join(root, run_id) as run:
        for i in range(n):
            run.write(f"w{worker}/out{i}", pd.DataFrame({"worker": [worker], "i": [i]}), inputs=["seed"])
    """
)


def test_processes_writing_one_run_lose_no_sidecar(store_path):
    owner = RunWriter(store_path, run_id="shared", job="multi").start()
    seed = owner.write("seed", {"s": 1})
    workers, per_worker = 4, 6
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, store_path, "shared", str(w), str(per_worker)])
        for w in range(workers)
    ]
    assert [p.wait() for p in procs] == [0] * workers
    run = owner.finish()
    expected = {"seed"} | {f"w{w}/out{i}" for w in range(workers) for i in range(per_worker)}
    assert run.asset_count == len(expected)

    import json
    from pathlib import Path

    manifest = json.loads(Path(store_path, "shared", "_frontier", "run.json").read_text())
    assert manifest["consolidated"] is True
    assert {v["asset"] for v in manifest["versions"]} == expected
    store = Store.open(store_path)
    assert {v.asset for v in store.run_versions("shared")} == expected
    for w in range(workers):
        v = store.version(f"w{w}/out0", "shared")
        assert [i.to_dict() for i in v.inputs] == [seed.ref.to_dict()]
        assert store.load(f"w{w}/out{per_worker - 1}", "shared")["worker"].tolist() == [w]


def test_joining_a_finished_run_is_refused(store_path):
    import pytest

    from explorer.errors import WriteError

    with RunWriter(store_path, run_id="done") as run:
        run.write("a", {"x": 1})
    with pytest.raises(WriteError, match="is success"):
        RunWriter.join(store_path, "done")
    with pytest.raises(WriteError, match="does not exist"):
        RunWriter.join(store_path, "nope")


def test_reader_during_writes_sees_a_consistent_prefix(store_path):
    writer = RunWriter(store_path, run_id="live").start()
    n = 40
    seen: list[list[str]] = []
    problems: list[str] = []
    done = threading.Event()

    def read_loop():
        while not done.is_set():
            store = Store.open(store_path)
            problems.extend(store.warnings)
            keys = [v.asset for v in sorted(store.run_versions("live"), key=lambda v: int(v.asset[1:]))]
            seen.append(keys)

    t = threading.Thread(target=read_loop)
    t.start()
    try:
        for i in range(n):
            writer.write(f"a{i}", pd.DataFrame({"i": [i]}))
            if i % 10 == 5:  # let the reader take snapshots in the middle of the run, even under load
                target = len(seen) + 2
                deadline = time.monotonic() + 30
                while len(seen) < target and time.monotonic() < deadline:
                    time.sleep(0.005)
    finally:
        done.set()
        t.join()
    writer.finish()
    assert problems == []
    for keys in seen:
        # each snapshot is a prefix a0..ak of the write order: no gaps, no half-written version
        assert keys == [f"a{i}" for i in range(len(keys))]
    assert len(seen) > 1
