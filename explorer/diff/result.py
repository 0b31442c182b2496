"""Plain data of a diff: frozen dataclasses with ``to_dict()`` (the JSON output) and human lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..humanize import counted
from ..models import AssetVersion, iso
from ..values import json_value


jsonable = json_value
"""A value as plain JSON data (:func:`explorer.values.json_value`: one representation for every output)."""


def short(value: Any, width: int = 40) -> str:
    """A value as a short display string."""
    text = "null" if value is None else str(jsonable(value))
    return text if len(text) <= width else text[: width - 1] + "…"


REDACTED = "***"
CUT = 200  # characters of a long string kept in the JSON samples (around the first difference)


def cut_text(text: str, width: int = CUT) -> str:
    """A long string cut to ``width`` characters, with a marker naming its full length."""
    if len(text) <= width:
        return text
    return f"{text[:width]}… ({len(text):,} characters)"


def first_difference(a: str, b: str) -> int:
    """The index of the first character where ``a`` and ``b`` differ (the shorter length if one
    is a prefix of the other)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def around(a: str, b: str, width: int = 40, before: int | None = None) -> tuple[str, str]:
    """Two differing strings as windows of about ``width`` characters starting a little before
    their first difference, with ``…`` where text was left out on either end: a change in the
    last character of a long value shows in both windows."""
    i = first_difference(a, b)
    if len(a) <= width and len(b) <= width:
        return a, b
    lead = max(1, width // 4) if before is None else before
    start = max(0, i - lead)

    def window(t: str) -> str:
        body = t[start:start + width - 2]
        return ("…" if start else "") + body + ("…" if start + width - 2 < len(t) else "")

    return window(a), window(b)


def inline_change(a: str, b: str, width: int = 40) -> str:
    """``…abc[d→e]f…``: the first difference of two strings in place, with context around it."""
    i = first_difference(a, b)
    # the differing runs: from i to the end of the shorter differing stretch (up to 10 characters)
    ja, jb = len(a), len(b)
    while ja > i and jb > i and a[ja - 1] == b[jb - 1]:
        ja, jb = ja - 1, jb - 1
    da, db = a[i:ja], b[i:jb]
    if len(da) > 10:
        da = da[:9] + "…"
    if len(db) > 10:
        db = db[:9] + "…"
    room = max(4, width - len(da) - len(db) - 3)
    left = a[max(0, i - room // 2):i]
    right = a[ja:ja + room - len(left)]
    return (("…" if i - len(left) > 0 else "") + left + f"[{da}→{db}]" + right
            + ("…" if ja + len(right) < len(a) else ""))


# --------------------------------------------------------------------------- table diffs


@dataclass(frozen=True)
class DiffOptions:
    """How two tables are compared (see docs/diff.md, "Options")."""

    keys: tuple[str, ...] = ()
    unkeyed: bool = False
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    abs_tol_columns: tuple[tuple[str, float], ...] = ()  # per column, overriding abs_tol
    rel_tol_columns: tuple[tuple[str, float], ...] = ()
    ignore_spaces: bool = False
    ignore_case: bool = False
    ignore_column_case: bool = False
    exclude: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # compare only these (and the keys); empty: every common column
    redact: tuple[str, ...] = ()
    limit: int = 10

    def tolerance(self, column: str) -> tuple[float, float]:
        """(absolute, relative) tolerance of one column."""
        fold = (lambda n: n.lower()) if self.ignore_column_case else (lambda n: n)
        abs_tol = dict((fold(c), v) for c, v in self.abs_tol_columns).get(fold(column), self.abs_tol)
        rel_tol = dict((fold(c), v) for c, v in self.rel_tol_columns).get(fold(column), self.rel_tol)
        return abs_tol, rel_tol

    @property
    def has_tolerance(self) -> bool:
        return bool(self.abs_tol or self.rel_tol or any(v for _, v in self.abs_tol_columns + self.rel_tol_columns))

    def to_dict(self) -> dict[str, Any]:
        return {
            "keys": list(self.keys), "unkeyed": self.unkeyed,
            "abs_tol": self.abs_tol, "rel_tol": self.rel_tol,
            "abs_tol_columns": dict(self.abs_tol_columns), "rel_tol_columns": dict(self.rel_tol_columns),
            "ignore_spaces": self.ignore_spaces, "ignore_case": self.ignore_case,
            "ignore_column_case": self.ignore_column_case, "exclude": list(self.exclude),
            "columns": list(self.columns), "redact": list(self.redact), "limit": self.limit,
        }


@dataclass(frozen=True)
class SchemaColumn:
    column: str
    type: str

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "type": self.type}


@dataclass(frozen=True)
class TypeChange:
    """A column whose type changed, and how its values were compared."""

    column: str
    a: str  # type in A
    b: str  # type in B
    compared_as: str | None = None  # how the values were compared, None: no exact cast
    values_equal: bool | None = None  # keyed: no matched row differs in this column (None: not compared)

    @property
    def exact(self) -> bool:
        return self.compared_as is not None

    def describe(self) -> str:
        if not self.exact:
            return "no exact cast: every row counted as changed"
        if self.values_equal:
            return f"type changed, values equal (compared {self.compared_as})"
        if self.values_equal is False:
            return f"values differ (compared {self.compared_as})"
        return f"compared {self.compared_as}"

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "from": self.a, "to": self.b, "compared_as": self.compared_as,
                "exact": self.exact, "values_equal": self.values_equal}


@dataclass(frozen=True)
class SchemaDiff:
    added: tuple[SchemaColumn, ...] = ()
    removed: tuple[SchemaColumn, ...] = ()
    changed: tuple[TypeChange, ...] = ()

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"added": [c.to_dict() for c in self.added], "removed": [c.to_dict() for c in self.removed],
                "changed": [c.to_dict() for c in self.changed]}


@dataclass(frozen=True)
class RowCounts:
    """Rows of A and B; by key: added, removed, changed, unchanged (``changed`` is None without a key:
    rows only in A are ``removed``, rows only in B ``added``, rows in both ``unchanged``)."""

    a: int | None
    b: int | None
    added: int = 0
    removed: int = 0
    changed: int | None = 0
    unchanged: int | None = 0

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "added": self.added, "removed": self.removed,
                "changed": self.changed, "unchanged": self.unchanged}


@dataclass(frozen=True)
class CellChange:
    """One changed cell: the values in A and B (long strings cut around their first difference)."""

    column: str
    a: Any
    b: Any
    length_a: int | None = None  # full lengths, set when a string was cut
    length_b: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.a, "to": self.b}
        if self.length_a is not None or self.length_b is not None:
            out["length"] = {"from": self.length_a, "to": self.length_b}
        return out


@dataclass(frozen=True)
class ChangedRow:
    key: dict[str, Any]
    changes: tuple[CellChange, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "changes": {c.column: c.to_dict() for c in self.changes}}


@dataclass(frozen=True)
class Samples:
    """Up to ``limit`` rows per class, in key order. Rows are ``{column: value}`` dicts."""

    added: tuple[dict[str, Any], ...] = ()
    removed: tuple[dict[str, Any], ...] = ()
    changed: tuple[ChangedRow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"added": list(self.added), "removed": list(self.removed), "changed": [c.to_dict() for c in self.changed]}


@dataclass(frozen=True)
class ColumnFacts:
    """Statistics of one column on one side, from its sidecar."""

    type: str
    null_count: int | None = None
    min: Any = None
    max: Any = None
    mean: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "null_count": self.null_count, "min": self.min, "max": self.max, "mean": self.mean}


@dataclass(frozen=True)
class ColumnStatsPair:
    a: ColumnFacts | None
    b: ColumnFacts | None

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.to_dict() if self.a else None, "b": self.b.to_dict() if self.b else None}


@dataclass(frozen=True)
class DuplicateKey:
    key: dict[str, Any]
    rows_a: int
    rows_b: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "rows_a": self.rows_a, "rows_b": self.rows_b}


@dataclass(frozen=True)
class Duplicates:
    """Keys that appear more than once on a side. Their rows are left out of the four counts and
    paired within each key by their full content (a multiset): ``matched`` rows are in both,
    ``only_a`` / ``only_b`` are the rows without a partner, shown in ``unmatched_a`` / ``unmatched_b``
    (each row once, with ``__count``: how many times it is unmatched)."""

    keys: int
    rows_a: int
    rows_b: int
    matched: int
    only_a: int
    only_b: int
    examples: tuple[DuplicateKey, ...] = ()
    unmatched_a: tuple[dict[str, Any], ...] = ()
    unmatched_b: tuple[dict[str, Any], ...] = ()

    @property
    def rows_equal(self) -> bool:
        return self.only_a == 0 and self.only_b == 0

    def to_dict(self) -> dict[str, Any]:
        return {"keys": self.keys, "rows_a": self.rows_a, "rows_b": self.rows_b, "rows_equal": self.rows_equal,
                "matched": self.matched, "only_a": self.only_a, "only_b": self.only_b,
                "examples": [e.to_dict() for e in self.examples],
                "unmatched_a": list(self.unmatched_a), "unmatched_b": list(self.unmatched_b)}


@dataclass(frozen=True)
class TableDiff:
    """Schema, rows, per-column counts, samples and statistics of two table versions."""

    mode: str  # "keyed", "unkeyed" or "identical" (same bytes: nothing read)
    keys: tuple[str, ...]
    schema: SchemaDiff
    rows: RowCounts
    columns_changed: dict[str, int]
    samples: Samples
    stats: dict[str, ColumnStatsPair]  # column -> A and B facts from the sidecars
    duplicates: Duplicates | None = None
    compared_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    options: DiffOptions = DiffOptions()

    @property
    def differs(self) -> bool:
        r = self.rows
        return bool(
            self.schema.differs or r.added or r.removed or r.changed
            or (self.duplicates and not self.duplicates.rows_equal)
            or r.a != r.b
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "keys": list(self.keys),
            "schema": self.schema.to_dict(),
            "rows": self.rows.to_dict(),
            "columns_changed": dict(self.columns_changed),
            "samples": self.samples.to_dict(),
            "stats": {c: s.to_dict() for c, s in self.stats.items()},
            "duplicates": self.duplicates.to_dict() if self.duplicates else None,
            "compared_columns": list(self.compared_columns),
            "notes": list(self.notes),
            "options": self.options.to_dict(),
        }


@dataclass(frozen=True)
class Pair:
    """One fact of version A and of version B (an array's shape, a file's size)."""

    a: Any
    b: Any

    @property
    def differs(self) -> bool:
        return self.a != self.b

    def to_dict(self) -> dict[str, Any]:
        return {"a": list(self.a) if isinstance(self.a, tuple) else self.a,
                "b": list(self.b) if isinstance(self.b, tuple) else self.b}


@dataclass(frozen=True)
class ValueChange:
    """A value that differs between A and B (``from``/``to`` in JSON)."""

    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.a, "to": self.b}


@dataclass(frozen=True)
class PathValue:
    """A JSON path present on one side only, with its value."""

    path: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "value": self.value}


@dataclass(frozen=True)
class PathChange:
    """A JSON path whose value differs."""

    path: str
    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "from": self.a, "to": self.b}


@dataclass(frozen=True)
class StructuredDiff:
    """Paths added, removed and changed between two JSON documents."""

    added: tuple[PathValue, ...]
    removed: tuple[PathValue, ...]
    changed: tuple[PathChange, ...]

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"added": [e.to_dict() for e in self.added], "removed": [e.to_dict() for e in self.removed],
                "changed": [e.to_dict() for e in self.changed]}


@dataclass(frozen=True)
class ArrayDiff:
    """Shape, dtype and element differences of two arrays."""

    shape: Pair  # tuples of ints
    dtype: Pair  # dtype names
    elements: int | None  # number of elements compared (None when shapes differ)
    differing: int | None  # elements that differ (None when shapes differ)
    max_abs_diff: float | None

    @property
    def differs(self) -> bool:
        return self.shape.differs or self.dtype.differs or bool(self.differing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape.to_dict(),
            "dtype": self.dtype.to_dict(),
            "elements": self.elements,
            "differing": self.differing,
            "max_abs_diff": self.max_abs_diff,
        }


@dataclass(frozen=True)
class OpaqueDiff:
    """Pickles and bytes: compared by content hash and size, never read."""

    equal: bool
    size: Pair
    content_hash: Pair

    @property
    def differs(self) -> bool:
        return not self.equal

    def to_dict(self) -> dict[str, Any]:
        return {"equal": self.equal, "size": self.size.to_dict(), "content_hash": self.content_hash.to_dict()}


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
    kind: str  # "table", "json", "array", "opaque", "external" (stored outside the store: metadata compared)
    same_content: bool
    identical_bytes: bool
    metadata: Mapping[str, ValueChange]  # field -> its change
    lineage: tuple[LineageStep, ...]
    explanation: tuple[str, ...]
    table: TableDiff | None = None
    json: StructuredDiff | None = None
    array: ArrayDiff | None = None
    opaque: OpaqueDiff | None = None
    tolerance: float = 0.0  # the global absolute tolerance (options.abs_tol)
    options: DiffOptions = DiffOptions()

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
            "options": self.options.to_dict(),
        }
        if self.table is not None:
            table = self.table.to_dict()
            table.pop("options")
            out.update(table)
        if self.json is not None:
            out["json"] = self.json.to_dict()
        if self.array is not None:
            out["array"] = self.array.to_dict()
        if self.opaque is not None:
            out["opaque"] = self.opaque.to_dict()
        out["metadata"] = {name: ch.to_dict() for name, ch in self.metadata.items()}
        out["lineage"] = [s.to_dict() for s in self.lineage]
        out["explanation"] = list(self.explanation)
        return out

    # ------------------------------------------------------------------ human lines
    def summary(self) -> list[str]:
        """Human-readable lines: what differs, then why."""
        va = self.version_a
        lines = [f"{self.asset} ({self.kind}, {va.data_format}): {self.a} -> {self.b}"]
        if self.kind == "external":
            lines.append("stored outside the store: the metadata Dagster recorded and the data version are compared")
            lines.append(f"data version {'unchanged' if self.identical_bytes else 'changed'}: "
                         f"{va.content_hash} -> {self.version_b.content_hash}")
            if self.json is not None and self.json.differs:
                lines.append("metadata differs")
        elif self.identical_bytes:
            lines.append(f"same content: identical bytes ({va.short_hash})")
        elif self.same_content:
            lines.append("same content (different bytes, no differences in the data)")
        else:
            lines.append("content differs")
        if self.table is not None:
            lines.extend(_table_lines(self.table))
        if self.json is not None:
            j = self.json
            lines.append(f"json: {len(j.added)} paths added, {len(j.removed)} removed, {len(j.changed)} changed")
            for e in j.added:
                lines.append(f"  + {e.path} = {short(e.value)}")
            for e in j.removed:
                lines.append(f"  - {e.path} = {short(e.value)}")
            for c in j.changed:
                lines.append(f"  ~ {c.path}: {short(c.a)} -> {short(c.b)}")
        if self.array is not None:
            r = self.array
            lines.append(f"shape {tuple(r.shape.a)} -> {tuple(r.shape.b)}, dtype {r.dtype.a} -> {r.dtype.b}")
            if r.differing is not None:
                lines.append(
                    f"{r.differing} of {r.elements} elements differ"
                    + (f", max abs difference {r.max_abs_diff:g}" if r.max_abs_diff is not None else "")
                )
        if self.opaque is not None:
            o = self.opaque
            lines.append(
                f"{'equal' if o.equal else 'different'} by content hash; size {o.size.a} -> {o.size.b} bytes"
                " (not unpickled or parsed)"
            )
        if self.metadata:
            lines.append("metadata:")
            for name, ch in self.metadata.items():
                lines.append(f"  {name}: {short(ch.a)} -> {short(ch.b)}")
        if self.explanation:
            lines.append("why:")
            lines.extend(f"  {line}" for line in self.explanation)
        return lines


def _tolerance_text(o: DiffOptions) -> str:
    parts = []
    if o.abs_tol:
        parts.append(f"abs {o.abs_tol:g}")
    if o.rel_tol:
        parts.append(f"rel {o.rel_tol:g}")
    parts += [f"{c} abs {v:g}" for c, v in o.abs_tol_columns] + [f"{c} rel {v:g}" for c, v in o.rel_tol_columns]
    return f" (tolerance {', '.join(parts)})" if parts else ""


def _table_lines(t: TableDiff) -> list[str]:
    lines = []
    s = t.schema
    for c in s.added:
        lines.append(f"  + column {c.column} ({c.type})")
    for c in s.removed:
        lines.append(f"  - column {c.column} ({c.type})")
    for c in s.changed:
        lines.append(f"  ~ column {c.column}: {c.a} -> {c.b}: {c.describe()}")
    r = t.rows
    if t.mode == "unkeyed":
        lines.append(
            f"rows {r.a} -> {r.b} (no key: whole rows compared as a multiset): "
            f"{r.removed} only in A, {r.added} only in B, {r.unchanged} in both"
        )
    else:
        keyed = f" by key {', '.join(t.keys)}" if t.keys else ""
        lines.append(
            f"rows {r.a} -> {r.b}{keyed}: {r.added} added, {r.removed} removed, "
            f"{r.changed} changed, {r.unchanged} unchanged" + _tolerance_text(t.options)
        )
    d = t.duplicates
    if d and d.keys:
        lines.append(
            f"duplicate keys: {counted(d.keys, 'key')} {'appears' if d.keys == 1 else 'appear'} more than once "
            f"({counted(d.rows_a, 'row')} in A, {counted(d.rows_b, 'row')} in B), left out of the counts above; "
            + ("their rows are the same on both sides" if d.rows_equal else
               f"paired by content: {d.matched} in both, {d.only_a} only in A, {d.only_b} only in B")
        )
    if t.columns_changed:
        lines.append("changed values per column: " + ", ".join(f"{c} {n}" for c, n in t.columns_changed.items()))
    lines.extend(f"note: {n}" for n in t.notes)
    return lines


