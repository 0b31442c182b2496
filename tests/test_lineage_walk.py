"""Provenance and impact walk only the answer's part of the version graph (through each
version's inputs, or each version's consumers) instead of building the whole graph of the
store. The whole graph's answer (``lineage.version_graph`` then ancestors / descendants, the way
they were computed before) is the truth here, for every version of stores of several shapes:
the demo, a synthetic store where every run reads the run before it, cross-run cycles and an
incremental self-loop, and a store with a consumed version deleted since."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from explorer import Store
from explorer import lineage
from explorer.names import with_partition
from test_lineage_cycles import write_cyclic, write_incremental
from test_partitions import daily as daily_fixture

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from gen_store import generate  # noqa: E402


def daily(tmp: Path) -> Path:
    """The daily-partitions store of tests/test_partitions.py (stats[D] read events[D-1])."""
    return daily_fixture.__wrapped__(tmp)[0]


def _stores(tmp: Path, demo_path: Path) -> dict[str, Path]:
    out = {"demo": demo_path}
    generate(str(tmp / "chain"), 30, 8)
    out["chain"] = tmp / "chain"
    for name, write in (("cyclic", write_cyclic), ("incremental", write_incremental)):
        write(tmp / name)
        out[name] = tmp / name
    out["daily"] = daily(tmp / "d")
    shutil.copytree(demo_path, tmp / "gap")
    shutil.rmtree(tmp / "gap" / "20261020T020000Z-r6")  # read by r7 (scoring): its inputs go missing
    out["gap"] = tmp / "gap"
    return out


@pytest.fixture(scope="module")
def stores(tmp_path_factory, demo_path):
    return _stores(tmp_path_factory.mktemp("walk"), demo_path)


@pytest.mark.parametrize("name", ["demo", "chain", "cyclic", "incremental", "gap", "daily"])
def test_walked_provenance_and_impact_equal_the_whole_graphs(stores, name):
    index = Store.open(str(stores[name]), cache=False).index
    whole = lineage.version_graph(index)
    assert any(whole.nodes[n]["missing"] for n in whole) == (name == "gap")
    assert any(v.partition for v in index.versions.values()) == (name == "daily")
    for ident, v in index.versions.items():
        for question in (lineage.provenance, lineage.impact):
            key = with_partition(v.asset, v.partition)
            walked = question(index, key, v.run_id)
            truth = question(index, key, v.run_id, whole)
            assert walked == truth, (name, question.__name__, ident)
            _assert_records_are_the_dict(walked)


def _assert_records_are_the_dict(result: lineage.LineageResult) -> None:
    """``to_records()`` (what the CLI writes a million versions from) encodes to ``to_dict()``,
    key order too, whichever of its iterators is read first."""
    import msgspec

    truth = result.to_dict()
    for first in ("versions", "edges"):
        records = result.to_records()
        read = {first: list(records[first])}
        built = {k: read[k] if k in read else list(v) if k in ("versions", "edges") else v for k, v in records.items()}
        assert msgspec.to_builtins(built) == truth
        assert msgspec.json.encode(built) == msgspec.json.encode(truth)


def test_the_store_builds_no_whole_version_graph_for_them(stores):
    """``Store.provenance`` / ``impact`` leave the store's (cached) whole graph unbuilt."""
    store = Store.open(str(stores["chain"]), cache=False)
    key = store.assets()[-1]
    assert store.provenance(key).versions and store.impact(store.assets()[0], store.runs[0].run_id).versions
    assert "version_graph" not in store.__dict__


def _find_by_whole_graph(index, key: str, starts: set) -> set:
    """What ``find`` answers, from the whole version graph: the versions of ``key`` among the
    descendants of the start versions."""
    import networkx as nx

    g = lineage.version_graph(index)
    out = set()
    for s in starts:
        out |= {d for d in nx.descendants(g, s) if d[0] == key and d in index.versions}
    return out


@pytest.mark.parametrize("name", ["demo", "chain", "cyclic", "incremental", "gap"])
def test_find_equals_the_whole_graphs_answer(stores, name):
    """``find`` walks each version's consumers: for every consumed version (by its run id, and
    by a prefix of its content hash, deleted ones too) and every asset, the same versions as the
    whole graph's descendants, newest first."""
    store = Store.open(str(stores[name]), cache=False)
    index = store.index
    consumed = {i.ident: i.content_hash for v in index.versions.values() for i in v.inputs}
    unpartitioned = [n for n in consumed if len(n) == 2]
    assert unpartitioned
    for start in unpartitioned[:12]:
        asset, run = start
        for key in store.assets():
            truth = _find_by_whole_graph(index, key, {start})
            got = store.find(key, {asset: run})
            assert {v.ident for v in got} == truth, (name, start, key)
            assert [v.created_at for v in got] == sorted((v.created_at for v in got), reverse=True)
        chash = consumed[start]
        if chash:  # by hash: every version of the asset with that content
            same = {n for n, h in consumed.items() if n[0] == asset and h == chash}
            same |= {v.ident for v in index.asset_versions(asset) if v.content_hash == chash}
            key = store.assets()[-1]
            got = store.find(key, {asset: chash.split(":")[-1][:16]})
            assert {v.ident for v in got} == _find_by_whole_graph(index, key, same), (name, start)


@pytest.mark.parametrize("name", ["demo", "chain", "cyclic", "incremental", "gap", "daily"])
def test_every_version_comes_before_the_next_level_it_leads_to(stores, name):
    """Provenance lists each version before its inputs, impact before its consumers (the root
    first); an edge against that order only closes a cycle (it leads back to a version that
    reaches it), and every edge of the answer is listed once."""
    import networkx as nx

    index = Store.open(str(stores[name]), cache=False).index
    for v in index.versions.values():
        key = with_partition(v.asset, v.partition)
        for result, away in ((lineage.provenance(index, key, v.run_id), lambda a, b: (b, a)),
                             (lineage.impact(index, key, v.run_id), lambda a, b: (a, b))):
            where = {r: i for i, r in enumerate(result.versions)}
            assert result.versions[0] == result.root and len(where) == len(result.versions)
            assert len(set(result.edges)) == len(result.edges)
            g = nx.DiGraph(away(a, b) for a, b in result.edges)
            for a, b in result.edges:
                near, far = away(a, b)
                if where[near] > where[far]:
                    assert nx.has_path(g, far, near), (name, result.direction, near, far)
            if name in ("demo", "chain", "gap", "daily"):  # no cycles: a topological order
                assert all(where[away(a, b)[0]] < where[away(a, b)[1]] for a, b in result.edges)


def test_the_order_is_the_same_in_every_process(stores):
    """The JSON answer does not depend on string hashing (two processes, two hash seeds)."""
    import os
    import subprocess

    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        for argv in (["provenance", str(stores["cyclic"]), "c"], ["impact", str(stores["chain"]), "raw/asset_000",
                                                                   "--run", Store.open(str(stores["chain"])).runs[0].run_id]):
            proc = subprocess.run([sys.executable, "-m", "explorer", *argv, "--format", "json"],
                                  capture_output=True, text=True, env=env, check=True)
            outs.append(proc.stdout)
    assert outs[:2] == outs[2:] and all(json.loads(o)["versions"] for o in outs)
