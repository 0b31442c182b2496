"""Lineage, provenance and impact on the demo store, against the story in explorer/demo.py."""

from __future__ import annotations

import json
from pathlib import Path


from explorer import Store

# The pipeline as designed (independent of what the code computes).
EXPECTED_EDGES = {
    ("raw/applications", "clean/applications"),
    ("clean/applications", "features"),
    ("raw/bureau", "features"),
    ("features", "models/credit_risk"),
    ("models/credit_risk", "metrics/evaluation"),
    ("features", "metrics/evaluation"),
    ("features", "scores"),
    ("models/credit_risk", "scores"),
    ("scores", "reports/score_distribution"),
    ("scores", "reports/drift"),  # planned by R7, never materialized
    ("features", "reports/drift"),
}


def _sidecars(demo_path: Path) -> list[dict]:
    """Every sidecar of the demo store, read straight from disk."""
    out = []
    for p in demo_path.glob("*/_frontier/versions/*.json"):
        out.append(json.loads(p.read_text()))
    return out


def test_asset_graph_matches_the_pipeline(demo_path):
    g = Store.open(str(demo_path)).asset_graph()
    assert set(g.edges) == EXPECTED_EDGES
    assert {n for n in g.nodes if g.nodes[n]["missing"]} == {"reports/drift"}


def test_version_graph_edges_are_the_recorded_inputs(demo_path):
    store = Store.open(str(demo_path))
    expected = set()
    for doc in _sidecars(demo_path):
        for i in doc["inputs"]:
            expected.add(((i["asset"], i["run_id"]), (doc["asset"], doc["run_id"])))
    assert set(store.version_graph.edges) == expected


def test_provenance_of_reexecution_crosses_runs(demo_path, demo_runs):
    store = Store.open(str(demo_path))
    r3, r4 = demo_runs["R3"], demo_runs["R4"]
    prov = store.provenance("scores", run=r4)
    got = {(v.asset, v.run_id) for v in prov.versions}
    # R4 re-executed from failure: features read R3's clean data and bureau data
    assert got == {
        ("scores", r4),
        ("features", r4),
        ("models/credit_risk", r4),
        ("clean/applications", r3),
        ("raw/bureau", r3),
        ("raw/applications", r3),
    }
    assert prov.versions[0].asset == "scores"


def test_provenance_by_hand_walk(demo_path, demo_runs):
    """Provenance equals a breadth-first walk over the raw sidecars."""
    store = Store.open(str(demo_path))
    by_version = {(d["asset"], d["run_id"]): d for d in _sidecars(demo_path)}
    start = ("scores", demo_runs["R7"])
    seen, todo = {start}, [start]
    while todo:
        for i in by_version[todo.pop()]["inputs"]:
            node = (i["asset"], i["run_id"])
            if node not in seen:
                seen.add(node)
                todo.append(node)
    assert {(v.asset, v.run_id) for v in store.provenance("scores").versions} == seen
    assert all(v.run_id == demo_runs["R6"] for v in store.provenance("scores").versions if v.asset != "scores")


def test_impact_of_a_bad_batch(demo_path, demo_runs):
    store = Store.open(str(demo_path))
    r3, r4 = demo_runs["R3"], demo_runs["R4"]
    imp = store.impact("raw/applications", run=r3)
    got = {(v.asset, v.run_id) for v in imp.versions}
    assert got == {
        ("raw/applications", r3),
        ("clean/applications", r3),
        ("features", r4),
        ("models/credit_risk", r4),
        ("metrics/evaluation", r4),
        ("scores", r4),
        ("reports/score_distribution", r4),
    }


def test_demo_store_tells_its_story(demo_path, demo_runs):
    store = Store.open(str(demo_path))
    runs = {r.run_id: r for r in store.runs}
    assert len(runs) >= 8
    assert runs[demo_runs["R3"]].status == "failed"
    assert runs[demo_runs["R4"]].parent_run_id == demo_runs["R3"]
    assert runs[demo_runs["R6"]].code_version != runs[demo_runs["R5"]].code_version
    # the source changed type in R5: income int -> float
    t4 = store.version("raw/applications", demo_runs["R3"]).table.schema["income"]
    t5 = store.version("raw/applications", demo_runs["R5"]).table.schema["income"]
    assert (t4, t5) == ("int64", "double")
    # raw data refreshed after the last training
    assert store.latest("raw/applications").created_at > store.latest("models/credit_risk").created_at
    size = sum(p.stat().st_size for p in Path(demo_path).rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024


def _facts(store: Store) -> tuple[list, dict]:
    """What a store records, but the bytes of its data files: each run, and each version without
    its size and content hashes (its own and its inputs')."""
    versions = {}
    for ident, v in store.index.versions.items():
        d = v.to_dict()
        d.pop("content_hash"), d.pop("size_bytes")
        d["inputs"] = [{k: x for k, x in i.items() if k != "content_hash"} for i in d["inputs"]]
        versions[ident] = d
    return [r.to_dict() for r in store.runs], versions


def test_demo_store_is_reproducible(tmp_path, demo_path):
    """Building the demo store again gives the committed one: the same bytes from one build to the
    next, the same files, the same runs, versions and data. A Parquet file's bytes carry the
    versions of the pandas and pyarrow that wrote it, so across their releases those bytes (and
    the hashes and sizes recorded of them) may differ, and nothing else may."""
    import pandas as pd

    from explorer.demo import build

    builds = []
    for name in ("again", "twice"):
        build(tmp_path / name)
        builds.append({p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*") if p.is_file()})
    ours, twice = builds
    assert ours == twice
    committed = {p.relative_to(demo_path): p.read_bytes() for p in demo_path.rglob("*") if p.is_file()}
    assert ours.keys() == committed.keys()
    different = {k for k in ours if ours[k] != committed[k]}
    recording_bytes = {k for k in different if k.suffix == ".parquet" or k.parts[1:2] == ("_frontier",)}
    assert different == recording_bytes  # the run log, the marker, flags, other formats: identical
    assert _facts(Store.open(str(tmp_path / "again"))) == _facts(Store.open(str(demo_path)))
    for k in (k for k in different if k.suffix == ".parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "again" / k), pd.read_parquet(demo_path / k))
