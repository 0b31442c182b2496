"""Benchmark: the requests each read command sends to S3 (moto's server on 127.0.0.1).

The demo store is copied into a bucket; each read command then runs in this process
against it, with a warm index cache (the store was opened once before), and the requests
its s3fs client sends are counted by kind with a botocore ``before-send`` hook (observing,
not mocking). A command's requests beyond the listing of the store root are the cost of
what it reads: data files, flags, previews.

    python bench/bench_s3_commands.py            # a markdown table of requests per command
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

COMMANDS: list[list[str]] = [
    ["runs"],
    ["assets"],
    ["assets", "--verify"],
    ["show", "features"],
    ["show", "models/credit_risk"],
    ["provenance", "scores"],
    ["stale"],
    ["diff", "scores", "previous", "latest"],
    ["diff", "features", "20261013T020000Z-r5", "20261020T020000Z-r6"],
    ["history", "raw/applications", "--stat", "num_rows"],
    ["sql", "select count(*) from features"],
    ["trace", "scores", "--where", "application_id=100007"],
    ["export", "--format", "openlineage"],
    ["flags"],
]


class Count:
    def __init__(self, fs) -> None:
        self.fs, self.counts = fs, Counter()
        self.paths: Counter = Counter()

    def _on_send(self, request, **kwargs) -> None:
        parts = urlsplit(request.url)
        key = parts.path.lstrip("/").partition("/")[2]
        kind = request.method.upper()
        if kind == "GET" and (not key or "list-type=" in parts.query):
            kind = "LIST"
        self.counts[kind] += 1
        self.paths[(kind, key.rsplit("/", 1)[-1] or parts.query[:40])] += 1

    def __enter__(self):
        self.fs.connect()
        self.fs.s3.meta.events.register("before-send.s3", self._on_send, unique_id=f"bench-{id(self)}")
        return self

    def __exit__(self, *exc) -> None:
        self.fs.s3.meta.events.unregister("before-send.s3", unique_id=f"bench-{id(self)}")


def main() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    from explorer.cli import main as cli
    from explorer.demo import DEMO_STORE
    from explorer.store.fs import open_fs

    verbose = "-v" in sys.argv
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    cache = tempfile.mkdtemp(prefix="fe-bench-cache-")
    os.environ["FRONTIER_EXPLORE_CACHE_DIR"] = cache
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        endpoint = "http://%s:%d" % server.get_host_and_port()
        bucket = "cmd-" + uuid.uuid4().hex[:8]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        for f in sorted(p for p in Path(DEMO_STORE).rglob("*") if p.is_file()):
            s3.put_object(Bucket=bucket, Key="demo/" + f.relative_to(DEMO_STORE).as_posix(), Body=f.read_bytes())
        url = f"s3://{bucket}/demo"
        opts = ["-o", f"endpoint_url={endpoint}"]
        fs, _ = open_fs(url, {"endpoint_url": endpoint})  # the instance the commands share
        with contextlib.redirect_stdout(io.StringIO()):
            cli(["runs", url, *opts])  # warm the index cache
        print("| command | LIST | GET | HEAD | total |")
        print("|---|---:|---:|---:|---:|")
        totals: Counter = Counter()
        for args in COMMANDS:
            with Count(fs) as c, contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = cli([args[0], url, *args[1:], *opts])
            shown = " ".join(args)
            n = c.counts
            totals.update(n)
            print(f"| `{shown}`{'' if code in (0, 1) else f' (exit {code})'} | {n['LIST']} | {n['GET']} | {n['HEAD']} | "
                  f"{sum(n.values())} |")
            if verbose:
                for (kind, name), k in sorted(c.paths.items()):
                    print(f"    {kind} {name} x{k}")
        print(f"| **all** | {totals['LIST']} | {totals['GET']} | {totals['HEAD']} | {sum(totals.values())} |")
    finally:
        server.stop()
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
