"""The app's actions on one asset, driven with Textual's Pilot: tracing a previewed row,
flagging a version, unpickling on confirmation, verifying versions, and stock Dagster runs.
Truth is read independently: pandas on the data files, the sidecars, the flag objects."""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from pathlib import Path

import pandas as pd
from textual.widgets import DataTable, Static, Tree

from explorer.store import RunWriter
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.asset import AssetScreen
from explorer.tui.screens.help import HelpScreen
from explorer.tui.screens.modals import ConfirmModal, ReasonModal
from explorer.tui.screens.run import RunScreen
from explorer.tui.screens.runs import RunsScreen
from explorer.tui.screens.staleness import StalenessScreen
from explorer.tui.screens.trace import TraceScreen
from explorer.tui.widgets.lineage_graph import LineageGraph
from tui_support import drive, settle

SIZE = (120, 36)


def sidecars(root: Path) -> dict[tuple[str, str], dict]:
    """Every sidecar of the store, read from the files: (asset, run) -> document."""
    out = {}
    for f in sorted(root.glob("*/_frontier/versions/*.json")):
        doc = json.loads(f.read_text())
        out[(doc["asset"], doc["run_id"])] = doc
    return out


def latest_run(docs: dict, asset: str) -> str:
    return max(r for a, r in docs if a == asset)


def row_keys(table: DataTable) -> list[str]:
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def cells(table: DataTable, column: str) -> dict[str, str]:
    return {k: str(table.get_cell(k, column)) for k in row_keys(table)}


def tree_lines(node, depth: int = 0) -> list[str]:
    out = ["  " * depth + str(node.label)]
    for child in node.children:
        out += tree_lines(child, depth + 1)
    return out


# ---------------------------------------------------------------------- trace


@drive
async def test_trace_a_previewed_row_back_to_its_sources(demo_path):
    docs = sidecars(demo_path)
    run = latest_run(docs, "scores")
    scores = pd.read_parquet(demo_path / docs[("scores", run)]["data_path"])
    app_id = int(scores.iloc[2]["application_id"])  # the third row of the preview
    inputs = {i["asset"]: i["run_id"] for i in docs[("scores", run)]["inputs"]}
    features_doc = docs[("features", inputs["features"])]
    features = pd.read_parquet(demo_path / features_doc["data_path"])
    feature_rows = features[features["application_id"] == app_id]
    assert len(feature_rows) == 1
    bureau_run = {i["asset"]: i["run_id"] for i in features_doc["inputs"]}["raw/bureau"]
    bureau = pd.read_csv(demo_path / docs[("raw/bureau", bureau_run)]["data_path"])
    bureau_rows = bureau[bureau["application_id"] == app_id]
    model_doc = docs[("models/credit_risk", inputs["models/credit_risk"])]

    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        await pilot.press("2", "down", "down", "t")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        assert screen.where == {"application_id": app_id}  # the declared key of the row under the cursor
        tree = screen.query_one("#trace-tree", Tree)
        assert str(tree.root.label).startswith(f"scores @ {run}")
        text = "\n".join(tree_lines(tree.root))
        assert f"application_id={app_id}, score={scores.iloc[2]['score']}" in text
        steps = {(n.data.asset, n.data.run_id): n for n in tree.root.children if n.data is not None}
        node = steps[("features", inputs["features"])]
        assert f"{len(feature_rows)} matching rows" in str(node.label)
        features_text = "\n".join(tree_lines(node))
        assert "matched on: application_id (declared)" in features_text
        assert f"log_income={feature_rows.iloc[0]['log_income']}" in features_text
        bureau_text = "\n".join(tree_lines(steps[("raw/bureau", bureau_run)]))
        assert f"{len(bureau_rows)} matching rows" in bureau_text
        assert f"bureau_score={bureau_rows.iloc[0]['bureau_score']}" in bureau_text
        model_text = "\n".join(tree_lines(steps[("models/credit_risk", inputs["models/credit_risk"])]))
        assert "object" in model_text and f"format: {model_doc['data_format']}" in model_text
        assert f"hash: {model_doc['content_hash'].split(':')[-1][:12]}" in model_text  # 12, as elsewhere
        assert model_doc["content_hash"] not in text
        # the rule behind the decision: the scores version's own metadata (its thresholds)
        meta = docs[("scores", run)]["metadata"]
        assert meta and all(f"{k}: {json.dumps(v)}" in text for k, v in meta.items())
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen)


@drive
async def test_a_table_without_keys_traces_on_every_simple_column_and_untraceable_steps_are_shown(tmp_path):
    root = tmp_path / "store"
    with RunWriter(str(root), job="j") as run:
        run.write("lookup", pd.DataFrame({"code": ["a", "b"], "label": ["alpha", "beta"]}))
        run.write("other", pd.DataFrame({"unrelated": [1, 2]}))
        run.write("events", pd.DataFrame({"code": ["b", "a", "b"], "n": [1, 2, 3]}), inputs=["lookup", "other"])
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("events")
        await settle(app, pilot)
        await pilot.press("2", "down", "down", "t")  # third row: code=b, n=3
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        assert screen.where == {"code": "b", "n": 3}
        tree = screen.query_one("#trace-tree", Tree)
        steps = {n.data.asset: n for n in tree.root.children if n.data is not None}
        lookup = "\n".join(tree_lines(steps["lookup"]))
        assert "1 matching rows" in lookup and "code=b, label=beta" in lookup
        other = "\n".join(tree_lines(steps["other"]))
        assert "not traceable by row" in other


@drive
async def test_a_trace_that_fails_is_a_notification(tmp_path):
    root = tmp_path / "store"
    with RunWriter(str(root), job="j") as run:
        run.write("t", pd.DataFrame({"x": [1, 2]}))
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("t")
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        (root / run.run_id / "t.parquet").unlink()  # the data vanished after the preview
        await pilot.press("t")
        await settle(app, pilot)
        assert isinstance(app.screen, TraceScreen)
        assert app.screen.error is not None
        assert any("cannot trace" in (n.title or "") for n in app._notifications)
        assert app.is_running


# ---------------------------------------------------------------------- flags


def flag_objects(root: Path) -> list[dict]:
    return [json.loads(f.read_text()) for f in sorted((root / "_frontier_flags").glob("*.json"))]


def built_from(docs: dict, version: tuple[str, str]) -> set[tuple[str, str]]:
    """Every version whose sidecar inputs lead back to ``version`` (itself included)."""
    out = {version}
    changed = True
    while changed:
        changed = False
        for v, doc in docs.items():
            if v not in out and any((i["asset"], i["run_id"]) in out for i in doc["inputs"]):
                out.add(v)
                changed = True
    return out


def file_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@drive
async def test_flag_a_version_then_unflag_it(demo_path, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    before = file_digests(root)
    docs = sidecars(root)
    run = latest_run(docs, "features")
    latest = {a: latest_run(docs, a) for a, _ in docs}
    tainted = {a for a, r in built_from(docs, ("features", run)) if latest[a] == r}
    assert {"features", "scores", "models/credit_risk"} <= tainted and "raw/bureau" not in tainted
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("features")
        await settle(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"oops", "escape")  # cancelled: nothing written
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen)
        assert not (root / "_frontier_flags").exists()
        await pilot.press("V", "2", "t", "escape", "P", "1")  # verify, trace, a non-pickle: all read only
        await settle(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("enter")  # an empty reason is refused, the question stays
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("escape")
        await settle(app, pilot)
        assert file_digests(root) == before  # nothing written until a flag is confirmed
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"leaky income", "enter")
        await settle(app, pilot)
        flags = flag_objects(root)
        assert [(f["asset"], f["run_id"], f["action"], f["reason"]) for f in flags] == [
            ("features", run, "flag", "leaky income")]
        written = set(file_digests(root)) - set(before)
        assert written == {f"_frontier_flags/{p.name}" for p in (root / "_frontier_flags").iterdir()}
        screen = app.screen
        assert isinstance(screen, AssetScreen)
        assert "flagged" in str(screen.query_one("#title", Static).render())
        await pilot.press("3")
        await pilot.pause()
        versions = screen.query_one("#versions-table", DataTable)
        flag_column = cells(versions, "flag")
        assert {r for r, c in flag_column.items() if c} == {run}
        assert "flagged" in flag_column[run]
        await pilot.press("s")
        await settle(app, pilot)
        assert isinstance(app.screen, StalenessScreen)
        stale = app.screen.query_one("#stale", DataTable)
        causes = cells(stale, "causes")
        assert {a for a, c in causes.items() if f"features @ {run} is flagged: leaky income" in c} == tainted
        assert {a for a, c in cells(stale, "status").items() if "⚑tainted" in c} == tainted
        assert app.report.get("scores").causes and any(c.kind == "flagged_upstream" for c in app.report.get("scores").causes)
        await pilot.press("escape", "L")
        await settle(app, pilot)
        graph = app.screen.query_one("#graph", LineageGraph)
        assert {k for k, i in graph.shown_info.items() if i.tainted} == tainted
        drawing = "\n".join("".join(t for t, _, _ in line) for line in graph._lines)
        assert drawing.count("⚑tainted") == len(tainted)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen)
        await pilot.press("F")
        await pilot.pause()
        await pilot.press(*"false alarm", "enter")
        await settle(app, pilot)
        flags = flag_objects(root)
        assert [(f["action"], f["reason"]) for f in flags] == [("flag", "leaky income"), ("unflag", "false alarm")]
        versions = app.screen.query_one("#versions-table", DataTable)
        assert not any(cells(versions, "flag").values())
        assert not any(c.kind == "flagged_upstream" for c in app.report.get("scores").causes)


# ---------------------------------------------------------------------- pickles


class Boom:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"__import__('pathlib').Path({str(self.marker)!r}).touch() or {{'weights': [1, 2, 3]}}",))


@drive
async def test_a_pickle_is_described_and_unpickled_only_on_confirmation(tmp_path):
    root = tmp_path / "store"
    marker = tmp_path / "unpickled.marker"
    with RunWriter(str(root), job="train", code_version="v3") as run:
        run.write("model", Boom(marker), format="pickle", metadata={"auc": 0.81})
    assert not marker.exists()
    doc = sidecars(root)[("model", run.run_id)]
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("model")
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        text = str(app.screen.query_one("#preview-text", Static).render())
        assert f"{doc['size_bytes']:,} bytes" in text
        assert doc["content_hash"] in text
        assert "auc" in text and "0.81" in text and "v3" in text
        assert "unpickling runs code from the store, so it is not loaded" in text
        assert not marker.exists()
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert "Unpickling runs code from the store. Load anyway?" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, AssetScreen)
        assert not marker.exists()
        await pilot.press("P")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert not marker.exists()
        await pilot.press("P")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert marker.exists()
        text = str(app.screen.query_one("#preview-text", Static).render())
        assert "{'weights': [1, 2, 3]}" in text


# ---------------------------------------------------------------------- verify


def expected_integrity(root: Path, doc: dict) -> str:
    path = root / doc["data_path"]
    if not path.exists():
        return "missing"
    data = path.read_bytes()
    if "sha256:" + hashlib.sha256(data).hexdigest() == doc["content_hash"]:
        return "ok"
    return "truncated" if len(data) < doc["size_bytes"] else "modified"


@drive
async def test_verify_marks_each_version_ok_modified_truncated_or_missing(demo_path, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(demo_path, root)
    docs = sidecars(root)
    runs = sorted(r for a, r in docs if a == "scores")
    assert len(runs) >= 4
    modified, truncated, missing = (root / docs[("scores", r)]["data_path"] for r in runs[:3])
    data = bytearray(modified.read_bytes())
    data[100] ^= 0xFF
    modified.write_bytes(bytes(data))
    truncated.write_bytes(truncated.read_bytes()[:1000])
    missing.unlink()
    expected = {r: expected_integrity(root, docs[("scores", r)]) for r in runs}
    assert sorted(expected.values()) == sorted(["modified", "truncated", "missing"] + ["ok"] * (len(runs) - 3))
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        versions = app.screen.query_one("#versions-table", DataTable)
        assert "check" not in [str(c.value) for c in versions.columns]  # no check column (nothing read) before V
        await pilot.press("V")
        await settle(app, pilot)
        assert app.screen.query_one("#tabs").active == "versions"
        shown = cells(versions, "check")
        assert {r: c.split()[-1] for r, c in shown.items()} == expected
        bad = versions.get_cell(runs[0], "check")
        assert "red" in str(bad.style) and "green" in str(versions.get_cell(runs[-1], "check").style)


# ---------------------------------------------------------------------- stock Dagster


@drive
async def test_a_stock_dagster_store_shows_unknown_status_as_a_neutral_word(tmp_path):
    import pickle

    root = tmp_path / "dagster_storage"
    run_id = str(uuid.UUID(int=0xB5C3A7E11114222833394445555666, version=4))
    (root / run_id / "extract").mkdir(parents=True)
    (root / run_id / "extract" / "result").write_bytes(pickle.dumps({"rows": 3}))
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one("#runs", DataTable)
        assert row_keys(table) == [run_id]
        cell = table.get_cell(run_id, "status")
        assert "unknown" in str(cell)
        assert not any(c in str(cell.style) for c in ("red", "green", "yellow", "cyan"))
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RunScreen)
        assert "unknown" in str(app.screen.query_one("#title", Static).render())
        app.open_asset("extract/result")
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        text = str(app.screen.query_one("#preview-text", Static).render())
        assert "unhashed:" in text and "not loaded" in text
        await pilot.press("V")
        await settle(app, pilot)
        assert "unverifiable" in cells(app.screen.query_one("#versions-table", DataTable), "check")[run_id]
        await pilot.press("L")
        await settle(app, pilot)
        assert app.is_running


@drive
async def test_help_lists_the_new_keys(demo_path):
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-table").render())
        for words in ("trace row", "more rows", "counts", "flag", "unflag", "verify", "unpickle"):
            assert words in text


@drive
async def test_leaving_while_a_trace_or_verification_runs_is_harmless(demo_path):
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        await pilot.press("2", "t", "escape", "V", "escape")
        await settle(app, pilot)
        assert app.is_running
        assert isinstance(app.screen, RunsScreen)


def two_runs(root: Path) -> tuple[str, str]:
    with RunWriter(str(root), job="j") as r1:
        r1.write("src", pd.DataFrame({"id": [1, 2]}))
        r1.write("out", pd.DataFrame({"id": [1, 2], "y": [0.5, 0.7]}), inputs=["src"])
    with RunWriter(str(root), job="j") as r2:
        r2.write("src", pd.DataFrame({"id": [1, 2, 3]}))
    return r1.run_id, r2.run_id


@drive
async def test_flag_the_selected_row_of_the_versions_table(tmp_path):
    root = tmp_path / "store"
    old, new = two_runs(root)
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("src")
        await settle(app, pilot)
        await pilot.press("F")  # nothing is flagged yet: a warning, no question
        await pilot.pause()
        assert isinstance(app.screen, AssetScreen)
        assert not (root / "_frontier_flags").exists()
        await pilot.press("3", "down", "f")  # the older version, not the one shown
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press(*"bad export", "enter")
        await settle(app, pilot)
        assert [(f["asset"], f["run_id"]) for f in flag_objects(root)] == [("src", old)]
        flags = cells(app.screen.query_one("#versions-table", DataTable), "flag")
        assert "flagged" in flags[old] and not flags[new]
        # out (built from src@old) is current and now tainted; src itself is current at new: untouched
        assert any(c.kind == "flagged_upstream" for c in app.report.get("out").causes)
        assert not app.report.get("src").causes


@drive
async def test_refresh_shows_a_flag_written_elsewhere(tmp_path):
    from explorer import Store

    root = tmp_path / "store"
    old, _ = two_runs(root)
    app = ExplorerApp(str(root))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("out")
        await settle(app, pilot)
        title = app.screen.query_one("#title", Static)
        assert "tainted" not in str(title.render())
        Store.open(str(root)).flag("src", old, "flagged from the CLI")  # another user, same store
        await pilot.press("r")
        await settle(app, pilot)
        assert "tainted" in str(title.render())
        assert "built from src@" + old in str(app.screen.query_one("#facts", Static).render())


@drive
async def test_random_keys_with_the_new_actions_never_crash_and_never_write(demo_path):
    """A monkey over the asset screens with t, V, P and the modal answers (f and F excluded:
    they are the one write, tested above on a copy)."""
    import random

    before = file_digests(demo_path)
    keys = ["up", "down", "enter", "escape", "1", "2", "3", "5", "t", "V", "P", "y", "n", "space", "j", "k", "L", "s"]
    rng = random.Random(20261125)
    app = ExplorerApp(str(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.open_asset("scores")
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        await pilot.press("t")  # a trace under way when the random keys start
        seen = set()
        for _ in range(80):
            if isinstance(app.screen, RunsScreen):  # back home: open another asset
                app.open_asset(rng.choice(["scores", "features", "models/credit_risk", "raw/bureau"]))
                await pilot.pause()
            await pilot.press(rng.choice(keys))
            seen.add(type(app.screen).__name__)
        await settle(app, pilot)
        assert app.is_running
        assert {"TraceScreen", "AssetScreen"} <= seen
    assert file_digests(demo_path) == before
