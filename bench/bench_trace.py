"""Benchmark: trace one decision through a 10-million-row upstream table.

A store written with ``RunWriter``: ``raw/events`` (N rows, several events per application,
written in application order as an append-only source would, row groups of 128 Ki rows)
-> ``features`` (one row per application) -> ``scores``. ``trace scores
--where application_id=X`` is timed against the by-hand baseline measured in the same run:
pandas reading each upstream file whole and filtering it.

A second case writes the same events shuffled (no clustering by application), where the
row-group statistics cannot exclude anything: the trace then has to scan the key column of
every row group, and the figure says how much pushdown still helps.

    PYTHONPATH=. python bench/bench_trace.py                # 10 million events
    PYTHONPATH=. python bench/bench_trace.py --rows 2000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from explorer import Store
from explorer.store import RunWriter


def build(root: Path, rows: int, shuffled: bool) -> int:
    rng = np.random.default_rng(11)
    apps = rows // 10
    app_ids = np.sort(rng.integers(1_000_000, 1_000_000 + apps, rows))
    events = pd.DataFrame({
        "event_id": np.arange(rows, dtype=np.int64),
        "application_id": app_ids,
        "amount": np.round(rng.gamma(2.0, 40.0, rows), 2),
        "kind": rng.choice(np.array(["payment", "inquiry", "limit_change", "fee"]), rows),
    })
    if shuffled:
        events = events.sample(frac=1.0, random_state=1).reset_index(drop=True)
    uniq = np.unique(app_ids)
    features = pd.DataFrame({
        "application_id": uniq,
        "events": np.bincount(app_ids - 1_000_000)[uniq - 1_000_000],
        "income": np.round(rng.lognormal(10.6, 0.4, len(uniq)), 2),
    })
    scores = pd.DataFrame({"application_id": uniq, "score": np.round(rng.random(len(uniq)), 6)})
    with RunWriter(str(root), run_id="r1", job="bench") as run:
        run.write("raw/events", events)  # no declared keys: matched by the same-named column
        run.write("features", features, inputs=["raw/events"], keys=["application_id"])
        run.write("scores", scores, inputs=["features"], keys=["application_id"])
    return int(uniq[len(uniq) // 2 + 7])


def rchar() -> int:
    """Bytes this process has read through read() calls (Linux), -1 elsewhere."""
    try:
        with open("/proc/self/io") as fh:
            for line in fh:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def bytes_read(fn) -> int:
    before = rchar()
    fn()
    return rchar() - before if before >= 0 else -1


def groups_holding(path: Path, column: str, value: int) -> int:
    """Row groups that contain at least one matching row (what must be read whole)."""
    pf = pq.ParquetFile(path)
    return sum(
        1 for i in range(pf.metadata.num_row_groups)
        if (pf.read_row_group(i, columns=[column])[column].to_numpy() == value).any()
    )


def timed(fn, repeat: int = 3):
    best, value = None, None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best, value


def row_groups_admitting(path: Path, column: str, value: int) -> tuple[int, int]:
    md = pq.ParquetFile(path).metadata
    idx = md.schema.to_arrow_schema().get_field_index(column)
    hit = 0
    for i in range(md.num_row_groups):
        st = md.row_group(i).column(idx).statistics
        if st is None or not st.has_min_max or st.min <= value <= st.max:
            hit += 1
    return hit, md.num_row_groups


def case(rows: int, shuffled: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-trace-"))
    try:
        t = time.perf_counter()
        app_id = build(tmp, rows, shuffled)
        built = time.perf_counter() - t
        events_path = tmp / "r1" / "raw" / "events.parquet"

        def by_trace():
            store = Store.open(str(tmp))
            return store.trace("scores", where={"application_id": app_id})

        def by_hand():
            out = {}
            for key, path in (("scores", "scores.parquet"), ("features", "features.parquet"),
                              ("raw/events", "raw/events.parquet")):
                df = pd.read_parquet(tmp / "r1" / path)
                out[key] = df[df["application_id"] == app_id]
            return out

        t_trace, result = timed(by_trace)
        t_hand, truth = timed(by_hand)
        got = result.step("raw/events").rows
        assert sorted(r["event_id"] for r in got) == sorted(truth["raw/events"]["event_id"].tolist())
        hit, total = row_groups_admitting(events_path, "application_id", app_id)
        whole = groups_holding(events_path, "application_id", app_id)
        read_trace, read_hand = bytes_read(by_trace), bytes_read(by_hand)
        return {
            "groups_whole": whole,
            "mb_read_trace": read_trace / 1e6,
            "mb_read_pandas": read_hand / 1e6,
            "layout": "shuffled" if shuffled else "clustered by application",
            "rows": rows,
            "events_for_entity": len(got),
            "file_mb": events_path.stat().st_size / 1e6,
            "row_groups": f"{hit} of {total}",
            "build_s": built,
            "trace_s": t_trace,
            "pandas_s": t_hand,
            "ratio": t_hand / t_trace,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--skip-shuffled", action="store_true")
    args = ap.parse_args()
    results = [case(args.rows, False)]
    if not args.skip_shuffled:
        results.append(case(args.rows, True))
    print("| upstream layout | events rows | parquet MB | row groups past statistics | row groups read whole | "
          "matched rows | MB read: trace / pandas | trace s | pandas full scan s | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['layout']} | {r['rows']:,} | {r['file_mb']:.0f} | {r['row_groups']} | {r['groups_whole']} | "
            f"{r['events_for_entity']} | {r['mb_read_trace']:.1f} / {r['mb_read_pandas']:.1f} | "
            f"{r['trace_s']:.2f} | {r['pandas_s']:.2f} | {r['ratio']:.1f}x |"
        )
    for r in results:
        print(f"# {r['layout']}: store built in {r['build_s']:.1f} s")


if __name__ == "__main__":
    main()
