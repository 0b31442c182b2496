"""The terminal app driven with Textual's Pilot: each flow a user follows, checked against
truth read independently from the store's files or the demo story (explorer/demo.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import networkx as nx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from textual.widgets import DataTable, Input, Static, Tree
from tui_support import drive, settle

from explorer.demo import PLAN_FULL
from explorer.store import RunWriter
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.asset import AssetScreen
from explorer.tui.screens.graph import GraphScreen
from explorer.tui.screens.help import HelpScreen
from explorer.tui.screens.run import RunScreen
from explorer.tui.screens.runs import RunsScreen
from explorer.tui.widgets.lineage_graph import LineageGraph

SIZE = (120, 36)


def manifests(root: Path) -> dict[str, dict]:
    """Run manifests read straight from the files (not through the library)."""
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


def column(table: DataTable, key: str) -> list[str]:
    """A column's cells in the order the user sees them."""
    return [str(table.get_cell(row, key)) for row in row_keys(table)]


def row_keys(table: DataTable) -> list[str]:
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def screen_text(widget: Static) -> str:
    return str(widget.render())


# ---------------------------------------------------------------------- runs


@drive
async def test_runs_newest_first_and_open_a_run(demo_path):
    runs = manifests(demo_path)
    newest_first = sorted(runs, key=lambda r: runs[r]["started_at"], reverse=True)
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one("#runs", DataTable)
        assert row_keys(table) == newest_first
        # status shown as a word (not colour alone)
        statuses = column(table, "status")
        for rid, cell in zip(newest_first, statuses):
            assert runs[rid]["status"] in cell
        # open the third run (a failed one in the demo story: R7)
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RunScreen)
        rid = newest_first[2]
        assert app.screen.run_id == rid
        versions = app.screen.query_one("#versions", DataTable)
        assert sorted(column(versions, "asset")) == sorted(sidecars(demo_path, rid))
        facts = screen_text(app.screen.query_one("#facts", Static))
        planned = [p["asset"] for p in runs[rid]["planned_assets"]]
        assert f"wrote {len(sidecars(demo_path, rid))} of {len(planned)} planned assets" in facts
        not_written = [a for a in planned if a not in sidecars(demo_path, rid)]
        assert not_written == ["reports/drift"]
        assert "reports/drift" in facts
        graph = app.screen.query_one("#graph", LineageGraph)
        assert graph.shown_info["reports/drift"].status == "missing"  # the title says the run failed
        assert graph.shown_info["features"].status == "input"  # read from R6
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, RunsScreen)


@drive
async def test_filter_runs_as_you_type(demo_path):
    runs = manifests(demo_path)
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"ingest")
        await settle(app, pilot)
        table = app.screen.query_one("#runs", DataTable)
        expected = sorted((r for r, m in runs.items() if m["job"] == "ingest"), reverse=True)
        assert row_keys(table) == expected
        assert f"{len(expected)} of {len(runs)} runs match" in screen_text(app.screen.query_one("#title", Static))
        await pilot.press("enter")  # back to the table, filter kept
        assert app.focused is table
        await pilot.press("escape")  # clears the filter
        await settle(app, pilot)
        assert len(row_keys(table)) == len(runs)


@drive
async def test_sort_by_column(demo_path):
    runs = manifests(demo_path)
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#runs", DataTable)
        await pilot.press("3")  # job (the third column: run id and status come first), ascending
        await pilot.pause()
        jobs = column(table, "job")
        assert jobs == sorted(m["job"] for m in runs.values())
        await pilot.press("3")  # again: descending
        await pilot.pause()
        assert column(table, "job") == sorted((m["job"] for m in runs.values()), reverse=True)


# ---------------------------------------------------------------------- graph


def plan_graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for asset, inputs in PLAN_FULL.items():
        g.add_node(asset)
        for i in inputs:
            g.add_edge(i, asset)
    return g


@drive
async def test_walk_the_graph_along_an_edge_and_back(demo_path):
    g = plan_graph()
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, GraphScreen)
        graph = app.screen.query_one("#graph", LineageGraph)
        assert app.focused is graph
        assert graph.focus_node("clean/applications")
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        assert graph.focused_node == "features"
        assert "features" in list(g.successors("clean/applications"))
        detail = str(app.screen.query_one("#detail").text)
        assert detail.startswith("features")
        await pilot.press("l")  # downstream again: a successor of features
        await pilot.pause()
        step = graph.focused_node
        assert step in set(g.successors("features"))
        await pilot.press("h")  # and back along the same edge
        await pilot.pause()
        assert graph.focused_node == "features"
        await pilot.press("left")  # back to where we came from, not the other input
        await pilot.pause()
        assert graph.focused_node == "clean/applications"
        await pilot.press("left")
        await pilot.pause()
        assert graph.focused_node == "raw/applications"
        await pilot.press("left")  # a source: nowhere further upstream
        await pilot.pause()
        assert graph.focused_node == "raw/applications"
        await pilot.press("j")  # the sibling in the same layer
        await pilot.pause()
        assert graph.focused_node == "raw/bureau"


@drive
async def test_upstream_closure_and_grouping(demo_path):
    g = plan_graph()
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        graph.focus_node("features")
        await pilot.press("u")
        await pilot.pause()
        assert graph.highlight == {"raw/applications", "raw/bureau", "clean/applications"}
        assert graph.highlight == nx.ancestors(g, "features")
        await pilot.press("u")
        await pilot.pause()
        assert graph.highlight == set()
        await pilot.press("d")
        await pilot.pause()
        # downstream of features in the store: the plan's plus reports/drift planned by R7
        assert graph.highlight == nx.descendants(g, "features") | {"reports/drift"}
        await pilot.press("d")
        await pilot.press("g")
        await pilot.pause()
        store_assets = set(g) | {"reports/drift"}
        prefixes: dict[str, set] = {}
        for a in store_assets:
            prefixes.setdefault(a.split("/")[0] + "/*" if "/" in a else a, set()).add(a)
        # a prefix shared by several assets is one node; a prefix of one asset stays that asset (its name shown)
        expected = {p if len(ms) > 1 else next(iter(ms)) for p, ms in prefixes.items()}
        assert set(graph.shown.nodes) == expected
        assert "clean/applications" in expected and "raw/*" in expected  # the demo has both kinds
        assert graph.focused_node == "features"
        assert set(graph.members["reports/*"]) == {"reports/score_distribution", "reports/drift"}
        graph.focus_node("raw/*")
        await pilot.press("enter")  # expands that group only, focusing its first member
        await pilot.pause()
        assert graph.grouped
        assert graph.focused_node == "raw/applications"
        assert set(graph.shown.nodes) == (expected - {"raw/*"}) | prefixes["raw/*"]
        await pilot.press("g", "g")  # ungroup and group again: every group closed
        await pilot.pause()
        assert set(graph.shown.nodes) == expected


@drive
async def test_graph_drawing_shows_every_asset_with_status_and_run(demo_path):
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        drawing = "\n".join("".join(t for t, _, _ in line) for line in graph._lines)
        latest_scores_run = sorted(r for r in manifests(demo_path) if "scores" in sidecars(demo_path, r))[-1]
        assert latest_scores_run.endswith("-r7")
        for key in PLAN_FULL:
            assert key[:20] in drawing
        assert "missing" in drawing  # reports/drift: planned by R7, which failed, and never written
        assert "10-27 r7" in drawing  # scores, made by R7
        assert "▶" in drawing and "┌" in drawing
        # every edge of the plan (and R7's planned drift report) is drawn, with an arrow into its target
        expected = set(plan_graph().edges) | {("scores", "reports/drift"), ("features", "reports/drift")}
        assert set(graph.lay.edge_cells) == expected
        for (a, b), cells in graph.lay.edge_cells.items():
            target = graph.lay.placed[b]
            assert (target.x - 1, target.in_row) in cells and (target.x - 1, target.in_row) in graph.lay.arrows
        # the focused asset's edges are the highlighted ones
        graph.focus_node("features")
        await pilot.pause()
        hot = {(x, y) for y, xs in graph.hot_cells().items() for x in xs}
        mine = set().union(*(c for e, c in graph.lay.edge_cells.items() if "features" in e))
        assert hot == mine
        assert not graph.lay.edge_cells[("raw/applications", "clean/applications")] <= hot


@drive
async def test_graph_of_forty_assets_is_laid_out_without_overlap():
    from explorer.tui.widgets.graph_layout import Dummy, layout

    g = nx.gn_graph(45, seed=3).reverse()  # a random tree-ish DAG of 45 assets
    g = nx.relabel_nodes(g, {n: f"group{n % 4}/asset_{n}" for n in g})
    lay = layout(g, box_w=22)
    boxes = [(p.x, p.y) for n, p in lay.placed.items() if not isinstance(n, Dummy)]
    assert len(boxes) == 45
    assert len(set(boxes)) == 45
    for n, p in lay.placed.items():  # every edge goes left to right
        for s in g.successors(n) if not isinstance(n, Dummy) else ():
            assert lay.placed[s].layer > p.layer


# ---------------------------------------------------------------------- asset


@drive
async def test_open_an_asset_from_the_graph(demo_path):
    runs = manifests(demo_path)
    latest = max((r for r in runs if "features" in sidecars(demo_path, r)), key=lambda r: runs[r]["started_at"])
    rows = pq.read_metadata(demo_path / latest / "features.parquet").num_rows
    first = pq.read_table(demo_path / latest / "features.parquet").to_pandas().head(3)
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        graph.focus_node("features")
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AssetScreen) and screen.key == "features"
        facts = screen_text(screen.query_one("#facts", Static))
        assert latest in facts
        assert f"{rows:,}" in facts
        schema = screen.query_one("#schema", DataTable)
        assert column(schema, "column") == list(pq.read_schema(demo_path / latest / "features.parquet").names)
        await pilot.press("2")
        await settle(app, pilot)
        preview = screen.query_one("#preview-table", DataTable)
        assert [str(c.label) for c in preview.columns.values()] == list(first.columns)
        assert str(preview.get_row_at(0)[0]) == str(first.iloc[0, 0])
        await pilot.press("3")
        await pilot.pause()
        versions = screen.query_one("#versions-table", DataTable)
        with_features = sorted((r for r in runs if "features" in sidecars(demo_path, r)),
                               key=lambda r: runs[r]["started_at"], reverse=True)
        assert row_keys(versions) == with_features
        await pilot.press("5")
        await pilot.pause()
        tree = screen.query_one("#provenance-tree", Tree)
        children = {n.data.asset for n in tree.root.children}
        assert children == set(PLAN_FULL["features"])
        await pilot.press("4")
        await pilot.pause()
        plot = str(screen.query_one("#plot").render())
        assert "features" in plot and "over time" in plot


async def pick_in_palette(app, pilot, typed: str, wanted: str) -> None:
    """Type into the open command palette, wait until ``wanted`` is the highlighted command, run it."""
    from textual.command import CommandList, CommandPalette

    for _ in range(40):
        await pilot.pause(0.05)
        if isinstance(app.screen, CommandPalette):
            break
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*typed)
    for _ in range(100):
        await pilot.pause(0.05)
        options = app.screen.query_one(CommandList)
        if options.highlighted is not None and options.option_count:
            prompt = options.get_option_at_index(options.highlighted).prompt
            if str(getattr(prompt, "plain", prompt)).startswith(wanted):
                break
    await pilot.press("enter")


@drive
async def test_help_and_palette(demo_path):
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-table").render())
        for words in ("filter", "downstream", "diff marked", "root cause in graph", "refresh", "command palette",
                      "next tab", "copy data path"):
            assert words in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("ctrl+p")
        await pick_in_palette(app, pilot, "asset scores", "Asset scores")
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen) and app.screen.key == "scores"
        runs = manifests(demo_path)
        oldest = min(runs, key=lambda r: runs[r]["started_at"])
        await pilot.press("colon")  # ':' opens the same command line (vi, k9s)
        await pick_in_palette(app, pilot, f"run {oldest}", f"Run {oldest}")
        await settle(app, pilot)
        assert isinstance(app.screen, RunScreen) and app.screen.run_id == oldest


# ---------------------------------------------------------------------- live


def write_run(root: Path, when: datetime, job: str = "hotfix") -> str:
    with RunWriter(str(root), job=job, code_version="v9", started_at=when,
                   plan={"raw/applications": [], "features": ["raw/applications"]}) as run:
        run.write("raw/applications", pd.DataFrame({"application_id": [1, 2, 3]}))
    return run.run_id


@drive
async def test_refresh_after_a_new_run_keeps_the_selection(demo_path, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#runs", DataTable)
        before = row_keys(table)
        await pilot.press("down", "down")
        selected = before[2]
        new = write_run(root, datetime(2026, 11, 20, 2, tzinfo=timezone.utc))
        await pilot.press("r")
        await settle(app, pilot)
        after = row_keys(table)
        assert after == [new] + before
        assert row_keys(table)[table.cursor_row] == selected  # selection kept
        assert "hotfix" in column(table, "job")[0]


@drive
async def test_a_refresh_from_a_deep_screen_redraws_every_screen_of_the_stack(demo_path, tmp_path, monkeypatch):
    """The app posts StoreChanged to each screen of its stack; each redraws itself: a new run
    written while the user is on an asset shows in that asset's versions and, going back, in the
    lineage graph's title and at the top of the runs table."""
    from explorer.tui.messages import StoreChanged
    from explorer.tui.screens.base import AppScreen

    received: list[str] = []
    original = AppScreen.on_store_changed

    def spy(screen, message):
        assert isinstance(message, StoreChanged)
        received.append(type(screen).__name__)
        original(screen, message)

    monkeypatch.setattr(AppScreen, "on_store_changed", spy)
    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        app.open_asset("raw/applications")
        await settle(app, pilot)
        versions = app.screen.query_one("#versions-table", DataTable)
        before = row_keys(versions)
        received.clear()
        new = write_run(root, datetime(2026, 11, 20, 2, tzinfo=timezone.utc))
        await pilot.press("r")
        await settle(app, pilot)
        assert sorted(received) == sorted(type(s).__name__ for s in app.screen_stack)
        assert row_keys(versions) == [new] + before  # the screen on top
        await pilot.press("escape")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        assert graph.shown_info["raw/applications"].run_id == new  # the screen beneath
        await pilot.press("escape")
        await settle(app, pilot)
        assert row_keys(app.screen.query_one("#runs", DataTable))[0] == new  # and the home screen


@drive
async def test_watch_shows_a_running_run_progress(demo_path, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    app = ExplorerApp(str(root), watch=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#runs", DataTable)
        writer = RunWriter(str(root), job="live", started_at=datetime(2026, 11, 21, tzinfo=timezone.utc),
                           plan={"raw/applications": [], "raw/bureau": [], "features": ["raw/applications"]})
        with pytest.raises(RuntimeError):
            with writer as run:
                run.write("raw/applications", pd.DataFrame({"application_id": [1]}))
                for _ in range(100):  # wait for the poll to pick the run up
                    await asyncio.sleep(0.05)
                    await pilot.pause()
                    if table.row_count and row_keys(table)[0] == run.run_id:
                        break
                status = column(table, "status")[0]
                assert "running 1/3" in status
                assert row_keys(table)[table.cursor_row] != run.run_id  # the selection stayed put
                await pilot.press("g", "enter")  # first row: the running run, what it wrote and what is pending
                await settle(app, pilot)
                assert isinstance(app.screen, RunScreen)
                assert "wrote 1 of 3 planned assets" in screen_text(app.screen.query_one("#facts", Static))
                info = app.screen.query_one("#graph", LineageGraph).shown_info
                assert {k: i.status for k, i in info.items() if i.status == "pending"} == {
                    "raw/bureau": "pending", "features": "pending"}
                await pilot.press("escape")
                await settle(app, pilot)
                raise RuntimeError("stop the run")
        for _ in range(100):
            await asyncio.sleep(0.05)
            await pilot.pause()
            if "failed" in column(table, "status")[0]:
                break
        assert "failed" in column(table, "status")[0]


@drive
async def test_a_missing_store_is_reported_and_the_app_keeps_running(tmp_path):
    app = ExplorerApp(str(tmp_path / "nowhere"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, RunsScreen)
        title = screen_text(app.screen.query_one("#title", Static))
        assert "cannot read the store" in title and "does not exist" in title
        await pilot.press("L", "s", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


# ---------------------------------------------------------------------- diff and staleness


def rendered(parts) -> str:
    from rich.console import Console

    console = Console(width=160, record=True, file=open("/dev/null", "w"))
    for p in parts:
        console.print(p)
    return console.export_text()


@drive
async def test_mark_two_versions_and_diff(demo_path):
    from explorer.tui.screens.diff import DiffScreen

    runs = manifests(demo_path)
    with_scores = sorted((r for r in runs if "scores" in sidecars(demo_path, r)), key=lambda r: runs[r]["started_at"])
    newest, before = with_scores[-1], with_scores[-2]
    a = pd.read_parquet(demo_path / before / "scores.parquet")
    b = pd.read_parquet(demo_path / newest / "scores.parquet")
    m = a.merge(b, on="application_id", suffixes=("_a", "_b"))
    changed_decisions = int((m["decision_a"] != m["decision_b"]).sum())
    assert changed_decisions > 0
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        await pilot.press("3")  # versions tab, newest first
        await pilot.pause()
        await pilot.press("space", "down", "space", "D")
        await settle(app, pilot)
        assert isinstance(app.screen, DiffScreen)
        assert (app.screen.a, app.screen.b) == (before, newest)
        text = rendered(app.screen.parts)
        assert f"{before} -> {newest}" in text
        assert "decision" in text and f"{changed_decisions}" in text
        assert f"a {len(a):,}   b {len(b):,}" in text  # the rows section
        # the summary at the top does not repeat what the sections below show
        head = str(app.screen.parts[0])
        assert "rows " not in head and "changed values per column" not in head and "metadata:" not in head
        assert head.count("\n") < 24 - 6 and "why:" in head
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen)
        # one key: the selected version against the one before it
        versions = app.screen.query_one("#versions-table", DataTable)
        versions.focus()
        versions.move_cursor(row=row_keys(versions).index(before))
        await pilot.press("p")
        await settle(app, pilot)
        assert isinstance(app.screen, DiffScreen)
        assert (app.screen.a, app.screen.b) == (with_scores[-3], before)


@drive
async def test_staleness_panel_jumps_to_the_root_cause(demo_path):
    g = plan_graph()
    # the story: R8 brought new source data, so everything built from raw/* before it is stale,
    # and reports/drift (R7's failed step) was never written
    sources = {n for n in g if g.in_degree(n) == 0}
    expected_stale = set().union(*(nx.descendants(g, s) for s in sources))
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("s")
        await settle(app, pilot)
        table = app.screen.query_one("#stale", DataTable)
        statuses = dict(zip(row_keys(table), column(table, "status")))
        assert {k for k, v in statuses.items() if "stale" in v} == expected_stale
        assert {k for k, v in statuses.items() if "missing" in v} == {"reports/drift"}
        table.move_cursor(row=row_keys(table).index("scores"))
        await pilot.press("enter")  # enter opens the asset, as on every screen
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen) and app.screen.key == "scores"
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("L")  # L: the root cause in the lineage graph
        await settle(app, pilot)
        assert isinstance(app.screen, GraphScreen)
        graph = app.screen.query_one("#graph", LineageGraph)
        assert graph.focused_node in sources & nx.ancestors(g, "scores")
        assert app.focused is graph
        assert graph.shown_info["scores"].status == "stale"
        # the graph says what the staleness table says, and why: R7 planned it and failed
        assert graph.shown_info["reports/drift"].status == "missing"
        r7 = next(r for r, m in manifests(demo_path).items() if m["status"] == "failed"
                  and "reports/drift" in [p["asset"] for p in m["planned_assets"]])
        graph.focus_node("reports/drift")
        await settle(app, pilot)
        detail = str(app.screen.query_one("#detail").text)
        assert f"never materialized; planned by {r7}" in detail


@drive
async def test_grouping_falls_back_to_within_layers_when_prefixes_would_form_a_cycle(tmp_path):
    root = tmp_path / "store"
    df = pd.DataFrame({"x": [1, 2]})
    with RunWriter(str(root), job="j") as run:
        run.write("a/x", df)
        run.write("a/w", df)
        run.write("b/y", df, inputs=["a/x"])
        run.write("a/z", df, inputs=["b/y", "a/w"])
    # merging every a/* into one node would give a -> b -> a
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        await pilot.press("g")
        await pilot.pause()
        assert graph.grouped
        assert nx.is_directed_acyclic_graph(graph.shown)
        merged = [sorted(ms) for ms in graph.members.values() if len(ms) > 1]
        assert merged == [["a/w", "a/x"]]
        assert graph.shown.number_of_nodes() == 3


@drive
async def test_a_large_store_fills_the_table_in_batches_and_refreshes_in_place(tmp_path):
    from datetime import timedelta

    root = tmp_path / "store"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = []
    for i in range(300):
        with RunWriter(str(root), job=f"job{i % 3}", started_at=start + timedelta(hours=i)) as run:
            pass
        ids.append(run.run_id)
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#runs", DataTable)
        assert row_keys(table) == ids[::-1]
        await pilot.press("down", "down", "down")
        selected = row_keys(table)[table.cursor_row]
        with RunWriter(str(root), job="late", started_at=start + timedelta(days=400)) as run:
            pass
        await pilot.press("r")
        await settle(app, pilot)
        assert row_keys(table) == [run.run_id] + ids[::-1]
        assert row_keys(table)[table.cursor_row] == selected
        await pilot.press("slash", *"job1")
        await settle(app, pilot)
        assert row_keys(table) == [r for r in ids[::-1] if ids.index(r) % 3 == 1]


@drive
async def test_a_corrupt_run_is_a_warning_not_a_crash(demo_path, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    runs = sorted(manifests(root))
    (root / runs[0] / "_frontier" / "run.json").write_text("{ not json")
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one("#runs", DataTable)
        assert set(row_keys(table)) == set(runs)  # the torn run is read from its sidecars
        title = screen_text(app.screen.query_one("#title", Static))
        assert "⚠ 1 warning" in title and "⚠ 1 warnings" not in title, title  # (one warning, singular)
        await pilot.press("L")
        await settle(app, pilot)
        assert isinstance(app.screen, GraphScreen)


@drive
async def test_an_incremental_asset_reading_itself_is_drawn_with_a_loop_mark(tmp_path):
    root = tmp_path / "store"
    with RunWriter(str(root), job="j") as r1:
        r1.write("events", pd.DataFrame({"x": [1]}))
    with RunWriter(str(root), job="j") as r2:
        r2.write("events", pd.DataFrame({"x": [1, 2]}), inputs=[("events", r1.run_id)])
        r2.write("summary", {"n": 2}, inputs=["events"])
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        assert graph.focused_node == "events"
        drawing = "\n".join("".join(t for t, _, _ in line) for line in graph._lines)
        assert "↻" in drawing
        await pilot.press("right")
        await pilot.pause()
        assert graph.focused_node == "summary"


def test_layout_breaks_cycles_instead_of_failing():
    from explorer.tui.widgets.graph_layout import layout

    g = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d")])
    lay = layout(g)
    assert {n for n in lay.placed if isinstance(n, str)} == {"a", "b", "c", "d"}
    assert lay.self_loops == {"d"}
    assert len(lay.dropped) == 1 and lay.dropped <= {("a", "b"), ("b", "c"), ("c", "a")}


@drive
async def test_random_keys_on_every_screen_never_crash_the_app(demo_path):
    """A monkey: 80 seeded random keys from the app's bindings (quit excluded)."""
    import random

    keys = ["up", "down", "left", "right", "h", "j", "k", "l", "enter", "escape", "slash", "space", "D", "p",
            "u", "d", "g", "G", "L", "s", "r", "n", "o", "O", "question_mark", "1", "2", "3", "4", "5", "6", "tab"]
    rng = random.Random(20261124)
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        seen = set()
        for _ in range(80):
            await pilot.press(rng.choice(keys))
            seen.add(type(app.screen).__name__)
        await settle(app, pilot)
        assert app.is_running
        assert {"RunsScreen", "GraphScreen", "AssetScreen"} <= seen
