"""The app at 80x24 and 120x40, driven with Textual's Pilot: the staleness detail's long causes
fold under themselves, the asset preview's footer keeps every key it offers, the preview
searches a whole version page by page (``/``, ``n``, ``N``), a 1-D array is drawn as a histogram
and the diff screen shows a long changed cell around its first difference. Truth comes from the
store's files (pandas, numpy), never from the app's own tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from explorer import RunWriter, Store
from explorer.tui.app import ExplorerApp
from tui_support import drive, screen_lines, screen_text, settle

SMALL = (80, 24)
MEDIUM = (120, 40)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


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


# ---------------------------------------------------------------------- preview search and footer


def searchable_frame():
    """400 rows (eight pages of 50): "needle" in a few rows far apart (mixed case, inside markup),
    an escape sequence in one cell, numbers that never hold the word."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 400
    note = [f"row {i}" for i in range(n)]
    for i, text in ((3, "a needle here"), (120, "NEEDLE"), (121, "[red]needle[/red]"), (250, "the Needle.")):
        note[i] = text
    note[77] = "\x1b[31mred\x1b[0m"
    return pd.DataFrame({"id": np.arange(1000, 1000 + n), "x": rng.normal(size=n), "note": note})


async def open_preview(app, pilot, key: str) -> None:
    await settle(app, pilot)
    app.open_asset(key)
    await settle(app, pilot)
    await pilot.press("2")
    await settle(app, pilot)


async def search(app, pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await settle(app, pilot)
    await settle(app, pilot)


@pytest.mark.parametrize("size,fmt", [(SMALL, "parquet"), (MEDIUM, "csv")])
@drive
async def test_preview_search_finds_every_match_across_pages_with_n_and_N(store_path, size, fmt):
    frame = searchable_frame()
    with RunWriter(store_path, run_id="r1", started_at=T0) as run:
        run.write("t", frame, format=fmt)
    # truth: pandas over the whole frame, case-insensitive, on each cell's text
    texts = frame.astype(str).apply(lambda c: c.str.lower().str.contains("needle", regex=False))
    truth = [int(i) for i in frame.index[texts.any(axis=1)]]
    assert truth == [3, 120, 121, 250]
    app = ExplorerApp(store_path)
    async with app.run_test(size=size) as pilot:
        await open_preview(app, pilot, "t")
        table = app.screen.query_one("#preview-table")
        assert table.row_count == 50
        await search(app, pilot, "needle")
        for i, position in enumerate(truth):
            if i:
                await pilot.press("n")
                await settle(app, pilot)
            assert table.cursor_key() == str(position)
            assert int(str(table.get_row_at(table.cursor_row)[0])) == frame["id"][position]
            status = screen_lines(app)[-2]
            assert f"match {i + 1} of {len(truth)} for “needle”" in status, status
        # the pages up to the last match were read, not the whole table
        assert table.row_count == (truth[-1] // 50 + 1) * 50 < len(frame)
        await pilot.press("n")  # round to the first
        await settle(app, pilot)
        assert table.cursor_key() == str(truth[0])
        await pilot.press("N")  # and back to the last
        await settle(app, pilot)
        assert table.cursor_key() == str(truth[-1]) and f"match {len(truth)} of {len(truth)}" in screen_lines(app)[-2]
        await pilot.press("N")
        await settle(app, pilot)
        assert table.cursor_key() == str(truth[-2])
        # markup in the search is text, never a style; the shown escape \x1b is found as shown
        await search(app, pilot, "[red]")
        assert table.cursor_key() == "121" and "match 1 of 1 for “[red]”" in screen_lines(app)[-2]
        await search(app, pilot, "\\x1b[31m")
        assert table.cursor_key() == "77"
        await search(app, pilot, "no such text")
        assert f"no match for “no such text” in {len(frame)} rows" in screen_text(app)


def footer_items(app) -> list[tuple[str, str]]:
    """(key, description) of every binding the footer should offer: shown and enabled."""
    out = []
    for key, active in app.screen.active_bindings.items():
        b = active.binding
        if b.show and active.enabled:
            out.append((b.key_display or app.get_key_display(b), b.description))
    return out


@drive
async def test_the_preview_footer_keeps_every_key_it_offers_at_80_columns(store_path, demo_path):
    import numpy as np

    frame = searchable_frame()
    with RunWriter(store_path, run_id="r1", started_at=T0) as run:
        run.write("t", frame)
        run.write("a", np.arange(100, dtype=float))
    app = ExplorerApp(store_path)
    async with app.run_test(size=SMALL) as pilot:
        for key in ("t", "a"):
            await open_preview(app, pilot, key)
            footer = screen_lines(app)[-1]
            offered = footer_items(app)
            assert offered
            for shown, description in offered:
                assert f"{shown} {description}" in footer, (shown, description, footer)
            if key == "t":
                for words in ("/ find", "n/N next match", "t trace row", "m more rows", "F counts", "f flag", "V verify"):
                    assert words in footer, footer
            else:
                assert "v values" in footer
            await pilot.press("escape")
            await settle(app, pilot)
        # the keys left out of the footer are in ? help
        await pilot.press("question_mark")
        await settle(app, pilot)
        text = str(app.screen.query_one("#help-table").render())
        for words in ("previous match", "filter the rows read", "rows with this value", "unpickle"):
            assert words in text


# ---------------------------------------------------------------------- npy histogram


@pytest.mark.parametrize("size", [SMALL])
@drive
async def test_a_one_dimensional_array_is_a_histogram_with_its_values_a_key_away(store_path, size):
    import numpy as np

    rng = np.random.default_rng(3)
    values = rng.normal(10, 2, size=5000)
    values[[5, 50, 500]] = np.nan
    values[[6, 60]] = np.inf
    values[7] = -np.inf
    with RunWriter(store_path, run_id="r1", started_at=T0) as run:
        run.write("scores", values)
        run.write("grid", np.ones((4, 3)))
        run.write("nothing", np.array([np.nan, np.nan]))
    finite = values[np.isfinite(values)]
    app = ExplorerApp(store_path)
    async with app.run_test(size=size) as pilot:
        await open_preview(app, pilot, "scores")
        view = app.screen.query_one("#preview-histogram")
        assert view.display and view.hist is not None
        counts, edges = np.histogram(finite, bins=len(view.hist.counts))  # truth: numpy on the same array
        assert len(view.hist.counts) == min(20, np.unique(finite).size)
        assert view.hist.counts == counts.tolist() and sum(view.hist.counts) == finite.size
        assert np.allclose(view.hist.edges, edges)
        note = str(app.screen.query_one("#preview-note").render())
        assert note.startswith(f"{values.size:,} values: {len(counts)} bins")
        assert f"not drawn: NaN {np.isnan(values).sum()}, +inf {np.isposinf(values).sum()}, -inf {np.isneginf(values).sum()}" in note
        assert "█" in str(view.render())  # bars drawn
        await pilot.press("v")  # the raw values
        await settle(app, pilot)
        assert not view.display
        raw = str(app.screen.query_one("#preview-text").render())
        assert f"{values[0]:.4f}"[:6] in raw or f"{values[0]:.3f}"[:5] in raw
        await pilot.press("v")
        await settle(app, pilot)
        assert view.display
        await pilot.press("escape")
        await settle(app, pilot)
        for key in ("grid", "nothing"):  # 2-D: the values; no finite value: said, not a crash
            await open_preview(app, pilot, key)
            view = app.screen.query_one("#preview-histogram")
            if key == "grid":
                assert not view.display and "1." in str(app.screen.query_one("#preview-text").render())
            else:
                note = str(app.screen.query_one("#preview-note").render())
                assert "2 values, none finite · not drawn: NaN 2" in note
            await pilot.press("escape")
            await settle(app, pilot)
