"""Cost of RunPrefixedIOManager against Dagster's stock FilesystemIOManager, and of reading a
stock store with and without the Dagster instance. Ratios against a baseline measured in the
same run; local disk; small enough to finish in about a minute.

    PYTHONPATH=. python bench/dagster_io.py [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import dagster as dg
import pandas as pd

from explorer.dagster import RunPrefixedIOManager
from explorer import Store

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40


@dg.op(out=dg.DynamicOut())
def fan():
    for i in range(N):
        yield dg.DynamicOutput(pd.DataFrame({"i": range(1000), "v": [float(i)] * 1000}), mapping_key=f"k{i}")


@dg.op
def work(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(w=df["v"] * 2)


@dg.op
def gather(dfs: list) -> int:
    return sum(len(d) for d in dfs)


@dg.job
def bench_job():
    gather(fan().map(work).collect())


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    tmp = tempfile.mkdtemp()
    outputs = 2 * N + 1
    instance = dg.DagsterInstance.ephemeral()

    def run(io):
        assert bench_job.execute_in_process(instance=instance, resources={"io_manager": io}).success

    stock_base = os.path.join(tmp, "stock")
    t_stock = best(lambda: run(dg.FilesystemIOManager(base_dir=stock_base)))
    t_frontier = best(lambda: run(RunPrefixedIOManager(base_path=os.path.join(tmp, "frontier"))))
    print(f"job with {outputs} outputs, best of 3:")
    print(f"  FilesystemIOManager (baseline)  {t_stock:7.3f} s")
    print(f"  RunPrefixedIOManager            {t_frontier:7.3f} s   ratio {t_frontier / t_stock:.2f}")

    home = os.path.join(tmp, "home")
    os.makedirs(home)
    with dg.instance_for_test(temp_dir=home) as inst:
        for _ in range(3):
            assert bench_job.execute_in_process(instance=inst, resources={"io_manager": dg.FilesystemIOManager(base_dir=os.path.join(tmp, "s2"))}).success
    os.environ.pop("DAGSTER_HOME", None)
    t_list = best(lambda: Store.open(os.path.join(tmp, "s2")))
    t_inst = best(lambda: Store.open(os.path.join(tmp, "s2"), dagster_home=home))
    t_front = best(lambda: Store.open(os.path.join(tmp, "frontier")))
    print(f"reading 3 stock runs x {outputs} outputs, best of 3:")
    print(f"  listing only (baseline)         {t_list:7.3f} s")
    print(f"  with the Dagster instance       {t_inst:7.3f} s   ratio {t_inst / t_list:.2f}")
    print(f"  3 unconsolidated frontier runs  {t_front:7.3f} s   ratio {t_front / t_list:.2f}")


if __name__ == "__main__":
    main()
