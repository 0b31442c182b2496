"""The app at 80x24 and 120x40, driven with Textual's Pilot: the staleness detail's long causes
fold under themselves, the asset preview's footer keeps every key it offers, the preview
searches a whole version page by page (``/``, ``n``, ``N``), a 1-D array is drawn as a histogram
and the diff screen shows a long changed cell around its first difference. Truth comes from the
store's files (pandas, numpy), never from the app's own tables."""

from __future__ import annotations

import asyncio
import functools
from datetime import datetime, timedelta, timezone

import pytest

from explorer import Store
from explorer.tui.app import ExplorerApp

SMALL = (80, 24)
MEDIUM = (120, 40)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def drive(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def screen_lines(app) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def region_lines(app, widget) -> list[str]:
    """The lines of the screen a widget covers, cut to its columns."""
    r = widget.region
    return [line[r.x:r.x + r.width] for line in screen_lines(app)[r.y:r.y + r.height]]


# ---------------------------------------------------------------------- staleness detail


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_staleness_causes_fold_under_themselves(demo_path, size):
    report = Store.open(str(demo_path)).staleness()
    causes = {a.asset: [c.describe() for c in a.causes] for a in report.assets if a.status != "fresh"}
    assert any(len(c) > size[0] for cs in causes.values() for c in cs)  # something must fold
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        table = app.screen.query_one("#stale")
        seen = 0
        for row in range(table.row_count):
            table.move_cursor(row=row, animate=False)
            await settle(app, pilot)
            key = str(table.coordinate_to_cell_key((row, 0)).row_key.value)
            lines = [line[1:].rstrip() for line in region_lines(app, app.screen.query_one("#detail"))]
            lines = [line for line in lines if line]
            assert lines[0].startswith(key)
            for cause in causes[key]:
                # the cause starts on a bullet line; its continuation lines are indented under its text
                start = next(i for i, line in enumerate(lines) if line.startswith("  • ") and cause.startswith(line[4:]))
                parts, i = [lines[start][4:]], start + 1
                while i < len(lines) and lines[i].startswith("    ") and lines[i][4] != " ":
                    parts.append(lines[i][4:])
                    i += 1
                assert " ".join(parts) == cause or "".join(parts) == cause, (parts, cause)
                seen += len(parts) > 1
            # nothing runs back to the first column but the asset's own line
            assert all(line.startswith("  ") for line in lines[1:]), lines
        assert seen  # at least one cause was long enough to fold


# ---------------------------------------------------------------------- diff screen


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_diff_screen_shows_a_change_in_the_last_character_of_a_long_string(store_path, size):
    import pandas as pd
    from rich.console import Console

    from explorer import RunWriter
    from explorer.tui.screens.diff import DiffScreen

    long_a = "x" * 999_999 + "b"
    long_b = "x" * 999_999 + "c"
    a = pd.DataFrame({"id": [1, 2, 3], "text": [long_a, "same", "short"], "n": [1, 2, 3]})
    b = pd.DataFrame({"id": [1, 2, 3], "text": [long_b, "same", "shorter"], "n": [1, 2, 3]})
    for i, frame in enumerate((a, b), start=1):
        with RunWriter(store_path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", frame, keys=["id"])
    # truth: where the strings first differ, found here character by character
    first = next(i for i in range(len(long_a)) if long_a[i] != long_b[i])
    marker = f"[{long_a[first]}→{long_b[first]}]"
    app = ExplorerApp(store_path)
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.push_screen(DiffScreen("t", "r1", "r2", keys=["id"]))
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, DiffScreen)
        console = Console(width=size[0] - 2, record=True, file=open("/dev/null", "w"))
        for part in app.screen.parts:
            console.print(part)
        text = console.export_text()
        rows = [line for line in text.splitlines() if line.lstrip().startswith("id=")]
        long_row = next(line for line in rows if line.lstrip().startswith("id=1 "))
        assert marker in long_row  # the change in the millionth character, in place
        assert long_a[first - 3:first] + marker in long_row.split("…", 1)[1]  # after some of the same text
        short_row = next(line for line in rows if line.lstrip().startswith("id=3 "))
        assert "short" in short_row and "shorter" in short_row  # short values whole, from and to
        assert all(len(line) <= size[0] - 2 for line in text.splitlines())
        # and on the screen itself, once scrolled to the samples
        body = app.screen.query_one("#diff-body")
        body.scroll_end(animate=False)
        await settle(app, pilot)
        assert any(marker in line for line in screen_lines(app))
