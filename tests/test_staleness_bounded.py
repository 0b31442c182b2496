"""Bounded work on hostile shapes (issue 22, item 12): root causes and their chains stay about
linear in the number of assets.

The shape of the report: a chain of N assets, each of whose second version consumed an OLDER
version of the one before (and, to multiply the paths, the current version of the one before
that). Listing every root cause with its whole chain grows as N^3 (321 MB of JSON at N=400);
the report lists the nearest ``ROOT_CAUSE_LIMIT`` per asset, keeps a long chain's ends, and
counts the rest.

The mechanism is tested, not the time: JSON size and listed causes over N = 100, 200, 400 grow
by at most ~2x per doubling. Which assets are stale, how many root causes each has and how far
each listed one is come from networkx over the graph built here by hand.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import networkx as nx
import pytest

from explorer import RunWriter
from explorer.staleness import CHAIN_HEAD, CHAIN_TAIL, ROOT_CAUSE_LIMIT

BASE = datetime(2026, 2, 1, tzinfo=timezone.utc)
OLD, NEW = "20260201T000000Z-000001", "20260202T000000Z-000002"


def key(i: int) -> str:
    return f"a{i:04d}"


def same_in_both_runs(i: int) -> bool:
    return i % 5 == 0  # re-materialized with identical bytes: reading its old version changes nothing


def inputs_of(i: int) -> list[tuple[int, str]]:
    """What the second version of asset i consumed: (asset index, run)."""
    return [(j, run) for j, run in ((i - 1, OLD), (i - 2, NEW)) if j >= 0]


def write_chain(root, n: int) -> None:
    for day, run_id in enumerate((OLD, NEW)):
        start = BASE + timedelta(days=day)
        ticks = iter(range(1, 100_000))
        with RunWriter(str(root), job="chain", run_id=run_id, started_at=start,
                       clock=lambda: start + timedelta(seconds=next(ticks))) as run:
            for i in range(n):
                data = b"same %d" % i if same_in_both_runs(i) else b"%s %d" % (run_id.encode(), i)
                ins = [key(i - 1)] if run_id == OLD and i else [(key(j), r) for j, r in inputs_of(i)]
                run.write(key(i), data, inputs=ins, format="bytes")


def truth(n: int):
    """(stale assets, {asset: number of root causes}, {asset: {carrier: distance}}) by hand."""
    g = nx.DiGraph()  # input -> consumer, over the current (NEW) versions
    g.add_nodes_from(key(i) for i in range(n))
    carriers = set()  # assets whose current version has a cause of its own
    for i in range(n):
        for j, run in inputs_of(i):
            g.add_edge(key(j), key(i))
            if run == OLD and not same_in_both_runs(j):
                carriers.add(key(i))  # upstream_changed: it read content that is no longer current
    stale = set(carriers)
    for c in carriers:
        stale |= nx.descendants(g, c)
    dist = {k: {c: d for c, d in nx.single_source_shortest_path_length(g.reverse(copy=False), k).items()
                if c in carriers} for k in stale}
    return stale, {k: len(d) for k, d in dist.items()}, dist


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    out = {}
    for n in (100, 200, 400):
        root = tmp_path_factory.mktemp(f"chain{n}")
        write_chain(root, n)
        out[n] = root
    return out


def test_root_causes_grow_linearly_and_stay_true(cli, chains):
    size, listed, chain_cells = {}, {}, {}
    for n, root in chains.items():
        r = cli("stale", root, "-f", "json")
        assert r.code == 1, r.err  # something is stale
        doc = r.json()
        size[n] = len(r.out)
        listed[n] = sum(len(a["root_causes"]) for a in doc["assets"])
        chain_cells[n] = sum(len(c.get("chain") or ()) for a in doc["assets"] for c in a["root_causes"])

        stale, totals, dist = truth(n)
        assert {a["asset"] for a in doc["assets"] if a["status"] == "stale"} == stale
        assert {a["asset"] for a in doc["assets"] if a["status"] == "fresh"} == {key(i) for i in range(n)} - stale
        for a in doc["assets"]:
            if a["status"] != "stale":
                continue
            k = a["asset"]
            causes = a["root_causes"]
            # every root cause counted, none listed beyond the limit
            assert len(causes) == min(totals[k], ROOT_CAUSE_LIMIT)
            assert len(causes) + a.get("root_causes_omitted", 0) == totals[k]
            # the nearest ones, each with its shortest chain (kept as its ends when long)
            nearest = sorted(d for d in dist[k].values())[:ROOT_CAUSE_LIMIT]
            assert [len(c["chain"]) + c.get("chain_omitted", 0) - 1 for c in causes] == nearest
            for c in causes:
                assert dist[k][c["of"]] == len(c["chain"]) + c.get("chain_omitted", 0) - 1
                assert c["chain"][0] == k and c["chain"][-1] == c["of"]
                assert len(c["chain"]) <= CHAIN_HEAD + CHAIN_TAIL
    # doubling N at most (about) doubles the output: N^2 would be 4x, N^3 8x per doubling
    for small, big in ((100, 200), (200, 400)):
        assert size[big] <= 2.3 * size[small], size
        assert listed[big] <= 2.3 * listed[small], listed
        assert chain_cells[big] <= 2.3 * chain_cells[small], chain_cells


def test_a_long_chain_and_the_causes_left_out_are_summarized_in_every_format(cli, chains):
    n = 100
    root = chains[n]
    _, totals, dist = truth(n)
    last = key(n - 1)
    doc = cli("stale", root, "-f", "json").json()
    me = next(a for a in doc["assets"] if a["asset"] == last)
    omitted = totals[last] - ROOT_CAUSE_LIMIT
    assert me["root_causes_omitted"] == omitted > 0
    far = me["root_causes"][-1]
    gap = len(far["chain"]) + far["chain_omitted"] - CHAIN_HEAD - CHAIN_TAIL
    assert far["chain_omitted"] == gap > 0
    md = cli("stale", root, "-f", "markdown").out
    assert f"- `{last}`: and {omitted} more" in md
    assert f"… {gap} more …" in md
    table = cli("stale", root)
    assert table.code == 1 and f"and {omitted} more" in table.out


def test_assets_lists_every_asset_of_a_long_chain(cli, chains):
    n = 400
    stale, _, _ = truth(n)
    r = cli("assets", chains[n], "-f", "json")
    assert r.code == 0, r.err
    statuses = {a["asset"]: a["status"] for a in json.loads(r.out)}
    assert statuses == {key(i): "stale" if key(i) in stale else "fresh" for i in range(n)}


def test_flagged_versions_listed_per_asset_are_capped_and_counted(cli, tmp_path_factory):
    """Every version of a chain flagged: each asset has all the versions above it in its provenance.
    Listing each as a cause grows as N^2; the report lists FLAG_CAUSE_LIMIT (the version itself
    among them) and counts the others."""
    from explorer import Store
    from explorer.staleness import FLAG_CAUSE_LIMIT

    size = {}
    for n in (50, 100, 200):
        root = tmp_path_factory.mktemp(f"flagged{n}")
        start = BASE
        ticks = iter(range(1, 100_000))
        with RunWriter(str(root), job="chain", run_id=OLD, started_at=start,
                       clock=lambda: start + timedelta(seconds=next(ticks))) as run:
            for i in range(n):
                run.write(key(i), b"%d" % i, inputs=[key(i - 1)] if i else [], format="bytes")
        store = Store.open(str(root))
        for i in range(n):
            store.flag(key(i), OLD, "bad")
        r = cli("stale", root, "-f", "json")
        assert r.code == 1, r.err
        size[n] = len(r.out)
        for i, a in enumerate(r.json()["assets"]):
            assert a["asset"] == key(i) and a["status"] == "stale"
            flagged = [c["asset"] for c in a["causes"] if c["kind"] == "flagged_upstream"]
            above = [key(j) for j in range(i + 1)]  # its provenance, itself included, all flagged
            listed = min(len(above), FLAG_CAUSE_LIMIT)
            assert len(flagged) == listed and key(i) in flagged
            assert flagged == sorted(above[:listed - 1] + [key(i)])  # itself, then the first by key
            assert a.get("causes_omitted", 0) == len(above) - listed
    for small, big in ((50, 100), (100, 200)):
        assert size[big] <= 2.3 * size[small], size
    md = cli("stale", root, "-f", "markdown").out
    assert f"and {n - FLAG_CAUSE_LIMIT} more flagged versions" in md
