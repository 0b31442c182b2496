"""Benchmark: a keyed diff of two parquet versions vs DuckDB's bare hash-and-join count query.

    python bench/bench_diff.py --rows 10000000
    python bench/bench_diff.py --rows 2000000 --columns 200     # wide

Generates two versions of an N-row table of 10 columns (or ``--columns``: the 10, then ints,
floats, strings and bools in turn), B with 1% of rows changed, 0.5% removed, 0.5% added, then
times, each in a fresh subprocess (so peak RSS is per measurement):

* ``baseline``: DuckDB's bare query on the same files: hash each row, full outer join on the
  key, count added / removed / changed. The least any correct keyed diff has to do.
* ``except``: DuckDB's plain ``EXCEPT ALL`` of the two files, both ways (rows of A not in B, rows
  of B not in A): what a user would write by hand; no key, no per-column counts.
* ``diff``: ``explorer.diff.table.diff_tables`` with ``keys=["id"]``: counts, duplicate-key
  check, per-column changed counts, samples.

The counts of the three are checked against each other (A EXCEPT B = removed + changed rows).

With ``--process`` it measures whole processes instead, as a user meets them (median of
``--repeat``, alternating): the two versions written into a store with ``RunWriter``, then

* ``floor``: a fresh Python process that imports DuckDB and runs the baseline query on the
  store's two data files;
* ``cli``: ``frontier-explore diff STORE t r1 r2 --key id --format json`` (output discarded):
  imports, opening the store, the diff, the JSON.

    python bench/bench_diff.py --rows 2000000 --process --repeat 3

Prints a table and the ratio diff / baseline (target: under 3x). Timings are best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1_000_000


def _chunk(start: int, stop: int, version: str, columns: int = 10):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = np.arange(start, stop, dtype=np.int64)
    rng = np.random.default_rng(start)  # same chunk -> same values in both versions
    n = len(ids)
    cols = {
        "id": ids,
        "qty": rng.integers(0, 1000, n),
        "price": np.round(rng.random(n) * 500, 2),
        "score": rng.random(n),
        "region": pa.array(rng.choice(["north", "south", "east", "west", "central"], n)),
        "user": pc.binary_join_element_wise("user-", pc.cast(pa.array(ids % 1_000_003), pa.string()), ""),
        "flag": rng.random(n) < 0.3,
        "count": rng.integers(0, 50, n).astype(np.int32),
        "ts": pa.array(1_700_000_000_000 + ids * 1000, pa.timestamp("ms", tz="UTC")),
        "ratio": np.where(rng.random(n) < 0.05, np.nan, rng.random(n)),
    }
    for j in range(columns - len(cols)):  # wide: ints, floats, strings, bools in turn
        kind = j % 4
        if kind == 0:
            cols[f"i{j}"] = rng.integers(0, 1000, n)
        elif kind == 1:
            cols[f"f{j}"] = np.round(rng.random(n) * 100, 2)
        elif kind == 2:
            cols[f"s{j}"] = pa.array(rng.choice(["alpha", "beta", "gamma", "delta"], n))
        else:
            cols[f"b{j}"] = rng.random(n) < 0.5
    table = pa.table(cols)
    if version == "b":
        keep = (ids % 200) != 7  # 0.5% removed
        changed = (ids % 100) == 3  # 1% changed
        table = table.set_column(2, "price", pa.array(np.where(changed, cols["price"] + 1.0, cols["price"])))
        table = table.filter(pa.array(keep))
    return table


def generate(folder: Path, rows: int, columns: int = 10) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    chunk = max(10_000, min(CHUNK, 20_000_000 // columns))  # bounded memory when wide
    paths = {}
    for version in ("a", "b"):
        path = folder / version / "t.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = None
        for start in range(0, rows, chunk):
            t = _chunk(start, min(rows, start + chunk), version, columns)
            writer = writer or pq.ParquetWriter(path, t.schema, compression="zstd")
            writer.write_table(t, row_group_size=128 * 1024)
        if version == "b":  # 0.5% added rows, new keys
            extra = rows // 200
            for start in range(rows, rows + extra, chunk):
                writer.write_table(_chunk(start, min(rows + extra, start + chunk), "a", columns),
                                   row_group_size=128 * 1024)
        writer.close()
        paths[version] = path
    return paths["a"], paths["b"]


BASELINE_SQL = """
SELECT count(*) FILTER (WHERE a.id IS NULL) AS added,
       count(*) FILTER (WHERE b.id IS NULL) AS removed,
       count(*) FILTER (WHERE a.h <> b.h) AS changed
FROM (SELECT id, hash({cols}) AS h FROM read_parquet('{a}')) a
FULL OUTER JOIN (SELECT id, hash({cols}) AS h FROM read_parquet('{b}')) b ON a.id = b.id
"""


EXCEPT_SQL = """
SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet('{a}') EXCEPT ALL SELECT * FROM read_parquet('{b}'))),
       (SELECT count(*) FROM (SELECT * FROM read_parquet('{b}') EXCEPT ALL SELECT * FROM read_parquet('{a}')))
"""


def measure(kind: str, folder: Path) -> dict:
    """Run one measurement in this process; return seconds, result and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from datetime import datetime, timezone
    from types import SimpleNamespace

    import duckdb
    from fsspec.implementations.local import LocalFileSystem

    from explorer.diff.table import diff_tables  # imports are not timed
    from explorer.models import AssetVersion

    a, b = folder / "a" / "t.parquet", folder / "b" / "t.parquet"
    import pyarrow.parquet as pq

    names = pq.read_schema(a).names
    cols = ", ".join('"' + c + '"' for c in names if c != "id")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    if kind == "baseline":
        con = duckdb.connect(":memory:")
        tmp = tempfile.mkdtemp(prefix="bench-diff-")
        con.execute(f"SET temp_directory='{tmp}'")
        con.execute("SET preserve_insertion_order=false")
        added, removed, changed = con.execute(BASELINE_SQL.format(cols=cols, a=a, b=b)).fetchone()
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        result = {"added": added, "removed": removed, "changed": changed}
    elif kind == "except":
        con = duckdb.connect(":memory:")
        tmp = tempfile.mkdtemp(prefix="bench-diff-")
        con.execute(f"SET temp_directory='{tmp}'")
        con.execute("SET preserve_insertion_order=false")
        only_a, only_b = con.execute(EXCEPT_SQL.format(a=a, b=b)).fetchone()
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        result = {"only_a": only_a, "only_b": only_b}
    else:

        def version(run: str, path: Path) -> AssetVersion:
            return AssetVersion(asset="t", run_id=run, created_at=datetime.now(timezone.utc),
                                data_path=f"{run}/t.parquet", data_format="parquet",
                                size_bytes=path.stat().st_size, content_hash=f"sha256:{run}")

        fs = LocalFileSystem()
        store = SimpleNamespace(fs=fs, data_fs=fs, root=str(folder))  # the least a diff reads of a Store
        d = diff_tables(store, version("a", a), version("b", b), keys=("id",), limit=10)
        result = {k: getattr(d.rows, k) for k in ("added", "removed", "changed", "unchanged")}
        result["columns_changed"] = d.columns_changed
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    return {"kind": kind, "seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": usage.ru_maxrss / 1024,
            "result": result}


def run_child(kind: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--dir", str(folder)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


KINDS = ("baseline", "except", "diff")

FLOOR_PROCESS = """
import sys, duckdb
a, b = sys.argv[1], sys.argv[2]
con = duckdb.connect(":memory:")
con.execute("SET preserve_insertion_order=false")
con.execute("SET enable_progress_bar=false")
names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{a}')").fetchall()]
cols = ", ".join('"' + n + '"' for n in names if n != "id")
print(list(con.execute(BASELINE.format(cols=cols, a=a, b=b)).fetchone()))
"""


def make_store(folder: Path) -> Path:
    """The two versions as runs r1 and r2 of a store (``RunWriter``, as users write them)."""
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from datetime import datetime, timedelta, timezone

    from explorer import RunWriter

    store = folder / "store"
    if not (store / "r2").exists():
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        for i, version in enumerate("ab", 1):
            with RunWriter(str(store), job="bench", run_id=f"r{i}", started_at=t0 + timedelta(days=i)) as run:
                run.write("t", pq.read_table(folder / version / "t.parquet"))
    return store


def timed_process(argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system of the child) of one whole process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's explorer, whatever is installed
    done = subprocess.run(argv, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), done.stdout


def processes(folder: Path, repeat: int) -> None:
    import statistics

    store = make_store(folder)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "explorer")], check=True)  # (no stale .pyc)
    a, b = store / "r1" / "t.parquet", store / "r2" / "t.parquet"
    floor = [sys.executable, "-c", FLOOR_PROCESS.replace("BASELINE", repr(BASELINE_SQL)), str(a), str(b)]
    cli = [sys.executable, "-m", "explorer", "diff", str(store), "t", "r1", "r2", "--key", "id", "--format", "json"]
    got: dict[str, list[tuple[float, float]]] = {"floor": [], "cli": []}
    for _ in range(repeat):
        wall, cpu, out = timed_process(floor)
        got["floor"].append((wall, cpu))
        added, removed, changed = json.loads(out.strip().splitlines()[-1])  # the counts the floor printed
        wall, cpu, out = timed_process(cli)
        got["cli"].append((wall, cpu))
        rows = json.loads(out)["rows"]
        assert (rows["added"], rows["removed"], rows["changed"]) == (added, removed, changed), (rows, out[:200])
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in got.items()}
    for kind, (wall, cpu) in med.items():
        print(f"{kind:6s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  (walls {', '.join(f'{w:.2f}' for w, _ in got[kind])})")
    print(f"ratio cli / floor (medians of {repeat}): wall {med['cli'][0] / med['floor'][0]:.2f}x, "
          f"cpu {med['cli'][1] / med['floor'][1]:.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--columns", type=int, default=10, help="columns of the table (at least 10)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--dir", help="work folder, kept (files already there are reused; default: a temporary folder)")
    p.add_argument("--process", action="store_true", help="whole processes: the CLI's diff against the floor's")
    p.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.dir))))
        return
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-diff-"))
    try:
        t0 = time.perf_counter()
        a, b = folder / "a" / "t.parquet", folder / "b" / "t.parquet"
        if not (args.dir and a.exists() and b.exists()):  # --dir keeps the files between runs
            a, b = generate(folder, args.rows, max(10, args.columns))
        gen = time.perf_counter() - t0
        print(f"rows: {args.rows:,}  columns: {len(__import__('pyarrow.parquet').parquet.read_schema(a).names)}  files: A {a.stat().st_size / 1e6:.0f} MB, B {b.stat().st_size / 1e6:.0f} MB "
              f"(generated in {gen:.1f}s); cpus: {os.cpu_count()}")
        if args.process:
            processes(folder, args.repeat)
            print(f"load average {os.getloadavg()[0]:.1f}")
            return
        runs: dict[str, list[dict]] = {k: [] for k in KINDS}
        for _ in range(args.repeat):
            for kind in KINDS:
                runs[kind].append(run_child(kind, folder))
        best = {k: min(v, key=lambda m: m["seconds"]) for k, v in runs.items()}
        cpu = {k: min(m["cpu_seconds"] for m in v) for k, v in runs.items()}
        for kind in KINDS:
            m = best[kind]
            print(f"{kind:9s} wall {m['seconds']:7.2f} s  cpu {cpu[kind]:7.2f} s  peak RSS {m['peak_rss_mb']:6.0f} MB  "
                  f"{m['result']}")
        base, diff = best["baseline"]["result"], best["diff"]["result"]
        exc = best["except"]["result"]
        assert (base["added"], base["removed"], base["changed"]) == (diff["added"], diff["removed"], diff["changed"]), (base, diff)
        assert (exc["only_a"], exc["only_b"]) == (diff["removed"] + diff["changed"], diff["added"] + diff["changed"]), (exc, diff)
        for other in ("baseline", "except"):
            print(f"ratio diff / {other}: wall {best['diff']['seconds'] / best[other]['seconds']:.2f}x, "
                  f"cpu {cpu['diff'] / cpu[other]:.2f}x")
        print(f"load average {os.getloadavg()[0]:.1f}")
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
