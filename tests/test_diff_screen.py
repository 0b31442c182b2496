"""The app's diff screen with the options of Store.diff: the counts it shows are pandas' truth
under each option, and a redacted column's values never reach the screen."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pandas as pd

from explorer import RunWriter
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.diff import DiffScreen
from tui_support import workers_done

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
A = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0], "S": [" a", "b", "C", "d"],
                  "secret": ["pw-one", "pw-two", "pw-three", "pw-four"], "noise": [1, 2, 3, 4]})
B = pd.DataFrame({"id": [1, 2, 3, 4], "x": [1.05, 2.0, 3.5, 4.0], "s": ["a", "b", "c", "e"],
                  "secret": ["pw-one", "pw-2", "pw-three", "pw-four"], "noise": [9, 9, 9, 9]})


def rendered(parts) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    for p in parts:
        console.print(p)
    return console.export_text()


async def screen_text(path: str, **options) -> str:
    app = ExplorerApp(path)
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(3):
            await pilot.pause()
            await workers_done(app)
        app.push_screen(DiffScreen("t", "r1", "r2", **options))
        for _ in range(4):
            await pilot.pause()
            await workers_done(app)
        assert isinstance(app.screen, DiffScreen)
        title = str(app.screen.query_one("#title").render())
        return title + "\n" + rendered(app.screen.parts)


def test_the_diff_screen_applies_every_option(store_path):
    for i, frame in enumerate((A, B), start=1):
        with RunWriter(store_path, run_id=f"r{i}", started_at=T0 + timedelta(days=i)) as run:
            run.write("t", frame)
    options = dict(keys=["id"], abs_tol={"x": 0.1}, rel_tol=0.0, ignore_spaces=True, ignore_case=True,
                   ignore_column_case=True, exclude=["noise"], redact=["secret"], limit=5)
    text = asyncio.run(screen_text(store_path, **options))
    # truth: pandas under the same rules
    x_changed = int(((A.x - B.x).abs() > 0.1).sum())
    s_changed = int((A.S.str.strip().str.lower() != B.s.str.strip().str.lower()).sum())
    secret_changed = int((A.secret != B.secret).sum())
    rows_changed = int((((A.x - B.x).abs() > 0.1) | (A.S.str.strip().str.lower() != B.s.str.strip().str.lower())
                        | (A.secret != B.secret)).sum())
    assert f"changed {rows_changed}" in text and f"unchanged {len(A) - rows_changed}" in text
    for column, n in (("x", x_changed), ("S", s_changed), ("secret", secret_changed)):
        assert any(line.split()[:2] == [column, str(n)] for line in text.splitlines()), (column, n)
    assert "noise" not in text.split("\n", 1)[1]  # excluded: not compared, not in the statistics
    assert "pw-two" not in text and "pw-2" not in text and "***" in text
    assert "ignore-spaces" in text and "redact" in text  # the title says how it compared
