"""Cycles in lineage (issue 22, item 10): every command on an incremental store and on a hostile
cross-run cycle.

Two stores, each with its expected graph built by hand below (never read back from the code):

* incremental: three daily runs; ``rollup`` reads that run's ``events`` and its own previous
  version (``("rollup", previous run)``, as the writer allows); ``report`` reads ``rollup``;
* cyclic: ``a @ R1`` read ``b @ R2`` and ``b @ R2`` read ``a @ R1`` (written on disk: the writer
  cannot make it), ``c @ R2`` read ``b``.

Each command must exit normally (no ``internal error``), terminate, report each version once,
and give the answer worked out by hand.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from explorer import RunWriter
from tui_support import settle

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
D1, D2, D3 = (f"2026010{i}T000000Z-00000{i}" for i in (1, 2, 3))
R1, R2 = "20260101T000000Z-00000a", "20260102T000000Z-00000b"


def writer(root, run_id: str, day: int) -> RunWriter:
    start = BASE + timedelta(days=day)
    ticks = iter(range(1, 100_000))
    return RunWriter(str(root), job="daily", code_version="v1", run_id=run_id, started_at=start,
                     clock=lambda: start + timedelta(seconds=next(ticks)))


def write_incremental(root: Path) -> None:
    previous = None
    for day, run_id in enumerate((D1, D2, D3)):
        with writer(root, run_id, day) as run:
            run.write("events", pd.DataFrame({"id": [day], "x": [float(day)]}))
            inputs = ["events"] + ([("rollup", previous)] if previous else [])
            run.write("rollup", pd.DataFrame({"id": list(range(day + 1)), "x": [float(i) for i in range(day + 1)]}),
                      inputs=inputs)
            run.write("report", pd.DataFrame({"n": [day + 1]}), inputs=["rollup"])
        previous = run_id


def patch_version(root: Path, run_id: str, asset: str, change) -> None:
    """Edit a committed version on disk, in its sidecar and in the run's consolidated manifest."""
    side = root / run_id / "_frontier" / "versions" / f"{asset}.json"
    side.write_text(json.dumps(change(json.loads(side.read_text()))))
    manifest = root / run_id / "_frontier" / "run.json"
    doc = json.loads(manifest.read_text())
    doc["versions"] = [change(v) if v["asset"] == asset else v for v in doc["versions"]]
    manifest.write_text(json.dumps(doc))


def write_cyclic(root: Path) -> None:
    with writer(root, R1, 0) as run:
        run.write("a", pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]}))
    with writer(root, R2, 1) as run:
        b = run.write("b", pd.DataFrame({"id": [1, 2], "y": [3.0, 4.0]}), inputs=[("a", R1)])
        run.write("c", pd.DataFrame({"id": [1], "z": [5.0]}), inputs=["b"])
    ref = {"asset": "b", "run_id": R2, "content_hash": b.content_hash}
    patch_version(root, R1, "a", lambda v: dict(v, inputs=[*v["inputs"], ref]))


@pytest.fixture(scope="module")
def incremental(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("incremental")
    write_incremental(root)
    return root


@pytest.fixture(scope="module")
def cyclic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cyclic")
    write_cyclic(root)
    return root


# ------------------------------------------------------------------ the expectations, by hand

INCREMENTAL_ASSET_EDGES = {("events", "rollup"), ("rollup", "rollup"), ("rollup", "report")}
CYCLIC_ASSET_EDGES = {("a", "b"), ("b", "a"), ("b", "c")}

# version edges (input -> consumer) of the incremental store
INCREMENTAL_VERSION_EDGES = {
    *((("events", d), ("rollup", d)) for d in (D1, D2, D3)),
    *((("rollup", d), ("report", d)) for d in (D1, D2, D3)),
    (("rollup", D1), ("rollup", D2)),
    (("rollup", D2), ("rollup", D3)),
}
CYCLIC_VERSION_EDGES = {(("a", R1), ("b", R2)), (("b", R2), ("a", R1)), (("b", R2), ("c", R2))}


def reach(edges: set, start, forward: bool) -> set:
    """The versions reachable from ``start`` along (or against) ``edges``, start excluded unless on a cycle."""
    out, todo = set(), [start]
    while todo:
        n = todo.pop()
        for a, b in edges:
            nxt = b if forward and a == n else a if not forward and b == n else None
            if nxt is not None and nxt not in out:
                out.add(nxt)
                todo.append(nxt)
    return out


def ok(result) -> None:
    assert result.code == 0, result.err
    assert "internal error" not in result.err and "Traceback" not in result.err


def edge_set(doc) -> set:
    return {(e["from"], e["to"]) for e in doc["edges"]}


def version_edge_set(doc) -> set:
    return {((e["from"]["asset"], e["from"]["run_id"]), (e["to"]["asset"], e["to"]["run_id"])) for e in doc["edges"]}


def table_rows(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]


def mermaid_edges(out: str) -> set:
    names = dict(re.findall(r'^\s+(n_\w+)\["([^"<]+)', out, re.M))
    return {(names[a], names[b]) for a, b in re.findall(r"^\s+(n_\w+) --> (n_\w+)$", out, re.M)}


def dot_edges(out: str) -> set:
    return set(re.findall(r'^\s+"([^"]+)" -> "([^"]+)";$', out, re.M))


# ------------------------------------------------------------------ lineage

@pytest.mark.parametrize("extra", [(), ("--all-runs",), ("rollup",), ("rollup", "--all-runs")])
def test_lineage_of_an_incremental_asset_draws_its_self_loop(cli, incremental, extra):
    for fmt in ("json", "mermaid", "dot", "table"):
        r = cli("lineage", incremental, *extra, "--format", fmt)
        ok(r)
        if fmt == "json":
            assert edge_set(r.json()) == INCREMENTAL_ASSET_EDGES
        elif fmt == "mermaid":
            assert mermaid_edges(r.out) == INCREMENTAL_ASSET_EDGES
        elif fmt == "dot":
            assert dot_edges(r.out) == INCREMENTAL_ASSET_EDGES
        else:  # the self-loop does not break the layers: sources first, each asset once
            assert [(row[0], row[1], row[2]) for row in table_rows(r.out)] == [
                ("0", "events", ""), ("1", "rollup", "events, rollup"), ("2", "report", "rollup")]


def test_lineage_up_and_downstream_of_an_incremental_asset(cli, incremental):
    up = cli("lineage", incremental, "rollup", "--upstream", "-f", "json")
    ok(up)
    assert edge_set(up.json()) == {("events", "rollup"), ("rollup", "rollup")}
    down = cli("lineage", incremental, "rollup", "--downstream", "-f", "json")
    ok(down)
    assert edge_set(down.json()) == {("rollup", "rollup"), ("rollup", "report")}


@pytest.mark.parametrize("extra", [(), ("--all-runs",), ("a",), ("c", "--upstream")])
def test_lineage_of_a_cross_run_cycle(cli, cyclic, extra):
    expected = CYCLIC_ASSET_EDGES
    for fmt in ("json", "mermaid", "dot", "table"):
        r = cli("lineage", cyclic, *extra, "--format", fmt)
        ok(r)
        if fmt == "json":
            assert edge_set(r.json()) == expected
            assert sorted(n["asset"] for n in r.json()["nodes"]) == ["a", "b", "c"]
        elif fmt == "mermaid":
            assert mermaid_edges(r.out) == expected
        elif fmt == "dot":
            assert dot_edges(r.out) == expected
        else:
            # the cycle is cut at the edge that closes it, searching from the first key (b -> a):
            # each asset once, in one layer
            assert [(row[0], row[1], row[2]) for row in table_rows(r.out)] == [
                ("0", "a", "b"), ("1", "b", "a"), ("2", "c", "b")]


# ------------------------------------------------------------------ provenance and impact

CASES = [
    ("incremental", "provenance", "report", D3, INCREMENTAL_VERSION_EDGES),
    ("incremental", "provenance", "rollup", D2, INCREMENTAL_VERSION_EDGES),
    ("incremental", "impact", "rollup", D1, INCREMENTAL_VERSION_EDGES),
    ("incremental", "impact", "events", D1, INCREMENTAL_VERSION_EDGES),
    ("cyclic", "provenance", "c", R2, CYCLIC_VERSION_EDGES),
    ("cyclic", "provenance", "a", R1, CYCLIC_VERSION_EDGES),
    ("cyclic", "impact", "a", R1, CYCLIC_VERSION_EDGES),
    ("cyclic", "impact", "b", R2, CYCLIC_VERSION_EDGES),
]


@pytest.mark.parametrize("store,command,asset,run,edges", CASES)
def test_provenance_and_impact_terminate_and_report_each_version_once(cli, request, store, command, asset, run,
                                                                      edges):
    root = request.getfixturevalue(store)
    r = cli(command, root, asset, "--run", run, "-f", "json")
    ok(r)
    doc = r.json()
    me = (asset, run)
    others = reach(edges, me, forward=command == "impact") - {me}
    versions = [(v["asset"], v["run_id"]) for v in doc["versions"]]
    assert versions[0] == me
    assert sorted(versions) == sorted({me} | others)  # each once
    within = {me} | others
    assert version_edge_set(doc) == {(a, b) for a, b in edges if a in within and b in within}
    # the tree terminates too: every version appears, one "(shown above)" per edge closing a cycle
    tree = cli(command, root, asset, "--run", run)
    ok(tree)
    noun = "version" if len(others) == 1 else "versions"
    assert f"{len(others):,} {noun} {'upstream' if command == 'provenance' else 'downstream'}" in tree.out
    for a, rid in within:
        assert f"{a} @ {rid}" in tree.out


def test_provenance_tree_of_a_cycle_marks_the_way_back(cli, cyclic):
    r = cli("provenance", cyclic, "a")
    ok(r)
    lines = [re.sub(r"^[\s│├└─]+", "", line) for line in r.out.splitlines()]
    assert [line.split(" ")[0] for line in lines[:4]] == ["a", "b", "a", "(shown"]


# ------------------------------------------------------------------ staleness

def statuses(doc) -> dict:
    return {a["asset"]: (a["status"], sorted((c["kind"], c["asset"]) for c in a["causes"])) for a in doc["assets"]}


def test_an_incremental_asset_is_fresh_after_its_own_run(cli, incremental):
    r = cli("stale", incremental, "-f", "json")
    ok(r)
    assert statuses(r.json()) == {"events": ("fresh", []), "report": ("fresh", []), "rollup": ("fresh", [])}


def test_an_incremental_asset_is_stale_when_an_input_moves_on_not_because_of_itself(cli, tmp_path):
    write_incremental(tmp_path)
    with writer(tmp_path, "20260104T000000Z-000004", 3) as run:  # new events, rollup not rebuilt
        run.write("events", pd.DataFrame({"id": [9], "x": [9.0]}))
    r = cli("stale", tmp_path, "-f", "json")
    assert r.code == 1, r.err
    doc = r.json()
    assert statuses(doc) == {
        "events": ("fresh", []),
        "rollup": ("stale", [("upstream_changed", "events")]),
        "report": ("stale", [("upstream_stale", "rollup")]),
    }
    report = next(a for a in doc["assets"] if a["asset"] == "report")
    assert [(c["kind"], c["asset"], c["chain"]) for c in report["root_causes"]] == [
        ("upstream_changed", "events", ["report", "rollup"])]


def test_an_incremental_asset_is_stale_when_the_version_it_read_changed(cli, tmp_path):
    """The rule of docs/staleness.md: its own previous version counts only if that version changed
    after it was read (here its sidecar now records other content, as a rewrite would)."""
    write_incremental(tmp_path)
    other = "sha256:" + "0" * 64
    patch_version(tmp_path, D2, "rollup", lambda v: dict(v, content_hash=other))
    doc = cli("stale", tmp_path, "-f", "json").json()
    assert statuses(doc)["rollup"] == ("stale", [("upstream_changed", "rollup")])
    cause = next(a for a in doc["assets"] if a["asset"] == "rollup")["causes"][0]
    assert (cause["consumed_run_id"], cause["latest_run_id"], cause["latest_hash"]) == (D2, D2, other)
    assert statuses(doc)["report"] == ("stale", [("upstream_stale", "rollup")])


def test_staleness_of_a_cross_run_cycle(cli, cyclic):
    r = cli("stale", cyclic, "-f", "json")
    ok(r)
    assert statuses(r.json()) == {"a": ("fresh", []), "b": ("fresh", []), "c": ("fresh", [])}


@pytest.mark.parametrize("flag", [("a", R1), ("b", R2)])
def test_a_flag_inside_a_cycle_reaches_every_version_of_the_cycle_and_below(cli, tmp_path, flag):
    """a @ R1 and b @ R2 are each in the other's provenance: a flag on either taints both, and c."""
    write_cyclic(tmp_path)
    assert cli("flag", tmp_path, *flag, "--reason", "bad").code == 0
    doc = cli("stale", tmp_path, "-f", "json").json()
    for a in doc["assets"]:
        flagged = [(c["asset"], c["run_id"]) for c in a["causes"] if c["kind"] == "flagged_upstream"]
        assert (a["status"], flagged) == ("stale", [flag]), a["asset"]


# ------------------------------------------------------------------ trace

def test_trace_through_an_incremental_asset(cli, incremental):
    r = cli("trace", incremental, "rollup", "-w", "id=0", "-f", "json")
    ok(r)
    steps = [(s["asset"], s["run_id"]) for s in r.json()["steps"]]
    expected = reach(INCREMENTAL_VERSION_EDGES, ("rollup", D3), forward=False)
    assert sorted(steps) == sorted(expected)  # each version once
    assert steps.index(("rollup", D2)) < steps.index(("rollup", D1))  # each after every version that read it
    rows = {(s["asset"], s["run_id"]): s["rows"] for s in r.json()["steps"]}
    # the row id=0 was in every rollup since the first day, and came from the first day's events
    assert rows[("rollup", D2)] == rows[("rollup", D1)] == [{"id": 0, "x": 0.0}]
    assert rows[("events", D1)] == [{"id": 0, "x": 0.0}]
    assert rows[("events", D2)] == rows[("events", D3)] == []


def test_trace_through_a_cross_run_cycle_terminates(cli, cyclic):
    r = cli("trace", cyclic, "c", "-w", "id=1", "-f", "json")
    ok(r)
    steps = r.json()["steps"]
    assert [(s["asset"], s["run_id"]) for s in steps] == [("b", R2), ("a", R1)]
    assert [s["rows"] for s in steps] == [[{"id": 1, "y": 3.0}], [{"id": 1, "x": 1.0}]]
    r = cli("trace", cyclic, "a", "-w", "id=1", "-f", "json")  # the decision is on the cycle itself
    ok(r)
    assert [(s["asset"], s["run_id"]) for s in r.json()["steps"]] == [("b", R2)]
    ok(cli("trace", cyclic, "a", "-w", "id=1"))


# ------------------------------------------------------------------ export, find, history

@pytest.mark.parametrize("store,edges", [("incremental", INCREMENTAL_ASSET_EDGES), ("cyclic", CYCLIC_ASSET_EDGES)])
def test_export_every_format(cli, request, store, edges):
    root = request.getfixturevalue(store)
    r = cli("export", root, "--format", "mermaid")
    ok(r)
    assert mermaid_edges(r.out) == edges
    r = cli("export", root, "--format", "dot")
    ok(r)
    assert dot_edges(r.out) == edges
    r = cli("export", root, "--format", "openlineage")
    ok(r)
    events = [json.loads(line) for line in r.out.splitlines()]
    runs = sorted({p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")})
    assert len(events) == 2 * len(runs)  # START and COMPLETE for each run, once
    if store == "incremental":  # each day's rollup read the previous day's, from another run
        inputs = {e["run"]["facets"]["tags"]["tags"][0]["value"]: sorted(i["name"].split("/")[-2] for i in e["inputs"])
                  for e in events if e["eventType"] == "COMPLETE"}
        assert inputs == {D1: [], D2: [D1], D3: [D2]}


def test_find_versions_built_from_an_incremental_asset(cli, incremental):
    r = cli("find", incremental, "rollup", "--built-from", f"rollup={D1}", "-f", "json")
    ok(r)
    assert sorted(v["run_id"] for v in r.json()) == [D2, D3]
    r = cli("find", incremental, "report", "--built-from", f"rollup={D2}", "-f", "json")
    ok(r)
    assert sorted(v["run_id"] for v in r.json()) == [D2, D3]


def test_find_in_a_cross_run_cycle(cli, cyclic):
    # a version is never listed as built from itself (as provenance and impact leave out their root),
    # not even when a cycle leads back to it
    for asset, source, expected in (("c", f"a={R1}", [R2]), ("a", f"b={R2}", [R1]), ("b", f"a={R1}", [R2]),
                                    ("b", f"b={R2}", []), ("c", f"c={R2}", [])):
        r = cli("find", cyclic, asset, "--built-from", source, "-f", "json")
        ok(r)
        assert sorted(v["run_id"] for v in r.json()) == expected, (asset, source)


@pytest.mark.parametrize("store,asset,runs", [("incremental", "rollup", [D1, D2, D3]), ("cyclic", "a", [R1])])
def test_history(cli, request, store, asset, runs):
    r = cli("history", request.getfixturevalue(store), asset, "-f", "json")
    ok(r)
    assert [row["run_id"] for row in r.json()] == runs


def test_provenance_and_impact_trees_thousands_deep_do_not_recurse(cli, tmp_path):
    import sys

    depth = sys.getrecursionlimit() + 100  # deeper than any recursive walk could go
    with writer(tmp_path, D1, 0) as run:
        for i in range(depth):
            run.write(f"s{i:05d}", b"%d" % i, inputs=[f"s{i - 1:05d}"] if i else [], format="bytes")
    last, first = f"s{depth - 1:05d}", "s00000"
    r = cli("provenance", tmp_path, last)
    ok(r)
    assert f"{depth - 1:,} versions upstream" in r.out
    r = cli("impact", tmp_path, first)
    ok(r)
    assert f"{depth - 1:,} versions downstream" in r.out
    doc = cli("provenance", tmp_path, last, "-f", "json").json()
    assert [v["asset"] for v in doc["versions"]] == [f"s{i:05d}" for i in reversed(range(depth))]


def app_trees(root: Path, key: str) -> dict[str, list[list[str]]]:
    """Open ``key`` in the terminal app; each lineage tree as its root-to-leaf paths of labels."""
    import asyncio

    from textual.widgets import Tree

    from explorer.tui.app import ExplorerApp

    async def go():
        app = ExplorerApp(str(root))
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(app, pilot)
            app.open_asset(key)
            await settle(app, pilot)
            assert app.is_running and type(app.screen).__name__ == "AssetScreen"
            out = {}
            for name in ("provenance", "impact"):
                paths, todo = [], [(app.screen.query_one(f"#{name}-tree", Tree).root, [])]
                while todo:
                    node, path = todo.pop()
                    path = path + [str(node.label)]
                    if not node.children:
                        paths.append(path)
                    todo.extend((c, path) for c in reversed(node.children))
                out[name] = paths
            return out

    return asyncio.run(go())


def test_the_app_draws_a_cycle_and_a_chain_deeper_than_the_recursion_limit(tmp_path, cyclic):
    import sys

    from explorer.tui.screens.asset import TREE_DEPTH

    trees = app_trees(cyclic, "a")
    assert trees["provenance"] == [[f"a  {R1}", f"b  {R2}", f"a  {R1} (shown above)"]]
    assert sorted(trees["impact"]) == [[f"a  {R1}", f"b  {R2}", f"a  {R1} (shown above)"],
                                       [f"a  {R1}", f"b  {R2}", f"c  {R2}"]]
    depth = sys.getrecursionlimit() + 100
    with writer(tmp_path, D1, 0) as run:
        for i in range(depth):
            run.write(f"s{i:05d}", b"%d" % i, inputs=[f"s{i - 1:05d}"] if i else [], format="bytes")
    (path,) = app_trees(tmp_path, f"s{depth - 1:05d}")["provenance"]
    assert path[:TREE_DEPTH + 1] == [f"s{i:05d}  {D1}" for i in reversed(range(depth - 1 - TREE_DEPTH, depth))]
    assert path[TREE_DEPTH + 1:] == ["… deeper levels not drawn here"]
