"""What fitting columns to the width costs: a table of 2,000 rows (the runs screen's page) at
80x24, filled, then 200 ``j`` and 40 ``l``/``h`` presses, with fitting on (``Table.fits``) and
off (the baseline: every column at its whole width, scrolling sideways), in the same process.

    PYTHONPATH=. python bench/bench_table_fit.py [--rows 2000] [--repeat 3]

Reports the wall time of filling and of the key presses for each, their ratio, and the time of
one ``fit_columns`` call (one pass over the columns, never the cells).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from textual.app import App

from explorer.tui.widgets.tables import Table

LABELS = ["run id", "status", "job", "started", "duration", "assets", "code version", "tags"]


def rows(n: int) -> list[tuple]:
    return [(f"20260101T{i:06d}Z-r{i}", "success" if i % 7 else "failed", f"job_{i % 13}_pipeline",
             f"2026-01-01 {i % 24:02d}:{i % 60:02d}:00", f"{i % 50}m{i % 60:02d}s", str(i % 9),
             f"v1.{i % 4}", f"team=credit-risk env=prod owner=analyst{i % 17} batch={i}") for i in range(n)]


class Bench(App):
    def __init__(self, data: list[tuple], fits: bool) -> None:
        super().__init__()
        self.data, self.fits = data, fits

    def compose(self):
        table = Table(id="t", cursor_type="row", fixed_columns=2)
        table.fits = self.fits
        for label in LABELS:
            table.add_column(label, key=label)
        yield table


async def once(data: list[tuple], fits: bool) -> tuple[float, float, float]:
    app = Bench(data, fits)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(Table)
        t0 = time.perf_counter()
        for r in data:
            table.add_row(*r, key=r[0])
        await pilot.pause()
        fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(200):
            await pilot.press("j")
        for _ in range(20):
            await pilot.press("l")
        for _ in range(20):
            await pilot.press("h")
        await pilot.pause()
        keys = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(1000):
            table.fit_columns()
        fit = (time.perf_counter() - t0) / 1000
    return fill, keys, fit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = rows(args.rows)
    results: dict[bool, list] = {True: [], False: []}
    for _ in range(args.repeat):
        for fits in (False, True):
            results[fits].append(asyncio.run(once(data, fits)))
    med = {f: [statistics.median(x[i] for x in results[f]) for i in range(3)] for f in results}
    print(f"{args.rows} rows, median of {args.repeat}")
    print(f"fill:        baseline {med[False][0]:.3f} s   fitted {med[True][0]:.3f} s   ratio {med[True][0] / med[False][0]:.2f}")
    print(f"240 keys:    baseline {med[False][1]:.3f} s   fitted {med[True][1]:.3f} s   ratio {med[True][1] / med[False][1]:.2f}")
    print(f"fit_columns: {med[True][2] * 1e6:.0f} µs a call")


if __name__ == "__main__":
    main()
