"""Staleness: for the current version of every asset, is it fresh, stale or missing, and why.

Pure functions over the in-memory :class:`~explorer.index.Index`: no data is read,
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
        the version, or any version in its provenance (across runs), is flagged bad;
    ``check_failed``
        the latest evaluation of an asset check of severity ERROR on the version failed;
    ``source_changed``
        an observed source asset it consumed has a new data version since it was built.
``fresh``
    otherwise.

See ``docs/staleness.md`` for the exact rules.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from dataclasses import replace as _copy
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from .errors import ExplorerError
from .models import AssetVersion, Run, iso
from .index import Index
from .names import with_partition

STATUSES = ("fresh", "stale", "missing")
CAUSE_KINDS = (
    "upstream_changed",
    "code_changed",
    "dependencies_changed",
    "upstream_stale",
    "input_missing",
    "too_old",
    "flagged_upstream",
    "check_failed",
    "source_changed",
)

Flag = tuple[str, str]  # (asset, run_id)

ROOT_CAUSE_LIMIT = 20  # root causes listed per asset; the rest are counted (``root_causes_omitted``)
FLAG_CAUSE_LIMIT = 20  # flagged versions listed per asset as causes; the rest are counted (``causes_omitted``)
CHAIN_HEAD = 4  # a chain longer than CHAIN_HEAD + CHAIN_TAIL keeps its ends (``chain_omitted``)
CHAIN_TAIL = 4


class StalenessArgumentError(ExplorerError):
    """An ``as_of`` or ``max_age`` the staleness check cannot understand."""


# ---------------------------------------------------------------------- plain data


def _short(h: str | None) -> str:
    """A hash in a cause's line: a sha256 as 8 hex digits, anything else (a Dagster data
    version, a stock output without hash) as ``models.short_hash`` keeps it recognizable."""
    if not h:
        return "?"
    if h.startswith("sha256:"):
        return h[7:15]
    from .models import short_hash

    return short_hash(h)


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
    asset up to ``of`` (``("scores", "models/credit_risk", "features")``). A chain longer than
    ``CHAIN_HEAD + CHAIN_TAIL`` keeps only its first and last assets; ``chain_omitted`` counts
    the assets left out between them.
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
    chain_omitted: int = 0
    partition: str | None = None  # the partition of ``asset`` the cause is about (a partitioned input)
    in_partition: str | None = None  # the partition of the reported asset whose version has the cause
    check: str | None = None  # check_failed: the check's name

    def describe(self) -> str:
        """One human line, e.g. ``raw_data changed in run R at T (sha 1234 -> 5678)``."""
        text = self._describe()
        return f"{text} (in partition {self.in_partition})" if self.in_partition is not None else text

    def _describe(self) -> str:
        if self.partition is not None:
            return _copy(self, asset=with_partition(self.asset, self.partition), partition=None, in_partition=None)._describe()
        k = self.kind
        when = f" at {iso(self.at)}" if self.at else ""
        if k == "upstream_changed" and self.detail == "new partition":
            return f"{self.asset} is new since the version was built (written in run {self.run_id}{when})"
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
        if k == "check_failed":
            return f"check {self.check} of {self.asset} failed in run {self.run_id}{(': ' + self.detail) if self.detail else ''}"
        if k == "source_changed":
            return (f"{self.asset} has a new data version since {self.detail or 'it'} was built "
                    f"(observed in run {self.latest_run_id}{when}: {_short(self.consumed_hash)} -> {_short(self.latest_hash)})")
        return f"{k}: {self.asset}"  # pragma: no cover - unknown kinds never built here

    def chain_text(self, name: Callable[[str], str] = str) -> str:
        """The chain joined by `` <- `` (each asset through ``name``), a long chain's gap as
        ``… 392 more …``."""
        names = [name(k) for k in self.chain]
        if self.chain_omitted:
            names.insert(CHAIN_HEAD, f"… {self.chain_omitted} more …")
        return " <- ".join(names)

    def describe_chain(self) -> str:
        """``scores <- models/credit_risk <- features <- raw_data changed in run R at T (...)``."""
        path = self.chain_text()
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
            "chain_omitted": self.chain_omitted or None,
            "partition": self.partition,
            "in_partition": self.in_partition,
            "check": self.check,
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
    root_causes_omitted: int = 0  # root causes beyond the ROOT_CAUSE_LIMIT listed
    causes_omitted: int = 0  # flagged versions in its provenance beyond the FLAG_CAUSE_LIMIT listed
    # where this status differs from what Dagster's stale status would say, on purpose: why
    dagster_differs: tuple[str, ...] = ()

    def root_causes_summary(self) -> str:
        """``and 396 more`` when root causes were left out, else ``""``."""
        return f"and {self.root_causes_omitted} more" if self.root_causes_omitted else ""

    def causes_summary(self) -> str:
        """``and 280 more flagged versions`` when flagged causes were left out, else ``""``."""
        return f"and {self.causes_omitted} more flagged versions" if self.causes_omitted else ""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "asset": self.asset,
            "status": self.status,
            "run_id": self.run_id,
            "causes": [c.to_dict() for c in self.causes],
            "root_causes": [c.to_dict() for c in self.root_causes],
        }
        if self.causes_omitted:
            out["causes_omitted"] = self.causes_omitted
        if self.root_causes_omitted:
            out["root_causes_omitted"] = self.root_causes_omitted
        if self.planned_by:
            out["planned_by"] = list(self.planned_by)
        if self.dagster_differs:
            out["dagster_differs"] = list(self.dagster_differs)
        return out


@dataclass(frozen=True)
class StalenessReport:
    """Statuses of every known asset, sorted by key."""

    store: str | None
    as_of: datetime | None
    assets: tuple[AssetStatus, ...]
    as_of_run: str | None = None
    max_age_seconds: float | None = None
    _by_key: dict[str, AssetStatus] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
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

    def to_frame(self):
        """One row per asset: ``asset``, ``status``, ``run_id``, the kinds of its causes, its
        root causes (``asset@run``) and the described causes, for notebooks and BI."""
        import pandas as pd

        rows = [{
            "asset": a.asset,
            "status": a.status,
            "run_id": a.run_id,
            "reasons": sorted({c.kind for c in a.causes}),
            "root_causes": [f"{c.asset}@{c.run_id}" if c.run_id else c.asset for c in a.root_causes],
            "causes": [c.describe() for c in a.causes],
        } for a in self.assets]
        return pd.DataFrame(rows, columns=["asset", "status", "run_id", "reasons", "root_causes", "causes"])

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


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
    times = [v.created_at for v in index.run_versions(run.run_id)]
    return max([run.started_at, *times])


# ---------------------------------------------------------------------- the view


def _created_at(v: AssetVersion) -> datetime:
    return v.created_at


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
            if cutoff is not None and vs and vs[-1].created_at > cutoff:
                vs = vs[: bisect_right(vs, cutoff, key=_created_at)]
            if vs:
                self._versions[key] = vs

    def versions(self, key: str) -> list[AssetVersion]:
        return self._versions.get(key, [])

    def latest(self, key: str) -> AssetVersion | None:
        vs = self._versions.get(key)
        return vs[-1] if vs else None

    def keys(self) -> Iterable[str]:
        return self._versions.keys()

    def has_version(self, ident: tuple[str, ...]) -> bool:
        v = self.index.versions.get(ident)
        return v is not None and (self.cutoff is None or v.created_at <= self.cutoff)

    def observed(self, key: str) -> bool:
        """Whether ``key`` is an observed source asset (at the cutoff)."""
        return self.latest_observation(key) is not None

    def latest_observation(self, key: str, partition: str | None = None):
        obs = self.index.observations(key, partition)
        if self.cutoff is not None:
            obs = [o for o in obs if o.created_at <= self.cutoff]
        return obs[-1] if obs else None

    def partition_latest(self) -> dict[tuple[str, str], AssetVersion]:
        """The latest version of every (asset, partition)."""
        out: dict[tuple[str, str], AssetVersion] = {}
        for vs in self._versions.values():
            for v in vs:  # oldest first: the last one wins
                if v.partition is not None:
                    out[(v.asset, v.partition)] = v
        return out


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
    ``flagged``: ``(asset, run_id)`` versions marked bad (a set, or a mapping to a reason that
    becomes the cause's ``detail``); every current version that is one of them or was built
    from one of them, transitively and across runs, is stale with ``flagged_upstream``.
    """
    cutoff, as_of_run = resolve_as_of(index, as_of)
    age_limit = parse_duration(max_age)
    ref_time = cutoff if cutoff is not None else _as_utc(now) if now is not None else datetime.now(timezone.utc)
    view = _View(index, cutoff)
    reasons = {k: str(v) for k, v in flagged.items() if v} if isinstance(flagged, Mapping) else {}
    flagged = frozenset(flagged)

    current: dict[str, AssetVersion] = {key: vs[-1] for key, vs in view._versions.items()}
    order_of = view.run_order
    oldest_current = min((order_of[v.run_id] for v in current.values()), default=len(view.runs))

    # -- one pass over the runs, newest first. Every plan names assets (a planned asset without
    # a version is missing); only runs newer than some current version can hold a newer plan
    # (dependencies_changed) or a newer code version for the same job (code_changed).
    mentioned: set[str] = set()
    newest_plan: dict[str, tuple[int, Run, tuple[str, ...]]] = {}  # asset -> newest plan recording inputs
    cover: dict[tuple[str | None, str], tuple[int, str | None, Run]] = {}  # (job, asset) -> newest planning run
    unplanned_run: dict[str, tuple[int, Run]] = {}  # job -> newest run that recorded no plan
    for order in range(len(view.runs) - 1, -1, -1):
        run = view.runs[order]
        planned = run.planned
        if order <= oldest_current:
            mentioned.update([p.asset for p in planned])
            continue
        if not planned and run.job is not None and run.job not in unplanned_run:
            unplanned_run[run.job] = (order, run)
        job = run.job
        for p in planned:
            key = p.asset
            mentioned.add(key)
            if p.inputs is not None and key not in newest_plan:
                newest_plan[key] = (order, run, p.inputs)
            if (job, key) not in cover:
                cover[(job, key)] = (order, p.code_version or run.code_version, run)
    for v in current.values():
        mentioned.update([i.asset for i in v.inputs])

    all_keys = sorted(set(current) | mentioned)

    # -- flagged provenance (the taint), computed once for every current version
    flag_hits: dict[str, list[Flag]] = {}
    flags_omitted: dict[str, int] = {}
    if flagged:
        memo = _flagged_ancestors(index, flagged, [(v.asset, v.run_id) for v in current.values()], FLAG_CAUSE_LIMIT)
        for v in current.values():
            hits = memo.get((v.asset, v.run_id))
            if hits:
                flag_hits[v.asset] = hits[0]
                if hits[1] > len(hits[0]):
                    flags_omitted[v.asset] = hits[1] - len(hits[0])

    # -- direct causes: every rule on every current version (a partitioned asset's are those of
    # the latest version of each of its partitions, each input compared with the latest version
    # of the partition it consumed)
    part_latest = view.partition_latest()
    heads: dict[str, list[AssetVersion]] = {}
    for (asset, _), pv in sorted(part_latest.items()):
        heads.setdefault(asset, []).append(pv)
    facts = _Facts(index, view, current, part_latest, heads, order_of, cover, unplanned_run, newest_plan,
                   age_limit, ref_time, flag_hits, reasons)
    own = {key: [c for rule in RULES for c in rule(facts, key, v)] for key, v in current.items()}
    inputs_of = {key: list(dict.fromkeys(i.asset for h in heads.get(key, [v]) for i in h.inputs if i.asset != key))
                 for key, v in current.items()}
    return _report(store, cutoff, as_of_run, age_limit, view, current, all_keys, own, inputs_of, flags_omitted)


# ---------------------------------------------------------------------- the rules
#
# Each rule is a function (facts, asset key, its current version) -> the causes it finds;
# ``compute`` runs them all (``RULES``) on every current version and propagates the result.


@dataclass
class _Facts:
    """What the rules read, computed once per ``compute``."""

    index: Index
    view: "_View"
    current: dict[str, AssetVersion]
    part_latest: dict[tuple[str, str], AssetVersion]
    heads: dict[str, list[AssetVersion]]  # a partitioned asset's latest version of each partition
    order_of: dict[str, int]
    cover: dict[tuple[str | None, str], tuple[int, str | None, Run]]
    unplanned_run: dict[str, tuple[int, Run]]
    newest_plan: dict[str, tuple[int, Run, tuple[str, ...]]]
    age_limit: timedelta | None
    ref_time: datetime
    flag_hits: dict[str, list[Flag]]
    reasons: dict[Flag, str]

    def heads_of(self, key: str, v: AssetVersion) -> list[AssetVersion]:
        return self.heads.get(key, [v])


def changed_inputs(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``upstream_changed``: an input's current version has other content than the one consumed."""
    return [c for head in f.heads_of(key, v) for c in _changed_inputs_of(f.index, f.view, head, f.current, f.part_latest)]


def missing_inputs(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``input_missing``: a consumed version is no longer in the store."""
    return [c for head in f.heads_of(key, v) for c in _missing_inputs_of(f.index, f.view, head)]


def changed_code(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``code_changed``: the newest run of the same job covering the asset has another code version."""
    run = f.index.runs.get(v.run_id)
    if run is None:
        return []
    v_order = f.order_of.get(v.run_id, -1)
    newest = f.cover.get((run.job, key))
    if run.job is not None and run.job in f.unplanned_run:
        u_order, u_run = f.unplanned_run[run.job]
        if newest is None or u_order > newest[0]:
            newest = (u_order, u_run.code_version, u_run)
    if newest is None or newest[0] <= v_order:
        return []
    _, new_code, new_run = newest
    if new_code is None or v.code_version is None or new_code == v.code_version:
        return []
    return [Cause("code_changed", key, new_run.run_id, detail=f"{v.code_version} -> {new_code}", at=new_run.started_at,
                  old_code_version=v.code_version, new_code_version=new_code)]


def changed_dependencies(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``dependencies_changed``: the newest plan recording inputs lists other inputs than consumed."""
    plan = f.newest_plan.get(key)
    if plan is None or plan[0] <= f.order_of.get(v.run_id, -1):
        return []
    planned_inputs = set(plan[2])
    consumed = {i.asset for i in v.inputs}
    if planned_inputs == consumed:
        return []
    added = tuple(sorted(planned_inputs - consumed))
    removed = tuple(sorted(consumed - planned_inputs))
    return [Cause("dependencies_changed", key, plan[1].run_id,
                  detail="; ".join(filter(None, ["added " + ", ".join(added) if added else "",
                                                 "removed " + ", ".join(removed) if removed else ""])),
                  at=plan[1].started_at, added=added, removed=removed)]


def too_old(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``too_old``: the version is older than ``max_age``."""
    if f.age_limit is None:
        return []
    age = (f.ref_time - v.created_at).total_seconds()
    if age <= f.age_limit.total_seconds():
        return []
    return [Cause("too_old", key, v.run_id, at=v.created_at, age_seconds=age, max_age_seconds=f.age_limit.total_seconds())]


def flagged_provenance(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``flagged_upstream``: the version or one in its provenance is flagged (the taint)."""
    return [Cause("flagged_upstream", fa, fr, detail=f.reasons.get((fa, fr), "")) for fa, fr in f.flag_hits.get(key, ())]


def failed_checks(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``check_failed``: the latest evaluation of an ERROR check on the version failed (a WARN
    check's failure is shown with the version, not a cause)."""
    out = []
    for head in f.heads_of(key, v):
        tag = {"in_partition": head.partition} if head.partition is not None else {}
        for c in f.index.latest_checks(head):
            if c.blocking and (f.view.cutoff is None or c.created_at <= f.view.cutoff):
                out.append(Cause("check_failed", key, c.run_id, detail=c.description or "", at=c.created_at,
                                 check=c.name, **tag))
    return out


def new_observations(f: _Facts, key: str, v: AssetVersion) -> list[Cause]:
    """``source_changed``: an observed source the version consumed has a newer data version."""
    out = []
    for head in f.heads_of(key, v):
        tag = {"in_partition": head.partition} if head.partition is not None else {}
        for inp in head.inputs:
            latest = f.view.latest_observation(inp.asset, inp.partition)
            if latest is None or latest.content_hash is None or latest.content_hash == inp.content_hash:
                continue
            out.append(Cause("source_changed", inp.asset, latest.run_id, detail=key, at=latest.created_at,
                             consumed_run_id=inp.run_id, consumed_hash=inp.content_hash, latest_run_id=latest.run_id,
                             latest_hash=latest.content_hash, partition=inp.partition, **tag))
    return out


RULES: tuple[Callable[[_Facts, str, AssetVersion], list[Cause]], ...] = (
    changed_inputs, missing_inputs, changed_code, changed_dependencies, too_old, flagged_provenance,
    failed_checks, new_observations,
)
"""The cause rules, in the order their causes are listed."""


def _consumed_hash(index: Index, view: "_View", inp: Any) -> str | None:
    if inp.content_hash is None and view.has_version(inp.ident):
        return index.versions[inp.ident].content_hash
    return inp.content_hash


def _missing_inputs_of(index: Index, view: "_View", v: AssetVersion) -> list[Cause]:
    """input_missing of one version (an observed source's input is never missing: it has no
    versions, only observations)."""
    tag = {"in_partition": v.partition} if v.partition is not None else {}
    return [Cause("input_missing", inp.asset, inp.run_id, consumed_run_id=inp.run_id,
                  consumed_hash=_consumed_hash(index, view, inp), partition=inp.partition, **tag)
            for inp in v.inputs if not view.has_version(inp.ident) and not view.observed(inp.asset)]


def _changed_inputs_of(index: Index, view: "_View", v: AssetVersion, current: dict[str, AssetVersion],
                       part_latest: dict[tuple[str, str], AssetVersion]) -> list[Cause]:
    """upstream_changed of one version: each input compared with the current version of what it
    consumed (of the partition it consumed, for a partitioned input)."""
    key = v.asset
    causes: list[Cause] = []
    tag = {"in_partition": v.partition} if v.partition is not None else {}
    for inp in v.inputs:
        present = view.has_version(inp.ident)
        consumed_hash = _consumed_hash(index, view, inp)
        if inp.asset == key:
            # an incremental asset built from its own previous version: that version is not
            # compared with the current one (which is this version), only with itself: stale
            # when the version consumed no longer has the content it had when it was read
            prev = index.versions.get(inp.ident) if present else None
            if prev is not None and consumed_hash is not None and prev.content_hash != consumed_hash:
                causes.append(Cause(
                    "upstream_changed", key, prev.run_id,
                    detail=f"sha {_short(consumed_hash)} -> {_short(prev.content_hash)}",
                    at=prev.created_at, consumed_run_id=inp.run_id, consumed_hash=consumed_hash,
                    latest_run_id=prev.run_id, latest_hash=prev.content_hash, partition=inp.partition, **tag))
            continue
        if inp.partition is not None:
            latest = part_latest.get((inp.asset, inp.partition))
            history = [w for w in view.versions(inp.asset) if w.partition == inp.partition]
        else:
            latest = current.get(inp.asset)
            history = view.versions(inp.asset)
        if latest is not None and consumed_hash is not None and latest.content_hash != consumed_hash:
            changed = _change_point(history)
            causes.append(Cause(
                "upstream_changed", inp.asset, changed.run_id,
                detail=f"sha {_short(consumed_hash)} -> {_short(latest.content_hash)}",
                at=changed.created_at, consumed_run_id=inp.run_id, consumed_hash=consumed_hash,
                latest_run_id=latest.run_id, latest_hash=latest.content_hash, partition=inp.partition, **tag))
    if v.partition is None:
        causes.extend(_new_partitions_of(view, v, part_latest))
    return causes


def _new_partitions_of(view: "_View", v: AssetVersion, part_latest: dict[tuple[str, str], AssetVersion]) -> list[Cause]:
    """upstream_changed of an unpartitioned version that read partitions of an input: a new
    partition of that input (first written after the version was built: a new dynamic
    partition, a new day), as Dagster's stale status says. A version that read every partition
    there was (Dagster's default mapping) is stale by any new one; one that read only some (the
    last) by a new one after those it read."""
    read: dict[str, set[str]] = {}
    for inp in v.inputs:
        if inp.partition is not None and inp.asset != v.asset:
            read.setdefault(inp.asset, set()).add(inp.partition)
    causes = []
    for asset, parts in sorted(read.items()):
        first: dict[str, datetime] = {}
        for w in view.versions(asset):
            if w.partition is not None:
                first[w.partition] = min(first.get(w.partition, w.created_at), w.created_at)
        existing = {p for p, at in first.items() if at <= v.created_at}
        after = None if existing <= parts else max(parts)  # read only some: only later keys count
        for partition in sorted(p for p, at in first.items() if at > v.created_at):
            latest = part_latest.get((asset, partition))
            if latest is None or partition in parts or (after is not None and partition <= after):
                continue
            causes.append(Cause("upstream_changed", asset, latest.run_id, detail="new partition", at=first[partition],
                                latest_run_id=latest.run_id, latest_hash=latest.content_hash, partition=partition))
    return causes


def _input_causes(index: Index, view: "_View", v: AssetVersion, current: dict[str, AssetVersion],
                  part_latest: dict[tuple[str, str], AssetVersion]) -> list[Cause]:
    """The input rules on one version (a partition's own causes)."""
    return _missing_inputs_of(index, view, v) + _changed_inputs_of(index, view, v, current, part_latest)


def _report(store, cutoff, as_of_run, age_limit, view, current, all_keys, own, inputs_of,
            flags_omitted) -> "StalenessReport":
    """Propagation over the current versions' inputs (every partition's, for a partitioned
    asset), root causes, the report."""
    # -- propagation: stale = reachable downstream (over current versions' inputs) from a seed
    consumers_of: dict[str, list[str]] = {}
    for key in current:
        for inp_asset in inputs_of[key]:
            consumers_of.setdefault(inp_asset, []).append(key)
    observed = {k for k in all_keys if k not in current and view.observed(k)}  # sources: no versions, not missing
    bad: set[str] = {k for k in all_keys if (k not in current and k not in observed) or own.get(k)}
    queue = deque(sorted(bad))
    while queue:
        k = queue.popleft()
        for c in consumers_of.get(k, ()):
            if c not in bad:
                bad.add(c)
                queue.append(c)

    def status(k: str) -> str:
        if k not in current:
            return "fresh" if k in observed else "missing"
        return "stale" if k in bad else "fresh"

    direct: dict[str, tuple[Cause, ...]] = {}
    for key, v in current.items():
        causes = list(own[key])
        for inp_asset in inputs_of[key]:
            if inp_asset in bad:
                st = status(inp_asset)
                causes.append(Cause("upstream_stale", inp_asset, current[inp_asset].run_id if st != "missing" else None,
                                    detail=st))
        direct[key] = tuple(causes)

    roots = _root_causes(current, own, bad, inputs_of)

    planned_by: dict[str, list[str]] = {k: [] for k in all_keys if k not in current}
    if planned_by:
        for run in view.runs:
            for p in run.planned:
                if p.asset in planned_by:
                    planned_by[p.asset].append(run.run_id)

    differs = _dagster_differs(view, current, own, {k for k in current if status(k) == "stale"})
    assets = []
    for k in all_keys:
        st = status(k)
        v = current.get(k)
        listed, omitted = roots.get(k, ((), 0)) if st == "stale" else ((), 0)
        assets.append(AssetStatus(
            asset=k,
            status=st,
            run_id=v.run_id if v else (view.latest_observation(k).run_id if k in observed else None),
            causes=direct.get(k, ()),
            root_causes=listed,
            planned_by=tuple(planned_by.get(k, ())),
            root_causes_omitted=omitted,
            causes_omitted=flags_omitted.get(k, 0),
            dagster_differs=differs.get(k, ()),
        ))
    return StalenessReport(
        store=store,
        as_of=cutoff,
        assets=tuple(assets),
        as_of_run=as_of_run,
        max_age_seconds=age_limit.total_seconds() if age_limit is not None else None,
    )


def _dagster_differs(view: "_View", current: dict[str, AssetVersion], own: dict[str, list[Cause]],
                     stale: set[str]) -> dict[str, tuple[str, ...]]:
    """Per asset written by a Dagster run, where these rules differ on purpose from Dagster's
    stale status, and why: an identical rematerialization of an input (same content hash) keeps
    it fresh here; staleness is transitive here; a failed ERROR check is a cause here."""
    from .dagster.stock import DAGSTER_RUN_ID

    part_latest = view.partition_latest()
    partitions_of: dict[str, list[AssetVersion]] = {}  # a partitioned asset: each partition's latest
    for (asset, _), pv in part_latest.items():
        partitions_of.setdefault(asset, []).append(pv)
    out: dict[str, tuple[str, ...]] = {}
    for key, v in current.items():
        if not DAGSTER_RUN_ID.match(v.run_id):
            continue
        notes = []
        for own_v in sorted(partitions_of.get(key, [v]), key=lambda x: x.partition or ""):
            where = f"{key}[{own_v.partition}]" if own_v.partition is not None else key
            for inp in own_v.inputs:
                latest = (part_latest.get((inp.asset, inp.partition)) if inp.partition is not None
                          else current.get(inp.asset))
                if (latest is not None and inp.asset != key and latest.run_id != inp.run_id
                        and inp.content_hash is not None and latest.content_hash == inp.content_hash
                        and latest.created_at > own_v.created_at):
                    what = f"{inp.asset}[{inp.partition}]" if inp.partition is not None else inp.asset
                    notes.append(f"{what} was rematerialized in run {latest.run_id} with identical content: "
                                 f"{where} stays fresh here (content hashes), where Dagster compares data versions")
        kinds = {c.kind for c in own.get(key, ())}
        if key in stale and not kinds:
            notes.append(f"{key} is stale here because an input is stale (staleness is transitive); "
                         "Dagster's stale status looks at the asset's own inputs and code")
        if "check_failed" in kinds:
            notes.append("a failed ERROR check is a cause here; Dagster shows check results beside staleness, not in it")
        if notes:
            out[key] = tuple(notes)
    return out


# ---------------------------------------------------------------------- the words views show

ASSET_STATUSES = ("fresh", "stale", "missing", "failed", "tainted")
"""The status vocabulary of an asset as the views colour it (graph exports, the HTML report):
the report's fresh / stale / missing, with two facts on top, in this order of precedence:
``tainted`` (the current version is flagged or built from a flagged version: it has a
``flagged_upstream`` cause) and ``failed`` (see ``failed_attempts``)."""


def failed_attempts(index: Index, as_of: datetime | None = None) -> dict[str, str]:
    """Per asset, the run id of its newest planned attempt when that attempt failed: the newest
    run (by start time, up to ``as_of``) whose plan names the asset failed without writing it,
    and started after the run of the asset's current version. An asset never written is not
    here (it is ``missing``). One pass over the runs."""
    view = _View(index, as_of)
    newest: dict[str, Run] = {}
    for run in view.runs:  # oldest first: the last one kept is the newest planner
        for p in run.planned:
            newest[p.asset] = run
    out: dict[str, str] = {}
    for key, run in newest.items():
        latest = view.latest(key)
        produced_by = index.runs.get(latest.run_id) if latest is not None else None
        if (produced_by is not None and run.status == "failed" and not index.wrote(key, run.run_id)
                and run.started_at > produced_by.started_at):
            out[key] = run.run_id
    return out


def asset_statuses(index: Index, report: "StalenessReport") -> dict[str, str]:
    """One word of ``ASSET_STATUSES`` per asset of ``report`` (computed from ``index``):
    ``tainted``, else ``failed``, else the report's own status."""
    failed = failed_attempts(index, report.as_of)
    out: dict[str, str] = {}
    for a in report.assets:
        if a.status != "missing" and (a.causes_omitted or any(c.kind == "flagged_upstream" for c in a.causes)):
            out[a.asset] = "tainted"
        elif a.asset in failed:
            out[a.asset] = "failed"
        else:
            out[a.asset] = a.status
    return out


PARTITION_STATUSES = ("fresh", "stale", "missing", "failed")
PARTITION_TAG = "dagster/partition"  # the run tag naming the one partition a run materializes


@dataclass(frozen=True)
class PartitionStatus:
    """One partition of an asset: its latest version and status.

    ``stale``: its latest version consumed a version that is no longer current (the input's
    partition as the version recorded it: with ``TimeWindowPartitionMapping(-1)`` the day
    before), or an input partition that is itself stale. ``failed``: a run of this partition
    (tag ``dagster/partition``) newer than its latest version failed without writing it.
    ``missing``: consumed by a downstream version, or planned by a failed run, but never written.
    """

    asset: str
    partition: str
    status: str
    run_id: str | None  # the latest version's run, or the failed run
    versions: int = 0
    created_at: datetime | None = None
    causes: tuple[Cause, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "partition": self.partition, "status": self.status, "run_id": self.run_id,
                "versions": self.versions, "created_at": iso(self.created_at),
                "causes": [c.to_dict() for c in self.causes]}


def partition_statuses(index: Index, key: str) -> list[PartitionStatus]:
    """Every partition of ``key`` (written, consumed, or run and failed), sorted, with its status."""
    view = _View(index, None)
    part_latest = view.partition_latest()
    current = {k: vs[-1] for k, vs in view._versions.items()}
    memo: dict[tuple[str, ...], tuple[Cause, ...]] = {}

    def causes_of(v: AssetVersion) -> tuple[Cause, ...]:
        if v.ident in memo:
            return memo[v.ident]
        memo[v.ident] = ()  # a cycle (hostile store) ends here
        out = _input_causes(index, view, v, current, part_latest)
        for inp in v.inputs:
            head = part_latest.get((inp.asset, inp.partition)) if inp.partition is not None else None
            if head is not None and head.ident != v.ident and causes_of(head):
                out.append(Cause("upstream_stale", inp.asset, head.run_id, detail="stale", partition=inp.partition))
        memo[v.ident] = tuple(out)
        return memo[v.ident]

    parts = index.partitions(key)
    out: dict[str, PartitionStatus] = {}
    for p, vs in parts.items():
        v = vs[-1]
        causes = causes_of(v)
        out[p] = PartitionStatus(key, p, "stale" if causes else "fresh", v.run_id, len(vs), v.created_at,
                                 tuple(replace_cause(c) for c in causes))
    for run in view.runs:  # oldest first: the newest failed run of a partition is kept
        p = run.tags.get(PARTITION_TAG)
        if (run.status != "failed" or p is None or not any(pa.asset == key for pa in run.planned)
                or index.version(key, run.run_id, p) is not None):
            continue
        latest = parts.get(p, [None])[-1]
        if latest is None or run.started_at > latest.created_at:
            prior = out.get(p)
            out[p] = PartitionStatus(key, p, "failed", run.run_id, prior.versions if prior else 0,
                                     prior.created_at if prior else None, prior.causes if prior else ())
    for v in index.versions.values():
        for inp in v.inputs:
            if inp.asset == key and inp.partition is not None and inp.partition not in out:
                out[inp.partition] = PartitionStatus(key, inp.partition, "missing", None)
    return [out[p] for p in sorted(out)]


def replace_cause(c: Cause) -> Cause:
    """A cause as a partition's own: without ``in_partition`` (the partition is the row)."""
    return _copy(c, in_partition=None) if c.in_partition is not None else c


def _flagged_ancestors(index: Index, flagged: frozenset, roots: list[Flag],
                       limit: int) -> dict[Flag, tuple[list[Flag], int]]:
    """The taint of each root version (``store.flags.flagged_sources``, the one implementation)."""
    from .store.flags import flagged_sources

    versions = index.versions

    def inputs(node: Flag) -> list[Flag]:
        v = versions.get(node)
        return [(i.asset, i.run_id) for i in v.inputs] if v is not None else []

    return flagged_sources(roots, inputs, flagged, limit)


def _lift(cause: Cause, entry: tuple) -> Cause:
    """``replace(cause, of=..., chain=..., chain_omitted=...)`` without dataclass overhead (hot loop)."""
    length, of, head, tail = entry
    chain = head + tail
    out = object.__new__(Cause)
    out.__dict__.update(cause.__dict__, of=of, chain=chain, chain_omitted=length - len(chain))
    return out


def _extend(entry: tuple, k: str) -> tuple:
    """The chain entry ``(length, of, head, tail)`` one step further downstream, at ``k``.

    Chains are kept as their first ``CHAIN_HEAD`` and last ``CHAIN_TAIL`` assets (the whole
    chain while it is short, in ``head``), so an entry is built in constant time and space
    however long the chain: this is what keeps a 400-deep chain of stale assets linear.
    """
    length, of, head, tail = entry
    chain = (k, *head)
    if length + 1 <= CHAIN_HEAD + CHAIN_TAIL:
        return (length + 1, of, chain, ())
    if not tail:  # the chain just became too long to keep whole
        return (length + 1, of, chain[:CHAIN_HEAD], chain[-CHAIN_TAIL:])
    return (length + 1, of, chain[:CHAIN_HEAD], tail)


def _condensation(nodes: list[str], inputs: dict[str, list[str]],
                  users: dict[str, list[str]]) -> tuple[list[list[str]], list[set[int]]]:
    """The strongly connected components of the graph ``input -> user`` in topological order
    (inputs first), and for each the components it reads from. Kahn's algorithm when the graph
    is acyclic (every store the writer makes), networkx's condensation when it is not."""
    indeg = {k: len(inputs[k]) for k in nodes}
    order = [k for k in nodes if not indeg[k]]
    for k in order:  # grows while it is read
        for u in users.get(k, ()):
            indeg[u] -= 1
            if not indeg[u]:
                order.append(u)
    if len(order) == len(nodes):
        at = {k: n for n, k in enumerate(order)}
        return [[k] for k in order], [{at[a] for a in inputs[k]} for k in order]
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((a, k) for k in nodes for a in inputs[k])
    cond = nx.condensation(g)
    topo = list(nx.topological_sort(cond))
    at = {c: n for n, c in enumerate(topo)}
    return ([sorted(cond.nodes[c]["members"]) for c in topo],
            [{at[p] for p in cond.predecessors(c)} for c in topo])


def _root_causes(current, own, bad, inputs_of) -> dict[str, tuple[tuple[Cause, ...], int]]:
    """For every stale asset, the causes at the top of its chains, each with its shortest
    chain, the first ``ROOT_CAUSE_LIMIT`` of them (by chain length, then ``of``, kind and
    asset), and how many more there are.

    Breadth-first by chain length from the assets that carry causes down their consumers
    (the stale part of the graph of current versions): an asset takes a cause at the first
    length it is reached, and stops taking causes once it has ``ROOT_CAUSE_LIMIT``, so the work
    is O(limit x edges) and cycles need nothing special. Exact totals come from bitsets of
    cause ids united over the condensation (strongly connected components) of that graph.
    """
    stale = sorted(k for k in current if k in bad)
    stale_set = set(stale)
    table: list[Cause] = []
    seen_cause: dict[Cause, int] = {}
    ids: dict[str, list[int]] = {}
    for k in stale:
        mine = []
        for c in own.get(k, ()):
            i = seen_cause.get(c)
            if i is None:
                i = seen_cause[c] = len(table)
                table.append(c)
            mine.append(i)
        ids[k] = mine
    inputs = {k: sorted(a for a in inputs_of[k] if a in stale_set) for k in stale}
    users: dict[str, list[str]] = {}
    for k in stale:
        for a in inputs[k]:
            users.setdefault(a, []).append(k)

    pos: dict[str, dict[int, int]] = {k: {} for k in stale}  # where ``of`` lists each of its causes
    for k in stale:
        for p, i in enumerate(ids[k]):
            pos[k].setdefault(i, p)

    def rank(i: int, entry: tuple) -> tuple:
        c = table[i]
        return (entry[0], entry[1], c.kind, c.asset, pos[entry[1]][i])  # then as ``of`` lists them

    # -- listed causes: breadth-first by chain length, at most ROOT_CAUSE_LIMIT per asset
    best: dict[str, dict[int, tuple]] = {k: {} for k in stale}
    frontier: list[tuple[str, int]] = []
    for k in stale:
        entries = {i: (1, k, (k,), ()) for i in ids[k]}
        for i in sorted(entries, key=lambda i: rank(i, entries[i]))[:ROOT_CAUSE_LIMIT]:
            best[k][i] = entries[i]
            frontier.append((k, i))
    while frontier:
        offers: dict[str, dict[int, str]] = {}  # consumer -> cause -> the input it comes through
        for n, i in frontier:
            for u in users.get(n, ()):
                if i in best[u] or len(best[u]) >= ROOT_CAUSE_LIMIT:
                    continue
                via = offers.setdefault(u, {}).get(i)
                if via is None or n < via:  # equal lengths: the first input by key, as always
                    offers[u][i] = n
        frontier = []
        for u in sorted(offers):
            room = ROOT_CAUSE_LIMIT - len(best[u])
            entries = {i: _extend(best[via][i], u) for i, via in offers[u].items()}
            for i in sorted(entries, key=lambda i: rank(i, entries[i]))[:room]:
                best[u][i] = entries[i]
                frontier.append((u, i))

    # -- totals: every cause reachable upstream, counted once (bitsets over the condensation)
    totals: dict[str, int] = {}
    if any(len(b) >= ROOT_CAUSE_LIMIT for b in best.values()):
        groups, up = _condensation(stale, inputs, users)
        bits: dict[int, int] = {}
        waiting = [0] * len(groups)  # consumers still to be computed
        for ps in up:
            for p in ps:
                waiting[p] += 1
        for g, members in enumerate(groups):
            acc = 0
            for k in members:
                for i in ids[k]:
                    acc |= 1 << i
            for p in up[g]:
                acc |= bits[p]
                waiting[p] -= 1
                if not waiting[p]:
                    del bits[p]  # only the sets still needed are kept: a long chain holds two at a time
            count = acc.bit_count()
            for k in members:
                totals[k] = count
            if waiting[g]:
                bits[g] = acc

    out = {}
    for k in stale:
        entries = best[k]
        ordered = sorted(entries, key=lambda i: rank(i, entries[i]))
        listed = tuple(_lift(table[i], entries[i]) for i in ordered)
        out[k] = (listed, max(0, totals.get(k, len(listed)) - len(listed)))
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
