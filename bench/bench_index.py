"""Benchmark: indexing a store, cold, warm (from the local cache) and refreshed.

Local disk: a synthetic store of N runs x M assets (bench/gen_store.py). Each phase runs in
a fresh process (so "warm" is a real reopen and peak memory is per phase):

- floor:   list the root, read every manifest with the same reader and batch size as the
           index (``index.cat_many``, 256 at a time) and ``json.loads`` it. Nothing else.
- cold:    ``Store.open(path)`` with an empty cache: read, validate, build the index, write the cache.
- nocache: ``Store.open(path, cache=False)``: the same without writing the cache.
- warm:    ``Store.open(path)`` again: runs from the cache (the versions are parsed on first use).
- warm+versions: the same, then every version materialized (``len(store.index.versions)``).
- refresh: a warm open, one new run written, then ``store.refresh()`` (timed alone).

Every phase imports the same modules before its timing starts, then freezes them out of the
garbage collector (``gc.freeze()``), and ends with a full ``gc.collect()`` inside its timing:
the index pauses the cyclic collector while it builds objects, and the deferred work on
what the phase made is counted (not the work on the imported modules, the same for all).

S3 (moto's server on 127.0.0.1, through s3fs): requests counted by kind with a botocore
event hook on the s3fs client, for a cold index, a warm reopen and a refresh after one new run.

    python bench/bench_index.py                      # 10,000 x 20 local, 1,200 x 5 on moto
    python bench/bench_index.py --runs 2000 --s3-runs 300
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
phase, path = sys.argv[1], sys.argv[2]
from explorer import Store
from explorer.store.fsspec_adapter import cat_many
from explorer.store.read import list_run_ids
from explorer.store.fs import open_fs
from explorer.store import cache  # noqa: F401 - imported before timing, like the floor's modules
from explorer import format as fmt
import gc
gc.collect()
gc.freeze()  # the collection at the end then counts only objects the phase made, not the imports
opts = json.loads(os.environ.get("FE_BENCH_OPTIONS") or "null")  # an S3 store's options
counter = None
if opts:
    from bench_index import Requests
    counter = Requests(open_fs(path, opts)[0]).__enter__()  # the instance the store uses
out = {{}}
t0 = time.perf_counter(); c0 = time.process_time()
if phase == "floor":
    fs, root = open_fs(path, opts)
    ids = list_run_ids(fs, root)
    n = 0
    for s in range(0, len(ids), 256):
        for raw in cat_many(fs, [fmt.join(root, fmt.run_manifest_path(r)) for r in ids[s:s + 256]], batch_size=256):
            n += len(json.loads(raw)["versions"])
    out["versions"] = n
elif phase in ("cold", "warm", "nocache"):
    store = Store.open(path, opts, cache=phase != "nocache")
    out["runs"] = len(store.runs)
    out["lazy"] = type(store.index).__name__ == "LazyIndex"
elif phase == "warm+versions":
    store = Store.open(path, opts)
    out["versions"] = len(store.index.versions)
elif phase == "refresh":
    store = Store.open(path, opts)
    len(store.index.versions)
    import gen_store
    n = len(store.runs)
    gen_store.generate(path, 1, int(sys.argv[3]), opts, sidecars=bool(opts), start=n)
    if counter is not None:
        counter.counts.clear()
    t0 = time.perf_counter(); c0 = time.process_time()
    store.refresh()
    out["runs"] = len(store.runs)
    out["read"] = len(store._indexer.last_read)
elif phase == "baseline":
    pass
gc.collect()  # inside the timing: collection work deferred by the index's bulk load is counted
out["seconds"] = time.perf_counter() - t0
out["cpu"] = time.process_time() - c0
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if counter is not None:
    out["requests"] = dict(counter.counts)
print(json.dumps(out))
"""


def child(phase: str, path: str, cache_dir: str, *extra: str, options: dict | None = None) -> dict:
    env = dict(os.environ, FRONTIER_EXPLORE_CACHE_DIR=cache_dir, PYTHONPATH=ROOT,
               FE_BENCH_OPTIONS=json.dumps(options) if options else "")
    code = CHILD.format(root=ROOT, here=HERE)
    res = subprocess.run([sys.executable, "-c", code, phase, path, *extra], env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_local(runs: int, assets: int, workdir: str, repeat: int) -> None:
    path = os.path.join(workdir, f"store-{runs}x{assets}")
    if not os.path.exists(os.path.join(path, ".complete")):
        shutil.rmtree(path, ignore_errors=True)
        t = time.perf_counter()
        # in a child process: generating grows this process, and children inherit its peak RSS
        subprocess.run([sys.executable, os.path.join(HERE, "gen_store.py"), path, "--runs", str(runs),
                        "--assets", str(assets)], check=True, env=dict(os.environ, PYTHONPATH=ROOT))
        open(os.path.join(path, ".complete"), "w").close()
        print(f"generated {runs} runs x {assets} assets in {time.perf_counter() - t:.1f} s")
    size = sum(os.path.getsize(os.path.join(path, r, "_frontier", "run.json"))
               for r in os.listdir(path) if not r.startswith(("_", ".")))
    print(f"\n## local disk: {runs} runs x {assets} assets ({size / 2**20:.0f} MB of manifests)\n")
    cache_dir = os.path.join(workdir, "cache")
    base = child("baseline", path, cache_dir)
    best: dict[str, dict] = {}

    def keep(name: str, r: dict) -> None:
        if name not in best or r["cpu"] < best[name]["cpu"]:
            best[name] = r

    child("floor", path, cache_dir)  # warm the page cache for everyone
    for _ in range(repeat):  # interleaved, best of `repeat`: the machine is shared
        keep("floor", child("floor", path, cache_dir))
        shutil.rmtree(cache_dir, ignore_errors=True)
        keep("cold", child("cold", path, cache_dir))
        keep("warm", child("warm", path, cache_dir))
        keep("warm+versions", child("warm+versions", path, cache_dir))
    keep("nocache", child("nocache", path, cache_dir))
    refresh_store = path + "-refresh"
    shutil.rmtree(refresh_store, ignore_errors=True)
    shutil.copytree(path, refresh_store)
    rcache = os.path.join(workdir, "cache-refresh")
    shutil.rmtree(rcache, ignore_errors=True)
    child("cold", refresh_store, rcache)
    keep("refresh", child("refresh", refresh_store, rcache, str(assets)))
    shutil.rmtree(refresh_store, ignore_errors=True)
    shutil.rmtree(rcache, ignore_errors=True)

    floor = best["floor"]["cpu"]
    cold = best["cold"]["cpu"]
    print("Best of %d, interleaved. CPU time of the phase (the machine is shared, so CPU time is the "
          "steadier measure; local reads come from the page cache, so CPU ~ wall when idle)." % repeat)
    print()
    print(f"| phase | CPU time | vs floor | wall time | peak RSS ({base['peak_mb']:.0f} MB is Python + imports) |")
    print("|---|---:|---:|---:|---:|")
    for name in ("floor", "cold", "nocache", "warm", "warm+versions", "refresh"):
        r = best[name]
        print(f"| {name} | {r['cpu']:.3f} s | {r['cpu'] / floor:.2f}x | {r['seconds']:.3f} s | {r['peak_mb']:.0f} MB |")
    print(f"\ncold / floor = {cold / floor:.2f} (target <= 1.5)")
    print(f"cold / warm = {cold / best['warm']['cpu']:.1f} (target >= 20)")
    print(f"cold / warm+versions = {cold / best['warm+versions']['cpu']:.2f}")
    print(f"refresh read {best['refresh']['read']} run(s)")


class Requests:
    """Counts an s3fs filesystem's HTTP requests by kind (observing, not mocking)."""

    def __init__(self, fs) -> None:
        from urllib.parse import urlsplit

        self.fs, self.counts, self._split = fs, Counter(), urlsplit

    def _on(self, request, **_) -> None:
        parts = self._split(request.url)
        key = parts.path.lstrip("/").partition("/")[2]
        kind = request.method.upper()
        if kind == "GET" and (not key or "list-type=" in parts.query):
            kind = "LIST"
        self.counts[kind] += 1

    def __enter__(self):
        self.fs.connect()
        self.fs.s3.meta.events.register("before-send.s3", self._on, unique_id="bench-count")
        return self

    def __exit__(self, *exc) -> None:
        self.fs.s3.meta.events.unregister("before-send.s3", unique_id="bench-count")

    def show(self) -> str:
        return ", ".join(f"{k} {self.counts.get(k, 0)}" for k in ("LIST", "GET", "HEAD", "PUT"))


def bench_s3(runs: int, assets: int, workdir: str) -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["FRONTIER_EXPLORE_CACHE_DIR"] = os.path.join(workdir, "s3-cache")
    shutil.rmtree(os.environ["FRONTIER_EXPLORE_CACHE_DIR"], ignore_errors=True)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://%s:%d" % server.get_host_and_port()
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench")
        opts = {"endpoint_url": endpoint}
        url = "s3://bench/store"
        t = time.perf_counter()
        # in a child process: generating grows this process, and children inherit its peak RSS
        subprocess.run([sys.executable, os.path.join(HERE, "gen_store.py"), url, "--runs", str(runs), "--assets",
                        str(assets), "--sidecars", "-o", f"endpoint_url={endpoint}"], check=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
        print(f"\n## S3 (moto server): {runs} runs x {assets} assets, with sidecars "
              f"(written in {time.perf_counter() - t:.0f} s)\n")
        cache_dir = os.environ["FRONTIER_EXPLORE_CACHE_DIR"]
        base = child("baseline", url, cache_dir, options=opts)
        rows = []  # each phase in a fresh process, like the local ones: requests, wall time, peak RSS
        for name, phase, extra in (("floor (list + GET + json.loads)", "floor", ()), ("cold index", "cold", ()),
                                   ("warm reopen", "warm", ()), ("warm reopen + every version", "warm+versions", ()),
                                   ("refresh after one new run", "refresh", (str(assets),)),
                                   ("no cache (--no-cache)", "nocache", ())):
            r = child(phase, url, cache_dir, *extra, options=opts)
            c = Counter(r["requests"])
            shown = ", ".join(f"{k} {c.get(k, 0)}" for k in ("LIST", "GET", "HEAD", "PUT"))
            rows.append((name, shown, r["seconds"], sum(c.values()), r["peak_mb"]))
        print("| phase | requests | total | wall time on moto | peak RSS (%d MB is Python + imports) |" % base["peak_mb"])
        print("|---|---|---:|---:|---:|")
        for name, shown, secs, total, peak in rows:
            print(f"| {name} | {shown} | {total} | {secs:.2f} s ({secs / rows[0][2]:.2f}x floor) | {peak:.0f} MB |")
        budget = runs + math.ceil(runs / 1000)
        print(f"\ncold budget N GETs + ceil(N/1000) LISTs = {budget}; refresh budget 5")
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--assets", type=int, default=20)
    ap.add_argument("--s3-runs", type=int, default=1_200)
    ap.add_argument("--s3-assets", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", help="keep generated stores here (reused between runs)")
    ap.add_argument("--skip-local", action="store_true")
    ap.add_argument("--skip-s3", action="store_true")
    a = ap.parse_args()
    workdir = a.workdir or tempfile.mkdtemp(prefix="fe-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        if not a.skip_local:
            bench_local(a.runs, a.assets, workdir, a.repeat)
        if not a.skip_s3:
            bench_s3(a.s3_runs, a.s3_assets, workdir)
    finally:
        if not a.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
