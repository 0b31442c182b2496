"""Benchmark: a cold open on S3 (moto's server on 127.0.0.1) with and without a checkpoint.

A synthetic store of N runs x M assets (``gen_store.generate``) is written to a bucket; a
checkpoint is made when all but the last ``--newer`` runs exist; then the store is opened
cold (no local cache) three times per repetition: reading every run (a copy of the store
without the checkpoint), through the checkpoint and the run log (no root listing), and through
the checkpoint with the root listed (``full_listing=True``). The old runs are registered in the
run log a day before the checkpoint, as a history older than the checkpoint's margin would be; the newer runs at the time they are written. The requests each open sends are
counted by kind (botocore's ``before-send`` hook: observing, not mocking), and the time is
given as the ratio of the two opens measured side by side (the machine is shared and noisy).

    python bench/bench_checkpoint.py --runs 2000 --assets 20 --newer 100
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_s3_commands import Count  # noqa: E402
from gen_store import generate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--assets", type=int, default=20)
    ap.add_argument("--newer", type=int, default=100, help="runs written after the checkpoint")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    from explorer import Store
    from explorer.store import checkpoint
    from explorer.store.fs import open_fs

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for k, v in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"), ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(k, v)
    os.environ["FRONTIER_EXPLORE_CACHE_DIR"] = tempfile.mkdtemp(prefix="fe-bench-cache-")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://%s:%d" % server.get_host_and_port()
        opts = {"endpoint_url": endpoint}
        bucket = "ckpt-" + uuid.uuid4().hex[:8]
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        plain, with_ckpt = f"s3://{bucket}/plain", f"s3://{bucket}/ckpt"
        old = args.runs - args.newer
        # the old runs registered a day ago (their synthetic start times run into the future at
        # 20,000 runs), a history older than the checkpoint's margin
        day_ago = datetime.now(timezone.utc) - timedelta(days=1)
        for url in (plain, with_ckpt):
            generate(url, old, args.assets, opts, registered_at=lambda run: day_ago)
        t0 = time.perf_counter()
        written = checkpoint.write(*open_fs(with_ckpt, opts)).written
        made = time.perf_counter() - t0
        for url in (plain, with_ckpt):
            generate(url, args.newer, args.assets, opts, start=old)
        fs, _ = open_fs(plain, opts)
        rows, ratios = {}, []
        for _ in range(args.repeat):
            times = {}
            for label, url, full in (("every run", plain, False), ("checkpoint + run log", with_ckpt, False),
                                     ("checkpoint, root listed", with_ckpt, True)):
                with Count(fs) as c:
                    t = time.perf_counter()
                    store = Store.open(url, opts, cache=False, full_listing=full)
                    len(store.index.versions)  # every version parsed
                    times[label] = time.perf_counter() - t
                rows[label] = dict(c.counts)
                assert len(store.runs) == args.runs
            ratios.append((times["checkpoint + run log"] / times["every run"],
                           times["checkpoint, root listed"] / times["every run"]))
        size = fs.size(f"{bucket}/ckpt/_frontier_checkpoints/{written.name}")
        print(f"{args.runs} runs x {args.assets} assets on moto's S3 server; checkpoint of {old} runs "
              f"({size / 1e6:.1f} MB, written in {made:.1f} s), {args.newer} runs after it\n")
        print("| cold open | LIST | GET | total requests | time (ratio, median) |")
        print("|---|---:|---:|---:|---:|")
        for k, (label, counts) in enumerate(rows.items()):
            ratio = 1.0 if k == 0 else statistics.median(r[k - 1] for r in ratios)
            print(f"| {label} | {counts.get('LIST', 0)} | {counts.get('GET', 0)} | {sum(counts.values())} | {ratio:.2f}x |")
        print(f"\nratios of each repetition (run log, root listed): {', '.join(f'{a:.2f}/{b:.2f}' for a, b in ratios)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
