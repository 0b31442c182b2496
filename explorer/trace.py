"""Trace one decision back to the exact source rows it came from.

``trace(store, "scores", where={"application_id": 104711})`` selects the matching rows of
a table version, then walks that version's provenance (the exact upstream versions it
consumed, across runs). For every upstream **table** version it selects the rows of the
same entity; for every other version (a model, a config, an array, a pickle) it reports
the version's facts and, for JSON, its content. Pickles are never unpickled.

Row identity, per step (``matched_on`` and ``match_kind``):

* ``declared``: the upstream version declared key columns in its sidecar
  (``RunWriter.write(..., keys=[...])``) and the rows downstream carry them;
* ``same_name``: otherwise, columns of the same name on both sides; when the downstream
  rows come from a version with declared keys that the upstream also has, only those key
  columns; otherwise every shared column;
* a step with no shared column is kept, marked ``traceable=False`` ("not traceable by row"),
  with its facts.

Entity values propagate step by step: the rows found in a table step are what its own
inputs are matched against (``scores -> features -> raw/bureau``). Steps that cannot be
matched by row (objects, untraceable tables) pass on the values they received, so a
model's training table is still searched for the entity.

Reads are pushed down: the filter goes to the parquet reader as an Arrow expression, so
row groups whose statistics exclude the values are never read; CSV is streamed block by
block with the filter applied to each block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from . import formats
from .errors import ExplorerError
from .lineage import acyclic
from .models import AssetVersion, InputRef, iso
from .values import json_value
from .markdown import records_table
from .store import data

if TYPE_CHECKING:  # pragma: no cover
    from .store.source import Source



class TraceError(ExplorerError):
    """Bad trace request: unknown column, unparsable value, a root that is not a table."""


class NoMatchingRows(TraceError):
    """The ``where`` condition selects no row of the asked-about version."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TraceRoot:
    """The decision: the selected rows of the asked-about version."""

    asset: str
    run_id: str
    content_hash: str
    where: dict[str, list[Any]]
    rows: tuple[dict[str, Any], ...]
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "run_id": self.run_id,
            "content_hash": self.content_hash,
            "where": {k: [json_value(v) for v in vals] for k, vals in self.where.items()},
            "rows": [dict(r) for r in self.rows],
            "facts": self.facts,
        }


@dataclass(frozen=True)
class TraceStep:
    """One upstream version on the way from the decision to the sources."""

    asset: str
    run_id: str
    content_hash: str | None
    kind: str  # "table", "object" or "missing" (consumed, no longer in the store)
    consumers: tuple[InputRef, ...]  # the downstream versions (in this trace) that read it
    matched_on: tuple[str, ...] = ()
    match_kind: str | None = None  # "declared", "same_name" or None
    traceable: bool = False
    rows: tuple[dict[str, Any], ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "run_id": self.run_id,
            "content_hash": self.content_hash,
            "kind": self.kind,
            "consumers": [{"asset": c.asset, "run_id": c.run_id} for c in self.consumers],
            "traceable": self.traceable,
            "matched_on": list(self.matched_on),
            "match_kind": self.match_kind,
            "rows": [dict(r) for r in self.rows],
            "facts": self.facts,
            "note": self.note,
        }


@dataclass(frozen=True)
class TraceResult:
    """The audit trail of one decision, from the decision to its sources, in order."""

    root: TraceRoot
    steps: tuple[TraceStep, ...]

    def step(self, asset: str, run_id: str | None = None) -> TraceStep:
        for s in self.steps:
            if s.asset == asset and (run_id is None or s.run_id == run_id):
                return s
        raise KeyError(asset)

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root.to_dict(), "steps": [s.to_dict() for s in self.steps]}


# --------------------------------------------------------------------------- values


def _rows(table: pa.Table) -> tuple[dict[str, Any], ...]:
    return tuple({k: json_value(v) for k, v in r.items()} for r in table.to_pylist())


def _type_kind(type_name: str) -> str:
    t = type_name.strip().lower()
    if t.startswith("dictionary<values="):
        t = t[len("dictionary<values=") :]
    if t.startswith(("int", "uint")):
        return "int"
    if t.startswith(("double", "float", "halffloat")):
        return "float"
    if t.startswith("bool"):
        return "bool"
    if t.startswith("timestamp"):
        return "timestamp"
    if t.startswith("date"):
        return "date"
    if t.startswith("decimal"):
        return "decimal"
    if t.startswith(("string", "large_string", "string_view", "utf8", "large_utf8")):
        return "string"
    return "other"


def parse_value(raw: Any, type_name: str, column: str) -> Any:
    """A ``--where`` value (usually a string) parsed to the column's type from the sidecar schema."""
    if not isinstance(raw, str):
        return raw
    kind = _type_kind(type_name)
    text = raw.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            low = text.lower()
            if low in ("true", "1", "yes", "t"):
                return True
            if low in ("false", "0", "no", "f"):
                return False
            raise ValueError(text)
        if kind == "timestamp":
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
            tz_aware = "tz=" in type_name
            if tz_aware and ts.tzinfo is None:
                ts = ts.replace(tzinfo=timezone.utc)
            if not tz_aware and ts.tzinfo is not None:
                ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
            return ts
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "decimal":
            return Decimal(text)
    except (ValueError, InvalidOperation):
        raise TraceError(f"{column} is {type_name}: cannot read {raw!r} as one") from None
    return raw


def _is_null(value: Any) -> bool:
    """None, NaN, pandas' NA/NaT: a missing value in a row handed over from a preview."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover
        return False


def _value_array(values: Iterable[Any], typ: pa.DataType) -> pa.Array | None:
    """The values as an array of the column's type; None when they cannot be compared."""
    values = [v for v in values if v is not None]
    target = typ.value_type if pa.types.is_dictionary(typ) else typ
    try:
        arr = pa.array(values)
        if arr.type != target:
            arr = arr.cast(target)
        return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        try:
            return pa.array(values, type=target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError):
            return None


def _orderable(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_temporal(t) or pa.types.is_string(t) or pa.types.is_large_string(t))


def _column_filter(column: str, arr: pa.Array) -> ds.Expression:
    """``column`` equal to one of ``arr``, written so that the parquet reader skips row groups
    whose statistics exclude every value: one value is an equality; several are an ``isin``
    (Arrow prunes with it only up to about 50 values) behind a min/max range guard (which
    prunes for any number of values when they are clustered, as ids usually are)."""
    f = ds.field(column)
    if len(arr) == 1:
        return f == arr[0]
    expr = f.isin(arr)
    if _orderable(arr.type):
        mm = pc.min_max(arr)
        expr = (f >= mm["min"]) & (f <= mm["max"]) & expr
    return expr


# --------------------------------------------------------------------------- walk


@dataclass
class _Context:
    """What is known about the entity when arriving at a version from downstream."""

    tables: list[pa.Table] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)  # declared keys of the versions the rows came from

    @property
    def columns(self) -> set[str]:
        return {c for t in self.tables for c in t.column_names}

    def merge(self, other: "_Context") -> None:
        for t in other.tables:
            if not any(t is mine for mine in self.tables):
                self.tables.append(t)
        self.keys |= other.keys

    def tuples(self, columns: list[str]) -> pa.Table:
        """Distinct value combinations of ``columns`` over the known rows (nulls dropped)."""
        parts = []
        for t in self.tables:
            if all(c in t.column_names for c in columns) and t.num_rows:
                parts.append(t.select(columns))
        if not parts:
            return pa.table({c: pa.array([], pa.null()) for c in columns})
        # the same column can differ in type between versions: unify on the first one
        first = parts[0].schema
        unified = []
        for p in parts:
            try:
                unified.append(p.cast(first))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                continue
        table = pa.concat_tables(unified)
        mask = None
        for c in columns:
            valid = pc.is_valid(table[c])
            mask = valid if mask is None else pc.and_(mask, valid)
        table = table.filter(mask)
        return table.group_by(columns).aggregate([]).select(columns)


def _choose_match(columns: list[str], declared: tuple[str, ...], ctx: _Context) -> tuple[list[str], str | None]:
    known = ctx.columns
    if declared and all(k in known for k in declared):
        return list(declared), "declared"
    shared = [c for c in columns if c in known]
    if not shared:
        return [], None
    keyed = [c for c in shared if c in ctx.keys]
    return (keyed or shared), "same_name"


def _version_facts(store: "Source", v: AssetVersion) -> dict[str, Any]:
    run = store.index.runs.get(v.run_id)
    facts: dict[str, Any] = {
        "run_id": v.run_id,
        "job": run.job if run else None,
        "run_status": run.status if run else None,
        "run_started_at": iso(run.started_at) if run else None,
        "created_at": iso(v.created_at),
        "content_hash": v.content_hash,
        "code_version": v.code_version,
        "format": v.data_format,
        "data_path": v.data_path,
        "size_bytes": v.size_bytes,
        "metadata": v.metadata,
        "keys": list(v.keys),
    }
    if v.table is not None:
        facts["num_rows"] = v.table.num_rows
    return facts


def _object_facts(store: "Source", v: AssetVersion, facts: dict[str, Any]) -> str | None:
    """Add what can be said of a non-table version without running code (its format's
    ``facts``: a JSON value, an array's shape and dtype); returns a note."""
    more, note = data.facts(store.data_fs, store.root, v)
    facts.update(more)
    return note


def _where_expression(v: AssetVersion, schema: pa.Schema, where: Mapping[str, Any]) -> tuple[ds.Expression, dict[str, list[Any]]]:
    sidecar_types = v.table.schema if v.table is not None else {}
    expr = None
    parsed: dict[str, list[Any]] = {}
    for col, raw in where.items():
        if col not in schema.names:
            raise TraceError(
                f"{v.asset} in run {v.run_id} has no column {col!r} (columns: {', '.join(schema.names)})"
            )
        type_name = sidecar_types.get(col) or str(schema.field(col).type)
        raws = list(raw) if isinstance(raw, (list, tuple, set, frozenset)) else [raw]
        if not raws:
            raise TraceError(f"no value given for {col!r}")
        values = [None if _is_null(r) else parse_value(r, type_name, col) for r in raws]
        present = [x for x in values if x is not None]
        cond = None
        if present:
            arr = _value_array(present, schema.field(col).type)
            if arr is None:
                raise TraceError(f"{col} is {type_name}: cannot compare it with {raws!r}")
            cond = _column_filter(col, arr)
        if len(present) < len(values):  # None / NaN select the rows where the column is null
            cond = ds.field(col).is_null() if cond is None else cond | ds.field(col).is_null()
        parsed[col] = values
        expr = cond if expr is None else expr & cond
    if expr is None:
        raise TraceError("trace needs at least one condition (--where COLUMN=VALUE)")
    return expr, parsed


def _describe_where(where: Mapping[str, list[Any]]) -> str:
    parts = []
    for col, vals in where.items():
        parts.append(f"{col}=" + "|".join(str(json_value(v)) for v in vals))
    return " and ".join(parts)


def _select_matching(store: "Source", v: AssetVersion, columns: list[str], ctx: _Context) -> tuple[pa.Table | None, str | None]:
    """Rows of ``v`` whose ``columns`` equal a combination known from downstream."""
    schema = data.table_schema(store.data_fs, store.root, v)
    absent = [c for c in columns if c not in schema.names]
    if absent:
        return None, f"the sidecar lists {', '.join(absent)} but the data has no such column"
    wanted = ctx.tuples(columns)
    if wanted.num_rows == 0:
        return schema.empty_table(), "no values of " + ", ".join(columns) + " known from downstream rows"
    expr = None
    for c in columns:
        arr = _value_array(pc.unique(wanted[c]).to_pylist(), schema.field(c).type)
        if arr is None:
            return schema.empty_table(), f"values of {c} cannot be compared with its type here ({schema.field(c).type})"
        cond = _column_filter(c, arr)
        expr = cond if expr is None else expr & cond
    table = data.read_matching(store.data_fs, store.root, v, expr, columns)
    if len(columns) > 1 and table.num_rows:
        # the per-column filters over-select across combinations: keep exact combinations only
        try:
            exact = wanted.cast(table.select(columns).schema)
            table = table.join(exact, keys=columns, join_type="left semi")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            combos = {tuple(r[c] for c in columns) for r in wanted.to_pylist()}
            keep = [tuple(r[c] for c in columns) in combos for r in table.select(columns).to_pylist()]
            table = table.filter(pa.array(keep, pa.bool_()))
    return table, None


def _order(prov) -> list[InputRef]:
    """Versions from the decision to the sources, each after every version that read it;
    ties broken by asset key and run id, so the same store always gives the same trail. A cycle
    (a hostile store) is cut at the edge leading back towards the decision: each version once."""
    import networkx as nx

    def key(r: InputRef) -> tuple[str, str]:
        return (r.asset, r.run_id)

    g = nx.DiGraph()
    g.add_nodes_from(prov.versions)
    g.add_edges_from((b, a) for a, b in prov.edges)  # consumer -> input
    dag, _ = acyclic(g, [prov.root], key=key)
    return list(nx.lexicographical_topological_sort(dag, key=key))


def trace(store: "Source", key: str, run: str | None = None, where: Mapping[str, Any] | None = None) -> TraceResult:
    """Trace the rows of ``key`` (in ``run``, the latest when None) selected by ``where``
    back through the exact upstream versions they were built from."""
    root_v = store.version(key, run)
    if not formats.is_table(root_v.data_format):
        raise TraceError(f"{key} is {root_v.data_format}, not a table: a trace starts from rows of a table")
    schema = data.table_schema(store.data_fs, store.root, root_v)
    expr, parsed = _where_expression(root_v, schema, dict(where or {}))
    root_table = data.read_matching(store.data_fs, store.root, root_v, expr, list(parsed))
    if root_table.num_rows == 0:
        raise NoMatchingRows(f"no row of {key} in run {root_v.run_id} has {_describe_where(parsed)}")

    root = TraceRoot(
        asset=root_v.asset,
        run_id=root_v.run_id,
        content_hash=root_v.content_hash,
        where=parsed,
        rows=_rows(root_table),
        facts=_version_facts(store, root_v),
    )

    prov = store.provenance(root_v.asset, root_v.run_id)
    missing = set(prov.missing)
    outgoing: dict[InputRef, _Context] = {prov.root: _Context([root_table], set(root_v.keys))}
    readers: dict[InputRef, list[InputRef]] = {}
    for a, b in prov.edges:  # one pass, not one scan of every edge per version
        readers.setdefault(a, []).append(b)
    steps = []
    for ref in _order(prov):
        if ref == prov.root:
            continue
        consumers = tuple(sorted(readers.get(ref, ()), key=lambda r: (r.asset, r.run_id, r.partition or "")))
        ctx = _Context()
        for c in consumers:
            if c in outgoing:
                ctx.merge(outgoing[c])
        v = store.index.versions.get(ref.ident)
        if v is None or ref in missing:
            steps.append(
                TraceStep(ref.asset, ref.run_id, ref.content_hash, "missing", consumers,
                          facts={"run_id": ref.run_id, "content_hash": ref.content_hash},
                          note="this version was consumed but is no longer in the store")
            )
            outgoing[ref] = ctx
            continue
        facts = _version_facts(store, v)
        if not formats.is_table(v.data_format):
            note = _object_facts(store, v, facts)
            steps.append(TraceStep(v.asset, v.run_id, v.content_hash, "object", consumers, facts=facts, note=note))
            outgoing[ref] = ctx  # an object passes on what is known of the entity
            continue
        columns = [c.name for c in v.table.columns] if v.table is not None else list(
            data.table_schema(store.data_fs, store.root, v).names
        )
        matched, kind = _choose_match(columns, v.keys, ctx)
        if not matched:
            known = sorted(ctx.columns)
            why = (
                f"not traceable by row: no column shared with the rows downstream ({', '.join(known)})"
                if known
                else "not traceable by row: no rows of the entity are known downstream"
            )
            steps.append(TraceStep(v.asset, v.run_id, v.content_hash, "table", consumers, facts=facts, note=why))
            outgoing[ref] = ctx
            continue
        try:
            table, note = _select_matching(store, v, matched, ctx)
        except ExplorerError as exc:
            table, note = None, str(exc)
        if table is None:  # the data could not be read: say so, keep the step and go on
            steps.append(TraceStep(v.asset, v.run_id, v.content_hash, "table", consumers, tuple(matched), kind,
                                   False, facts=facts, note=note))
            outgoing[ref] = ctx
            continue
        steps.append(
            TraceStep(v.asset, v.run_id, v.content_hash, "table", consumers, tuple(matched), kind, True,
                      rows=_rows(table), facts=facts, note=note)
        )
        outgoing[ref] = _Context([table], set(v.keys))
    return TraceResult(root, tuple(steps))


# --------------------------------------------------------------------------- markdown


def _run_line(facts: Mapping[str, Any]) -> str:
    bits = [f"`{facts.get('run_id')}`"]
    detail = []
    if facts.get("job"):
        detail.append(f"job {facts['job']}")
    if facts.get("run_status"):
        detail.append(f"status {facts['run_status']}")
    if facts.get("run_started_at"):
        detail.append(f"started {facts['run_started_at']}")
    if detail:
        bits.append("(" + ", ".join(detail) + ")")
    return " ".join(bits)


def render_markdown(result: TraceResult, store_url: str | None = None) -> str:
    """The trace as a report fit for an audit file."""
    import json

    root = result.root
    where = _describe_where(root.where)
    out = [f"# Trace of {root.asset} where {where}", ""]
    if store_url:
        out.append(f"- Store: `{store_url}`")
    out += [
        f"- Decision: `{root.asset}` in run `{root.run_id}` ({len(root.rows)} row{'s' if len(root.rows) != 1 else ''})",
        f"- Run: {_run_line(root.facts)}",
        f"- Data: `{root.facts.get('data_path')}`",
        f"- Content hash: `{root.content_hash}`",
        f"- Code version: `{root.facts.get('code_version')}`",
        f"- Upstream versions: {len(result.steps)}",
        "",
        "## Decision",
        "",
        records_table(root.rows),
        "",
    ]
    for n, s in enumerate(result.steps, 1):
        out.append(f"## {n}. {s.asset} (run {s.run_id})")
        out.append("")
        out.append(f"- Kind: {s.kind}")
        if s.facts.get("job") is not None or s.facts.get("run_status") is not None:
            out.append(f"- Run: {_run_line(s.facts)}")
        if s.facts.get("data_path"):
            rows_in = s.facts.get("num_rows")
            out.append(f"- Data: `{s.facts['data_path']}`" + (f" ({rows_in} rows)" if rows_in is not None else ""))
        out.append(f"- Content hash: `{s.content_hash}`")
        if s.consumers:
            out.append("- Read by: " + ", ".join(f"`{c.asset}` (run `{c.run_id}`)" for c in s.consumers))
        if s.facts.get("code_version") is not None:
            out.append(f"- Code version: `{s.facts['code_version']}`")
        if s.facts.get("created_at"):
            out.append(f"- Created: {s.facts['created_at']}")
        if s.facts.get("metadata"):
            out.append(f"- Metadata: `{json.dumps(s.facts['metadata'], sort_keys=True, default=str)}`")
        if s.kind == "table":
            if s.traceable:
                out.append(f"- Matched on: {', '.join(f'`{c}`' for c in s.matched_on)} ({s.match_kind.replace('_', ' ')})")
                out.append(f"- Rows: {len(s.rows)}")
            elif not s.matched_on:
                out.append("- **Not traceable by row**")
            else:
                out.append(f"- Matched on: {', '.join(f'`{c}`' for c in s.matched_on)}: **rows could not be read**")
        if s.note:
            out.append(f"- Note: {s.note}")
        out.append("")
        if s.kind == "table" and s.traceable:
            out += [records_table(s.rows), ""]
        if "content" in s.facts:
            out += ["```json", json.dumps(s.facts["content"], indent=1, sort_keys=True, default=str), "```", ""]
        if "array" in s.facts:
            a = s.facts["array"]
            out += [f"Array of shape {tuple(a['shape'])}, dtype {a['dtype']}.", ""]
    return "\n".join(out).rstrip() + "\n"
