"""No per-run scans (issue 15): every question grows linearly with the store.

The work a call does is counted, not timed: the number of bytecode instructions executed inside
``explorer`` and ``networkx`` while it runs (``sys.settrace``), on a synthetic store of N runs
and on one of 4N runs (``bench/gen_store.py``: the project's own manifest format, no data
files). Linear work grows about 4x; a loop over runs that scans every version (the bug the
issue found in ``sql`` and ``export``) grows 16x. The bound allows 5.5x.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import networkx
import pytest

import explorer
from explorer import Store
from explorer.index import Index

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from gen_store import generate  # noqa: E402

N, ASSETS = 30, 6
GROWTH = 5.5  # allowed growth of the work for 4x the runs (linear: 4, quadratic: 16)
TRACED = (os.path.dirname(explorer.__file__), os.path.dirname(networkx.__file__))


def work(fn, traced: tuple[str, ...] = TRACED) -> int:
    """Bytecode instructions executed in explorer and networkx while ``fn()`` runs (opcodes,
    not lines: a loop written as a one-line comprehension counts each of its iterations)."""
    n = 0

    def local(frame, event, arg):
        nonlocal n
        if event == "opcode":
            n += 1
        return local

    def calls(frame, event, arg):
        if not frame.f_code.co_filename.startswith(traced):
            return None
        frame.f_trace_opcodes = True
        return local

    sys.settrace(calls)
    try:
        fn()
    finally:
        sys.settrace(None)
    return n


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """Stores of N and 4N runs, and a small one every question is asked of once first, so that
    lazy imports are not counted as any question's work."""
    out = []
    for runs in (4, N, 4 * N):
        path = tmp_path_factory.mktemp(f"runs{runs}") / "store"
        assert len(generate(str(path), runs, ASSETS)) == runs
        out.append(str(path))
    warm = _opened(out[0])
    for fn in _questions(warm).values():
        fn()
    return out[1:]


def _opened(path: str) -> Store:
    store = Store.open(path, cache=False)
    store.index.versions  # noqa: B018 - materialized: opening is measured on its own
    return store


def _questions(s: Store) -> dict:
    from explorer import export, verify
    from explorer.cli.foundation import asset_rows

    keys, runs = s.assets(), s.runs
    first, last, mid = keys[0], keys[-1], runs[len(runs) // 2].run_id
    return {
        "staleness": lambda: s.staleness(),
        "staleness as of a run": lambda: s.at(mid).staleness(),
        "asset graph": lambda: s.asset_graph(),
        "asset graph, all runs": lambda: s.asset_graph(all_runs=True),
        "asset graph of a run": lambda: s.asset_graph(run=mid),
        "provenance": lambda: s.provenance(last),
        "impact": lambda: s.impact(first),
        "impact of the oldest version": lambda: s.impact(first, runs[0].run_id),
        "find": lambda: s.find(last, {first: runs[-1].run_id}),
        "versions": lambda: s.versions(last),
        "history": lambda: s.history(last),
        "sql": lambda: s.sql("select count(*) from versions"),
        "compare": lambda: s.compare(),
        "diff-runs": lambda: s.diff_runs(runs[-2].run_id, runs[-1].run_id),
        "runs frame": lambda: s.runs_frame(),
        "export openlineage": lambda: export.to_openlineage(s),
        "export mermaid": lambda: export.to_mermaid(s.asset_graph(), export.asset_statuses(s)),
        "assets": lambda: asset_rows(s, None),
        "assets of a run": lambda: asset_rows(s, mid),
        "verify a run": lambda: verify.verify(s, run=mid),
    }


def _growth(paths, name: str, traced: tuple[str, ...] = TRACED) -> tuple[int, int]:
    """The work of the first call of question ``name`` on a store just opened (what it builds
    and caches on the store, such as the version graph or the SQL tables, is counted), at N
    and 4N runs."""
    counts = [work(_questions(_opened(path))[name], traced) for path in paths]
    return counts[0], counts[1]


QUESTIONS = [
    "staleness", "staleness as of a run", "asset graph", "asset graph, all runs", "asset graph of a run",
    "provenance", "impact", "impact of the oldest version", "find", "versions", "history", "sql", "compare",
    "diff-runs", "runs frame", "export openlineage", "export mermaid", "assets", "assets of a run", "verify a run",
]


@pytest.mark.parametrize("name", QUESTIONS)
def test_each_question_grows_linearly(paths, name):
    small, large = _growth(paths, name)
    assert small > 0
    assert large <= GROWTH * small, f"{name}: {small} lines at {N} runs, {large} at {4 * N} ({large / small:.1f}x)"


def test_the_stores_compared_are_the_sizes_generated(paths):
    for path, runs in zip(paths, (N, 4 * N)):
        s = _opened(path)
        assert len(s.runs) == runs
        assert s.sql("select count(*) as n from versions", as_arrow=True).to_pylist() == [{"n": runs * ASSETS}]


@pytest.mark.parametrize("opening", ["cold", "warm"])
def test_opening_grows_linearly(tmp_path, opening, monkeypatch):
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path / "cache"))
    counts = []
    for runs in (N, 4 * N):
        path = str(tmp_path / f"runs{runs}")
        generate(path, runs, ASSETS)
        if opening == "warm":
            Store.open(path).index.versions  # noqa: B018 - writes the cache
        counts.append(work(lambda: Store.open(path, cache=opening == "warm").index.versions))
    assert counts[1] <= GROWTH * counts[0], counts


def test_the_count_catches_a_per_run_scan(paths, monkeypatch):
    """The mechanism finds the bug it guards against: ``run_versions`` scanning every version
    (as it did before the index kept versions by run) makes ``sql`` quadratic."""

    def scanning(self, run_id):
        return [v for v in self.versions.values() if v.run_id == run_id]

    monkeypatch.setattr(Index, "run_versions", scanning)
    small, large = _growth(paths, "sql", TRACED + (__file__,))  # the scan below is counted too
    assert large > GROWTH * small
