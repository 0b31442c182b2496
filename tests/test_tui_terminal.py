"""The app at the sizes people use (80x24, 120x40) and without colour: what is on the screen,
what has the focus, and what happens when the app itself breaks. Truth comes from the store's
files and the demo story, never from the app's own tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.tui.app import ExplorerApp
from tui_support import drive, screen_lines, screen_text, settle

SMALL = (80, 24)
MEDIUM = (120, 40)


def manifests(root: Path) -> dict[str, dict]:
    out = {}
    for d in sorted(root.iterdir()):
        m = d / "_frontier" / "run.json"
        if m.exists():
            out[d.name] = json.loads(m.read_text())
    return out


def sidecars(root: Path, run_id: str) -> dict[str, dict]:
    out = {}
    for f in sorted((root / run_id / "_frontier" / "versions").glob("*.json")):
        doc = json.loads(f.read_text())
        out[doc["asset"]] = doc
    return out


# ---------------------------------------------------------------------- NO_COLOR and crashes


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_no_color_through_every_screen(demo_path, monkeypatch, size):
    """NO_COLOR=1 swaps in Textual's monochrome filter, which reads the style of every segment
    drawn: the lineage graph used to yield unstyled blanks and crashed the app."""
    monkeypatch.setenv("NO_COLOR", "1")
    runs = manifests(demo_path)
    newest = max(runs, key=lambda r: runs[r]["started_at"])
    app = ExplorerApp(str(demo_path), label="demo")
    seen = []
    async with app.run_test(size=size) as pilot:
        assert app.no_color
        await settle(app, pilot)

        async def press(*keys):
            for k in keys:
                await pilot.press(k)
                await settle(app, pilot)
            seen.append(type(app.screen).__name__)
            assert screen_lines(app)  # something drawn, nothing raised

        await press("enter")  # the newest run: its graph
        assert newest in screen_text(app)
        await press("tab", "j", "k")
        await press("escape", "L")
        await press("l", "l", "j", "u", "d", "g")
        await press("g", "escape")  # ungroup, back to the runs
        await press("s")
        await press("escape")
        assert type(app.screen).__name__ == "RunsScreen"
        app.open_asset("scores")
        await settle(app, pilot)
        for tab in "123456":
            await press(tab)
        await press("2", "l", "l", "F")  # counts of a column
        await press("escape", "equals_sign", "m")
        await press("3", "space", "down", "space", "D")  # diff
        await press("escape", "2", "t")  # trace
        await press("escape", "escape", "question_mark")
        await press("escape", "colon")  # the command palette
        await press("escape")
    assert app.crash is None, seen
    assert {"RunScreen", "GraphScreen", "StalenessScreen", "AssetScreen", "DiffScreen", "TraceScreen",
            "HelpScreen", "RunsScreen", "FrequencyScreen", "CommandPalette"} <= set(seen), seen


CRASHING = """
import os, sys
import explorer.tui.app as m
from explorer.tui.app import ExplorerApp, run

class Broken(ExplorerApp):
    CSS_PATH = os.path.join(os.path.dirname(m.__file__), "app.tcss")

    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.explode)

    def explode(self):
        raise RuntimeError("a bug in the app")

sys.exit(run(Broken(sys.argv[1]), headless=True))
"""


def test_a_crash_exits_non_zero_with_one_line_and_the_traceback_in_a_log(tmp_path, demo_path):
    logs = tmp_path / "logs"
    script = tmp_path / "crash.py"
    script.write_text(CRASHING)
    env = {"FRONTIER_EXPLORE_LOG_DIR": str(logs), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, str(script), str(demo_path)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 1
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    (log,) = logs.iterdir()
    assert lines[0] == f"frontier-explore: the app crashed: RuntimeError: a bug in the app (the traceback is in {log})"
    text = log.read_text()
    assert text.startswith("Traceback (most recent call last):")
    assert "in explode" in text and text.rstrip().endswith("RuntimeError: a bug in the app")
    assert "Traceback" not in res.stdout


# ---------------------------------------------------------------------- what fits at 80x24 and 120x40

RUN_COLUMNS = ["run id", "status", "job", "started", "duration", "assets", "code version", "tags"]


def header_and_status(app) -> tuple[str, str]:
    lines = screen_lines(app)
    header = next(line for line in lines if "run id" in line)
    return header, lines[-2]


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_runs_keep_the_run_id_whole_and_name_the_columns_off_screen(demo_path, size):
    runs = manifests(demo_path)
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        for rid in runs:  # identity column never cut
            assert rid in text
        for _ in range(3):
            header, status = header_and_status(app)
            named = status.split("→ off screen:")[-1].split("(h/l")[0] if "→ off screen:" in status else ""
            last = header.split()[-1]
            for label in RUN_COLUMNS[1:]:
                if label not in header:
                    assert label in named, (label, header, status)  # off screen: named
                elif label in named:
                    assert header.rstrip().endswith(last) and label.endswith(last), (label, header)  # cut at the edge
            await pilot.press("l")  # one column to the right
            await settle(app, pilot)
            for rid in runs:  # the identity columns (run id, status) stay while the others scroll
                line = next(line for line in screen_lines(app) if rid in line)
                assert runs[rid]["status"] in line, line
        if size == SMALL:
            assert "→ off screen:" in screen_text(app) or "tags" in header_and_status(app)[0]


@drive
async def test_y_copies_the_focused_run_id_and_says_so(demo_path):
    runs = manifests(demo_path)
    newest = max(runs, key=lambda r: runs[r]["started_at"])
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        await pilot.press("y")
        await settle(app, pilot)
        assert app.clipboard == newest
        assert f"copied {newest}" in screen_lines(app)[-2]


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_slash_filters_the_staleness_table(demo_path, size):
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        table = app.screen.query_one("#stale")
        before = table.row_count
        await pilot.press("slash", *"drift")
        await settle(app, pilot)
        keys = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
        assert keys == ["reports/drift"]  # the demo's planned, never written report: nothing reads it
        assert f"1 of {before} rows match “drift”" in screen_text(app)
        await pilot.press("enter")
        assert app.focused is table
        await pilot.press("slash", "escape")  # clears
        await settle(app, pilot)
        assert table.row_count == before


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_staleness_rows_show_their_root_cause_whole(demo_path, size):
    from explorer import Store

    report = Store.open(str(demo_path), cache=False).staleness()
    expected = {a.asset: ", ".join(dict.fromkeys(c.asset for c in a.root_causes)) for a in report.assets
                if a.root_causes}
    assert any("," in v for v in expected.values())  # the demo has assets with two root causes
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        lines = screen_lines(app)
        for asset, roots in expected.items():
            line = next(line for line in lines if line.lstrip().startswith(asset + " "))
            assert roots in line, (asset, roots, line)  # whole on the row, not "raw/bureau, …"


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_help_keys_never_run_into_their_descriptions(demo_path, size):
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await settle(app, pilot)
        help_text = str(app.screen.query_one("#help-table").render())
        assert "pagedownmove" not in help_text
        lines = help_text.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip() == "up down pageup pagedown")
        assert lines[at + 1].strip() == "move"  # a long key list: its description on the next line
        for line in lines[:at] + lines[at + 1:]:
            if line.startswith("  ") and not line.startswith("   ") and len(line) > 19:
                assert line[18] == " ", line  # a key, a space, its description


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_run_screen_starts_on_its_table_with_one_cursor(demo_path, size):
    from explorer.tui.widgets.lineage_graph import LineageGraph

    runs = manifests(demo_path)
    newest = max(runs, key=lambda r: runs[r]["started_at"])
    written = sorted(sidecars(demo_path, newest))
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        table = app.screen.query_one("#versions")
        graph = app.screen.query_one("#graph", LineageGraph)
        assert app.focused is table
        assert graph.cursor is None  # the graph draws no focused node while the table has the focus
        node = graph.focused_node
        await pilot.press("j")
        assert table.cursor_row == 1 and graph.focused_node == node
        await pilot.press("tab")
        assert app.focused is graph and graph.cursor == node and not table.show_cursor
        first = screen_lines(app)[0]
        assert f"runs › run {newest}" in first
        assert sorted(str(k.value) for k in table.rows) == written


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_graph_info_bar_filled_on_open_and_after_a_jump_from_staleness(demo_path, size):
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph")
        detail = str(app.screen.query_one("#detail").text)
        assert graph.focused_node and detail.startswith(graph.focused_node)
        await pilot.press("escape", "s")
        await settle(app, pilot)
        assert str(app.screen.query_one("#stale").coordinate_to_cell_key((0, 0)).row_key.value) == "clean/applications"
        await pilot.press("L")  # to the root cause: raw/applications changed in r8 (the demo story)
        await settle(app, pilot)
        detail = str(app.screen.query_one("#detail").text)
        assert detail.startswith("raw/applications")
        assert "raw/applications" in screen_text(app)
        assert "esc back" in screen_lines(app)[-1]  # the footer's last key is not cut


@pytest.mark.parametrize("size,whole", [((220, 60), True), (SMALL, False)])
@drive
async def test_graph_boxes_fit_their_labels_when_the_terminal_allows(demo_path, size, whole):
    from explorer.demo import PLAN_FULL

    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        text = screen_text(app)
        keys = set(PLAN_FULL) | {i for ins in PLAN_FULL.values() for i in ins}
        if whole:
            for key in keys:
                assert f"│ {key} " in text or f"│ {key}│" in text, key
        else:
            for key in ("raw/applications", "raw/bureau"):  # the sources, on screen at 80 columns
                assert f"│ {key} " in text
            # it cannot all fit: boxes narrow enough for three layers, as far as their keys allow
            graph = app.screen.query_one("#graph")
            layers = graph.lay.real_layers()
            lefts = sorted({graph.lay.placed[n].x for layer in layers[:3] for n in layer})
            assert len(lefts) == 3 and lefts[-1] + graph.lay.box_w <= size[0]
            line = next(line for line in screen_lines(app) if "raw/applications" in line)
            assert line.count("┌") + line.count("│ ") >= 3 or "clean/applications" in text


@drive
async def test_breadcrumbs_follow_the_screen_stack_and_ctrl_c_quits(demo_path):
    runs = manifests(demo_path)
    newest = max(runs, key=lambda r: runs[r]["started_at"])
    asset = sorted(sidecars(demo_path, newest))[0]
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert screen_lines(app)[0].startswith(f" demo › runs › run {newest} › {asset}")
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_lines(app)[0].startswith(f" demo › runs › run {newest} ")
        assert app.return_code is None
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and app.crash is None


# ---------------------------------------------------------------------- keys users expect


@drive
async def test_brackets_cycle_the_asset_tabs_and_y_copies_what_is_focused(demo_path):
    from explorer.tui.screens.asset import TABS

    scores = {r: d for r, m in manifests(demo_path).items() if (d := sidecars(demo_path, r).get("scores"))}
    newest = max(scores, key=lambda r: scores[r]["created_at"])
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        tabs = app.screen.query_one("#tabs")
        seen = [tabs.active]
        for _ in TABS:
            await pilot.press("right_square_bracket")
            await settle(app, pilot)
            seen.append(tabs.active)
        assert seen == TABS + TABS[:1]  # ] walks every tab in order and wraps
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert tabs.active == TABS[-1]  # columns, its tree focused
        await pilot.press("y")  # the tree's root: this version
        await settle(app, pilot)
        assert app.clipboard == f"scores@{newest}"
        assert f"copied scores@{newest}" in screen_text(app)
        await pilot.press("Y")
        await settle(app, pilot)
        assert app.clipboard == scores[newest]["data_path"]
        await pilot.press("H")
        await settle(app, pilot)
        assert app.clipboard == scores[newest]["content_hash"]


@drive
async def test_trace_is_offered_for_table_rows_only(demo_path):
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=MEDIUM) as pilot:
        await settle(app, pilot)
        for key, offered in (("scores", True), ("reports/score_distribution", False)):  # parquet, npy
            app.open_asset(key)
            await settle(app, pilot)
            await pilot.press("2")
            await settle(app, pilot)
            assert ("t trace row" in screen_lines(app)[-1]) is offered, (key, screen_lines(app)[-1])
            await pilot.press("t")
            await settle(app, pilot)
            assert (type(app.screen).__name__ == "TraceScreen") is offered
            await pilot.press("escape")
            await settle(app, pilot)
            if offered:
                await pilot.press("escape")
                await settle(app, pilot)


@drive
async def test_runs_title_counts_the_assets_the_graph_draws(demo_path):
    runs = manifests(demo_path)
    written = {a for r in runs for a in sidecars(demo_path, r)}
    planned = {p["asset"] for m in runs.values() for p in m.get("planned_assets", [])}
    never = planned - written
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        title = screen_lines(app)[1]
        assert f"{len(written | planned)} assets ({len(never)} never written)" in title, title
        await pilot.press("L")
        await settle(app, pilot)
        assert f"{len(written | planned)} assets" in screen_lines(app)[1]


# ---------------------------------------------------------------------- the preview


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_preview_counts_pages_filters_by_value_and_counts_a_column(demo_path, size):
    import pandas as pd

    scores = {r: d for r, m in manifests(demo_path).items() if (d := sidecars(demo_path, r).get("scores"))}
    newest = max(scores, key=lambda r: scores[r]["created_at"])
    frame = pd.read_parquet(demo_path / scores[newest]["data_path"])  # the truth: the file itself
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        table = app.screen.query_one("#preview-table")
        assert f"rows 1–50 of {len(frame):,}" in screen_text(app)
        assert table.row_count == 50
        await pilot.press("m")  # the next page, read with an offset
        await settle(app, pilot)
        assert table.row_count == 100 and f"rows 1–100 of {len(frame):,}" in screen_text(app)
        ids = [int(str(table.get_row_at(i)[0])) for i in range(100)]
        assert ids == frame["application_id"].head(100).tolist()
        # = keeps the rows holding the focused value (the decision of the first row)
        await pilot.press("l", "l")
        first = frame["decision"].iloc[0]
        await pilot.press("equals_sign")
        await settle(app, pilot)
        expect = int((frame["decision"].head(100) == first).sum())
        assert table.row_count == expect
        assert f"{expect} of 100 rows match decision = “{first}”" in screen_text(app)
        await pilot.press("equals_sign")
        await settle(app, pilot)
        assert table.row_count == 100
        # F: how often each decision occurs in the whole version, not only the rows read
        await pilot.press("F")
        await settle(app, pilot)
        counts = app.screen.query_one("#frequency-table")
        shown = {str(counts.get_row_at(i)[0]): int(str(counts.get_row_at(i)[1]).replace(",", ""))
                 for i in range(counts.row_count)}
        assert shown == frame["decision"].value_counts().to_dict()
        head = str(app.screen.query_one("#frequency-box .hint").render())
        assert f"{frame['decision'].nunique()} distinct values in {len(frame):,} rows" in head
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "AssetScreen"


@drive
async def test_history_spaces_versions_by_time(demo_path):
    from datetime import datetime

    runs = manifests(demo_path)
    with_scores = sorted((r for r in runs if "scores" in sidecars(demo_path, r)), key=lambda r: runs[r]["started_at"])
    starts = [datetime.fromisoformat(runs[r]["started_at"].replace("Z", "+00:00")).timestamp() for r in with_scores]
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=MEDIUM) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        lines = str(app.screen.query_one("#plot").render()).splitlines()
        columns = sorted({i for line in lines for i, ch in enumerate(line) if ch == "●"})
        assert len(columns) == len(with_scores)
        # the gaps between points are in proportion to the time between the runs (one column of rounding)
        span_cols, span_time = columns[-1] - columns[0], starts[-1] - starts[0]
        for col, t in zip(columns, starts):
            assert abs((col - columns[0]) - (t - starts[0]) / span_time * span_cols) <= 1.5, (columns, starts)
        assert len({b - a for a, b in zip(columns, columns[1:])}) > 1  # the demo's runs are not evenly spaced


@drive
async def test_tags_in_the_order_the_run_wrote_them_as_the_cli_shows_them(demo_path):
    runs = manifests(demo_path)
    newest = max(runs, key=lambda r: runs[r]["started_at"])
    tags = " ".join(f"{k}={v}" for k, v in runs[newest]["tags"].items())
    assert tags != " ".join(f"{k}={v}" for k, v in sorted(runs[newest]["tags"].items()))  # the order matters here
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=(220, 40)) as pilot:
        await settle(app, pilot)
        assert tags in screen_text(app)  # the runs table
        await pilot.press("enter")
        await settle(app, pilot)
        assert f"tags {tags}" in screen_text(app)  # the run's facts


@drive
async def test_the_flag_dialog_is_drawn_over_its_screen_not_over_a_blank_one(demo_path, tmp_path):
    import shutil

    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    app = ExplorerApp(str(root), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        behind = screen_lines(app)[1]  # the asset's title
        assert "asset scores" in behind
        await pilot.press("f")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReasonModal"
        text = screen_text(app)
        assert "as bad. Why?" in text and "asset scores" in text  # the question, and what it is about
        await pilot.press("escape")
        await settle(app, pilot)
        assert not (root / "_frontier_flags").exists()  # cancelled: nothing written


@drive
async def test_the_overview_opens_at_its_facts_and_follows_the_schema_cursor(demo_path):
    runs = manifests(demo_path)
    run = max((r for r in runs if "clean/applications" in sidecars(demo_path, r)), key=lambda r: runs[r]["started_at"])
    doc = sidecars(demo_path, run)["clean/applications"]
    columns = [c["name"] for c in doc["table"]["columns"]]
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        app.open_asset("clean/applications")
        await settle(app, pilot)
        lines = screen_lines(app)
        assert f"asset clean/applications @ {run}" in lines[1]
        assert lines[1].rstrip().endswith("stale")  # the title's status is not cut at 80 columns
        assert any(line.strip().startswith(f"run {run}") for line in lines)  # the first fact, not scrolled away
        assert any(line.strip().startswith("hash sha256:") for line in lines)
        for _ in range(len(columns) - 1):
            await pilot.press("j")
        await settle(app, pilot)
        assert any(line.split()[:1] == [columns[-1]] for line in screen_lines(app))  # the cursor's row on screen


@drive
async def test_sorting_by_a_column_off_screen_says_so(demo_path):
    runs = manifests(demo_path)
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        header, _ = header_and_status(app)
        assert "code version" not in header  # off screen at 80 columns (the narrower ones shrink to fit)
        await pilot.press("7")  # sort by code version
        await settle(app, pilot)
        _, status = header_and_status(app)
        assert "code version ▲" in status, status
        shown = [runs[line.split()[0]]["code_version"] for line in screen_lines(app)
                 if line.split() and line.split()[0] in runs]
        assert len(shown) == len(runs) and shown == sorted(shown)  # the rows in that order


@drive
async def test_counts_in_the_app_take_the_right_plural(tmp_path):
    """A store of one run and one asset: "1 run · 1 asset", as the CLI says it, not "1 runs"."""
    import pandas as pd

    from explorer import RunWriter

    with RunWriter(str(tmp_path / "one"), job="j") as run:
        run.write("only", pd.DataFrame({"a": [1]}))
    app = ExplorerApp(str(tmp_path / "one"), label="one")
    async with app.run_test(size=MEDIUM) as pilot:
        await settle(app, pilot)
        title = screen_lines(app)[1]
        assert "1 run · 1 asset" in title and "runs" not in title and "assets" not in title, title
        await pilot.press("L")
        await settle(app, pilot)
        assert " · 1 asset · " in screen_lines(app)[1], screen_lines(app)[1]
