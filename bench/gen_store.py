"""Generate a synthetic run-prefixed store: N runs x M assets with realistic sidecars.

Each run's consolidated manifest (and, with ``--sidecars``, its per-version sidecars) is
built from the project's own models and serialised with ``format.run_doc`` /
``format.sidecar_doc`` / ``format.dumps``: byte for byte the format RunWriter produces.
Data files are not written (the index never reads them), which keeps generation fast.

    python bench/gen_store.py /tmp/big-store --runs 10000 --assets 20
    python bench/gen_store.py s3://bucket/store --runs 500 --assets 5 -o endpoint_url=http://127.0.0.1:5000
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from explorer import format as fmt  # noqa: E402
from explorer.models import AssetVersion, ColumnStats, InputRef, PlannedAsset, Run, TableInfo  # noqa: E402
from explorer.store.fs import is_local, open_fs, parse_storage_options  # noqa: E402

BASE = datetime(2025, 1, 1, tzinfo=timezone.utc)
TYPES = [("int64", 0, 10**6), ("double", 0.0, 1.0), ("large_string", "a", "zz"), ("bool", False, True),
         ("timestamp[us, tz=UTC]", "2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z")]


def asset_keys(m: int) -> list[str]:
    layers = ["raw", "clean", "features", "models", "reports"]
    return [f"{layers[min(i * len(layers) // m, len(layers) - 1)]}/asset_{i:03d}" for i in range(m)]


def _hash(rng: random.Random) -> str:
    return "sha256:" + "%064x" % rng.getrandbits(256)


def make_run(i: int, keys: list[str], rng: random.Random, prev: dict[str, InputRef]) -> tuple[Run, list[AssetVersion]]:
    run_id = (BASE + timedelta(hours=i)).strftime("%Y%m%dT%H%M%SZ") + f"-{i:06d}"
    started = BASE + timedelta(hours=i)
    code = f"v{1 + i // 500}"
    versions: list[AssetVersion] = []
    here: dict[str, InputRef] = {}
    for j, key in enumerate(keys):
        kind = rng.random()
        fmt_name = "parquet" if kind < 0.6 else "json" if kind < 0.8 else "npy" if kind < 0.9 else "directory"
        inputs: list[InputRef] = []
        if j:
            for up in rng.sample(keys[:j], k=min(j, rng.randint(1, 3))):
                inputs.append(here[up])
        elif prev:
            inputs.append(prev[keys[-1]])  # cross-run input: last run's final output
        table = None
        if fmt_name in ("parquet", "directory"):
            cols = []
            for c in range(rng.randint(4, 8)):
                t, lo, hi = TYPES[rng.randrange(len(TYPES))]
                cols.append(ColumnStats(f"col_{c}", t, rng.randint(0, 50), lo, hi,
                                        rng.random() * 100 if t in ("int64", "double") else None, rng.randint(1, 10**5)))
            table = TableInfo(rng.randint(10**3, 10**6), tuple(cols))
        created = started + timedelta(seconds=10 * (j + 1))
        v = AssetVersion(
            asset=key, run_id=run_id, created_at=created,
            data_path=fmt.data_path(run_id, key, fmt_name), data_format=fmt_name,
            size_bytes=rng.randint(10**3, 10**8), content_hash=_hash(rng), code_version=code,
            metadata={"rows_dropped": rng.randint(0, 100), "source": "synthetic"} if rng.random() < 0.5 else {},
            inputs=tuple(inputs), table=table, keys=("col_0",) if table and rng.random() < 0.3 else (),
        )
        versions.append(v)
        here[key] = v.ref
    prev.clear()
    prev.update(here)
    status = "failed" if rng.random() < 0.05 else "success"
    run = Run(run_id=run_id, job="pipeline", status=status, started_at=started,
              finished_at=started + timedelta(seconds=10 * (len(keys) + 1)), tags={"env": "bench", "team": "ml"},
              code_version=code, planned=tuple(PlannedAsset(k, None, code) for k in keys), consolidated=True,
              asset_count=len(versions))
    return run, versions


def generate(url: str, runs: int, assets: int, storage_options: dict | None = None, sidecars: bool = False,
             start: int = 0, seed: int = 7, registered_at=None) -> list[str]:
    """Write runs ``start .. start+runs-1``; returns their ids. Deterministic for a seed (but
    for the run log's names). Each run is registered in the run log, as every writer of a store
    whose marker says ``run_log`` does: at ``registered_at(run)`` (default: now; a history
    written long ago: ``lambda run: run.started_at``)."""
    fs, root = open_fs(url, storage_options)
    keys = asset_keys(assets)
    rng = random.Random(seed * 1_000_003 + start)
    prev: dict[str, InputRef] = {}
    files: dict[str, bytes] = {fmt.STORE_MARKER: fmt.dumps(fmt.store_marker_doc())} if start == 0 else {}
    ids = []
    for i in range(start, start + runs):
        run, versions = make_run(i, keys, rng, prev)
        ids.append(run.run_id)
        files[fmt.run_manifest_path(run.run_id)] = fmt.dumps(fmt.run_doc(run, versions))
        at = registered_at(run) if registered_at is not None else datetime.now(timezone.utc)
        files[fmt.run_log_path(fmt.run_log_name(run.run_id, at))] = b""
        if sidecars:
            for v in versions:
                files[fmt.sidecar_path(run.run_id, v.asset)] = fmt.dumps(fmt.sidecar_doc(v))
    if is_local(fs):
        made = set()
        for rel, data in files.items():
            path = os.path.join(root, rel)
            d = os.path.dirname(path)
            if d not in made:
                os.makedirs(d, exist_ok=True)
                made.add(d)
            with open(path, "wb") as f:
                f.write(data)
    else:
        items = list(files.items())
        for k in range(0, len(items), 500):
            fs.pipe({fmt.join(root, rel): data for rel, data in items[k : k + 500]})
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--assets", type=int, default=20)
    ap.add_argument("--sidecars", action="store_true", help="also write the per-version sidecars")
    ap.add_argument("--start", type=int, default=0, help="index of the first run (to append runs)")
    ap.add_argument("-o", "--storage-option", action="append", default=[])
    a = ap.parse_args()
    ids = generate(a.url, a.runs, a.assets, parse_storage_options(a.storage_option), a.sidecars, a.start)
    print(f"wrote {len(ids)} runs x {a.assets} assets to {a.url}")


if __name__ == "__main__":
    main()
