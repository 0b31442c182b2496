"""Benchmark: a keyed diff of a wide table (1,000 columns) against a floor measured in the same run.

    python bench/bench_diff_wide.py --columns 1000 --rows 20000

Writes a store with two versions of a ROWS x COLUMNS table (ints, floats and strings; B changes
1% of the rows in 3 columns), then measures, each in a fresh subprocess, alternating:

* ``floor``: DuckDB's bare query on the same two files: hash each row, full outer join on the
  key, count added / removed / changed. The least any correct keyed diff does.
* ``diff``: ``Store.diff(..., keys=["id"])``: counts, per-column changed counts, samples.
* ``datacompy``: ``datacompy.PandasCompare`` on the two frames read with pyarrow (reading
  included), when datacompy is installed.

Prints the median seconds of ``--repeat`` runs and the ratios to the floor. The figures in docs/benchmarks.md are these ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(folder: Path, rows: int, columns: int) -> None:
    import numpy as np
    import pyarrow as pa

    sys.path.insert(0, str(ROOT))
    from explorer import RunWriter

    rng = np.random.default_rng(7)
    cols = {"id": np.arange(rows, dtype=np.int64)}
    for i in range(columns - 1):
        kind = i % 3
        if kind == 0:
            cols[f"i{i}"] = rng.integers(0, 1000, rows)
        elif kind == 1:
            cols[f"f{i}"] = rng.random(rows)
        else:
            cols[f"s{i}"] = pa.array(rng.choice(["north", "south", "east", "west"], rows))
    a = pa.table(cols)
    changed = (np.arange(rows) % 100) == 3
    names = a.column_names
    b = a
    for name in names[1:4]:
        col = a.column(name).to_numpy(zero_copy_only=False)
        if col.dtype.kind in "if":
            new = np.where(changed, col + 1, col)
        else:
            new = np.where(changed, "changed", col)
        b = b.set_column(names.index(name), name, pa.array(new))
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i, table in enumerate((a, b), start=1):
        with RunWriter(str(folder), run_id=f"r{i}", started_at=t0 + timedelta(days=i)) as run:
            run.write("wide", table)


FLOOR_SQL = """
SELECT count(*) FILTER (WHERE a.id IS NULL), count(*) FILTER (WHERE b.id IS NULL),
       count(*) FILTER (WHERE a.h <> b.h)
FROM (SELECT id, hash(COLUMNS(* EXCLUDE (id))) AS h FROM read_parquet('{a}')) a
FULL OUTER JOIN (SELECT id, hash(COLUMNS(* EXCLUDE (id))) AS h FROM read_parquet('{b}')) b ON a.id = b.id
"""


def measure(kind: str, folder: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    import duckdb

    from explorer import Store

    store = Store.open(str(folder))
    va, vb = store.version("wide", "r1"), store.version("wide", "r2")
    pa_, pb_ = (os.path.join(str(folder), v.data_path) for v in (va, vb))
    if kind == "datacompy":
        import datacompy  # noqa: F401 - imports are not timed
        import pyarrow.parquet as pq
    start = time.perf_counter()
    if kind == "floor":
        con = duckdb.connect(":memory:")
        # hash(COLUMNS(...)) hashes each column apart: combine them as the diff does, in one hash
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{pa_}')").fetchall()]
        cols = ", ".join('"' + n + '"' for n in names if n != "id")
        sql = FLOOR_SQL.replace("hash(COLUMNS(* EXCLUDE (id)))", f"hash({cols})")
        added, removed, changed = con.execute(sql.format(a=pa_, b=pb_)).fetchone()
        result = {"added": added, "removed": removed, "changed": changed}
    elif kind == "diff":
        d = store.diff("wide", "r1", "r2", keys=["id"])
        rows = d.table.to_dict()["rows"]
        result = {"added": rows["added"], "removed": rows["removed"], "changed": rows["changed"],
                  "columns_changed": len(d.table.to_dict()["columns_changed"])}
    else:
        import datacompy
        import pyarrow.parquet as pq

        a, b = pq.read_table(pa_).to_pandas(), pq.read_table(pb_).to_pandas()
        c = datacompy.PandasCompare(a, b, join_columns=["id"])
        result = {"added": len(c.df2_unq_rows), "removed": len(c.df1_unq_rows),
                  "changed": len(c.intersect_rows) - c.count_matching_rows()}
    return {"kind": kind, "seconds": time.perf_counter() - start, "result": result}


def run_child(kind: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", kind, "--dir", str(folder)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--columns", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dir", help="work folder (kept; a store already there is reused)")
    p.add_argument("--measure", choices=["floor", "diff", "datacompy"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.dir)), default=str))
        return
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-wide-"))
    try:
        if not any(folder.iterdir()):
            generate(folder, args.rows, args.columns)
        kinds = ["floor", "diff"]
        try:
            import datacompy  # noqa: F401

            kinds.append("datacompy")
        except ImportError:
            pass
        import statistics

        runs: dict[str, list[dict]] = {k: [] for k in kinds}
        for _ in range(args.repeat):
            for kind in kinds:
                runs[kind].append(run_child(kind, folder))
        med = {k: statistics.median(m["seconds"] for m in v) for k, v in runs.items()}
        print(f"{args.rows:,} rows x {args.columns} columns; cpus {os.cpu_count()}; "
              f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeat}")
        for kind in kinds:
            m = runs[kind][-1]
            print(f"{kind:10s} {med[kind]:7.2f} s  ratio to floor {med[kind] / med['floor']:5.2f}x  "
                  f"(runs {', '.join('%.2f' % x['seconds'] for x in runs[kind])})  {m['result']}")
        if "datacompy" in med:
            print(f"diff / datacompy: {med['diff'] / med['datacompy']:.2f}x")
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
