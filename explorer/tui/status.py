"""What each node of a drawn graph shows: a status word and the run of the version drawn.

The words come from the library (``store.staleness()``: fresh, stale, missing), the same the
staleness screen, the runs and the CLI show; this module only adds what one run's graph needs on
top: ``superseded`` (a later run wrote it), ``pending`` (its running run has not written it yet)
and ``input`` (read from another run).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store (pyarrow, networkx, fsspec) loads in the worker, after first paint
    from ..api import Store
from .widgets.lineage_graph import NodeInfo


def tainted_versions(store: Store) -> set[tuple[str, str]]:
    """Flagged versions and every version built from one; empty if flags cannot be read."""
    try:
        return set(store.tainted())
    except Exception:  # noqa: BLE001 - a badge is not worth failing a screen for
        return set()


def store_graph(store: Store, report: Any | None = None) -> tuple[nx.DiGraph, dict[str, NodeInfo]]:
    """The asset graph at the latest versions and each node's status and run."""
    g = store.asset_graph()
    tainted = tainted_versions(store)
    info: dict[str, NodeInfo] = {}
    for key in g.nodes:
        latest = store.index.latest(key)
        if report is not None:
            status = report.status_of(key)
        else:
            status = "missing" if g.nodes[key].get("missing") else "fresh"
        info[key] = NodeInfo(status, latest.run_id if latest else None,
                             latest is not None and (key, latest.run_id) in tainted)
    return g, info


def run_graph(store: Store, run_id: str, report: Any | None = None) -> tuple[nx.DiGraph, dict[str, NodeInfo]]:
    """One run's graph: what it wrote, what it planned, and the inputs it read from other runs."""
    run = store.run(run_id)
    g = store.asset_graph(run=run_id)
    planned = {p.asset for p in run.planned}
    tainted = tainted_versions(store)
    inputs: dict[str, str] = {}
    for v in store.run_versions(run_id):
        for i in v.inputs:
            if i.run_id != run_id:
                inputs[i.asset] = i.run_id
    info: dict[str, NodeInfo] = {}
    for key in g.nodes:
        v = store.index.versions.get((key, run_id)) or next((w for w in store.run_versions(run_id) if w.asset == key), None)
        if v is not None:
            latest = store.index.latest(key)
            if latest is not None and latest.run_id == run_id:
                status = report.status_of(key) if report is not None else "fresh"
            else:
                status = "superseded"
            info[key] = NodeInfo(status, run_id, (key, run_id) in tainted)
        elif key in inputs:
            info[key] = NodeInfo("input", inputs[key])
        elif key in planned:
            status = "pending" if run.status == "running" else "missing"  # the run's title says it failed
            info[key] = NodeInfo(status, run_id)
        else:
            latest = store.index.latest(key)
            info[key] = NodeInfo("input", latest.run_id if latest else None)
    return g, info
