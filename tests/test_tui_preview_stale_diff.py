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
