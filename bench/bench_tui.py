"""Terminal-app responsiveness: launch to first painted runs table, and keypress latency.

    PYTHONPATH=. python bench/bench_tui.py [--runs 2000] [--keys 150]

First paint is measured in a fresh process (imports included) from interpreter start to the
first frame in which the runs table has rows, on the demo store and on a generated store of
2,000 runs (written once into bench/results/, read warm: a first launch is discarded).
Keypress latency is measured in process with Textual's Pilot: the time from sending a key to
the end of the last screen update it caused (Screen layout/repaint, instrumented; Pilot's own
idle-waiting is not counted), moving through the runs table and along the lineage graph. The baseline in each case is a bare Textual app showing a DataTable of the same
number of rows (what Textual itself costs), so the ratio is the price of this app on top of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

FIRST_PAINT = r"""
import time, sys, json, os as _os
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
mode, store = sys.argv[1], sys.argv[2]
import asyncio

async def main():
    if mode == "app":
        from explorer.tui.app import ExplorerApp
        app = ExplorerApp(store)
    else:
        from textual.app import App
        from textual.widgets import DataTable
        import json as _j, os
        ids = sorted(d for d in os.listdir(store) if not d.startswith(("_", ".")))

        class Bare(App):
            def compose(self):
                t = DataTable()
                t.add_columns("run id", "job", "status", "started", "duration", "assets", "code", "tags")
                for i in reversed(ids if mode == "bare" else ids[-80:]):
                    t.add_row(i, "job", "success", i[:15], "1s", "3", "v1", "a=b")
                yield t
        app = Bare()
    from textual.screen import Screen
    paints = []
    for name in ("_on_timer_update", "_refresh_layout"):
        orig = getattr(Screen, name)
        def patched(self, *a, _orig=orig, **kw):
            r = _orig(self, *a, **kw)
            paints.append((time.perf_counter(), time.process_time()))
            return r
        setattr(Screen, name, patched)
    async with app.run_test(size=(120, 36)) as pilot:
        from textual.widgets import DataTable
        while True:
            tables = [t for t in app.screen.query(DataTable) if t.row_count]
            if tables:
                break
            await asyncio.sleep(0.001)
        seen = time.perf_counter()
        while not [p for p in paints if p[0] > seen]:
            await asyncio.sleep(0.001)
        at, cpu = min(p for p in paints if p[0] > seen)
        # (the process's CPU seconds, every thread, from its start to that frame)
        print(json.dumps({{"seconds": at - t0, "cpu": cpu}}), flush=True)
        _os._exit(0)  # (not waiting for the workers still parsing a large store)

asyncio.run(main())
"""


def first_paint(mode: str, store: str, repeat: int) -> float:
    script = FIRST_PAINT.format(root=str(ROOT))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    times = []
    for i in range(repeat + 1):
        out = subprocess.run([sys.executable, "-c", script, mode, store], capture_output=True, text=True, env=env)
        if out.returncode:
            raise SystemExit(out.stderr)
        if i:  # the first launch warms the OS cache and bytecode
            times.append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    return statistics.median(times)


PAINTS: list[float] = []


def instrument_paints() -> None:
    """Record the end time of every screen update (layout or repaint of dirty widgets)."""
    from textual.screen import Screen

    if getattr(Screen, "_bench_patched", False):
        return
    for name in ("_on_timer_update", "_refresh_layout"):
        orig = getattr(Screen, name)

        def patched(self, *a, _orig=orig, **kw):
            result = _orig(self, *a, **kw)
            PAINTS.append(time.perf_counter())
            return result

        setattr(Screen, name, patched)
    Screen._bench_patched = True


async def press_and_time_both(pilot, key: str) -> tuple[float, float] | None:
    """Seconds from sending ``key`` to the first and to the last screen update it caused: the
    first shows the result (the top of the table), the last is when the rows below the screen
    are all added (the runs table fills a page in batches after the first frame)."""
    PAINTS.clear()
    t = time.perf_counter()
    await pilot.press(key)
    done = time.perf_counter()
    caused = [p for p in PAINTS if t < p <= done]
    await pilot.pause()
    return (min(caused) - t, max(caused) - t) if caused else None


async def filter_sort_latency(store: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Typing a filter into the runs table (each character refilters every run), clearing it,
    and re-sorting by each column (``o``) and reversing (``O``)."""
    from textual.widgets import DataTable, Input

    from explorer.tui.app import ExplorerApp

    app = ExplorerApp(store)
    out: dict[str, list[tuple[float, float]]] = {"filter keypress": [], "sort keypress": []}
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#runs", DataTable)
        assert table.row_count
        for _ in range(rounds):
            await pilot.press("slash")
            for key in ["s", "u", "c", "backspace", "backspace", "backspace", "1", "2", "backspace", "backspace"]:
                dt = await press_and_time_both(pilot, key)
                if dt is not None:
                    out["filter keypress"].append(dt)
            assert app.screen.query_one("#filter", Input).value == ""
            await pilot.press("enter")
            for key in ["o"] * 8 + ["O", "O"]:
                dt = await press_and_time_both(pilot, key)
                if dt is not None:
                    out["sort keypress"].append(dt)
    return out


async def press_and_time(pilot, key: str) -> float | None:
    """Seconds from sending ``key`` to the last screen update it caused (None: nothing changed)."""
    both = await press_and_time_both(pilot, key)
    return None if both is None else both[1]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


async def key_latency(store: str, keys: int) -> dict[str, list[float]]:
    from textual.widgets import DataTable

    from explorer.tui.app import ExplorerApp
    from explorer.tui.widgets.lineage_graph import LineageGraph

    app = ExplorerApp(store)
    out: dict[str, list[float]] = {"runs table": [], "graph": []}
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#runs", DataTable)
        assert table.row_count
        for i in range(keys):
            key = "down" if (i // 50) % 2 == 0 else "up"
            dt = await press_and_time(pilot, key)
            if dt is not None:
                out["runs table"].append(dt)
        await pilot.press("L")
        await app.workers.wait_for_complete()
        await pilot.pause()
        graph = app.screen.query_one("#graph", LineageGraph)
        pattern = ["right", "down", "right", "up", "left", "down", "left", "up", "j", "l", "k", "h"]
        for i in range(keys):
            dt = await press_and_time(pilot, pattern[i % len(pattern)])
            if dt is not None:
                out["graph"].append(dt)
        assert graph.focused_node is not None
    return out


async def bare_latency(n_rows: int, keys: int) -> list[float]:
    from textual.app import App
    from textual.widgets import DataTable

    class Bare(App):
        def compose(self):
            t = DataTable(cursor_type="row")
            t.add_columns("a", "b", "c", "d")
            for i in range(n_rows):
                t.add_row(f"run-{i}", "job", "success", str(i))
            yield t

    app = Bare()
    out = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        for i in range(keys):
            key = "down" if (i // 50) % 2 == 0 else "up"
            dt = await press_and_time(pilot, key)
            if dt is not None:
                out.append(dt)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--keys", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-launch", action="store_true", help="only measure keypress latency")
    ap.add_argument("--store", help="an existing store (e.g. from gen_store.py) instead of writing one of --runs runs")
    ap.add_argument("--filter-rounds", type=int, default=3, help="rounds of typing a filter and sorting (10 keys each)")
    args = ap.parse_args()

    from explorer.demo import DEMO_STORE
    from make_big_store import build

    big = Path(args.store) if args.store else HERE / "results" / f"store_{args.runs}"
    if args.store:
        args.runs = sum(1 for d in os.listdir(big) if not d.startswith(("_", ".")))
    elif not (big / "_frontier_store.json").exists():
        print(f"writing a store of {args.runs} runs to {big} ...", flush=True)
        build(big, args.runs)

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print("\nlaunch to first painted runs table (median of %d warm launches, imports included)" % args.repeat)
    print(f"{'store':<22}{'app':>9}{'bare DataTable':>16}{'ratio':>8}{'target':>9}")
    stores = (("demo (9 runs)", str(DEMO_STORE), 1.0), (f"{args.runs} runs", str(big), 1.0 if args.runs >= 10000 else 2.0))
    for name, path, target in () if args.skip_launch else stores:
        ours = first_paint("app", path, args.repeat)
        base = first_paint("bare", path, args.repeat)
        ok = "ok" if ours < target else "MISSED"
        print(f"{name:<22}{ours:>8.2f}s{base:>15.2f}s{ours / base:>7.1f}x{target:>7.1f}s {ok}")
        if args.store:  # a large store: also against a bare DataTable of one screenful (80 rows)
            page = first_paint("page", path, args.repeat)
            print(f"{'  vs a screenful':<22}{ours:>8.2f}s{page:>15.2f}s{ours / page:>7.1f}x")

    instrument_paints()
    print(f"\nkeypress to screen update ({args.keys} keys each, ms)")
    print(f"{'where':<34}{'p50':>7}{'p95':>7}{'max':>7}{'bare p95':>10}{'ratio':>7}")
    for name, path in (("demo", str(DEMO_STORE)), (f"{args.runs} runs", str(big))):
        lat = asyncio.run(key_latency(path, args.keys))
        n = 9 if name == "demo" else args.runs
        base = asyncio.run(bare_latency(n, args.keys))
        b95 = pct(base, 0.95) * 1000
        for what, xs in lat.items():
            p50, p95, mx = (pct(xs, 0.5) * 1000, pct(xs, 0.95) * 1000, max(xs) * 1000)
            print(f"{name + ', ' + what:<34}{p50:>7.1f}{p95:>7.1f}{mx:>7.1f}{b95:>10.1f}{p95 / b95:>6.1f}x")

    print(f"\nfilter and sort of the runs table ({args.filter_rounds} rounds of 10 keys, ms):"
          " first update shows the new top rows; settled = the page below the screen filled too")
    print(f"{'where':<34}{'first p50':>10}{'first p95':>10}{'settled p50':>12}{'settled p95':>12}")
    for name, path in (("demo", str(DEMO_STORE)), (f"{args.runs} runs", str(big))):
        lat = asyncio.run(filter_sort_latency(path, args.filter_rounds))
        for what, xs in lat.items():
            first, last = [a for a, _ in xs], [b for _, b in xs]
            print(f"{name + ', ' + what:<34}{pct(first, .5) * 1000:>10.1f}{pct(first, .95) * 1000:>10.1f}"
                  f"{pct(last, .5) * 1000:>12.1f}{pct(last, .95) * 1000:>12.1f}")


if __name__ == "__main__":
    main()
