"""The app over a hostile store (tests/hostile_support.py): every screen opens, nothing crashes
on markup (``[/var/log/app]`` used to raise MarkupError and close the app), and the screen
shows store text escaped, never raw (issue 22 items 1 and 3)."""

from __future__ import annotations

import asyncio
import html
import json
import re

import pytest
from tui_support import settle
from hostile_support import (CELL, CODE, COLUMN, JOB, JSON_KEY, META_KEY, META_VALUE, R1, R2, RAW, REASON, TAG_KEY,
                             TAG_VALUE, shown, write_hostile_store)

from explorer.tui.app import ExplorerApp
from explorer.tui.screens.asset.preview import PreviewPane
from explorer.tui.screens.diff import DiffScreen
from explorer.tui.screens.trace import TraceScreen
from explorer.tui.screens.runs import progress
from explorer.models import PlannedAsset

SIZE = (200, 50)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return write_hostile_store(tmp_path_factory.mktemp("hostile-app") / "store")


def screen_text(app) -> tuple[str, str]:
    """(the screen as text, the raw SVG) from Textual's own screenshot."""
    svg = app.export_screenshot()
    lines = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    return html.unescape("".join(lines)).replace("\xa0", " "), svg


def assert_clean(app, *expected: str) -> str:
    text, svg = screen_text(app)
    assert not RAW.findall(svg.replace("\n", "")), sorted(set(RAW.findall(svg.replace("\n", ""))))
    for piece in expected:
        assert piece in text, (piece, text[:4000])
    return text


def test_every_screen_over_a_hostile_store(hostile):
    async def run() -> None:
        app = ExplorerApp(str(hostile))
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert_clean(app, shown(JOB), shown(CODE), shown(f"{TAG_KEY}={TAG_VALUE}"))  # runs: job, code, tags whole
            app.open_run(R1)
            await settle(app, pilot)
            assert_clean(app, shown(JOB), shown(TAG_VALUE), f"code {shown(CODE)}")  # the header: BEL, BS, FF, VT included
            app.action_lineage()
            await settle(app, pilot)
            assert_clean(app, f"code {shown(CODE)}")  # the focused asset's detail
            app.action_back()
            app.action_back()
            await settle(app, pilot)
            app.open_asset("table", R1)
            await settle(app, pilot)
            # overview: metadata keys and values, code version, the flag's reason
            assert_clean(app, shown(META_KEY), shown(META_VALUE), shown(CODE), shown(REASON)[:30], shown(COLUMN))
            for tab in ("preview", "versions", "history", "provenance", "impact"):
                app.screen.query_one("#tabs").active = tab
                await settle(app, pilot)
                expected = {"preview": [shown(CELL), shown(COLUMN)], "versions": [shown(JOB), shown(CODE)]}
                assert_clean(app, *expected.get(tab, []))
            app.screen.query_one("#tabs").active = "columns"
            await settle(app, pilot)
            assert_clean(app, shown(COLUMN))
            for key in ("doc", "blob", "sheet"):
                app.action_back()
                await settle(app, pilot)
                app.open_asset(key, R1)
                await settle(app, pilot)
                app.screen.query_one("#tabs").active = "preview"
                await settle(app, pilot)
                # the doc's preview is JSON text, where ESC is \\u001b
                expected = {"doc": json.dumps(JSON_KEY)[1:-1], "blob": "[/var/log/app] rotated", "sheet": shown(CELL)}[key]
                assert_clean(app, expected)
            app.push_screen(DiffScreen("table", R1, R2))
            await settle(app, pilot)
            assert isinstance(app.screen, DiffScreen)
            # the metadata table: the key, both values whole (ESC, BEL, CR, BS, VT, FF shown)
            assert_clean(app, "table", shown(META_KEY), shown(META_VALUE), shown(CELL))
            app.action_back()
            app.push_screen(TraceScreen("derived", R2, {"id": 1}))
            await settle(app, pilot)
            await pilot.pause(0.5)
            await settle(app, pilot)
            # the traced row and its source row (column name and cell), the doc's code version
            assert_clean(app, f"{shown(COLUMN)}={shown(CELL)}", f"code version: {shown(CODE)}")
            app.action_back()
            await settle(app, pilot)
            app.open_asset("table", R1)
            await settle(app, pilot)
            app.screen.query_one("#tabs").active = "preview"
            await settle(app, pilot)
            app.screen.query_one(PreviewPane).frequency(COLUMN)  # the F key's counts of one column
            await settle(app, pilot)
            await pilot.pause(0.5)
            await settle(app, pilot)
            assert type(app.screen).__name__ == "FrequencyScreen"
            assert_clean(app, f"counts of {shown(COLUMN)}", shown(CELL))
            app.action_back()
            app.action_back()
            from explorer.tui.screens.compare import CompareScreen

            app.push_screen(CompareScreen([R1, R2]))
            await settle(app, pilot)
            assert_clean(app, shown(CELL))  # the metadata value of the second run
            app.action_back()
            app.action_staleness()
            await settle(app, pilot)
            assert_clean(app)
            await pilot.press("ctrl+p")  # the command palette reads titles and help as markup
            await settle(app, pilot)
            await pilot.press(*R1[:6])
            await settle(app, pilot)
            await pilot.pause(0.5)
            assert_clean(app, shown(R1), shown(JOB))  # a run's entry: its id, then its job as help
            await pilot.press("escape")
            await settle(app, pilot)
            app.notify(f"quoting a file: {CELL}", title=JOB)
            await settle(app, pilot)
            assert [n.message for n in app._notifications][-1] == f"quoting a file: {shown(CELL)}"
            assert [n.title for n in app._notifications][-1] == shown(JOB)
            assert_clean(app)
            assert app.is_running  # nothing closed the app

    asyncio.run(run())


def test_a_running_run_never_shows_more_written_than_planned():
    """``running 3/2``: a run that wrote an asset it did not plan."""
    from datetime import datetime, timezone

    from explorer.models import Run

    run = Run(run_id=R1, job="j", status="running", started_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
              planned=(PlannedAsset("a", ()), PlannedAsset("b", ())), asset_count=3)
    written, planned = (int(x) for x in progress(run).split("/"))
    assert written == 3 and planned >= written
