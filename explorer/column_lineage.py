"""Column lineage: where each column of a table version comes from, and where it goes.

Two sources, each edge saying which:

- **declared**: the version's ``dagster/column_lineage`` metadata, Dagster's own entry
  (``TableColumnLineage``: for each column, the ``(asset key, column)`` pairs it depends on),
  recorded by the IO manager, read from a Dagster instance, or given to
  ``RunWriter.write(..., column_lineage=...)``. Stored as
  ``{"deps_by_column": {COLUMN: [{"asset_key": KEY, "column_name": COLUMN}, ...]}}``.
- **inferred**, only where it is certain from what the store recorded: a column with no declared
  lineage whose name, type, row count and every statistic (nulls, min, max, mean, distinct) are
  those of a column of the same name in exactly one of the inputs the version consumed: the
  column passed through unchanged. (Equal statistics do not prove equal values; the edge says
  ``inferred`` so that a reader can tell.)

Edges join the exact versions: a column of ``features`` in run r6 depends on the columns of the
input versions that run consumed (its ``inputs``), not on the inputs' latest versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import format as fmt
from .errors import ExplorerError
from .index import Index
from .models import AssetVersion, InputRef

METADATA_KEY = fmt.COLUMN_LINEAGE_KEY
normalize = fmt.column_lineage_entry
DECLARED, INFERRED = "declared", "inferred"


@dataclass(frozen=True)
class ColumnEdge:
    """``column`` of the version ``asset``@``run_id`` is derived from ``source_column`` of
    ``source_asset``@``source_run_id`` (None: the input version is not in the store)."""

    asset: str
    run_id: str
    column: str
    source_asset: str
    source_run_id: str | None
    source_column: str
    kind: str  # DECLARED or INFERRED
    partition: str | None = None  # of the version (partitioned assets)
    source_partition: str | None = None  # of the input version it consumed

    @property
    def source_ident(self) -> tuple[str, ...] | None:
        """The input version's key in ``Index.versions`` (None: not in the store)."""
        if self.source_run_id is None:
            return None
        base = (self.source_asset, self.source_run_id)
        return base if self.source_partition is None else (*base, self.source_partition)

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "run_id": self.run_id, "partition": self.partition, "column": self.column,
                "source_asset": self.source_asset, "source_run_id": self.source_run_id,
                "source_partition": self.source_partition, "source_column": self.source_column, "kind": self.kind}


@dataclass(frozen=True)
class ColumnLineage:
    """The column lineage of one column of one version, up or down the graph, as edges in the
    order they were found (breadth first)."""

    asset: str
    run_id: str
    column: str
    direction: str  # "upstream" or "downstream"
    edges: tuple[ColumnEdge, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "run_id": self.run_id, "column": self.column,
                "direction": self.direction, "edges": [e.to_dict() for e in self.edges]}

    def sources(self) -> set[tuple[str, str]]:
        """The (asset, column) pairs reached upstream that depend on nothing further."""
        targets = {(e.asset, e.column) for e in self.edges}
        return {(e.source_asset, e.source_column) for e in self.edges} - targets


def declared(version: AssetVersion) -> dict[str, tuple[tuple[str, str], ...]]:
    """The version's declared column lineage: column -> ((asset, column), ...). An entry that
    is not in the documented shape contributes nothing (it is shown as metadata, as recorded)."""
    entry = version.metadata.get(METADATA_KEY)
    deps = entry.get("deps_by_column") if isinstance(entry, dict) else None
    if not isinstance(deps, dict):
        return {}
    out = {}
    for column, items in deps.items():
        if not isinstance(items, list):
            continue
        pairs = tuple((d["asset_key"], d["column_name"]) for d in items
                      if isinstance(d, dict) and isinstance(d.get("asset_key"), str) and isinstance(d.get("column_name"), str))
        out[str(column)] = pairs
    return out


def _same_column(a, b, rows_a: int, rows_b: int) -> bool:
    return (a.type == b.type and rows_a == rows_b and a.null_count == b.null_count and a.min == b.min
            and a.max == b.max and a.mean == b.mean and a.distinct == b.distinct)


def edges_of(index: Index, version: AssetVersion) -> list[ColumnEdge]:
    """Every column edge into ``version``: declared ones, then inferred pass-throughs."""
    by_asset: dict[str, InputRef] = {i.asset: i for i in version.inputs}
    out: list[ColumnEdge] = []
    stated = declared(version)
    for column, pairs in stated.items():
        for asset, col in pairs:
            ref = by_asset.get(asset)
            out.append(ColumnEdge(version.asset, version.run_id, column, asset, ref.run_id if ref else None, col, DECLARED,
                                  version.partition, ref.partition if ref else None))
    if version.table is None:
        return out
    # each input's columns by name, decoded once (statistics are held packed in the index)
    upstream = []
    for ref in version.inputs:
        up = index.versions.get(ref.ident)
        if up is not None and up.table is not None:
            upstream.append((ref, up.table.num_rows, {c.name: c for c in up.table.columns}))
    for col in version.table.columns:
        if col.name in stated or not upstream:
            continue
        matches = []
        for ref, up_rows, up_columns in upstream:
            other = up_columns.get(col.name)
            if other is not None and _same_column(col, other, version.table.num_rows, up_rows):
                matches.append(ref)
        if len(matches) == 1:  # two inputs with the same column: which one is not certain
            m = matches[0]
            out.append(ColumnEdge(version.asset, version.run_id, col.name, m.asset, m.run_id, col.name, INFERRED,
                                  version.partition, m.partition))
    return out


def trace(index: Index, version: AssetVersion, column: str, direction: str = "upstream") -> ColumnLineage:
    """Follow ``column`` of ``version`` up (to the columns it is derived from, recursively) or
    down (to the columns of the versions built from it that are derived from it)."""
    if direction not in ("upstream", "downstream"):
        raise ExplorerError(f"direction must be upstream or downstream, not {direction!r}")
    if version.table is not None and version.table.column(column) is None and column not in declared(version):
        known = ", ".join(c.name for c in version.table.columns[:20])
        raise ExplorerError(f"{version.asset} in run {version.run_id} has no column {column!r} (columns: {known})")
    found: list[ColumnEdge] = []
    seen = {(version.ident, column)}
    frontier = [(version, column)]
    consumers = _consumers(index) if direction == "downstream" else {}
    while frontier:
        nxt = []
        for v, col in frontier:
            if direction == "upstream":
                step = [e for e in edges_of(index, v) if e.column == col]
                for e in step:
                    found.append(e)
                    up = index.versions.get(e.source_ident) if e.source_ident else None
                    if up is not None and (up.ident, e.source_column) not in seen:
                        seen.add((up.ident, e.source_column))
                        nxt.append((up, e.source_column))
            else:
                for down in consumers.get(v.ident, ()):
                    for e in edges_of(index, down):
                        if e.source_ident == v.ident and e.source_column == col:
                            found.append(e)
                            if (down.ident, e.column) not in seen:
                                seen.add((down.ident, e.column))
                                nxt.append((down, e.column))
        frontier = nxt
    return ColumnLineage(version.asset, version.run_id, column, direction, tuple(found))


@dataclass(frozen=True)
class ColumnMap:
    """One step each way for every column of one version: the edges into it (where each column
    comes from) and the edges out of it (the columns of the versions built from it that are
    derived from its columns). ``columns``: the version's columns in schema order, then those
    only its declared lineage names."""

    asset: str
    run_id: str
    partition: str | None
    columns: tuple[str, ...]
    upstream: tuple[ColumnEdge, ...]
    downstream: tuple[ColumnEdge, ...]

    def sources_of(self, column: str) -> list[ColumnEdge]:
        return [e for e in self.upstream if e.column == column]

    def uses_of(self, column: str) -> list[ColumnEdge]:
        return [e for e in self.downstream if e.source_column == column]

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "run_id": self.run_id, "partition": self.partition, "columns": list(self.columns),
                "upstream": [e.to_dict() for e in self.upstream], "downstream": [e.to_dict() for e in self.downstream]}


def column_map(index: Index, version: AssetVersion) -> ColumnMap:
    """Where each column of ``version`` comes from and where it goes, one step each way."""
    up = edges_of(index, version)
    down = []
    for other in index.versions.values():
        if any(i.ident == version.ident for i in other.inputs):
            down.extend(e for e in edges_of(index, other) if e.source_ident == version.ident)
    columns = [c.name for c in version.table.columns] if version.table else []
    columns += [c for c in declared(version) if c not in columns]
    return ColumnMap(version.asset, version.run_id, version.partition, tuple(columns), tuple(up), tuple(down))


def _consumers(index: Index) -> dict[tuple[str, ...], list[AssetVersion]]:
    out: dict[tuple[str, str], list[AssetVersion]] = {}
    for v in index.versions.values():
        for i in v.inputs:
            out.setdefault(i.ident, []).append(v)
    return out


__all__ = ["ColumnEdge", "ColumnLineage", "ColumnMap", "column_map", "DECLARED", "INFERRED", "METADATA_KEY", "declared", "edges_of", "normalize", "trace"]
