"""``Store``: the one object users hold. It opens a URL, keeps the index in memory and
answers questions by delegating to the pure modules (lineage, staleness, ...)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import networkx as nx
import pyarrow as pa

from .. import lineage
from ..errors import UnknownRun
from ..models import AssetVersion, Run
from . import data
from .fs import display_url, open_fs
from .index import Index, Progress, build_index


class Store:
    """A run-prefixed store opened for reading. Reading never writes."""

    def __init__(self, fs, root: str, index: Index, url: str | None = None, storage_options: dict | None = None):
        self.fs = fs
        self.root = root
        self.index = index
        self.url = url or display_url(fs, root)
        self.storage_options = dict(storage_options or {})

    @classmethod
    def open(
        cls,
        url: str,
        storage_options: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> "Store":
        fs, root = open_fs(url, storage_options)
        return cls(fs, root, build_index(fs, root, progress), display_url(fs, root), storage_options)

    def refresh(self, progress: Progress | None = None) -> "Store":
        """Re-read the store (new runs, finished runs) in place."""
        self.index = build_index(self.fs, self.root, progress)
        self.__dict__.pop("version_graph", None)
        return self

    def __repr__(self) -> str:
        return f"Store({self.url!r}, runs={len(self.index.runs)}, assets={len(self.index.asset_keys())})"

    # ------------------------------------------------------------------ index
    @property
    def warnings(self) -> list[str]:
        return self.index.warnings

    @property
    def runs(self) -> list[Run]:
        """Runs, oldest first."""
        return self.index.run_list()

    def run(self, run_id: str) -> Run:
        try:
            return self.index.runs[run_id]
        except KeyError:
            raise UnknownRun(f"unknown run {run_id!r}") from None

    def assets(self) -> list[str]:
        return self.index.asset_keys()

    def asset_versions(self, key: str) -> list[AssetVersion]:
        """Committed versions of ``key`` across runs, oldest first."""
        lineage.resolve_version(self.index, key)  # unknown asset -> clear error
        return self.index.asset_versions(key)

    def run_versions(self, run_id: str) -> list[AssetVersion]:
        self.run(run_id)
        return self.index.run_versions(run_id)

    def latest(self, key: str) -> AssetVersion:
        return lineage.resolve_version(self.index, key)

    def version(self, key: str, run: str | None = None) -> AssetVersion:
        """The version of ``key`` in ``run`` (the latest when ``run`` is None)."""
        return lineage.resolve_version(self.index, key, run)

    # ------------------------------------------------------------------ data
    def load(self, key: str, run: str | None = None, allow_pickle: bool = False, as_arrow: bool = False) -> Any:
        """The data of a version: a DataFrame for tables, dict/list, ndarray or bytes.
        Pickles are refused unless ``allow_pickle=True``."""
        return data.load(self.fs, self.root, self.version(key, run), allow_pickle, as_arrow)

    def preview(self, key: str, run: str | None = None, rows: int = 50) -> Any:
        """The first rows of a table (reading only those), or a small view of other formats."""
        return data.preview(self.fs, self.root, self.version(key, run), rows)

    def read_table(self, key: str, run: str | None = None, columns=None, filter=None) -> pa.Table:
        return data.read_table(self.fs, self.root, self.version(key, run), columns, filter)

    # ------------------------------------------------------------------ lineage
    def asset_graph(self, all_runs: bool = False, run: str | None = None) -> nx.DiGraph:
        return lineage.asset_graph(self.index, all_runs=all_runs, run_id=run)

    @cached_property
    def version_graph(self) -> nx.DiGraph:
        return lineage.version_graph(self.index)

    def provenance(self, key: str, run: str | None = None) -> lineage.LineageResult:
        """Everything this version was built from: "what data was this model trained on?"."""
        return lineage.provenance(self.index, key, run, self.version_graph)

    def impact(self, key: str, run: str | None = None) -> lineage.LineageResult:
        """Every version in any run built from this version."""
        return lineage.impact(self.index, key, run, self.version_graph)

    # ------------------------------------------------------------------ staleness
    def staleness(self, as_of=None, max_age=None):
        """Fresh / stale / missing for the current version of every asset, with causes.
        ``as_of``: a run id or an ISO time; ``max_age``: ``"36h"``, ``"7d"`` or a timedelta."""
        from ..staleness import compute

        return compute(self.index, as_of=as_of, max_age=max_age, store=self.url)

    # ------------------------------------------------------------------ diff and history
    def diff(self, key: str, a: str = "previous", b: str = "latest", **kw: Any):
        """Compare two versions of ``key`` (run ids, ``latest`` or ``previous``): see ``explorer.diff``."""
        from ..diff import diff_versions

        return diff_versions(self, key, a, b, **kw)

    def history(self, key: str, stats: list[str] | None = None):
        """One row per version of ``key``, oldest first, with statistics from the sidecars."""
        from ..history import history

        return history(self, key, stats)

    def iter_versions(self, key: str, allow_pickle: bool = False):
        """Yield ``(version, data)`` for every version of ``key``, oldest first."""
        from ..history import iter_versions

        return iter_versions(self, key, allow_pickle)
