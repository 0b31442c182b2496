"""First paint of the app on a large store, this tree against another (an earlier commit's
files), alternating in one session, with the bare-DataTable baseline of one screenful.

    python bench/gen_store.py /tmp/store50k --runs 50000 --assets 20
    git archive <commit> | tar -x -C /tmp/before
    python bench/bench_first_paint.py /tmp/store50k --before /tmp/before --rounds 7

Each launch is bench_tui.py's first-paint script in a fresh process (interpreter start to the
first frame showing runs, imports included) with a warm index cache (a first launch of each
is discarded). Wall seconds and the process's CPU seconds at that frame (``time.process_time``: every thread, from its start) are
reported as medians, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_tui import FIRST_PAINT  # noqa: E402


def launch(root: Path, mode: str, store: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", FIRST_PAINT.format(root=str(root)), mode, store],
                         capture_output=True, text=True, env=env, cwd=str(root))
    if out.returncode:
        raise SystemExit(out.stderr)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["seconds"], got["cpu"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--before", required=True, help="the files of the tree to compare with")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    sides = {"bare DataTable, a screenful (baseline)": (HERE.parent, "page"),
             "before": (Path(a.before).resolve(), "app"), "after": (HERE.parent, "app")}
    for root, mode in sides.values():
        launch(root, mode, a.store)  # warms the OS cache, the bytecode and the index cache
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in sides}
    load0 = os.getloadavg()
    for _ in range(a.rounds):
        for name, (root, mode) in sides.items():
            times[name].append(launch(root, mode, a.store))
    load1 = os.getloadavg()
    floor = statistics.median(w for w, _ in times[next(iter(sides))])
    print(f"first paint, median of {a.rounds} alternating launches; load average {load0[0]:.1f} before, {load1[0]:.1f} after")
    print(f"{'':<40}{'wall s':>8}{'x base':>8}{'cpu s':>8}{'min wall':>10}")
    for name, xs in times.items():
        w = statistics.median(x for x, _ in xs)
        c = statistics.median(y for _, y in xs)
        print(f"{name:<40}{w:>8.2f}{w / floor:>8.2f}{c:>8.2f}{min(x for x, _ in xs):>10.2f}")


if __name__ == "__main__":
    main()
