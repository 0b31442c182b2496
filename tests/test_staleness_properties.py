"""Property tests on random DAGs, written with the real writer into temporary stores.

Truth comes from the DAG hypothesis drew (networkx descendants), never from the code.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import Store
from explorer.store.writer import RunWriter

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def dags(draw) -> nx.DiGraph:
    n = draw(st.integers(1, 7))
    g = nx.DiGraph()
    for j in range(n):
        g.add_node(f"n{j}")
        parents = draw(st.sets(st.integers(0, j - 1), max_size=3)) if j else set()
        g.add_edges_from((f"n{i}", f"n{j}") for i in parents)
    return g


def run_writer(root: str, number: int, plan) -> RunWriter:
    start = T0 + timedelta(days=number)
    ticks = iter(range(1, 10_000))
    return RunWriter(root, job="pipeline", code_version="v1", run_id=f"r{number}", started_at=start,
                     clock=lambda: start + timedelta(seconds=next(ticks)), plan=plan)


def plan_of(g: nx.DiGraph, nodes) -> dict[str, list[str]]:
    return {n: sorted(g.predecessors(n)) for n in nodes}


def materialize_all(root: str, number: int, g: nx.DiGraph, salt: bytes) -> None:
    """One run writing every node in topological order, each from its inputs in this run."""
    order = list(nx.topological_sort(g))
    with run_writer(root, number, plan_of(g, order)) as run:
        for n in order:
            run.write(n, salt + n.encode(), inputs=sorted(g.predecessors(n)), format="bytes")


def statuses(root: str) -> dict[str, str]:
    return {a.asset: a.status for a in Store.open(root).staleness().assets}


@SETTINGS
@given(g=dags(), salts=st.lists(st.binary(min_size=0, max_size=2), min_size=1, max_size=3),
       changed=st.data())
def test_rematerializing_everything_in_topological_order_leaves_everything_fresh(g, salts, changed):
    with tempfile.TemporaryDirectory() as root:
        materialize_all(root, 1, g, b"first")
        # some partial runs in between change random sources (making things stale)...
        sources = sorted(n for n in g if g.in_degree(n) == 0)
        touched = changed.draw(st.lists(st.sampled_from(sources), max_size=2))
        for i, s in enumerate(touched):
            with run_writer(root, 2 + i, {s: []}) as run:
                run.write(s, b"changed" + bytes([i]), format="bytes")
        # ...then full re-materializations, with whatever contents, fix everything
        for i, salt in enumerate(salts):
            materialize_all(root, 10 + i, g, salt)
        assert statuses(root) == {n: "fresh" for n in g}


@SETTINGS
@given(g=dags(), data=st.data(), identical=st.booleans())
def test_changing_one_source_makes_exactly_its_downstream_closure_stale(g, data, identical):
    sources = sorted(n for n in g if g.in_degree(n) == 0)
    s = data.draw(st.sampled_from(sources))
    with tempfile.TemporaryDirectory() as root:
        materialize_all(root, 1, g, b"first")
        with run_writer(root, 2, {s: []}) as run:
            run.write(s, (b"first" if identical else b"second") + s.encode(), format="bytes")
        report = Store.open(root).staleness()
        got = {a.asset: a.status for a in report.assets}
        closure = set() if identical else nx.descendants(g, s)
        assert got == {n: ("stale" if n in closure else "fresh") for n in g}
        for n in closure:
            roots = report.get(n).root_causes
            assert {(c.kind, c.asset, c.run_id) for c in roots} == {("upstream_changed", s, "r2")}
            # the chain is a real path in the DAG from n up to a direct consumer of s
            (root_cause,) = roots
            chain = root_cause.chain
            assert chain[0] == n and g.has_edge(s, chain[-1])
            assert all(g.has_edge(b, a) for a, b in zip(chain, chain[1:]))
            assert len(chain) == nx.shortest_path_length(g, s, n)  # the shortest chain is reported


@settings(SETTINGS, max_examples=50)
@given(g=dags(), data=st.data())
def test_random_partial_runs_match_an_independent_oracle(g, data):
    """Runs re-materialize random subsets (in topological order, from the current inputs) with
    random same-or-new bytes. A naive recursive re-statement of the rules gives the truth."""
    order = list(nx.topological_sort(g))
    with tempfile.TemporaryDirectory() as root:
        materialize_all(root, 1, g, b"first")
        current = {n: (b"first" + n.encode(), "r1") for n in order}  # asset -> (bytes, run)
        consumed = {n: {p: current[p] for p in g.predecessors(n)} for n in order}
        for number in range(2, 2 + data.draw(st.integers(1, 4))):
            subset = data.draw(st.sets(st.sampled_from(order), min_size=1))
            rid = f"r{number}"
            todo = [n for n in order if n in subset]
            with run_writer(root, number, plan_of(g, todo)) as run:
                for n in todo:
                    same = data.draw(st.booleans())
                    content = current[n][0] if same else f"{rid}-{n}".encode()
                    ins = [p if current[p][1] == rid else (p, current[p][1]) for p in sorted(g.predecessors(n))]
                    consumed[n] = {p: current[p] for p in g.predecessors(n)}
                    run.write(n, content, inputs=ins, format="bytes")
                    current[n] = (content, rid)

        # the oracle: changed inputs compare bytes; staleness flows down the consumed inputs
        stale: dict[str, bool] = {}
        roots: dict[str, set] = {}
        for n in order:
            # a root cause is one fact: input p changed since the version of it that was consumed
            changed = {(p, r) for p, (b, r) in consumed[n].items() if b != current[p][0]}
            roots[n] = set(changed)
            for p in consumed[n]:
                if stale[p]:
                    roots[n] |= roots[p]
            stale[n] = bool(roots[n])

        report = Store.open(root).staleness()
        assert {a.asset: a.status for a in report.assets} == {n: ("stale" if stale[n] else "fresh") for n in order}
        for n in order:
            assert {(c.asset, c.consumed_run_id) for c in report.get(n).root_causes} == roots[n]
            assert all(c.kind == "upstream_changed" for c in report.get(n).root_causes)
