"""A real S3 endpoint for tests: moto's standalone server on 127.0.0.1 (a free port),
talked to through s3fs exactly as to AWS, plus a request counter and a small pipeline.

Import the fixtures into a test module: ``from s3_support import moto_endpoint, ...``.
Counting requests uses a botocore event hook on the s3fs client (observing, not mocking).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pandas as pd
import pytest

from explorer.store import RunWriter
from explorer.store.fs import open_fs

TEST_KEY = "AKIATESTKEYFRONTIER0"
TEST_SECRET = "s3cr3t-Frontier-Test-Secret-9f8e7d"


@pytest.fixture(scope="session")
def moto_endpoint():
    """``http://127.0.0.1:<port>`` of a moto S3 server running for the whole session."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                            "AWS_SESSION_TOKEN", "AWS_PROFILE")}
    os.environ["AWS_ACCESS_KEY_ID"] = TEST_KEY
    os.environ["AWS_SECRET_ACCESS_KEY"] = TEST_SECRET
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def bucket(moto_endpoint) -> str:
    """A fresh, empty bucket."""
    import boto3

    name = "fe-" + uuid.uuid4().hex[:12]
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


class RequestCounter:
    """Counts the HTTP requests an s3fs filesystem sends, by kind (GET, LIST, HEAD, PUT...)."""

    def __init__(self, fs) -> None:
        self.fs = fs
        self.counts: Counter = Counter()
        self.log: list[tuple[str, str]] = []

    def _on_send(self, request, **kwargs) -> None:
        method = request.method.upper()
        url = request.url
        parts = urlsplit(url)
        key = parts.path.lstrip("/").partition("/")[2]  # path-style: /bucket/key
        kind = method
        if method == "GET" and (not key or "list-type=" in parts.query):
            kind = "LIST"
        self.counts[kind] += 1
        self.log.append((kind, url))

    def __enter__(self) -> "RequestCounter":
        self.fs.connect()
        self.fs.s3.meta.events.register("before-send.s3", self._on_send, unique_id=f"count-{id(self)}")
        return self

    def __exit__(self, *exc) -> None:
        self.fs.s3.meta.events.unregister("before-send.s3", unique_id=f"count-{id(self)}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts.clear()
        self.log.clear()


def s3_fs(endpoint: str):
    fs, _ = open_fs("s3://x", {"endpoint_url": endpoint})
    return fs


class Clock:
    """A deterministic clock: every call is one second later."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


BASE = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
RUN_IDS = ["20260301T020000Z-ingest", "20260302T020000Z-train", "20260303T020000Z-trainfail", "20260304T020000Z-score"]


def write_pipeline(url: str, storage_options: dict | None = None) -> list[str]:
    """Four runs: ingest; train (reads ingest's raw data: a cross-run input); a failed train;
    score (reads train's model and ingest's data). Deterministic: the same bytes anywhere."""
    opts = dict(storage_options or {})
    r1, r2, r3, r4 = RUN_IDS
    raw = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "amount": [10.0, 20.5, 3.0, 44.0, 5.5, 60.0],
                        "region": ["n", "s", "n", "e", "w", "s"]})
    with RunWriter(url, job="ingest", code_version="v1", tags={"env": "test"}, storage_options=opts,
                   run_id=r1, started_at=BASE, clock=Clock(BASE)) as run:
        run.write("raw/transactions", raw, keys=["id"])
        run.write("raw/regions", {"n": "north", "s": "south", "e": "east", "w": "west"})
    t2 = BASE + timedelta(days=1)
    with RunWriter(url, job="train", code_version="v1", storage_options=opts, run_id=r2, started_at=t2,
                   clock=Clock(t2), plan={"features": ["raw/transactions"], "model": ["features"]}) as run:
        feats = raw.assign(big=raw.amount > 20)
        run.write("features", feats, inputs=[("raw/transactions", r1), ("raw/regions", r1)])
        run.write("model", b"\x00model-weights-v1", inputs=["features"], metadata={"auc": 0.91})
    t3 = BASE + timedelta(days=2)
    with pytest.raises(RuntimeError):
        with RunWriter(url, job="train", code_version="v2", storage_options=opts, run_id=r3, started_at=t3,
                       clock=Clock(t3), plan={"features": ["raw/transactions"], "model": ["features"]}) as run:
            run.write("features", raw.assign(big=raw.amount > 30), inputs=[("raw/transactions", r1)])
            raise RuntimeError("training diverged")
    t4 = BASE + timedelta(days=3)
    with RunWriter(url, job="score", code_version="v1", storage_options=opts, run_id=r4, started_at=t4,
                   clock=Clock(t4)) as run:
        run.write("scores", raw[["id"]].assign(score=[0.1, 0.9, 0.2, 0.8, 0.3, 0.7]),
                  inputs=[("model", r2), ("raw/transactions", r1)])
    return RUN_IDS
