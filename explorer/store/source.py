"""``Source``: what a question reads from an opened store, as a type the questions can name.

The questions (catalogue, sql, trace, history, export, verify, diff) sit below the ``Store``
facade (``explorer.api``) and may not import it; they are given the facade, and annotate it
with this protocol: the index in memory plus the store's I/O (its filesystem, root, the data
filesystem, flags and taint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import fsspec
    import networkx as nx

    from ..index import Index
    from ..models import AssetVersion
    from .flags import Flag


class Source(Protocol):
    index: "Index"
    fs: "fsspec.AbstractFileSystem"
    root: str
    url: str

    @property
    def data_fs(self) -> "fsspec.AbstractFileSystem": ...

    @property
    def warnings(self) -> list[str]: ...

    @property
    def version_graph(self) -> "nx.DiGraph": ...

    def asset_versions(self, key: str) -> list["AssetVersion"]: ...

    def version(self, key: str, run: str | None = None) -> "AssetVersion": ...

    def load(self, key: str, run: str | None = None, allow_pickle: bool = False, as_arrow: bool = False,
             allow_tainted: bool = False) -> Any: ...

    def run_versions(self, run_id: str) -> list["AssetVersion"]: ...

    def asset_graph(self, all_runs: bool = False, run: str | None = None) -> "nx.DiGraph": ...

    def provenance(self, key: str, run: str | None = None) -> Any: ...

    def staleness(self, as_of: Any = None, max_age: Any = None) -> Any: ...

    def active_flags(self) -> dict[tuple[str, str], "Flag"]: ...

    def tainted(self) -> dict[tuple[str, str], frozenset[tuple[str, str]]]: ...
