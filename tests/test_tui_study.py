"""Studying an asset in the app (issues 18 and 20): tables that fit the terminal (identity
columns whole, the others cut with … before any is hidden, the hidden ones named), versions with
byte-identical content marked, JSON metric paths in the history plot, and the column lineage tab.
Truth comes from the store's files (hashed and parsed here) and from what the test wrote."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from explorer import RunWriter
from explorer.tui.app import ExplorerApp
from tui_support import drive, screen_lines, settle

SMALL = (80, 24)
MEDIUM = (120, 40)


def manifests(root: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / "_frontier" / "run.json").read_text())
            for d in sorted(root.iterdir()) if (d / "_frontier" / "run.json").exists()}


def sidecar(root: Path, run_id: str, asset: str) -> dict | None:
    for f in (root / run_id / "_frontier" / "versions").glob("*.json"):
        doc = json.loads(f.read_text())
        if doc["asset"] == asset:
            return doc
    return None


def cells(header: str, line: str, labels: list[str]) -> dict[str, str]:
    """The cells of a rendered row, cut at where each heading starts (headings are left-aligned)."""
    starts = sorted((header.index(f" {label} ") + 1, label) for label in labels if f" {label} " in header)
    out = {}
    for (a, label), (b, _) in zip(starts, starts[1:] + [(len(line), "")]):
        out[label] = line[a:b].strip()
    return out


def cut_or_whole(shown: str, truth: str) -> bool:
    """``shown`` is ``truth``, or a beginning of it ending with …."""
    return shown == truth or (shown.endswith("…") and truth.startswith(shown[:-1]) and len(shown) <= len(truth))


def status_line(app) -> str:
    return screen_lines(app)[-2]


def off_screen(app) -> list[str]:
    status = status_line(app)
    if "→ off screen:" not in status:
        return []
    return [s.strip() for s in status.split("→ off screen:")[1].split("(h/l")[0].split(",")]


# ---------------------------------------------------------------------- columns fit the width

RUN_LABELS = ["run id", "status", "job", "started", "duration", "assets", "code version", "tags"]


def run_truth(m: dict) -> dict[str, str]:
    started = datetime.fromisoformat(m["started_at"].replace("Z", "+00:00"))
    return {"run id": m["run_id"], "job": m["job"] or "", "started": started.strftime("%Y-%m-%d %H:%M:%S"),
            "code version": m["code_version"] or "", "tags": " ".join(f"{k}={v}" for k, v in m["tags"].items())}


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_runs_columns_shrink_with_an_ellipsis_before_any_is_hidden(demo_path, size):
    runs = manifests(demo_path)
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        lines = screen_lines(app)
        header = next(line for line in lines if line.startswith(" run id "))
        assert len(header.rstrip()) <= size[0]
        hidden = off_screen(app)
        shown = [label for label in RUN_LABELS if f" {label} " in header]
        assert set(shown) | set(hidden) == set(RUN_LABELS), (header, hidden)  # every column: shown, or named
        assert not set(shown) & set(hidden)
        assert hidden == RUN_LABELS[len(shown):]  # the last ones go first, whole
        n_cut = 0
        for rid, m in runs.items():
            line = next(line for line in lines if line.startswith(f" {rid} "))  # the identity columns whole
            assert m["status"] in line
            row = cells(header, line, shown)
            for label, truth in run_truth(m).items():
                if label in row:
                    assert cut_or_whole(row[label], truth), (label, row[label], truth)
                    n_cut += row[label] != truth
        if size == SMALL:
            assert {"code version", "tags"} <= set(hidden)
            assert n_cut  # something had to give at 80 columns: cut, not hidden
            assert "job" in shown and "started" in shown
        else:
            assert not hidden  # at 120 every column fits once the widest are cut
            return
        for _ in range(2):  # l l: the columns scrolled to fit what is left of the width
            await pilot.press("l")
            await settle(app, pilot)
        lines = screen_lines(app)
        header = next(line for line in lines if line.startswith(" run id "))
        assert " tags " in header and " job " not in header
        assert {"job", "started ▼"} <= set(off_screen(app))  # scrolled off to the left: named
        for rid, m in runs.items():
            line = next(line for line in lines if line.startswith(f" {rid} "))
            assert m["status"] in line
            row = cells(header, line, ["tags", "code version"])
            assert row["tags"].endswith("…") and cut_or_whole(row["tags"], run_truth(m)["tags"]), row


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_versions_columns_fit_and_mark_byte_identical_versions(demo_path, size):
    key = "raw/applications"
    runs = manifests(demo_path)
    written = {r: sc for r in runs if (sc := sidecar(demo_path, r, key))}
    digests = {r: hashlib.sha256((demo_path / sc["data_path"]).read_bytes()).hexdigest() for r, sc in written.items()}
    order = sorted(written, key=lambda r: runs[r]["started_at"])
    same = {}
    for i, r in enumerate(order):
        earlier = [o for o in order[:i] if digests[o] == digests[r]]
        if earlier:
            same[r] = earlier[0]
    assert same  # the demo store repeats raw/applications byte for byte
    app = ExplorerApp(str(demo_path), label="demo")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        app.open_asset(key)
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        lines = screen_lines(app)
        header = next(line for line in lines if line.startswith(" run ") and "same as" in line)
        labels = ["run", "same as", "rows", "size", "hash", "run status", "created", "job", "code"]
        shown = [label for label in labels if f" {label} " in header]
        hidden = off_screen(app)
        assert set(shown) | set(hidden) == set(labels), (header, hidden)
        for rid, sc in written.items():
            line = next(line for line in lines if line.startswith(f" {rid} "))
            row = cells(header, line, shown)
            assert row["same as"] == (f"= {same[rid].rsplit('-', 1)[1]}" if rid in same else ""), (rid, row)
            assert row["hash"] == digests[rid][:12]  # never cut
            assert row["rows"].replace(",", "") == str(sc["table"]["num_rows"])
            created = datetime.fromisoformat(sc["created_at"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
            if "created" in row:
                assert cut_or_whole(row["created"], created), row
            if "run status" in row:
                assert runs[rid]["status"] in row["run status"]
        if size == SMALL:
            assert "job" in hidden and "code" in hidden


# ---------------------------------------------------------------------- JSON metric paths in the history plot


@pytest.fixture
def metrics_store(tmp_path) -> Path:
    """Three runs, unevenly spaced in time, each writing a JSON metrics asset (nested numbers,
    a list, a string and a boolean that are not plottable) beside a table."""
    root = tmp_path / "store"
    start = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
    for i, (day, auc, f1) in enumerate([(0, 0.71, 0.5), (1, 0.74, 0.55), (30, 0.69, 0.61)], start=1):
        at = start + timedelta(days=day)
        with RunWriter(str(root), run_id=f"{at:%Y%m%dT%H%M%SZ}-r{i}", started_at=at) as run:
            run.write("features", pd.DataFrame({"x": list(range(i + 2))}))
            run.write("metrics/evaluation", {"auc": auc, "folds": [{"f1": f1}, {"f1": f1 / 2}], "model": "lr",
                                             "calibrated": i % 2 == 0, "rows": 100 * i}, inputs=["features"])
    return root


@drive
async def test_history_plots_numbers_inside_a_json_asset_over_time(metrics_store):
    runs = manifests(metrics_store)
    truth = {}  # run -> the JSON document, read from the data file
    for rid in runs:
        sc = sidecar(metrics_store, rid, "metrics/evaluation")
        truth[rid] = json.loads((metrics_store / sc["data_path"]).read_text())
    order = sorted(runs, key=lambda r: runs[r]["started_at"])
    times = [datetime.fromisoformat(runs[r]["started_at"].replace("Z", "+00:00")).timestamp() for r in order]
    app = ExplorerApp(str(metrics_store), label="metrics")
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        app.open_asset("metrics/evaluation")
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        text = "\n".join(screen_lines(app))
        assert "value.auc" in text and "value.folds.0.f1" in text  # offered beside the sidecar statistics
        assert "value.model" not in text and "value.calibrated" not in text  # neither strings nor booleans
        plot = app.screen.query_one("#plot")
        for path, get in (("value.auc", lambda d: d["auc"]), ("value.folds.1.f1", lambda d: d["folds"][1]["f1"]),
                          ("value.rows", lambda d: d["rows"])):
            for _ in range(12):
                if plot.title.endswith(f": {path} over time"):
                    break
                await pilot.press("n")
                await settle(app, pilot)
            assert f"metrics/evaluation: {path} over time" in "\n".join(screen_lines(app))
            assert plot.values == [get(truth[r]) for r in order]
            assert plot.xs == times  # spaced by when each run started: a day, then four weeks
        await pilot.press("n")  # on to the sidecar statistics
        await settle(app, pilot)
        assert plot.title.endswith(": size_bytes over time")
        assert plot.values == [sidecar(metrics_store, r, "metrics/evaluation")["size_bytes"] for r in order]


# ---------------------------------------------------------------------- column lineage


DECLARED = {  # asset -> column -> its sources (asset, column), as given to the writer
    "clean": {"income_k": [("raw", "income")]},
    "features": {"ratio": [("clean", "income_k"), ("clean", "age")]},
}


@pytest.fixture
def lineage_store(tmp_path) -> Path:
    root = tmp_path / "store"
    raw = pd.DataFrame({"id": [1, 2, 3], "income": [10.0, 20.0, 30.0], "age": [30, 40, 50]})
    clean = raw.assign(income_k=raw.income / 1000).drop(columns=["income"])
    feats = clean.assign(ratio=clean.income_k / clean.age).drop(columns=["age"])
    t1 = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
    with RunWriter(str(root), run_id=f"{t1:%Y%m%dT%H%M%SZ}-r1", started_at=t1) as run:
        run.write("raw", raw)
        run.write("clean", clean, inputs=["raw"], column_lineage=DECLARED["clean"])
        run.write("features", feats, inputs=["clean"],
                  column_lineage={c: [f"{a}.{col}" for a, col in deps] for c, deps in DECLARED["features"].items()})
    t2 = t1 + timedelta(days=1)
    with RunWriter(str(root), run_id=f"{t2:%Y%m%dT%H%M%SZ}-r2", started_at=t2) as run:
        run.write("raw", raw.assign(income=[11.0, 21.0, 31.0]))  # nothing built from it
    return root


def tree_entries(app) -> dict[str, list[tuple[str, str, str, bool]]]:
    """column -> [(arrow, asset, column, inferred)] as the columns tab draws them (the tree's
    region of the screen: the root line, then each column and its entries)."""
    region = app.screen.query_one("#columns-tree").region
    lines = [line[region.x:region.right] for line in screen_lines(app)[region.y:region.bottom]]
    out: dict[str, list] = {}
    current = None
    for line in lines[1:]:  # below the root
        words = line.translate(str.maketrans("│├└─▼▶", "      ")).split()
        if not words or not any(ch.isalnum() for ch in words[0] + "".join(words[1:2])):
            continue  # blank, or the scrollbar's mark
        if words[0] in ("←", "→"):
            asset, _, column = words[1].rpartition(".")
            out[current].append((words[0], asset, column, "(inferred)" in line))
        else:
            current = words[0]
            out[current] = []
    return out


@drive
async def test_columns_tab_shows_where_each_column_comes_from_and_goes(lineage_store):
    r1 = next(r for r in manifests(lineage_store) if r.endswith("-r1"))
    app = ExplorerApp(str(lineage_store), label="lineage")
    async with app.run_test(size=MEDIUM) as pilot:
        await settle(app, pilot)
        app.open_asset("clean", r1)
        await settle(app, pilot)
        await pilot.press("7")
        await settle(app, pilot)
        shown = tree_entries(app)
        assert set(shown) == {"id", "age", "income_k"}  # clean's columns, in its schema
        declared_in = {(c, a, col) for c, deps in DECLARED["clean"].items() for a, col in deps}
        declared_out = {(c, a, src) for a, m in DECLARED.items() for c, deps in m.items() for (sa, src) in deps
                        if sa == "clean"}
        got_in = {(c, a, col) for c, es in shown.items() for arrow, a, col, inferred in es if arrow == "←" and not inferred}
        got_out = {(col, a, c) for c, es in shown.items() for arrow, a, col, inferred in es if arrow == "→" and not inferred}
        assert got_in == declared_in  # income_k ← raw.income
        assert got_out == declared_out  # income_k and age → features.ratio
        for c, es in shown.items():  # what is inferred is a pass-through: the same name on both sides
            for arrow, a, col, inferred in es:
                if inferred:
                    assert col == c, (c, arrow, a, col)
        # enter on "→ features.ratio" (from age): features at ratio, whose sources are both declared
        tree = app.screen.query_one("#columns-tree")
        for _ in range(30):
            node = tree.cursor_node
            if node is not None and node.parent is not None and node.parent.data == "age" \
                    and str(node.label).startswith("→ features.ratio"):
                break
            await pilot.press("down")
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "AssetScreen" and app.screen.key == "features"
        assert app.screen.query_one("#tabs").active == "columns"
        assert app.screen.query_one("#columns-tree").cursor_node.data == "ratio"
        assert f"asset features @ {r1}" in "\n".join(screen_lines(app))
        shown = tree_entries(app)
        assert {(a, col) for arrow, a, col, inferred in shown["ratio"] if arrow == "←"} == set(DECLARED["features"]["ratio"])
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen.key == "clean"  # back where it came from


# ---------------------------------------------------------------------- the library pieces the tabs draw


def test_column_map_is_one_step_each_way(lineage_store):
    from explorer import Store
    from explorer.column_lineage import DECLARED as DECLARED_KIND, column_map

    store = Store.open(str(lineage_store))
    r1 = next(r for r in manifests(lineage_store) if r.endswith("-r1"))
    cmap = column_map(store.index, store.version("clean", r1))
    assert cmap.columns == ("id", "age", "income_k")
    assert {(e.column, e.source_asset, e.source_column) for e in cmap.upstream if e.kind == DECLARED_KIND} == \
        {(c, a, col) for c, deps in DECLARED["clean"].items() for a, col in deps}
    assert {(e.source_column, e.asset, e.column) for e in cmap.downstream if e.kind == DECLARED_KIND} == \
        {(src, "features", c) for c, deps in DECLARED["features"].items() for (_, src) in deps}
    assert all(e.source_run_id == r1 for e in cmap.upstream)  # r1's raw, not r2's
    assert json.loads(json.dumps(cmap.to_dict()))["columns"] == ["id", "age", "income_k"]


def test_json_paths_are_the_numbers_inside_in_document_order():
    from explorer.history import json_paths

    doc = {"auc": 0.7, "ok": True, "name": "x", "folds": [{"f1": 0.5}, {"f1": 0.6, "n": 3}], "nested": {"a": {"b": 1}},
           "empty": [], "none": None}
    assert json_paths(doc) == ["auc", "folds.0.f1", "folds.1.f1", "folds.1.n", "nested.a.b"]
    assert json_paths([1, 2, 3], limit=2) == ["0", "1"]
