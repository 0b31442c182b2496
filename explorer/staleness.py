"""Staleness: for the current version of every asset, is it fresh, stale or missing, and why.

Pure functions over the in-memory :class:`~explorer.store.index.Index`: no data is read,
only run manifests and sidecars already in the index. ``compute`` costs one pass over the
runs' plans and versions plus one pass over the asset graph of current versions, so it is
linear in the size of the index (see ``bench/bench_staleness.py``).

Statuses
--------
``missing``
    The asset was planned by a run manifest (as an asset or as a planned input) or consumed
    as an input, but no version of it exists (at the ``as_of`` moment).
``stale``
    The current version has one or more :class:`Cause`:

    ``upstream_changed``
        an input's current version has a different content hash from the one consumed
        (content, not timestamps: an identical re-materialization changes nothing);
    ``code_changed``
        the newest run of the same job that covers this asset recorded another code version;
    ``dependencies_changed``
        the newest plan that records inputs for the asset lists other inputs than consumed;
    ``upstream_stale``
        a consumed input asset is itself stale or missing (see ``root_causes``);
    ``input_missing``
        a consumed input version is no longer in the store;
    ``too_old``
        the version is older than ``max_age``;
    ``flagged_upstream``
        the version, or any version in its provenance (across runs), is flagged bad.
``fresh``
    otherwise.

See ``docs/staleness.md`` for the exact rules.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from .errors import ExplorerError
from .models import AssetVersion, Run, iso
from .store.index import Index

STATUSES = ("fresh", "stale", "missing")
CAUSE_KINDS = (
    "upstream_changed",
    "code_changed",
    "dependencies_changed",
    "upstream_stale",
    "input_missing",
    "too_old",
    "flagged_upstream",
)

Flag = tuple[str, str]  # (asset, run_id)


class StalenessArgumentError(ExplorerError):
    """An ``as_of`` or ``max_age`` the staleness check cannot understand."""


# ---------------------------------------------------------------------- plain data


def _short(h: str | None) -> str:
    if not h:
        return "?"
    return h.split(":", 1)[-1][:8]


def _human_seconds(s: float) -> str:
    s = int(s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{s}s"


@dataclass(frozen=True)
class Cause:
    """One reason a version is stale.

    ``asset`` is what the cause is about: the changed / missing / stale / flagged input for
    upstream causes, the asset itself for ``code_changed``, ``dependencies_changed`` and
    ``too_old``. ``run_id`` is the run that brought the change (the run where the input's
    current content first appeared, the run recording the new code or plan, the run of the
    missing or flagged version). ``of`` and ``chain`` are set on root causes: ``of`` is the
    asset whose version carries the cause, ``chain`` the path of assets from the reported
    asset up to ``of`` (``("scores", "models/credit_risk", "features")``).
    """

    kind: str
    asset: str
    run_id: str | None = None
    detail: str = ""
    at: datetime | None = None  # when the change happened (created_at of the new version)
    consumed_run_id: str | None = None
    consumed_hash: str | None = None
    latest_run_id: str | None = None
    latest_hash: str | None = None
    old_code_version: str | None = None
    new_code_version: str | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    age_seconds: float | None = None
    max_age_seconds: float | None = None
    of: str | None = None
    chain: tuple[str, ...] = ()

    def describe(self) -> str:
        """One human line, e.g. ``raw_data changed in run R at T (sha 1234 -> 5678)``."""
        k = self.kind
        when = f" at {iso(self.at)}" if self.at else ""
        if k == "upstream_changed":
            return (f"{self.asset} changed in run {self.run_id}{when} "
                    f"(sha {_short(self.consumed_hash)} @ {self.consumed_run_id} -> "
                    f"{_short(self.latest_hash)} @ {self.latest_run_id})")
        if k == "code_changed":
            return (f"{self.asset} code changed in run {self.run_id}{when} "
                    f"({self.old_code_version} -> {self.new_code_version})")
        if k == "dependencies_changed":
            parts = []
            if self.added:
                parts.append("added " + ", ".join(self.added))
            if self.removed:
                parts.append("removed " + ", ".join(self.removed))
            return f"{self.asset} dependencies changed in the plan of run {self.run_id} ({'; '.join(parts)})"
        if k == "upstream_stale":
            return f"input {self.asset} is {self.detail or 'stale'}"
        if k == "input_missing":
            return f"input {self.asset} @ {self.consumed_run_id} is no longer in the store"
        if k == "too_old":
            return (f"{self.asset} @ {self.run_id} is {_human_seconds(self.age_seconds or 0)} old "
                    f"(max age {_human_seconds(self.max_age_seconds or 0)})")
        if k == "flagged_upstream":
            return f"{self.asset} @ {self.run_id} is flagged{(': ' + self.detail) if self.detail else ''}"
        return f"{k}: {self.asset}"  # pragma: no cover - unknown kinds never built here

    def describe_chain(self) -> str:
        """``scores <- models/credit_risk <- features <- raw_data changed in run R at T (...)``."""
        path = " <- ".join(self.chain)
        return f"{path} <- {self.describe()}" if path else self.describe()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "asset": self.asset, "run_id": self.run_id}
        extra = {
            "at": iso(self.at),
            "consumed_run_id": self.consumed_run_id,
            "consumed_hash": self.consumed_hash,
            "latest_run_id": self.latest_run_id,
            "latest_hash": self.latest_hash,
            "old_code_version": self.old_code_version,
            "new_code_version": self.new_code_version,
            "added": list(self.added) or None,
            "removed": list(self.removed) or None,
            "age_seconds": self.age_seconds,
            "max_age_seconds": self.max_age_seconds,
            "of": self.of,
            "chain": list(self.chain) or None,
        }
        out.update({k: v for k, v in extra.items() if v is not None})
        if self.detail:
            out["detail"] = self.detail
        out["description"] = self.describe()
        return out


@dataclass(frozen=True)
class AssetStatus:
    """The status of one asset's current version, its direct causes and root causes."""

    asset: str
    status: str  # fresh | stale | missing
    run_id: str | None  # run of the current version (None when missing)
    causes: tuple[Cause, ...] = ()
    root_causes: tuple[Cause, ...] = ()
    planned_by: tuple[str, ...] = ()  # for missing assets: runs whose manifest planned it

    def to_dict(self) -> dict[str, Any]:
        out = {
            "asset": self.asset,
            "status": self.status,
            "run_id": self.run_id,
            "causes": [c.to_dict() for c in self.causes],
            "root_causes": [c.to_dict() for c in self.root_causes],
        }
        if self.planned_by:
            out["planned_by"] = list(self.planned_by)
        return out


@dataclass(frozen=True)
class StalenessReport:
    """Statuses of every known asset, sorted by key."""

    store: str | None
    as_of: datetime | None
    assets: tuple[AssetStatus, ...]
    as_of_run: str | None = None
    max_age_seconds: float | None = None
    _by_key: dict[str, AssetStatus] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self._by_key:
            object.__setattr__(self, "_by_key", {a.asset: a for a in self.assets})

    def get(self, key: str) -> AssetStatus | None:
        return self._by_key.get(key)

    def status_of(self, key: str) -> str:
        """``fresh``, ``stale``, ``missing``, or ``unknown`` for a key the store never mentions."""
        a = self._by_key.get(key)
        return a.status if a else "unknown"

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for a in self.assets:
            out[a.status] += 1
        return out

    def with_status(self, *statuses: str) -> list[AssetStatus]:
        return [a for a in self.assets if a.status in statuses]

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "as_of": iso(self.as_of),
            "as_of_run": self.as_of_run,
            "max_age_seconds": self.max_age_seconds,
            "counts": self.counts(),
            "assets": [a.to_dict() for a in self.assets],
        }


# ---------------------------------------------------------------------- arguments

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: str | float | int | timedelta | None) -> timedelta | None:
    """``36h``, ``7d``, ``1d12h``, ``90m``, ``2w``, seconds as a number, or a timedelta."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        if value < 0:
            raise StalenessArgumentError(f"invalid max age {value!r}: must not be negative")
        return timedelta(seconds=value)
    text = str(value).strip()
    pos, total, ok = 0, 0.0, bool(text)
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            ok = False
            break
        total += float(m.group(1)) * _UNIT[m.group(2).lower()]
        pos = m.end()
    if not ok or pos != len(text):
        raise StalenessArgumentError(
            f"invalid duration {value!r}: use a number and a unit, e.g. 36h, 7d, 90m, 1d12h"
        )
    return timedelta(seconds=total)


def _as_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def resolve_as_of(index: Index, as_of: str | datetime | None) -> tuple[datetime | None, str | None]:
    """``(cutoff time, run id)`` for an ``as_of`` given as a run id, an ISO time or a datetime.

    A run id means *the store as that run left it*: every version created up to the run's
    ``finished_at`` (for a run that never finished, its last version or its start).
    """
    if as_of is None:
        return None, None
    if isinstance(as_of, datetime):
        return _as_utc(as_of), None
    text = str(as_of).strip()
    run = index.runs.get(text)
    if run is not None:
        return run_cutoff(index, run), run.run_id
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise StalenessArgumentError(f"--as-of {text!r} is neither a run id of this store nor an ISO time") from None
    return _as_utc(ts), None


def run_cutoff(index: Index, run: Run) -> datetime:
    if run.finished_at is not None:
        return run.finished_at
    times = [v.created_at for (a, r), v in index.versions.items() if r == run.run_id]
    return max([run.started_at, *times])


# ---------------------------------------------------------------------- the view


class _View:
    """The index as it was at ``cutoff`` (or as it is, when None)."""

    def __init__(self, index: Index, cutoff: datetime | None) -> None:
        self.index = index
        self.cutoff = cutoff
        if cutoff is None:
            self.runs = list(index.runs.values())
        else:
            self.runs = [r for r in index.runs.values() if r.started_at <= cutoff]
        self.run_order = {r.run_id: i for i, r in enumerate(self.runs)}
        self._versions: dict[str, list[AssetVersion]] = {}
        for key in index.asset_keys():
            vs = index._by_asset.get(key, [])  # sorted by (created_at, run order)
            if cutoff is not None:
                vs = vs[: bisect_right([v.created_at for v in vs], cutoff)]
                vs = [v for v in vs if v.run_id in self.run_order]
            if vs:
                self._versions[key] = vs

    def versions(self, key: str) -> list[AssetVersion]:
        return self._versions.get(key, [])

    def latest(self, key: str) -> AssetVersion | None:
        vs = self._versions.get(key)
        return vs[-1] if vs else None

    def keys(self) -> Iterable[str]:
        return self._versions.keys()

    def has_version(self, asset: str, run_id: str) -> bool:
        v = self.index.versions.get((asset, run_id))
        return v is not None and (self.cutoff is None or (v.created_at <= self.cutoff and run_id in self.run_order))


def _change_point(vs: list[AssetVersion]) -> AssetVersion:
    """The first version of the final streak of identical content: where the current bytes appeared."""
    h = vs[-1].content_hash
    i = len(vs) - 1
    while i > 0 and vs[i - 1].content_hash == h:
        i -= 1
    return vs[i]


# ---------------------------------------------------------------------- compute


def compute(
    index: Index,
    as_of: str | datetime | None = None,
    max_age: str | float | timedelta | None = None,
    flagged: Iterable[Flag] = frozenset(),
    now: datetime | None = None,
    store: str | None = None,
) -> StalenessReport:
    """Status and causes of the current version of every asset known to ``index``.

    ``as_of``: a run id (the store as that run left it), an ISO time or a datetime.
    ``max_age``: versions older than this are ``too_old`` (``"36h"``, ``"7d"``, a timedelta,
    seconds). Age is measured at ``now`` (default: the current time), or at ``as_of``.
    ``flagged``: ``(asset, run_id)`` versions marked bad; every current version built from
    one of them, transitively and across runs, is stale with ``flagged_upstream``.
    """
    cutoff, as_of_run = resolve_as_of(index, as_of)
    age_limit = parse_duration(max_age)
    ref_time = cutoff if cutoff is not None else _as_utc(now) if now is not None else datetime.now(timezone.utc)
    view = _View(index, cutoff)
    flagged = frozenset(flagged)

    # -- one pass over the runs: planned assets, newest plans with inputs, code coverage
    planned_by: dict[str, list[str]] = {}
    newest_plan: dict[str, tuple[Run, tuple[str, ...]]] = {}  # asset -> (run, planned inputs)
    cover: dict[tuple[str | None, str], tuple[int, str | None, Run]] = {}  # (job, asset) -> newest covering run
    unplanned_run: dict[str, tuple[int, Run]] = {}  # job -> newest run without any plan
    mentioned: set[str] = set()
    for order, run in enumerate(view.runs):
        if not run.planned and run.job is not None:
            unplanned_run[run.job] = (order, run)
        for p in run.planned:
            planned_by.setdefault(p.asset, []).append(run.run_id)
            mentioned.add(p.asset)
            if p.inputs is not None:
                newest_plan[p.asset] = (run, p.inputs)
                mentioned.update(p.inputs)
            cover[(run.job, p.asset)] = (order, p.code_version or run.code_version, run)

    current: dict[str, AssetVersion] = {}
    for key in view.keys():
        v = view.latest(key)
        assert v is not None
        current[key] = v
        for i in v.inputs:
            mentioned.add(i.asset)
    # versions written in a run cover their asset for that run's job (over a plan's code version)
    for key, vs in view._versions.items():
        for v in vs:
            run = index.runs.get(v.run_id)
            if run is None:
                continue
            order = view.run_order[v.run_id]
            prev = cover.get((run.job, key))
            if prev is None or prev[0] <= order:
                cover[(run.job, key)] = (order, v.code_version, run)

    all_keys = sorted(set(current) | mentioned)

    # -- flagged provenance: forward closure of each flagged version over consumers (all runs)
    flag_hits: dict[str, list[Flag]] = {}
    if flagged:
        consumers: dict[Flag, list[Flag]] = {}
        for (a, r), v in index.versions.items():
            if not view.has_version(a, r):
                continue
            for i in v.inputs:
                consumers.setdefault((i.asset, i.run_id), []).append((a, r))
        current_nodes = {(v.asset, v.run_id) for v in current.values()}
        for flag in sorted(flagged):
            seen = {flag}
            queue = deque([flag])
            while queue:
                node = queue.popleft()
                if node in current_nodes:
                    flag_hits.setdefault(node[0], []).append(flag)
                for nxt in consumers.get(node, ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        queue.append(nxt)

    # -- direct causes (everything except upstream_stale)
    own: dict[str, list[Cause]] = {}
    for key, v in current.items():
        causes: list[Cause] = []
        for inp in v.inputs:
            present = view.has_version(inp.asset, inp.run_id)
            consumed_hash = inp.content_hash
            if consumed_hash is None and present:
                consumed_hash = index.versions[(inp.asset, inp.run_id)].content_hash
            if not present:
                causes.append(Cause("input_missing", inp.asset, inp.run_id, consumed_run_id=inp.run_id,
                                    consumed_hash=consumed_hash))
            latest = current.get(inp.asset)
            if latest is not None and consumed_hash is not None and latest.content_hash != consumed_hash:
                changed = _change_point(view.versions(inp.asset))
                causes.append(Cause(
                    "upstream_changed", inp.asset, changed.run_id,
                    detail=f"sha {_short(consumed_hash)} -> {_short(latest.content_hash)}",
                    at=changed.created_at, consumed_run_id=inp.run_id, consumed_hash=consumed_hash,
                    latest_run_id=latest.run_id, latest_hash=latest.content_hash))
        run = index.runs.get(v.run_id)
        if run is not None:
            newest = cover.get((run.job, key))
            if run.job is not None and run.job in unplanned_run:
                u_order, u_run = unplanned_run[run.job]
                if newest is None or u_order > newest[0]:
                    newest = (u_order, u_run.code_version, u_run)
            if newest is not None:
                _, new_code, new_run = newest
                if (new_run.run_id != v.run_id and new_code is not None and v.code_version is not None
                        and new_code != v.code_version):
                    causes.append(Cause("code_changed", key, new_run.run_id,
                                        detail=f"{v.code_version} -> {new_code}", at=new_run.started_at,
                                        old_code_version=v.code_version, new_code_version=new_code))
        plan = newest_plan.get(key)
        if plan is not None and plan[0].run_id != v.run_id:
            planned_inputs = set(plan[1])
            consumed = {i.asset for i in v.inputs}
            if planned_inputs != consumed:
                added = tuple(sorted(planned_inputs - consumed))
                removed = tuple(sorted(consumed - planned_inputs))
                causes.append(Cause("dependencies_changed", key, plan[0].run_id,
                                    detail="; ".join(filter(None, [
                                        "added " + ", ".join(added) if added else "",
                                        "removed " + ", ".join(removed) if removed else ""])),
                                    at=plan[0].started_at, added=added, removed=removed))
        if age_limit is not None:
            age = (ref_time - v.created_at).total_seconds()
            if age > age_limit.total_seconds():
                causes.append(Cause("too_old", key, v.run_id, at=v.created_at, age_seconds=age,
                                    max_age_seconds=age_limit.total_seconds()))
        for fa, fr in flag_hits.get(key, ()):
            causes.append(Cause("flagged_upstream", fa, fr))
        own[key] = causes

    # -- propagation: stale = reachable downstream (over current versions' inputs) from a seed
    consumers_of: dict[str, list[str]] = {}
    for key, v in current.items():
        for inp_asset in dict.fromkeys(i.asset for i in v.inputs):
            consumers_of.setdefault(inp_asset, []).append(key)
    bad: set[str] = {k for k in all_keys if k not in current or own.get(k)}
    queue = deque(sorted(bad))
    while queue:
        k = queue.popleft()
        for c in consumers_of.get(k, ()):
            if c not in bad:
                bad.add(c)
                queue.append(c)

    def status(k: str) -> str:
        if k not in current:
            return "missing"
        return "stale" if k in bad else "fresh"

    direct: dict[str, tuple[Cause, ...]] = {}
    for key, v in current.items():
        causes = list(own[key])
        for inp_asset in dict.fromkeys(i.asset for i in v.inputs):
            if inp_asset in bad:
                st = status(inp_asset)
                causes.append(Cause("upstream_stale", inp_asset, current[inp_asset].run_id if st != "missing" else None,
                                    detail=st))
        direct[key] = tuple(causes)

    roots = _root_causes(current, own, bad, status)

    assets = []
    for k in all_keys:
        st = status(k)
        v = current.get(k)
        assets.append(AssetStatus(
            asset=k,
            status=st,
            run_id=v.run_id if v else None,
            causes=direct.get(k, ()),
            root_causes=roots.get(k, ()) if st == "stale" else (),
            planned_by=tuple(planned_by.get(k, ())) if st == "missing" else (),
        ))
    return StalenessReport(
        store=store,
        as_of=cutoff,
        assets=tuple(assets),
        as_of_run=as_of_run,
        max_age_seconds=age_limit.total_seconds() if age_limit is not None else None,
    )


def _root_causes(current, own, bad, status) -> dict[str, tuple[Cause, ...]]:
    """For every stale asset, the causes at the top of its chains, each with its shortest chain.

    Dynamic programming over the stale part of the graph in topological order (Kahn); assets
    on a cycle fall back to a breadth-first search of their own.
    """
    stale = [k for k in current if k in bad]
    stale_set = set(stale)
    inputs = {k: [a for a in dict.fromkeys(i.asset for i in current[k].inputs) if a in stale_set] for k in stale}
    indeg = {k: len(inputs[k]) for k in stale}
    users: dict[str, list[str]] = {}
    for k in stale:
        for a in inputs[k]:
            users.setdefault(a, []).append(k)
    queue = deque(sorted(k for k in stale if indeg[k] == 0))
    found: dict[str, dict[Cause, tuple[str, ...]]] = {}
    while queue:
        k = queue.popleft()
        mine: dict[Cause, tuple[str, ...]] = {c: (k,) for c in own.get(k, ())}
        for a in sorted(inputs[k]):
            for c, chain in found[a].items():
                if c not in mine or len(mine[c]) > len(chain) + 1:
                    mine[c] = (k,) + chain
        found[k] = mine
        for u in users.get(k, ()):
            indeg[u] -= 1
            if indeg[u] == 0:
                queue.append(u)
    for k in stale:  # on a cycle: breadth-first search upstream
        if k in found:
            continue
        mine = {}
        seen = {k: (k,)}
        q = deque([k])
        while q:
            n = q.popleft()
            for c in own.get(n, ()):
                mine.setdefault(c, seen[n])
            for a in sorted(inputs.get(n, ())):
                if a not in seen:
                    seen[a] = seen[n] + (a,)
                    q.append(a)
        found[k] = mine
    out = {}
    for k, mine in found.items():
        out[k] = tuple(
            replace(c, of=chain[-1], chain=chain)
            for c, chain in sorted(mine.items(), key=lambda cc: (len(cc[1]), cc[1][-1], cc[0].kind, cc[0].asset))
        )
    return out


__all__ = [
    "AssetStatus",
    "Cause",
    "StalenessArgumentError",
    "StalenessReport",
    "compute",
    "parse_duration",
    "resolve_as_of",
]
