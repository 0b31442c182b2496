"""The asset screen of a partitioned asset: one partition shown, a table of all of them (enter
opens one), its versions one per run; hostile partition keys shown as text."""

from __future__ import annotations

import asyncio

import pandas as pd
from textual.widgets import DataTable, Static

from explorer import RunWriter
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.asset import AssetScreen
from tui_support import settle, workers_done

PARTS = ["2023-01-21", "2023-01-22", "[bold]x[/bold]"]


def test_partitions_table_and_opening_a_partition(tmp_path):
    root = tmp_path / "s"
    with RunWriter(str(root), job="backfill") as first:
        for p in PARTS:
            first.write("events", pd.DataFrame({"p": [p]}), partition=p)
    with RunWriter(str(root), job="daily") as second:
        second.write("events", pd.DataFrame({"p": [PARTS[1]] * 2}), partition=PARTS[1])

    async def go():
        app = ExplorerApp(str(root))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            app.open_asset("events")
            await pilot.pause()
            await workers_done(app)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, AssetScreen)
            assert screen.key == f"events[{PARTS[1]}]"  # the latest written: 2023-01-22 by the second run
            table = screen.query_one("#partitions", DataTable)
            cells = [[str(table.get_cell_at((r, c))) for c in range(3)] for r in range(table.row_count)]
            assert sorted(row[0] for row in cells) == sorted(PARTS)  # markup shown as written
            assert {row[0]: row[2] for row in cells} == {PARTS[0]: first.run_id, PARTS[1]: second.run_id, PARTS[2]: first.run_id}
            versions = screen.query_one("#versions-table", DataTable)
            assert versions.row_count == 2  # the versions of this partition, one per run
            assert PARTS[1] in str(screen.query_one("#facts", Static).render())
            table.focus()
            table.move_cursor(row=[row[0] for row in cells].index(PARTS[2]))
            await pilot.press("enter")
            await pilot.pause()
            await workers_done(app)
            await pilot.pause()
            assert isinstance(app.screen, AssetScreen) and app.screen.key == f"events[{PARTS[2]}]"
            assert app.screen.query_one("#versions-table", DataTable).row_count == 1
            app.open_asset("events", first.run_id)  # (from the graph: a run that wrote three partitions)
            await pilot.pause()
            await workers_done(app)
            await pilot.pause()
            assert app.screen.version.run_id == first.run_id and app.screen.key.startswith("events[")

    asyncio.run(go())
