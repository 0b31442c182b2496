"""A store of N small runs (default 2,000) for the terminal-app benchmark, written with RunWriter.

Each run ingests and transforms a few tiny JSON assets, so the index holds N manifests with
consolidated sidecars, a realistic mix of jobs, statuses and tags, and a 40-asset graph.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from explorer.store import RunWriter

JOBS = ["ingest", "features", "train", "score"]


def plan_for(i: int) -> dict[str, list[str]]:
    """Ten groups of four assets: src -> clean -> feat -> model, with cross links."""
    g = i % 10
    return {
        f"g{g}/src": [],
        f"g{g}/clean": [f"g{g}/src"],
        f"g{g}/feat": [f"g{g}/clean", f"g{(g + 9) % 10}/clean"],
        f"g{g}/model": [f"g{g}/feat"],
    }


def build(root: Path, n: int = 2000) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    latest: dict[str, str] = {}
    for i in range(n):
        when = start + timedelta(hours=3 * i)
        ticks = iter(when + timedelta(seconds=s) for s in range(0, 10_000, 7))
        plan = plan_for(i)
        status_fail = i % 37 == 0
        try:
            with RunWriter(str(root), job=JOBS[i % 4], code_version=f"v{1 + i // 500}.{i % 3}",
                           tags={"team": ["risk", "growth"][i % 2], "env": "prod"},
                           run_id=when.strftime("%Y%m%dT%H%M%SZ") + f"-{i:04d}",
                           started_at=when, clock=lambda: next(ticks), plan=plan) as run:
                for asset, inputs in plan.items():
                    ins = [x if x in run.versions else (x, latest[x]) for x in inputs
                           if x in run.versions or x in latest]
                    run.write(asset, {"run": i, "asset": asset}, inputs=ins)
                    latest[asset] = run.run_id
                    if status_fail:
                        raise RuntimeError("boom")
        except RuntimeError:
            pass
    return root


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/store_2000")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    import time

    t = time.perf_counter()
    build(out, n)
    print(f"wrote {n} runs to {out} in {time.perf_counter() - t:.1f}s")
