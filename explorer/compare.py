"""Runs side by side: a grid of runs x facts (``compare``) and the difference between two whole
runs (``diff_runs``), as ``dvc exp show`` and MLflow's compare view give them.

Both are pure functions over the index. The facts of the grid come from the sidecars (content
hash, row count, metadata values); a JSON metric path (``metrics/evaluation:auc``) needs the
version's data, read through the ``load`` callable the caller passes (one read per run and
metric asset, nothing else). Nothing here prints: the CLI and the app render the results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .errors import ExplorerError
from .models import AssetVersion, Run

DEFAULT_RUNS = 10
"""Runs compared when none are named: the newest."""
MISSING = None  # a cell with no value: the asset is not in that run, or has no such fact

# the kinds of a run diff's entries, in the order they are listed
CHANGED, EQUAL, ONLY_A, ONLY_B = "changed", "equal", "only_a", "only_b"
KINDS = (CHANGED, ONLY_A, ONLY_B, EQUAL)
KIND_TEXT = {CHANGED: "changed content", EQUAL: "same content", ONLY_A: "only in A", ONLY_B: "only in B"}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def json_path(value: Any, path: str) -> Any:
    """``value`` at a dotted ``path`` (``coefficients.income``, ``folds.0.auc``); a key that
    holds dots is found whole first. ``MISSING`` when the path is not there."""
    if isinstance(value, dict) and path in value:
        return value[path]
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def parse_metric(text: str, assets: Iterable[str]) -> tuple[str, str]:
    """``"metrics/evaluation:auc"`` -> ``("metrics/evaluation", "auc")``; the asset must exist."""
    asset, sep, path = text.rpartition(":")
    if not sep or not asset or not path:
        raise ExplorerError(f"a metric is ASSET:PATH (e.g. metrics/evaluation:auc), not {text!r}")
    if asset not in set(assets):
        from .names import unknown_asset

        raise unknown_asset(asset, assets)
    return asset, path


# --------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class GridRow:
    """One fact across the compared runs: ``values[i]`` belongs to ``RunGrid.runs[i]``."""

    asset: str
    fact: str  # "hash", "rows", "metadata.KEY" or a JSON path
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.asset}:{self.fact}"

    @property
    def changed(self) -> bool:
        """Two of the runs that have the fact hold different values (a run without the asset,
        or without that fact, changes nothing: it shows ``-``)."""
        return len({repr(v) for v in self.values if v is not MISSING}) > 1

    @property
    def missing(self) -> int:
        """How many of the runs have no value for the fact."""
        return sum(v is MISSING for v in self.values)

    def to_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "fact": self.fact, "values": list(self.values), "changed": self.changed}


@dataclass(frozen=True)
class RunGrid:
    runs: tuple[Run, ...]
    rows: tuple[GridRow, ...]

    def changed(self) -> "RunGrid":
        return RunGrid(self.runs, tuple(r for r in self.rows if r.changed))

    def row(self, name: str) -> GridRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def sorted_by(self, name: str, descending: bool = False) -> "RunGrid":
        """The runs reordered by the values of one fact (runs without it last)."""
        try:
            row = self.row(name)
        except KeyError:
            raise ExplorerError(f"nothing to sort by: no fact {name!r} in the grid") from None

        values = row.values
        present = sorted((i for i in range(len(values)) if values[i] is not MISSING), key=lambda i: _sortable(values[i]))
        if descending:
            present.reverse()
        order = present + [i for i in range(len(values)) if values[i] is MISSING]
        return RunGrid(tuple(self.runs[i] for i in order),
                       tuple(GridRow(r.asset, r.fact, tuple(r.values[i] for i in order)) for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        return {"runs": [r.run_id for r in self.runs], "rows": [r.to_dict() for r in self.rows]}

    def to_frame(self):
        """A DataFrame with one row per run (index ``run_id``) and one column per fact."""
        import pandas as pd

        data = {r.name: list(r.values) for r in self.rows}
        return pd.DataFrame(data, index=pd.Index([r.run_id for r in self.runs], name="run_id"))

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def _sortable(v: Any) -> tuple[int, Any]:
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, (int, float)):
        return (0, v)
    return (1, str(v))


def compare(
    index,
    runs: Sequence[Run],
    assets: Sequence[str] | None = None,
    metrics: Sequence[tuple[str, str]] = (),
    load: Callable[[AssetVersion], Any] | None = None,
) -> RunGrid:
    """The grid of ``runs`` x facts: for each asset (those given, or every asset any of the runs
    wrote) its content hash, its row count when a table, and each scalar metadata value; then
    each metric ``(asset, json_path)`` read through ``load``. Runs keep the order given."""
    versions = [{v.asset: v for v in index.run_versions(r.run_id)} for r in runs]
    chosen = list(dict.fromkeys(assets)) if assets else sorted({a for vs in versions for a in vs})
    rows: list[GridRow] = []
    for asset in chosen:
        mine = [vs.get(asset) for vs in versions]
        rows.append(GridRow(asset, "hash", tuple(v.content_hash if v else MISSING for v in mine)))
        if any(v is not None and v.table is not None for v in mine):
            rows.append(GridRow(asset, "rows", tuple(v.table.num_rows if v and v.table else MISSING for v in mine)))
        keys = dict.fromkeys(k for v in mine if v for k, val in v.metadata.items() if _scalar(val))
        for k in keys:
            rows.append(GridRow(asset, f"metadata.{k}", tuple(v.metadata.get(k) if v else MISSING for v in mine)))
    for asset, path in metrics:
        if load is None:
            raise ExplorerError("metrics need the data: pass load=")
        values = []
        for vs in versions:
            v = vs.get(asset)
            value = json_path(load(v), path) if v is not None else MISSING
            values.append(value if _scalar(value) else repr(value))
        rows.append(GridRow(asset, path, tuple(values)))
    return RunGrid(tuple(runs), tuple(rows))


# --------------------------------------------------------------------------- two whole runs
@dataclass(frozen=True)
class Change:
    """One field that moved between two versions: a metadata key, or a column's type."""

    name: str
    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class AssetDelta:
    asset: str
    kind: str  # CHANGED, EQUAL, ONLY_A, ONLY_B
    a: AssetVersion | None
    b: AssetVersion | None
    metadata: tuple[Change, ...] = ()
    schema: tuple[Change, ...] = ()  # a column's type: None where the column is absent
    rows: tuple[int | None, int | None] = (None, None)
    table_diff: Any = None  # the table diff's summary, when asked for

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "asset": self.asset,
            "kind": self.kind,
            "a": {"run_id": self.a.run_id, "content_hash": self.a.content_hash} if self.a else None,
            "b": {"run_id": self.b.run_id, "content_hash": self.b.content_hash} if self.b else None,
            "rows": {"a": self.rows[0], "b": self.rows[1]},
            "metadata": [c.to_dict() for c in self.metadata],
            "schema": [c.to_dict() for c in self.schema],
        }
        if self.table_diff is not None:
            d["table_diff"] = self.table_diff
        return d


@dataclass(frozen=True)
class RunsDiff:
    a: Run
    b: Run
    assets: tuple[AssetDelta, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in KINDS}
        for d in self.assets:
            out[d.kind] += 1
        return out

    @property
    def differs(self) -> bool:
        """Some asset's content, presence, metadata or schema differs between the runs."""
        return any(d.kind != EQUAL or d.metadata or d.schema for d in self.assets)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.run_id, "b": self.b.run_id, "counts": self.counts(),
                "assets": [d.to_dict() for d in self.assets]}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            [{"asset": d.asset, "kind": d.kind, "a_hash": d.a.content_hash if d.a else None,
              "b_hash": d.b.content_hash if d.b else None, "a_rows": d.rows[0], "b_rows": d.rows[1],
              "metadata_changes": len(d.metadata), "schema_changes": len(d.schema)} for d in self.assets],
            columns=["asset", "kind", "a_hash", "b_hash", "a_rows", "b_rows", "metadata_changes", "schema_changes"],
        )

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def _metadata_changes(a: AssetVersion, b: AssetVersion) -> tuple[Change, ...]:
    keys = dict.fromkeys([*a.metadata, *b.metadata])
    return tuple(Change(k, a.metadata.get(k), b.metadata.get(k)) for k in keys
                 if (k in a.metadata) != (k in b.metadata) or repr(a.metadata.get(k)) != repr(b.metadata.get(k)))


def _schema_changes(a: AssetVersion, b: AssetVersion) -> tuple[Change, ...]:
    if a.table is None and b.table is None:
        return ()
    ta = a.table.schema if a.table else {}
    tb = b.table.schema if b.table else {}
    cols = dict.fromkeys([*ta, *tb])
    return tuple(Change(c, ta.get(c), tb.get(c)) for c in cols if ta.get(c) != tb.get(c))


def diff_runs(index, a: Run, b: Run, tables: Callable[[AssetVersion, AssetVersion], Any] | None = None) -> RunsDiff:
    """Every asset either run wrote: ``changed`` (content hashes differ), ``equal`` (byte-identical
    content), ``only_a`` / ``only_b``; with each pair's metadata and schema changes and row
    counts. ``tables(va, vb)``, when given, is called for each changed pair of tables and its
    result kept as ``table_diff`` (the CLI passes the table diff's summary)."""
    va = {v.asset: v for v in index.run_versions(a.run_id)}
    vb = {v.asset: v for v in index.run_versions(b.run_id)}
    out = []
    for asset in sorted(va.keys() | vb.keys()):
        x, y = va.get(asset), vb.get(asset)
        rows = (x.table.num_rows if x is not None and x.table else None, y.table.num_rows if y is not None and y.table else None)
        if x is None or y is None:
            out.append(AssetDelta(asset, ONLY_B if x is None else ONLY_A, x, y, rows=rows))
            continue
        kind = EQUAL if x.content_hash == y.content_hash else CHANGED
        td = tables(x, y) if tables is not None and kind == CHANGED and x.table and y.table else None
        out.append(AssetDelta(asset, kind, x, y, _metadata_changes(x, y), _schema_changes(x, y), rows, td))
    order = {k: i for i, k in enumerate(KINDS)}
    out.sort(key=lambda d: (order[d.kind], d.asset))
    return RunsDiff(a, b, tuple(out))
