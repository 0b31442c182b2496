"""The app's run comparison (issue 20): mark runs with space in the runs table, press c, and
the grid shows each asset's facts per run, checked against the run manifests read here."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from textual.widgets import DataTable
from tui_support import settle

from explorer.tui.app import ExplorerApp
from explorer.tui.screens.asset import AssetScreen
from explorer.tui.screens.compare import CompareScreen
from explorer.tui.screens.runs import RunsScreen


def manifest_versions(root: Path, run_id: str) -> dict[str, dict]:
    doc = json.loads((root / run_id / "_frontier" / "run.json").read_text())
    return {v["asset"]: v for v in doc["versions"]}


def grid_rows(table: DataTable) -> dict[tuple[str, str], list[str]]:
    out = {}
    for i in range(table.row_count):
        cells = [str(c) for c in table.get_row_at(i)]
        out[(cells[0], cells[1])] = cells[2:]
    return out


def test_mark_two_runs_and_compare_them(demo_path):
    async def go():
        runs = sorted(p.name for p in demo_path.iterdir() if (p / "_frontier" / "run.json").exists())
        newest, before = runs[-1], runs[-2]  # the runs table starts at the newest
        app = ExplorerApp(str(demo_path))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            assert isinstance(app.screen, RunsScreen)
            await pilot.press("c")  # nothing marked: a hint, no screen
            await settle(app, pilot)
            assert isinstance(app.screen, RunsScreen)
            await pilot.press("space", "space")  # marks the newest, then the one below it
            await settle(app, pilot)
            assert app.screen.marked == [newest, before]
            table = app.screen.query_one("#runs", DataTable)
            assert str(table.get_cell(newest, "run")) == f"● {newest}"
            await pilot.press("c")
            await settle(app, pilot)
            assert isinstance(app.screen, CompareScreen)
            grid = app.screen.query_one("#grid", DataTable)
            rows = grid_rows(grid)
            a, b = manifest_versions(demo_path, before), manifest_versions(demo_path, newest)
            for asset in sorted(set(a) | set(b)):
                want = [v[asset]["content_hash"][7:19] if asset in v else "-" for v in (a, b)]  # oldest first
                assert rows[(asset, "hash")] == want
                if any(asset in v and v[asset].get("table") for v in (a, b)):
                    assert rows[(asset, "rows")] == [str(v[asset]["table"]["num_rows"]) if asset in v else "-" for v in (a, b)]
            changed = {asset for asset in set(a) & set(b) if a[asset]["content_hash"] != b[asset]["content_hash"]}
            # c keeps only the facts that changed: every changed hash is among them, no equal one
            await pilot.press("c")
            await settle(app, pilot)
            only = grid_rows(grid)
            assert {k[0] for k in only if k[1] == "hash"} == changed
            assert all(len({c for c in cells if c != "-"}) > 1 for cells in only.values())
            # enter on a cell opens that asset at that run
            await pilot.press("c")
            await settle(app, pilot)
            first = sorted(set(a) & set(b))[0]
            keys = list(grid_rows(grid))
            grid.move_cursor(row=keys.index((first, "hash")), column=3)
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, AssetScreen)
            assert (app.screen.key, app.screen.run) == (first, newest)  # column 3: the newer run
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, CompareScreen)
            await pilot.press("escape")
            await settle(app, pilot)
            assert isinstance(app.screen, RunsScreen)

    asyncio.run(go())


def test_runs_paint_before_the_versions_are_parsed(demo_path, monkeypatch):
    """On a large store parsing every version takes seconds (25 s at 1,000,000 versions): the
    runs table is drawn from the runs alone first, and the rest follows (issue 15). Parsing is
    held back here until the runs are on screen; it then runs as it always does."""
    import threading

    from explorer.index import LazyIndex

    release = threading.Event()
    real_init = LazyIndex.__init__

    def held(self, runs, warnings, loader, *args, **kwargs):
        def slow_loader():
            release.wait(30)
            return loader()

        real_init(self, runs, warnings, slow_loader, *args, **kwargs)

    monkeypatch.setattr(LazyIndex, "__init__", held)
    want = sorted(p.name for p in demo_path.iterdir() if (p / "_frontier" / "run.json").exists())

    from explorer import Store

    Store.open(str(demo_path)).index.versions  # a warm cache: the runs come without parsing versions

    async def go():
        app = ExplorerApp(str(demo_path))
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(50):
                await pilot.pause(0.05)
                table = app.screen.query_one("#runs", DataTable)
                if table.row_count:
                    break
            assert sorted(str(k.value) for k in table.rows) == want
            assert not app.store.index.materialized  # drawn without the versions
            assert "reading versions…" in str(app.screen.query_one("#title").render())
            release.set()
            await settle(app, pilot)
            assert app.store.index.materialized and app.report is not None
            title = str(app.screen.query_one("#title").render())
            assert "reading versions…" not in title and f"{len(app.report.assets)} assets" in title

    try:
        asyncio.run(go())
    finally:
        release.set()


def test_the_runs_table_holds_a_page_and_the_filter_sees_every_run(demo_path, monkeypatch):
    """The table holds PAGE rows at most (a DataTable measures every cell it holds: 14 s for
    50,000 runs); + shows another page, and the filter and sort still see every run."""
    monkeypatch.setattr(RunsScreen, "PAGE", 3)
    runs = sorted(p.name for p in demo_path.iterdir() if (p / "_frontier" / "run.json").exists())

    async def go():
        app = ExplorerApp(str(demo_path))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            table = app.screen.query_one("#runs", DataTable)
            keys = lambda: [str(k.value) for k in table.rows]  # noqa: E731
            assert keys() == runs[::-1][:3]
            assert f"{len(runs)} runs, newest 3 shown (+: more)" in str(app.screen.query_one("#title").render())
            await pilot.press("+")
            await settle(app, pilot)
            assert keys() == runs[::-1][:6]
            # the oldest run is not in the table, but the filter finds it
            await pilot.press("slash", *runs[0][-2:])
            await settle(app, pilot)
            assert keys() == [runs[0]]

    asyncio.run(go())


def test_versions_are_parsed_only_once_the_runs_are_on_screen(demo_path, monkeypatch):
    """On a large store the loader parses versions after the first paint of the runs (parsing
    holds the interpreter and would delay that paint): when the loader starts, the table
    already shows rows."""
    from explorer.index import LazyIndex

    seen: list[int] = []
    real_init = LazyIndex.__init__
    holder: dict = {}

    def recording(self, runs, warnings, loader, *args, **kwargs):
        def load():
            app = holder["app"]
            seen.append(app.screen.query_one("#runs", DataTable).row_count)
            return loader()

        real_init(self, runs, warnings, load, *args, **kwargs)

    monkeypatch.setattr(LazyIndex, "__init__", recording)
    from explorer import Store

    Store.open(str(demo_path)).index.versions  # a warm cache: the runs come without parsing versions
    n_runs = sum(1 for p in demo_path.iterdir() if (p / "_frontier" / "run.json").exists())

    async def go():
        app = holder["app"] = ExplorerApp(str(demo_path))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            assert app.store.index.materialized
    asyncio.run(go())
    assert seen and seen[0] == n_runs


def test_orders_and_filter_texts_made_ahead_give_the_same_rows(demo_path, monkeypatch):
    """A large store's runs are sorted by every column and described for the filter in a
    thread after the first paint; the rows shown are the same as sorting and filtering the
    manifests here."""
    monkeypatch.setattr(RunsScreen, "PREPARE_FROM", 0)
    docs = {}
    for p in demo_path.iterdir():
        if (p / "_frontier" / "run.json").exists():
            docs[p.name] = json.loads((p / "_frontier" / "run.json").read_text())

    async def go():
        app = ExplorerApp(str(demo_path))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert len(screen._orders) == 8  # (made ahead: every column)
            table = screen.query_one("#runs", DataTable)
            keys = lambda: [str(r.key.value) for r in table.ordered_rows]  # noqa: E731 (display order)
            await pilot.press("3")  # by job, ascending; ties by start then id
            await settle(app, pilot)
            want = sorted(docs, key=lambda r: (docs[r].get("job") or "", docs[r]["started_at"], r))
            assert keys() == want
            failed = sorted(r for r in docs if docs[r]["status"] == "failed")
            assert failed  # (the demo has a failed run)
            await pilot.press("slash", *"failed")
            await settle(app, pilot)
            assert sorted(keys()) == failed

    asyncio.run(go())
