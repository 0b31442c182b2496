"""The index: every run and asset version of a store, in memory. Pure data and queries, no I/O.

``store/read.py`` fills it (one listing of the root, one batch of GETs of the run manifests,
the local cache); the questions (lineage, staleness, ...) read it.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Callable, Iterable

from .models import AssetVersion, CheckResult, Observation, Run, replace

Progress = Callable[[int, int], None]

FREEZE_MIN = 100_000  # tracked objects left by a load above which they are frozen


@contextmanager
def bulk_load(freeze: bool = False):
    """Pause the cyclic garbage collector while building hundreds of thousands of objects
    that all stay alive: otherwise each collection rescans everything built so far, which
    costs about as much as parsing (the objects made here hold no reference cycles).

    After a large load (a cold open, a big refresh) what is alive is moved to the collector's
    permanent generation (``gc.freeze``), so the first collection does not traverse the new
    index's containers either (0.27 s for 10,000 runs x 20 assets). Reference counting still
    frees them. The price: objects alive at that moment that later become unreachable
    *cycles* are not collected; it is paid only after large loads, not by polls that read a
    few runs. That is a choice for a whole process, so it is made only when its owner asks
    (``freeze=True``: the CLI, through ``Store.open(freeze_gc=True)``), never for a library
    user's notebook."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze and gc.get_count()[0] > FREEZE_MIN:
                gc.freeze()
            gc.enable()


@dataclass
class RunRecord:
    """What one run contributes to the index (also the unit the local cache stores)."""

    run: Run
    versions: list[AssetVersion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Index:
    """All runs and versions of a store, in memory. Pure queries, no I/O."""

    runs: dict[str, Run] = field(default_factory=dict)
    # by ``AssetVersion.ident``: (asset, run_id), or (asset, run_id, partition) for a partition
    versions: dict[tuple[str, ...], AssetVersion] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _by_asset: dict[str, list[AssetVersion]] = field(default_factory=dict)
    _by_run: dict[str, list[AssetVersion]] = field(default_factory=dict, compare=False, repr=False)
    # op outputs internal to graph-backed assets (``AssetVersion.inside``): not assets
    _internal: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    # reserved names (``_...``) the root listing showed, e.g. the flags folder; None: unknown
    reserved: frozenset[str] | None = field(default=None, compare=False)

    @classmethod
    def from_records(cls, records: Iterable[RunRecord], warnings: Iterable[str] = ()) -> "Index":
        idx = cls(warnings=list(warnings))
        for rec in sorted(records, key=_run_order):  # (see _sort)
            idx.add(rec)
        idx._sort()
        return idx

    def add(self, rec: RunRecord) -> None:
        run = replace(rec.run, asset_count=len(rec.versions))
        self.runs[run.run_id] = run
        self.__dict__.pop("_event_cache", None)
        for v in rec.versions:
            self.versions[v.ident] = v
        self.warnings.extend(rec.warnings)

    def _sort(self) -> None:
        """Runs by (start, id); each asset's versions by (created_at, their run's place)."""
        self.runs = dict(sorted(self.runs.items(), key=lambda kv: (kv[1].started_at, kv[0])))
        order = {rid: i for i, rid in enumerate(self.runs)}
        by_asset: dict[str, list[AssetVersion]] = {}
        # grouped in run order (a stable sort by run place, skipped when versions were added
        # run by run in that order), then a stable sort by created_at keeps run order for ties
        versions = list(self.versions.values())
        places = [order.get(v.run_id, 0) for v in versions]
        if any(a > b for a, b in zip(places, places[1:])):
            versions = [versions[i] for _, i in sorted(zip(places, range(len(versions))))]
        by_run: dict[str, list[AssetVersion]] = {}
        for v in versions:
            by_asset.setdefault(v.asset, []).append(v)
            by_run.setdefault(v.run_id, []).append(v)
        created = attrgetter("created_at")
        for vs in by_asset.values():
            vs.sort(key=created)
        for vs in by_run.values():
            vs.sort(key=created)
        self._by_asset = dict(sorted(by_asset.items()))
        self._by_run = by_run
        self._internal = frozenset(k for k, vs in by_asset.items() if vs and vs[-1].inside)

    # ------------------------------------------------------------------ queries
    def run_list(self) -> list[Run]:
        """Runs ordered by start time, oldest first."""
        return list(self.runs.values())

    def asset_keys(self) -> list[str]:
        """The assets (op outputs internal to graph-backed assets are not among them)."""
        if not self._internal:
            return list(self._by_asset)
        return [k for k in self._by_asset if k not in self._internal]

    def is_internal(self, key: str) -> bool:
        """Whether ``key`` is an op output internal to graph-backed assets (not an asset)."""
        return key in self._internal

    def asset_versions(self, key: str) -> list[AssetVersion]:
        """Committed versions of an asset, oldest first."""
        return list(self._by_asset.get(key, ()))

    def run_versions(self, run_id: str) -> list[AssetVersion]:
        """A run's committed versions, oldest first (a map lookup: no scan of the store)."""
        return list(self._by_run.get(run_id, ()))

    def latest(self, key: str, partition: str | None = None) -> AssetVersion | None:
        """The newest version of ``key`` (of any partition), or of one of its partitions."""
        vs = self._by_asset.get(key)
        if partition is not None:
            vs = self.partitions(key).get(partition)
        return vs[-1] if vs else None

    def is_partitioned(self, key: str) -> bool:
        """Whether any version of ``key`` carries a partition key."""
        return any(v.partition is not None for v in self._by_asset.get(key, ()))

    def partitions(self, key: str) -> dict[str, list[AssetVersion]]:
        """The versions of each partition of ``key`` (oldest first), partitions sorted; {} when
        the asset is not partitioned (its unpartitioned versions are not listed)."""
        out: dict[str, list[AssetVersion]] = {}
        for v in self._by_asset.get(key, ()):
            if v.partition is not None:
                out.setdefault(v.partition, []).append(v)
        return dict(sorted(out.items()))

    def version(self, key: str, run_id: str, partition: str | None = None) -> AssetVersion | None:
        """The version of ``key`` (of its ``partition``) that run ``run_id`` wrote, or None."""
        return self.versions.get((key, run_id) if partition is None else (key, run_id, partition))

    def wrote(self, key: str, run_id: str) -> bool:
        """Whether run ``run_id`` wrote any version of ``key`` (any partition)."""
        if (key, run_id) in self.versions:
            return True
        return any(v.asset == key for v in self._by_run.get(run_id, ()))

    def latest_versions(self) -> dict[str, AssetVersion]:
        """The latest version of each asset (see ``asset_keys``)."""
        internal = self._internal
        return {k: vs[-1] for k, vs in self._by_asset.items() if vs and k not in internal}

    # ------------------------------------------------------------------ checks, observations
    def _events(self) -> "_Events":
        """Checks and observations of all runs, grouped once (recomputed after ``add``)."""
        ev = self.__dict__.get("_event_cache")
        if ev is None or ev.runs != len(self.runs):
            ev = self.__dict__["_event_cache"] = _Events.of(self.runs.values())
        return ev

    def all_checks(self) -> list[CheckResult]:
        """Every asset check evaluation of every run, oldest first."""
        return list(self._events().checks)

    def checks(self, key: str) -> list[CheckResult]:
        """The evaluations of the checks of asset ``key``, oldest first."""
        return list(self._events().checks_by_asset.get(key, ()))

    def checks_of(self, version: AssetVersion) -> list[CheckResult]:
        """The check evaluations attached to ``version`` (the checks that targeted it), oldest
        first; a check evaluated twice on one version keeps both evaluations."""
        return list(self._events().checks_by_target.get(version.ident, ()))

    def latest_checks(self, version: AssetVersion) -> list[CheckResult]:
        """The latest evaluation of each check of ``version``, by check name."""
        latest: dict[str, CheckResult] = {}
        for c in self.checks_of(version):
            latest[c.name] = c
        return [latest[n] for n in sorted(latest)]

    def all_observations(self) -> list[Observation]:
        return list(self._events().observations)

    def observations(self, key: str, partition: str | None = None) -> list[Observation]:
        """The observations of source asset ``key`` (of one partition), oldest first."""
        obs = self._events().observations_by_asset.get(key, ())
        return [o for o in obs if partition is None or o.partition == partition]

    def latest_observation(self, key: str, partition: str | None = None) -> Observation | None:
        obs = self.observations(key, partition)
        return obs[-1] if obs else None

    def observed_assets(self) -> list[str]:
        """Assets that have observations (observable source assets)."""
        return sorted(self._events().observations_by_asset)


@dataclass
class _Events:
    runs: int
    checks: list[CheckResult]
    observations: list[Observation]
    checks_by_asset: dict[str, list[CheckResult]]
    checks_by_target: dict[tuple[str, ...], list[CheckResult]]
    observations_by_asset: dict[str, list[Observation]]

    @classmethod
    def of(cls, runs: Iterable[Run]) -> "_Events":
        runs = list(runs)
        created = attrgetter("created_at")
        checks = sorted((c for r in runs for c in r.checks), key=created)
        observations = sorted((o for r in runs for o in r.observations), key=created)
        by_asset: dict[str, list[CheckResult]] = {}
        by_target: dict[tuple[str, ...], list[CheckResult]] = {}
        for c in checks:
            by_asset.setdefault(c.asset, []).append(c)
            if c.target is not None:
                by_target.setdefault(c.target, []).append(c)
        obs: dict[str, list[Observation]] = {}
        for o in observations:
            obs.setdefault(o.asset, []).append(o)
        return cls(len(runs), checks, observations, by_asset, by_target, obs)


class LazyIndex(Index):
    """An Index whose asset versions are parsed from the local cache on first use.

    Runs (and warnings) are there at once, so listing runs after a warm reopen costs no
    parsing of sidecars; the first query that needs versions (``versions``, ``latest``,
    ``asset_keys``, ...) parses and validates them all, once; they are plain attributes then.
    """

    def __init__(
        self,
        runs: dict[str, Run],
        warnings: list[str],
        loader: Callable[[], tuple[list[AssetVersion], dict[str, Run]]],
        freeze_gc: bool = False,
    ):
        self.runs = runs
        self.warnings = warnings
        self.reserved = None
        self._loader = loader
        self._freeze_gc = freeze_gc
        self._lock = threading.Lock()  # a TUI worker and the UI may both ask first

    def __getattr__(self, name: str) -> Any:  # only called for attributes not yet set
        if name in ("versions", "_by_asset", "_by_run", "_internal"):
            self._materialize()
            return object.__getattribute__(self, name)
        raise AttributeError(name)

    def _materialize(self) -> None:
        with self.__dict__["_lock"]:
            loader = self.__dict__.get("_loader")
            if loader is None:  # materialized by another thread meanwhile
                return
            with bulk_load(self.__dict__.get("_freeze_gc", False)):
                versions, corrected = loader()  # corrected: runs re-read because their cache was bad
                for run_id, run in corrected.items():
                    if run_id in self.runs:
                        self.runs[run_id] = run
                self.versions = {v.ident: v for v in versions}
                self._sort()
            del self.__dict__["_loader"]  # from now on every attribute is a plain one

    def __eq__(self, other: object) -> bool:
        if "_loader" in self.__dict__:
            self._materialize()
        if isinstance(other, LazyIndex) and "_loader" in other.__dict__:
            other._materialize()
        if not isinstance(other, Index):
            return NotImplemented
        return _compared(self) == _compared(other)

    def __repr__(self) -> str:
        if "_loader" in self.__dict__:
            self._materialize()
        return Index.__repr__(self).replace("LazyIndex(", "Index(", 1)


def _compared(idx: Index) -> tuple:
    """What ``Index.__eq__`` compares (the fields with ``compare=True``)."""
    return (idx.runs, idx.versions, idx.warnings, idx._by_asset)


_run_order = attrgetter("run.started_at", "run.run_id")  # of entries and records: (start, id)
