"""The rerun plan: what to rematerialize, in which order, so that every asset is fresh again.

Built from a :class:`~explorer.staleness.StalenessReport` and the asset graph, no data read.

Which assets: exactly those that are not fresh (stale or missing). That set is necessary
(a stale or missing asset changes status only by a new version of its own: nothing written
elsewhere makes its current version fresh) and sufficient (rebuilt in order, each from the
current versions of its inputs, by its job's newest code, nothing is left with a cause);
``tests/test_rerun_plan.py`` checks both by carrying the plan out on generated stores.

In which order: topological over the asset graph (edges from the current versions and the
newest plans; the edges that close a cycle, such as an incremental asset reading itself,
are left out first). Among the assets that are ready at a moment, the one of the job being
built is taken first, so that the plan is as few job batches as the order allows: each
``Batch`` is one job's consecutive assets.

Which job: the job of the run that made the asset's current version; for a missing asset
the job of the newest run that planned it (``None`` when nothing in the store says).
"""

from __future__ import annotations

import heapq
import shlex
from dataclasses import dataclass, field
from typing import Any

from .staleness import StalenessReport


@dataclass(frozen=True)
class Step:
    """One asset to rematerialize."""

    asset: str
    job: str | None
    status: str  # stale | missing
    reasons: tuple[str, ...]  # the kinds of its causes (``upstream_changed``, ...), or ``missing``

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "job": self.job, "status": self.status, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Batch:
    """Consecutive steps of one job."""

    job: str | None
    assets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "assets": list(self.assets), "selection": dagster_selection(self.assets)}


@dataclass(frozen=True)
class RerunPlan:
    """The assets to rematerialize, in order (see the module docstring)."""

    store: str | None
    steps: tuple[Step, ...]
    batches: tuple[Batch, ...] = field(default=())

    @property
    def assets(self) -> list[str]:
        return [s.asset for s in self.steps]

    @property
    def selection(self) -> str:
        """Dagster's asset selection of every step (``raw/bureau,features``)."""
        return dagster_selection(self.assets)

    def command(self) -> str:
        """A Dagster command line materializing the plan (add ``-m``/``-f`` for your code
        location); Dagster orders the selected assets itself."""
        return f"dagster asset materialize --select {shlex.quote(self.selection)}" if self.steps else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "assets": self.assets,
            "steps": [s.to_dict() for s in self.steps],
            "batches": [b.to_dict() for b in self.batches],
            "selection": self.selection,
            "command": self.command(),
        }


def dagster_selection(keys: Any) -> str:
    """Asset keys as Dagster's ``--select`` string: key parts joined by ``/`` (as stored), keys by ``,``."""
    return ",".join(keys)


def rerun_plan(report: StalenessReport, index: Any) -> RerunPlan:
    """The plan for ``report`` (computed over ``index``, the store's index)."""
    from . import lineage

    todo = {a.asset: a for a in report.assets if a.status != "fresh"}
    if not todo:
        return RerunPlan(report.store, ())
    jobs = _jobs(index, todo)
    g = lineage.asset_graph(index).subgraph(todo).copy()
    dag, _ = lineage.acyclic(g)
    waiting = {k: dag.in_degree(k) for k in dag}
    by_job: dict[str | None, list[str]] = {}  # ready assets per job (heaps by key)
    everyone: list[str] = []  # every ready asset (a heap by key; taken ones skipped lazily)
    taken: set[str] = set()

    def ready(k: str) -> None:
        heapq.heappush(by_job.setdefault(jobs.get(k), []), k)
        heapq.heappush(everyone, k)

    def first(heap: list[str]) -> str | None:
        while heap and heap[0] in taken:
            heapq.heappop(heap)
        return heap[0] if heap else None

    for k in sorted(k for k, n in waiting.items() if n == 0):
        ready(k)
    order: list[str] = []
    job: str | None = None
    while True:
        # the ready asset of the job being built first, else the first ready asset by key
        k = first(by_job.get(job, [])) if order else None
        k = k if k is not None else first(everyone)
        if k is None:
            break
        taken.add(k)
        order.append(k)
        job = jobs.get(k)
        for m in dag.successors(k):
            waiting[m] -= 1
            if waiting[m] == 0:
                ready(m)
    steps = tuple(
        Step(k, jobs.get(k), todo[k].status,
             ("missing",) if todo[k].status == "missing" else tuple(dict.fromkeys(c.kind for c in todo[k].causes)))
        for k in order
    )
    batches: list[Batch] = []
    for s in steps:
        if batches and batches[-1].job == s.job:
            batches[-1] = Batch(s.job, batches[-1].assets + (s.asset,))
        else:
            batches.append(Batch(s.job, (s.asset,)))
    return RerunPlan(report.store, steps, tuple(batches))


def _jobs(index: Any, todo: dict) -> dict[str, str | None]:
    """The job that last built each asset of the plan (see the module docstring)."""
    out: dict[str, str | None] = {}
    for key, status in todo.items():
        v = index.latest(key)
        if v is not None:
            run = index.runs.get(v.run_id)
            out[key] = run.job if run is not None else None
        else:
            planners = [index.runs[r] for r in status.planned_by if r in index.runs]
            out[key] = planners[-1].job if planners else None
    return out
