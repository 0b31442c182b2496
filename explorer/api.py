"""``Store``: the facade users hold, the top of the library's layers (see docs/architecture.md).

It opens a URL, keeps the index (``explorer.index``) in memory and answers questions by
delegating to the modules below it (lineage, staleness, catalogue, ...). Every method that
reads from the store carries ``@reachable``: a lost endpoint becomes one ``StoreUnavailable``
naming the store."""

from __future__ import annotations

import functools
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import lineage
from . import format as fmt
from . import formats
from .errors import ExplorerError, ReadOnlyStore, StoreNotFound
from .index import Index, Progress
from .models import AssetVersion, CheckResult, Observation, Run
from .store import data
from .store import flags as flags_mod
from .store.fs import display_url, open_fs, protocol
from .store.read import Indexer, build_index, is_connection_error, unavailable


def _ephemeral(fs) -> bool:
    """In-memory filesystems live and die with the process: caching them is meaningless."""
    return protocol(fs) == "memory"

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    import pyarrow as pa
    from .staleness import PartitionStatus
    from .store.checkpoint import Outcome


def _read_index(
    fs, root: str, progress: Progress | None, dagster_home: str | None, indexer: Indexer | None = None,
    stock_dagster_home: str | None = None, freeze_gc: bool = False, check: bool = True,
) -> tuple[Index, Indexer | None]:
    """The index of a store, and the indexer that keeps it up to date: ``None`` for a store
    written by Dagster's stock IO managers (read whole each time, never cached). With
    ``dagster_home`` the store is read as a stock one, through that Dagster instance;
    ``stock_dagster_home`` is that instance only when the store turns out to be a stock one."""
    if dagster_home:
        from .dagster.stock import open_index  # needs no Dagster

        return open_index(fs, root, progress, dagster_home), None
    try:
        return (indexer.open(progress, check) if indexer is not None else build_index(fs, root, progress, freeze_gc)), indexer
    except StoreNotFound as exc:
        from .dagster.stock import open_index  # (imported only for a store that is not a frontier one)

        try:  # Dagster's stock layout?
            return open_index(fs, root, progress, stock_dagster_home), None
        except StoreNotFound:
            raise exc from None


def reachable(method):
    """Turn "the endpoint went away" (botocore / aiohttp connection errors, timeouts) raised
    while a store method reads into ``StoreUnavailable`` naming the store: the index in memory
    stays usable, and calling again once the endpoint answers retries."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ExplorerError:
            raise
        except Exception as exc:
            if is_connection_error(exc):
                raise unavailable(self.fs, self.root, exc) from None
            raise

    return wrapper


class Store:
    """A run-prefixed store opened for reading. Reading never writes."""

    def __init__(self, fs, root: str, index: Index, url: str | None = None, storage_options: dict | None = None,
                 dagster_home: str | None = None):
        self.fs = fs
        self.root = root
        self.index = index
        self.url = url or display_url(fs, root)
        self.storage_options = dict(storage_options or {})
        self._flags: list | None = None
        self._taint: tuple | None = None
        self._sql = None
        self.dagster_home = dagster_home
        self._indexer: Indexer | None = None

    @classmethod
    def open(
        cls,
        url: str,
        storage_options: dict[str, Any] | None = None,
        progress: Progress | None = None,
        cache: bool = True,
        dagster_home: str | None = None,
        stock_dagster_home: str | None = None,
        freeze_gc: bool = False,
        read_only: bool | str = False,
        check: bool = True,
        full_listing: bool = False,
    ) -> "Store":
        """Open a store by URL (any fsspec URL or a local path).

        With ``cache=True`` the index is kept in the local cache (see ``store/cache.py``):
        a reopen reads only runs that are new or were unfinished. ``progress(done, total)``
        is called as run manifests are read. Stores written by Dagster's stock IO managers
        are read too (never cached); with ``dagster_home`` their lineage, status and times
        come from that Dagster instance, and for a frontier store's runs not consolidated yet
        their status and what their end will record (``explorer.dagster.eventlog``: versions
        stored outside the store, checks, observations; nothing written). ``stock_dagster_home`` (the CLI passes ``$DAGSTER_HOME``)
        is used the same way, but only when the store is a stock one: a frontier store never
        opens a Dagster instance unless asked. ``freeze_gc=True`` (the CLI's own process) moves
        a large index to the garbage collector's permanent generation (``explorer.index.bulk_load``):
        a choice for the whole process, never made for the caller otherwise. ``read_only``
        (True, or the reason to give) makes ``flag`` and ``unflag`` refuse with :class:`ReadOnlyStore`.
        ``check=False`` (a local store with a warm cache) takes the runs the cache holds as
        finished without checking each one's manifest on disk (a stat per run), so the runs are
        known sooner; until ``check_cached()`` is called, a finished run rewritten since it was
        cached is shown as cached. The app does this to paint first and check after.
        ``url`` may name a store of the config file, ``"@prod"`` (``explorer.config``), or
        ``"@demo"``, the bundled demo store, as on the command line.
        """
        if isinstance(url, str) and url.startswith("@"):
            from .config import resolve_store

            url, storage_options = resolve_store(url, storage_options)
        fs, root = open_fs(url, storage_options)
        shown = display_url(fs, root)
        indexer = None
        if not dagster_home:
            cache_file = None
            if cache and not _ephemeral(fs):
                from .store.cache import cache_path

                cache_file = cache_path(shown, storage_options)
            indexer = Indexer(fs, root, shown, cache_file, freeze_gc, full_listing)
        index, indexer = _read_index(fs, root, progress, dagster_home, indexer, stock_dagster_home, freeze_gc, check)
        if indexer is None and not dagster_home:
            dagster_home = stock_dagster_home  # a stock store: refresh reads the same instance
        store = cls(fs, root, index, shown, storage_options, dagster_home)
        store._indexer = indexer
        store.read_only = read_only
        return store

    @reachable
    def refresh(self, progress: Progress | None = None) -> "Store":
        """Bring the index up to date in place. A frontier store reads only runs that are new
        or were unfinished (one listing plus one read per such run); a stock Dagster store is
        read again."""
        if self.as_of is not None:  # a view of the past: new runs are after it
            return self
        if self._indexer is not None:
            self.index = self._indexer.refresh(progress)
        else:
            self.index, _ = _read_index(self.fs, self.root, progress, self.dagster_home)
        self.__dict__.pop("version_graph", None)
        self.__dict__.pop("data_fs", None)
        self._flags = None
        self._taint = None
        self._sql = None
        return self

    @reachable
    def check_cached(self, progress: Progress | None = None) -> bool:
        """After ``open(check=False)``: check the runs taken from the cache unchecked (a stat
        each) and, when any changed or went away, ``refresh``. True when the index changed."""
        if self._indexer is None or not self._indexer.unchecked:
            return False
        if not self._indexer.check_cached():
            return False
        self.refresh(progress)
        return True

    def __repr__(self) -> str:
        return f"Store({self.url!r}, runs={len(self.index.runs)}, assets={len(self.index.asset_keys())})"

    @cached_property
    def data_fs(self):
        """The filesystem to read versions' data through: on an object store, one that knows
        the data files' sizes from the index, so that readers send no HEAD before reading
        (``fs.KnownFiles``); the store's own filesystem otherwise."""
        from .store.fs import KnownFiles, is_local
        from .store.fsspec_adapter import open_takes_size, strip_protocol

        if is_local(self.fs) or not open_takes_size(self.fs):
            return self.fs
        files = {}
        for v in self.index.versions.values():
            if not formats.get(v.data_format).directory:
                files[strip_protocol(self.fs, fmt.join(self.root, v.data_path))] = (v.size_bytes, v.created_at)
        return KnownFiles(self.fs, files)

    # ------------------------------------------------------------------ index
    @property
    def warnings(self) -> list[str]:
        return self.index.warnings

    @property
    def runs(self) -> list[Run]:
        """Runs, oldest first."""
        return self.index.run_list()

    def run(self, run_id: str) -> Run:
        """A run by its id, a unique prefix of it, or its label (``r6``)."""
        from .names import resolve_run

        return self.index.runs[resolve_run(self.index.runs, run_id)]

    def assets(self) -> list[str]:
        return self.index.asset_keys()

    def asset_versions(self, key: str) -> list[AssetVersion]:
        """Committed versions of ``key`` across runs, oldest first (of one partition when
        ``key`` names one: ``features[2023-01-22]``)."""
        return lineage.partition_versions(self.index, key)  # unknown asset -> clear error

    def partitions(self, key: str) -> "list[PartitionStatus]":
        """Each partition of ``key``: its latest version, how many versions, and its status
        (fresh / stale / missing / failed, see ``staleness.partition_statuses``); [] when the
        asset is not partitioned."""
        from .staleness import partition_statuses

        lineage.resolve_asset(self.index, key)
        return partition_statuses(self.index, key)

    def run_versions(self, run_id: str) -> list[AssetVersion]:
        return self.index.run_versions(self.run(run_id).run_id)

    def latest(self, key: str) -> AssetVersion:
        return lineage.resolve_version(self.index, key)

    def version(self, key: str, run: str | None = None, partition: str | None = None) -> AssetVersion:
        """The version of ``key`` in ``run`` (the latest when ``run`` is None); of one
        partition with ``partition`` or ``key[partition]``."""
        return lineage.resolve_version(self.index, key, run, partition)

    def checks(self, key: str, run: str | None = None, partition: str | None = None,
               latest: bool = True) -> "list[CheckResult]":
        """The asset check results attached to a version (the latest evaluation of each check,
        or every evaluation with ``latest=False``)."""
        v = self.version(key, run, partition)
        return self.index.latest_checks(v) if latest else self.index.checks_of(v)

    def observations(self, key: str) -> "list[Observation]":
        """The observations (data versions) of an observable source asset, oldest first."""
        return self.index.observations(key)

    # ------------------------------------------------------------------ data
    @reachable
    def load(
        self,
        key: str,
        run: str | None = None,
        allow_pickle: bool = False,
        as_arrow: bool = False,
        allow_tainted: bool = False,
    ) -> Any:
        """The data of a version: a DataFrame for tables, dict/list, ndarray or bytes.
        Pickles are refused unless ``allow_pickle=True``; a tainted latest version (flagged,
        or built from a flagged version) unless ``allow_tainted=True``."""
        from . import catalogue

        return catalogue.load(self, key, run, allow_pickle, as_arrow, allow_tainted)

    @reachable
    def preview(self, key: str, run: str | None = None, rows: int = 50, offset: int = 0) -> Any:
        """The first rows of a table (reading only those), or a small view of other formats."""
        return data.preview(self.data_fs, self.root, self.version(key, run), rows, self.index.warnings, offset)

    @reachable
    def read_table(self, key: str, run: str | None = None, columns=None, filter=None) -> pa.Table:
        return data.read_table(self.data_fs, self.root, self.version(key, run), columns, filter)

    # ------------------------------------------------------------------ lineage
    def asset_graph(self, all_runs: bool = False, run: str | None = None) -> nx.DiGraph:
        return lineage.asset_graph(self.index, all_runs=all_runs, run_id=run)

    @cached_property
    def version_graph(self) -> nx.DiGraph:
        return lineage.version_graph(self.index)

    def provenance(self, key: str, run: str | None = None) -> lineage.LineageResult:
        """Everything this version was built from: "what data was this model trained on?".
        Walked through the inputs from this version (as large as the answer, not the store)."""
        return lineage.provenance(self.index, key, run)

    def impact(self, key: str, run: str | None = None) -> lineage.LineageResult:
        """Every version in any run built from this version. Walked through each version's
        consumers (plain lists), not the whole version graph."""
        return lineage.impact(self.index, key, run)

    def column_lineage(self, key: str, column: str, run: str | None = None, direction: str = "upstream"):
        """Where ``column`` of this version comes from (``direction="upstream"``, recursively) or
        where it goes (``"downstream"``): declared ``dagster/column_lineage`` edges and certain
        pass-throughs (``explorer.column_lineage``)."""
        from . import column_lineage

        return column_lineage.trace(self.index, self.version(key, run), column, direction)

    # ------------------------------------------------------------------ staleness
    @reachable
    def staleness(self, as_of=None, max_age=None):
        """Fresh / stale / missing for the current version of every asset, with causes.
        ``as_of``: a run id or an ISO time; ``max_age``: ``"36h"``, ``"7d"`` or a timedelta."""
        from .staleness import compute

        flagged = {k: f.reason for k, f in self.active_flags().items()}
        return compute(self.index, as_of=as_of, max_age=max_age, store=self.url, flagged=flagged)

    @reachable
    def trace(self, key: str, run: str | None = None, where: dict[str, Any] | None = None):
        """The rows of ``key`` selected by ``where`` ({column: value or [values]}) traced back
        through the exact upstream versions they came from: an audit trail (``trace.TraceResult``)."""
        from .trace import trace

        return trace(self, key, run, where)

    # ------------------------------------------------------------------ catalogue
    @reachable
    def versions(self, key: str) -> "pd.DataFrame":
        """Every version of ``key``, newest first, one row each (see docs/catalogue.md)."""
        from . import catalogue

        return catalogue.versions(self, key)

    @reachable
    def find(self, key: str, built_from: dict[str, str]) -> list[AssetVersion]:
        """Versions of ``key`` built from the versions named in ``built_from``
        (``{"features": RUN_ID or "sha256:..."}``), transitively, newest first."""
        from . import catalogue

        return catalogue.find(self, key, built_from)

    @reachable
    def sql(self, query: str, as_arrow: bool = False, allow_files: bool = False) -> Any:
        """Run SQL on DuckDB over the store's tables (a DataFrame, or Arrow with ``as_arrow``).
        Queries read only the store's own data; ``allow_files=True`` lets them read local
        files too. Nothing is ever written."""
        from .sql import SqlCatalog

        if self._sql is None or self._sql.allow_files != allow_files:
            self._sql = SqlCatalog(self, allow_files=allow_files)
        return self._sql.arrow(query) if as_arrow else self._sql.df(query)

    # ------------------------------------------------------------------ checkpoints
    @reachable
    def checkpoint(self) -> "Outcome":
        """Write a checkpoint: every finished run's manifest in one new object under
        ``_frontier_checkpoints/``, so that a cold open reads it instead of one object per run
        (``explorer.store.checkpoint``). An explicit write, like ``flag``; nothing is written
        when the newest checkpoint already holds every finished run."""
        from .store import checkpoint as ckpt

        self._check_writable()
        if self._indexer is None:
            raise ExplorerError(f"{self.url} is a Dagster store read through its instance: checkpoints are for frontier stores")
        return ckpt.write(self.fs, self.root)

    # ------------------------------------------------------------------ flags
    @reachable
    def flags(self) -> list["flags_mod.Flag"]:
        """Every flag and retraction, oldest first. Read on first use (one listing of
        ``_frontier_flags/`` and one batched read), then kept until ``refresh()``."""
        if self._flags is None:
            reserved = self.index.reserved
            if reserved is not None and fmt.flags_dir() not in reserved:
                self._flags = []  # the root listing had no flags folder: nothing to ask for
            else:
                self._flags = flags_mod.read_flags(self.fs, self.root, self.index.warnings)
            if self.as_of is not None:  # a view of the past knows only the flags made by then
                self._flags = [f for f in self._flags if f.created_at <= self.as_of]
        return list(self._flags)

    @reachable
    def active_flags(self) -> dict[tuple[str, str], "flags_mod.Flag"]:
        return flags_mod.active(self.flags())

    @reachable
    def flagged(self) -> set[tuple[str, str]]:
        """The ``(asset, run_id)`` versions currently flagged."""
        return flags_mod.active_flags(self.flags())

    @reachable
    def tainted(self) -> dict[tuple[str, str], frozenset[tuple[str, str]]]:
        """Every flagged version and every version built from one, mapped to the flagged
        versions it comes from."""
        flagged = frozenset(self.flagged())
        if self._taint is None or self._taint[0] != flagged:
            # (nothing flagged taints nothing: the version graph is not built for it)
            self._taint = (flagged, flags_mod.taint(self.version_graph, flagged) if flagged else {})
        return dict(self._taint[1])

    @reachable
    def flag(self, key: str, run: str, reason: str, author: str | None = None) -> "flags_mod.Flag":
        """Flag a version as bad (appends a small object under ``_frontier_flags/``)."""
        self._check_writable()
        v = self.version(key, run)
        return self._wrote(flags_mod.write_flag(self.fs, self.root, v.asset, v.run_id, reason, "flag", author))

    @reachable
    def unflag(self, key: str, run: str, reason: str, author: str | None = None) -> "flags_mod.Flag":
        """Retract a flag (appends a retraction; nothing is deleted)."""
        self._check_writable()
        run = self.version(key, run).run_id  # unknown asset or run -> clear error; a label -> the id
        if (key, run) not in self.flagged():
            raise ExplorerError(f"{key} in run {run} is not flagged")
        return self._wrote(flags_mod.write_flag(self.fs, self.root, key, run, reason, "unflag", author))

    def _check_writable(self) -> None:
        from .bundled import is_bundled_demo

        if self.as_of is not None:
            raise ReadOnlyStore("a view of the store's past (Store.at) is read-only: flag the store itself")
        if self.read_only:
            raise ReadOnlyStore(self.read_only if isinstance(self.read_only, str) else f"{self.url} was opened read-only")
        if is_bundled_demo(self.fs, self.root):
            raise ReadOnlyStore(
                "the bundled demo store is read-only; `frontier-explore demo PATH` writes a copy you can flag"
            )

    def _wrote(self, flag: "flags_mod.Flag") -> "flags_mod.Flag":
        """Keep what is in memory in step with a flag or retraction just written."""
        if self.index.reserved is not None:  # the flags folder exists now
            self.index.reserved = self.index.reserved | {fmt.flags_dir()}
        if self._flags is not None:
            self._flags.append(flag)
        self._sql = None  # the versions table carries taint
        return flag

    # ------------------------------------------------------------------ diff and history
    @reachable
    def diff(self, key: str, a: str = "previous", b: str = "latest", **kw: Any):
        """Compare two versions of ``key`` (run ids, ``latest`` or ``previous``): see ``explorer.diff``."""
        from .diff import diff_versions

        return diff_versions(self, key, a, b, **kw)

    @reachable
    def history(self, key: str, stats: list[str] | None = None):
        """One row per version of ``key``, oldest first, with statistics from the sidecars."""
        from .history import history

        return history(self, key, stats)

    def iter_versions(self, key: str, allow_pickle: bool = False):
        """Yield ``(version, data)`` for every version of ``key``, oldest first."""
        from .history import iter_versions

        return iter_versions(self, key, allow_pickle)

    # ------------------------------------------------------------------ studies across runs
    @reachable
    def frame(self, key: str, runs: list[str] | None = None, columns: list[str] | None = None, as_arrow: bool = False):
        """Every version of ``key`` (or those of ``runs``) as one DataFrame, each row with its
        version's ``run_id`` and ``created_at``: a table's rows, or a JSON object's fields.
        Versions are read concurrently; ``columns`` reads only those (see docs/studies.md)."""
        from . import study

        self.latest(key)  # unknown asset -> clear error
        run_ids = [self.run(r).run_id for r in runs] if runs is not None else None
        chosen = study.chosen_versions(self.index, key, run_ids)

        def read(v, cols):
            if formats.is_table(v.data_format):
                return data.read_table(self.data_fs, self.root, v, cols)
            return data.load(self.data_fs, self.root, v, False, False, self.index.warnings)

        return study.frame(chosen, read, columns, as_arrow)

    def at(self, as_of) -> "Store":
        """The store as it was at ``as_of`` (a run: as that run left it; an ISO time; a
        datetime): runs started by then, versions created by then. Read-only; loading,
        staleness, SQL and every other question see only that past."""
        from . import study

        moment = study.moment_of(self.index, as_of)
        past = Store(self.fs, self.root, study.until(self.index, moment), self.url, self.storage_options, self.dagster_home)
        past.as_of = moment
        return past

    as_of = None
    """The moment a store made by ``at()`` shows (None: the store as it is)."""
    read_only: bool | str = False
    """Opened with ``read_only=``: flagging refused (a string is the reason given)."""

    def runs_frame(self) -> "pd.DataFrame":
        """The runs as a DataFrame, oldest first: the ``runs`` table of SQL."""
        from .sql import runs_table

        frame = runs_table(self.index).to_pandas()  # the runs only: no versions table, no flags read
        frame["tags"] = [r.tags for r in self.runs]
        return frame

    @reachable
    def compare(self, runs: list[str] | None = None, assets: list[str] | None = None, metrics: list[str] = ()):
        """Runs side by side (``explorer.compare.RunGrid``): the newest 10 unless named;
        ``metrics`` as ``"ASSET:PATH"`` read from JSON assets."""
        from . import compare as cmp

        chosen = [self.run(r) for r in runs] if runs else self.runs[::-1][: cmp.DEFAULT_RUNS]
        parsed = [cmp.parse_metric(m, self.assets()) for m in metrics]
        for a in assets or ():
            self.latest(a)  # unknown asset -> one clear error
        return cmp.compare(self.index, chosen, assets, parsed, load=lambda v: self.load(v.asset, v.run_id, allow_tainted=True))

    @reachable
    def diff_runs(self, a: str, b: str, tables: bool = False):
        """Two whole runs compared asset by asset (``explorer.compare.RunsDiff``)."""
        from . import compare as cmp

        def table_diff(va, vb):
            d = self.diff(va.asset, va.run_id, vb.run_id).to_dict()
            return {k: d[k] for k in ("same_content", "keys", "rows", "columns_changed") if k in d}

        return cmp.diff_runs(self.index, self.run(a), self.run(b), tables=table_diff if tables else None)
