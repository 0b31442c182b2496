"""Benchmark: what SQL and flags cost on a store with many versions.

    PYTHONPATH=. python bench/catalogue.py [--runs 40]

Prints, for a local store and for the same store on a moto S3 server (127.0.0.1):
- the first query on a freshly opened store with lazy views (only the tables the query
  names) against the baseline of creating a view for every version first;
- S3 requests for each (counted with a botocore hook, not timed);
- the cost of reading flags (requests) and of ``tainted()``.
Times are medians of a few repetitions, reported as ratios to the baseline of the same run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from explorer import Store  # noqa: E402
from explorer.sql import SqlCatalog  # noqa: E402
from explorer.store import RunWriter  # noqa: E402
from explorer.store import flags as flagmod  # noqa: E402


def build(url: str, runs: int, opts: dict | None = None) -> list[str]:
    rng = np.random.default_rng(1)
    ids = []
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(runs):
        t = start + timedelta(days=i)
        with RunWriter(url, job="bench", run_id=f"{t:%Y%m%dT%H%M%SZ}-b{i}", started_at=t, storage_options=opts) as run:
            raw = pd.DataFrame({"id": np.arange(2000), "x": rng.normal(size=2000), "g": rng.integers(0, 9, 2000)})
            run.write("raw", raw)
            run.write("features", raw.assign(y=raw["x"] ** 2), inputs=["raw"])
            run.write("scores", raw[["id"]].assign(s=rng.random(2000)), inputs=["features"])
            ids.append(run.run_id)
    return ids


def median_time(fn, reps: int = 5) -> float:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


QUERY = "select g, count(*) as n, avg(y) as y from features group by g order by g"


def lazy(url, opts):
    store = Store.open(url, opts)
    return store.sql(QUERY)


def eager(url, opts):
    store = Store.open(url, opts)
    cat = SqlCatalog(store)
    cat._ensure(set(cat.relations))  # baseline: a view for every version, as an eager catalogue would
    return cat.df(QUERY)


class Requests:
    def __init__(self, fs):
        self.fs = fs
        self.counts: Counter = Counter()

    def __enter__(self):
        self.fs.connect()
        self.fs.s3.meta.events.register("before-send.s3", self.hook, unique_id="bench-count")
        return self

    def hook(self, request, **kw):
        kind = request.method
        if kind == "GET" and "list-type=" in request.url:
            kind = "LIST"
        self.counts[kind] += 1

    def __exit__(self, *exc):
        self.fs.s3.meta.events.unregister("before-send.s3", unique_id="bench-count")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    try:
        local = str(tmp / "store")
        ids = build(local, args.runs)
        assert lazy(local, None).equals(eager(local, None))
        t_lazy = median_time(lambda: lazy(local, None))
        t_eager = median_time(lambda: eager(local, None))
        n_views = len(SqlCatalog(Store.open(local)).relations)
        print(f"## local store, {args.runs} runs, {n_views} table views")
        print(f"first query, lazy views:  {t_lazy * 1000:7.1f} ms  ({t_lazy / t_eager:.2f} x eager)")
        print(f"first query, all views:   {t_eager * 1000:7.1f} ms  (baseline)")

        store = Store.open(local)
        fs, root = store.fs, store.root
        for i in range(50):
            flagmod.write_flag(fs, root, "raw", ids[i % len(ids)], f"bench {i}", author="bench")
        t_flags = median_time(lambda: Store.open(local).tainted())
        t_open = median_time(lambda: Store.open(local))
        print(f"open + read 50 flags + taint: {t_flags * 1000:7.1f} ms  ({t_flags / t_open:.2f} x open alone)")

        # S3 on moto: requests, not time
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        opts = {"endpoint_url": endpoint, "key": "AKIABENCH00000000000", "secret": "bench-secret"}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=opts["key"],
                     aws_secret_access_key=opts["secret"]).create_bucket(Bucket="bench")
        s3_runs = min(args.runs, 10)
        url = "s3://bench/store"
        build(url, s3_runs, opts)
        s3 = Store.open(url, opts)
        results = {}
        for name, fn in (("lazy", lazy), ("eager", eager)):
            with Requests(s3.fs) as req:
                fn(url, opts)
            results[name] = req.counts
        print(f"\n## S3 (moto), {s3_runs} runs")
        for name, counts in results.items():
            print(f"open + first query, {name:5s}: {sum(counts.values()):4d} requests {dict(counts)}")
        for i in range(10):
            s3.flag("raw", s3.runs[i % s3_runs].run_id, reason=f"bench {i}", author="bench")
        reader = Store.open(url, opts)
        with Requests(reader.fs) as req:
            reader.flagged()
        print(f"read 10 flags: {sum(req.counts.values())} requests {dict(req.counts)}")
        with Requests(reader.fs) as req:
            Store.open(url, opts)
        print(f"open (no flags read): {sum(req.counts.values())} requests {dict(req.counts)}")
        server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
