"""A small store with cross-run lineage for the catalogue, SQL, export and flag tests.

The story (every run reads something; R3 and R4 read earlier runs' outputs)::

    R1 ingest+train  raw (A)      -> features -> model -> scores ; bureau.csv
    R2 ingest        raw (B)      -> features ; parts (raw B as a parquet directory by region)
    R3 scoring       features@R2  -> model -> scores             (cross-run input)
    R4 rebuild       raw (A again, identical bytes) -> features (parquet directory)
                     features@R4 + model@R3 -> scores            (cross-run input)
    R5 failed        raw (B again) then fails; plans "report" which is never written
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from explorer.store import RunWriter

BASE = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)
R1, R2, R3, R4, R5 = (f"2026050{i}T020000Z-r{i}" for i in range(1, 6))
RUNS = [R1, R2, R3, R4, R5]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=7)
        return self.t


RAW_A = pd.DataFrame(
    {"id": [1, 2, 3, 4, 5, 6], "amount": [10.0, 20.5, 3.0, 44.0, 5.5, 60.0], "region": list("nsnews")}
)
RAW_B = pd.DataFrame(
    {"id": [1, 2, 3, 4, 5, 6, 7, 8], "amount": [11.0, 20.5, 3.5, 40.0, 5.5, 61.0, 7.0, 99.0], "region": list("nsnewsen")}
)
BUREAU = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "score": [650, 700, 580, 720, 690, 610]})


def features_of(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(big=raw["amount"] > 20, double=raw["amount"] * 2)


def scores_of(feats: pd.DataFrame, w: float) -> pd.DataFrame:
    return pd.DataFrame({"id": feats["id"], "score": (feats["amount"] * w).round(3), "region": feats["region"]})


def _writer(url, run_id, i, job, opts, **kw):
    start = BASE + timedelta(days=i)
    return RunWriter(url, job=job, code_version=f"v{i}", run_id=run_id, started_at=start, clock=Clock(start),
                     storage_options=opts, tags={"team": "risk"}, **kw)


def build_store(url: str, storage_options: dict | None = None, runs: int = 5) -> list[str]:
    """Write the story above (the first ``runs`` runs). Returns the run ids."""
    opts = dict(storage_options or {})
    with _writer(url, R1, 0, "pipeline", opts) as run:
        run.write("raw", RAW_A, keys=["id"], metadata={"source": "db"})
        run.write("bureau", BUREAU, format="csv")
        run.write("features", features_of(RAW_A), inputs=["raw", "bureau"], metadata={"n_features": 2})
        run.write("model", {"w": 0.5}, inputs=["features"], metadata={"auc": 0.71})
        run.write("scores", scores_of(RAW_A, 0.5), inputs=["features", "model"])
    with _writer(url, R2, 1, "ingest", opts) as run:
        run.write("raw", RAW_B, keys=["id"], metadata={"source": "db"})
        run.write("features", features_of(RAW_B), inputs=["raw"], metadata={"n_features": 2})
        run.write("parts", RAW_B, inputs=["raw"], format="directory", partition_by=["region"])
    if runs <= 2:
        return RUNS[:2]
    with _writer(url, R3, 2, "scoring", opts) as run:
        run.write("model", {"w": 0.25}, inputs=[("features", R2)], metadata={"auc": 0.78})
        run.write("scores", scores_of(RAW_B, 0.25), inputs=[("features", R2), "model"])
    with _writer(url, R4, 3, "rebuild", opts) as run:
        run.write("raw", RAW_A, keys=["id"], metadata={"source": "db"})
        run.write("features", features_of(RAW_A), inputs=["raw"], format="directory", partition_by=["region"])
        run.write("scores", scores_of(RAW_A, 0.25), inputs=["features", ("model", R3)])
    with pytest.raises(RuntimeError):
        with _writer(url, R5, 4, "ingest", opts, plan={"raw": [], "report": ["raw"]}) as run:
            run.write("raw", RAW_B, keys=["id"], metadata={"source": "db"})
            raise RuntimeError("report step crashed")
    return RUNS


# Fixtures imported into several test modules run once per module; these caches make the
# expensive parts (the store, the moto server, the S3 store) happen once per process.
_CACHE: dict[str, object] = {}


@pytest.fixture(scope="session")
def lineage_store(tmp_path_factory) -> str:
    """The story written once per session (read-only for tests: copy it to write flags)."""
    if "local" not in _CACHE:
        path = str(tmp_path_factory.mktemp("catalogue") / "store")
        build_store(path)
        _CACHE["local"] = path
    return _CACHE["local"]


@pytest.fixture
def writable_store(lineage_store, tmp_path) -> str:
    """A private copy of the story, for tests that flag."""
    import shutil

    dst = str(tmp_path / "store")
    shutil.copytree(lineage_store, dst)
    return dst


# ---------------------------------------------------------------------- S3 (moto)

TEST_KEY = "AKIACATALOGUETEST000"
TEST_SECRET = "catalogue-test-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def moto_endpoint():
    """``http://127.0.0.1:<port>`` of a moto S3 server (one per process). Credentials are
    passed as storage options (``S3_OPTIONS``), never through the environment."""
    import atexit

    from moto.server import ThreadedMotoServer

    if "moto" not in _CACHE:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        atexit.register(server.stop)
        host, port = server.get_host_and_port()
        _CACHE["moto"] = f"http://{host}:{port}"
    return _CACHE["moto"]


def s3_options(endpoint: str) -> dict:
    return {"endpoint_url": endpoint, "key": TEST_KEY, "secret": TEST_SECRET}


def make_bucket(endpoint: str, name: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=TEST_KEY,
                 aws_secret_access_key=TEST_SECRET).create_bucket(Bucket=name)


@pytest.fixture(scope="session")
def s3_store(moto_endpoint) -> tuple[str, dict]:
    """(url, storage_options) of a two-run story in a fresh bucket on the moto server."""
    if "s3" not in _CACHE:
        make_bucket(moto_endpoint, "catalogue-test")
        url = "s3://catalogue-test/stores/lineage"
        opts = s3_options(moto_endpoint)
        build_store(url, opts, runs=2)
        _CACHE["s3"] = (url, opts)
    return _CACHE["s3"]
