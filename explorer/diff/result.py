"""Plain data of a diff: frozen dataclasses with ``to_dict()`` (the JSON output) and human lines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ..models import AssetVersion, iso


def jsonable(value: Any) -> Any:
    """A value as plain JSON data: NaN/inf as strings, times as ISO strings, bytes described."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item())
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


def short(value: Any, width: int = 40) -> str:
    """A value as a short display string."""
    text = "null" if value is None else str(jsonable(value))
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class TableDiff:
    """Schema, rows, per-column counts, samples and statistics of two table versions."""

    mode: str  # "keyed", "unkeyed" or "identical" (same bytes: nothing read)
    keys: tuple[str, ...]
    schema: dict[str, Any]  # {"added": [{column, type}], "removed": [...], "changed": [{column, from, to}]}
    rows: dict[str, Any]  # {"a", "b", "added", "removed", "changed", "unchanged"}
    columns_changed: dict[str, int]
    samples: dict[str, list]  # {"added": [row], "removed": [row], "changed": [{key, changes}]}
    stats: dict[str, dict[str, Any]]  # column -> {"a": {...}, "b": {...}} from the sidecars
    duplicates: dict[str, Any] | None = None  # keyed mode: repeated keys left out (and whether their rows match)
    compared_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def differs(self) -> bool:
        s, r = self.schema, self.rows
        return bool(
            s["added"] or s["removed"] or s["changed"]
            or r.get("added") or r.get("removed") or r.get("changed")
            or (self.duplicates and not self.duplicates.get("rows_equal"))
            or r.get("a") != r.get("b")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "keys": list(self.keys),
            "schema": self.schema,
            "rows": self.rows,
            "columns_changed": self.columns_changed,
            "samples": self.samples,
            "stats": self.stats,
            "duplicates": self.duplicates,
            "compared_columns": list(self.compared_columns),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class StructuredDiff:
    """Paths added, removed and changed between two JSON documents."""

    added: tuple[dict[str, Any], ...]  # {"path", "value"}
    removed: tuple[dict[str, Any], ...]
    changed: tuple[dict[str, Any], ...]  # {"path", "from", "to"}

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed), "changed": list(self.changed)}


@dataclass(frozen=True)
class ArrayDiff:
    """Shape, dtype and element differences of two arrays."""

    shape: dict[str, list[int]]  # {"a", "b"}
    dtype: dict[str, str]
    elements: int | None  # number of elements compared (None when shapes differ)
    differing: int | None  # elements that differ (None when shapes differ)
    max_abs_diff: float | None

    @property
    def differs(self) -> bool:
        return self.shape["a"] != self.shape["b"] or self.dtype["a"] != self.dtype["b"] or bool(self.differing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "dtype": self.dtype,
            "elements": self.elements,
            "differing": self.differing,
            "max_abs_diff": self.max_abs_diff,
        }


@dataclass(frozen=True)
class OpaqueDiff:
    """Pickles and bytes: compared by content hash and size, never read."""

    equal: bool
    size: dict[str, int]
    content_hash: dict[str, str]

    @property
    def differs(self) -> bool:
        return not self.equal

    def to_dict(self) -> dict[str, Any]:
        return {"equal": self.equal, "size": self.size, "content_hash": self.content_hash}


@dataclass(frozen=True)
class LineageStep:
    """One asset in the lineage explanation: how its A and B versions relate, and why."""

    asset: str
    a: str | None  # run id of the version on side A (None: not an input on that side)
    b: str | None
    status: str  # "same_version", "same_content", "differs", "input_added", "input_removed", "missing"
    changes: tuple[str, ...] = ()  # facts: "gained 350 rows", "added column x"
    causes: tuple[str, ...] = ()  # its own reasons: "code version v1.0 -> v1.1", "new input x"
    because: tuple[str, ...] = ()  # inputs whose versions differ in content
    depth: int = 0
    parent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "a": self.a,
            "b": self.b,
            "status": self.status,
            "changes": list(self.changes),
            "causes": list(self.causes),
            "because": list(self.because),
            "depth": self.depth,
            "parent": self.parent,
        }


def _version_facts(v: AssetVersion) -> dict[str, Any]:
    return {
        "run_id": v.run_id,
        "created_at": iso(v.created_at),
        "format": v.data_format,
        "size_bytes": v.size_bytes,
        "content_hash": v.content_hash,
        "code_version": v.code_version,
        "num_rows": v.table.num_rows if v.table else None,
    }


@dataclass(frozen=True)
class VersionDiff:
    """The difference between two versions of one asset."""

    asset: str
    version_a: AssetVersion
    version_b: AssetVersion
    kind: str  # "table", "json", "array", "opaque"
    same_content: bool
    identical_bytes: bool
    metadata: dict[str, dict[str, Any]]  # field -> {"from", "to"}
    lineage: tuple[LineageStep, ...]
    explanation: tuple[str, ...]
    table: TableDiff | None = None
    json: StructuredDiff | None = None
    array: ArrayDiff | None = None
    opaque: OpaqueDiff | None = None
    tolerance: float = 0.0

    @property
    def a(self) -> str:
        return self.version_a.run_id

    @property
    def b(self) -> str:
        return self.version_b.run_id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "asset": self.asset,
            "a": self.a,
            "b": self.b,
            "kind": self.kind,
            "same_content": self.same_content,
            "identical_bytes": self.identical_bytes,
            "versions": {"a": _version_facts(self.version_a), "b": _version_facts(self.version_b)},
            "tolerance": self.tolerance,
        }
        if self.table is not None:
            out.update(self.table.to_dict())
        if self.json is not None:
            out["json"] = self.json.to_dict()
        if self.array is not None:
            out["array"] = self.array.to_dict()
        if self.opaque is not None:
            out["opaque"] = self.opaque.to_dict()
        out["metadata"] = self.metadata
        out["lineage"] = [s.to_dict() for s in self.lineage]
        out["explanation"] = list(self.explanation)
        return out

    # ------------------------------------------------------------------ human lines
    def summary(self) -> list[str]:
        """Human-readable lines: what differs, then why."""
        va, vb = self.version_a, self.version_b
        lines = [f"{self.asset} ({self.kind}, {va.data_format}): {self.a} -> {self.b}"]
        if self.identical_bytes:
            lines.append(f"same content: identical bytes ({va.short_hash})")
        elif self.same_content:
            lines.append("same content (different bytes, no differences in the data)")
        else:
            lines.append("content differs")
        if self.table is not None:
            lines.extend(_table_lines(self.table, self.tolerance))
        if self.json is not None:
            j = self.json
            lines.append(f"json: {len(j.added)} paths added, {len(j.removed)} removed, {len(j.changed)} changed")
            for e in j.added:
                lines.append(f"  + {e['path']} = {short(e['value'])}")
            for e in j.removed:
                lines.append(f"  - {e['path']} = {short(e['value'])}")
            for e in j.changed:
                lines.append(f"  ~ {e['path']}: {short(e['from'])} -> {short(e['to'])}")
        if self.array is not None:
            r = self.array
            lines.append(f"shape {tuple(r.shape['a'])} -> {tuple(r.shape['b'])}, dtype {r.dtype['a']} -> {r.dtype['b']}")
            if r.differing is not None:
                lines.append(
                    f"{r.differing} of {r.elements} elements differ"
                    + (f", max abs difference {r.max_abs_diff:g}" if r.max_abs_diff is not None else "")
                )
        if self.opaque is not None:
            o = self.opaque
            lines.append(
                f"{'equal' if o.equal else 'different'} by content hash; size {o.size['a']} -> {o.size['b']} bytes"
                " (not unpickled or parsed)"
            )
        if self.metadata:
            lines.append("metadata:")
            for name, ch in self.metadata.items():
                lines.append(f"  {name}: {short(ch['from'])} -> {short(ch['to'])}")
        if self.explanation:
            lines.append("why:")
            lines.extend(f"  {line}" for line in self.explanation)
        return lines


def _table_lines(t: TableDiff, tolerance: float) -> list[str]:
    lines = []
    s = t.schema
    for c in s["added"]:
        lines.append(f"  + column {c['column']} ({c['type']})")
    for c in s["removed"]:
        lines.append(f"  - column {c['column']} ({c['type']})")
    for c in s["changed"]:
        lines.append(f"  ~ column {c['column']}: {c['from']} -> {c['to']}")
    r = t.rows
    if t.mode == "unkeyed":
        lines.append(
            f"rows {r['a']} -> {r['b']} (no key: whole rows compared as a multiset): "
            f"{r['removed']} only in A, {r['added']} only in B, {r['unchanged']} in both"
        )
    else:
        keyed = f" by key {', '.join(t.keys)}" if t.keys else ""
        lines.append(
            f"rows {r['a']} -> {r['b']}{keyed}: {r['added']} added, {r['removed']} removed, "
            f"{r['changed']} changed, {r['unchanged']} unchanged"
            + (f" (tolerance {tolerance:g})" if tolerance else "")
        )
    d = t.duplicates
    if d and d.get("keys"):
        lines.append(
            f"duplicate keys: {d['keys']} keys appear more than once ({d['rows_a']} rows in A, "
            f"{d['rows_b']} rows in B); they are left out of the counts above"
            + ("; their rows are the same on both sides" if d.get("rows_equal") else "; their rows differ")
        )
    if t.columns_changed:
        lines.append("changed values per column: " + ", ".join(f"{c} {n}" for c, n in t.columns_changed.items()))
    lines.extend(f"note: {n}" for n in t.notes)
    return lines
