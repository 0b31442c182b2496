"""Table diffs in DuckDB, reading the parquet / csv files in place.

Keyed diff (bounded memory), in named steps:

1. ``_classify``: one full outer join of the two sides classifies every key: added, removed,
   candidate or unchanged; only the non-unchanged keys are kept. A narrow table
   (``CARRIED_COLUMNS``) joins each side's keys and columns in scope: grouped, the join keeps the
   rows of the candidates (a value not exactly equal) with both sides' values and counts the
   others, and those counts (each side's rows counted once, one row per kept key) prove the keys
   unique; the kept rows are then ``ra`` / ``rb``, and no file is read again. A wider one joins
   ``(key, hash(compared columns))`` (candidates: hashes differ), whose totals (window counts)
   prove the keys unique. If they are not, ``_classify_repeated`` groups each side to
   ``key, count(*), hash`` instead, so that repeated keys are set apart, never counted twice;
2. ``_fetch`` (unless step 1 kept the rows): per side, a second scan keeps the full rows of the
   candidate keys (and of the sample keys and the repeated keys);
3. ``_compare``: the cell-by-cell comparison (tolerances, nulls equal nulls, NaN equals NaN)
   runs only on those, all columns in one query;
4. ``_changed_samples`` / ``_row_samples`` / ``_repeated``: samples, and the rows of repeated
   keys paired by their full content.

Values are compared through a *canonical form* per column and side (``Comparison``): a list of
SQL expressions that are equal (``IS NOT DISTINCT FROM``) exactly when the values are equal under
the rules of docs/diff.md (exact casts between types, spaces and case ignored on request). Every
internal name is generated against the schema (``_Names``), so no user column can collide with it.

A change is missed only if two different rows' 64-bit hashes collide (a wide table, or repeated keys).

Unkeyed diff: both sides grouped by the canonical form of the whole row and joined null-safely,
which counts multiplicity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Callable, Sequence

import duckdb

from .. import sql as sqlsrc
from ..errors import ExplorerError, message_line
from ..formats.base import quote_ident, quote_literal
from ..models import AssetVersion, ColumnStats
from .result import (
    CUT,
    REDACTED,
    CellChange,
    ChangedRow,
    ColumnFacts,
    ColumnStatsPair,
    DiffOptions,
    DuplicateKey,
    Duplicates,
    RowCounts,
    Samples,
    SchemaColumn,
    SchemaDiff,
    TableDiff,
    TypeChange,
    around,
    cut_text,
    jsonable,
)

_INT_DIGITS = {
    "TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39,
    "UTINYINT": 3, "USMALLINT": 5, "UINTEGER": 10, "UBIGINT": 20, "UHUGEINT": 39,
}
_FLOATS = {"FLOAT", "DOUBLE", "REAL"}
_NAIVE = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_ZONED = "TIMESTAMP WITH TIME ZONE"
_ZONED_NS = "TIMESTAMPTZ_NS"
_NULL = '"NULL"'  # DuckDB's type of a column of nulls (Arrow's null type)
# text read as a number or a bool only when it is written as one (DuckDB's cast alone would also
# read ' 2', '0x10', '1_000' or 'yes'): the patterns a text must match in full
_TEXT_PATTERN = {
    "int": r"[+-]?[0-9]+",
    "decimal": r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?",
    "float": r"[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:nan|inf|infinity))",
    "bool": r"(?i:true|false)",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_SPACES = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


q = quote_ident  # a quoted SQL identifier (the one quoting, explorer.formats.base)
lit = quote_literal  # a SQL string literal


def _family(t: str) -> str:
    t = t.upper()
    if t in _INT_DIGITS:
        return "int"
    if t in _FLOATS:
        return "float"
    if _DECIMAL.match(t):
        return "decimal"
    if t == "BOOLEAN":
        return "bool"
    if t in _NAIVE:
        return "naive"
    if t in (_ZONED, _ZONED_NS):
        return "zoned"
    if t == _NULL:
        return "null"
    if t == "VARCHAR":
        return "text"
    return "other"


def _digits(t: str) -> tuple[int, int]:
    """(integer digits, scale) of an integer or decimal type."""
    m = _DECIMAL.match(t.upper())
    if m:
        p, s = int(m.group(1)), int(m.group(2))
        return p - s, s
    return _INT_DIGITS[t.upper()], 0


# --------------------------------------------------------------------------- comparisons


Exprs = Callable[[str], list[str]]  # column reference -> canonical expressions


@dataclass(frozen=True)
class Comparison:
    """How one column's values are compared across the sides: ``a(ref)`` and ``b(ref)`` give
    expressions that are equal exactly when the values are; ``compared_as`` says how (None: no
    exact cast, every row differs); ``numeric``: tolerances apply."""

    a: Exprs
    b: Exprs
    compared_as: str | None
    numeric: bool = False


def _same(ref: str) -> list[str]:
    return [ref]


def _cast_to(t: str) -> Exprs:
    return lambda ref: [f"CAST({ref} AS {t})"]


def _compare_types(ta: str, tb: str) -> Comparison:
    """The comparison of a column typed ``ta`` in A and ``tb`` in B (DuckDB's types)."""
    fa, fb = _family(ta), _family(tb)
    numeric = {"int", "float", "decimal"}
    if ta == tb:
        return Comparison(_same, _same, f"as {ta}", fa in numeric)
    if fa == "bool" and fb in {"int", "float", "decimal"}:
        c = _compare_types("TINYINT", tb)
        return Comparison(lambda r: c.a(f"CAST({r} AS TINYINT)"), c.b, c.compared_as and f"{c.compared_as} (true = 1, false = 0)", False)
    if fb == "bool" and fa in {"int", "float", "decimal"}:
        c = _compare_types(ta, "TINYINT")
        return Comparison(c.a, lambda r: c.b(f"CAST({r} AS TINYINT)"), c.compared_as and f"{c.compared_as} (true = 1, false = 0)", False)
    if fa == fb == "int":
        if "UHUGEINT" in (ta.upper(), tb.upper()):
            return Comparison(_cast_to("VARCHAR"), _cast_to("VARCHAR"), "as integers (exact)", True)
        return Comparison(_cast_to("HUGEINT"), _cast_to("HUGEINT"), "as integers (exact)", True)
    if {fa, fb} <= {"int", "decimal"}:
        (ia, sa), (ib, sb) = _digits(ta), _digits(tb)
        scale, whole = max(sa, sb), max(ia, ib)
        if scale + whole > 38:
            return Comparison(_same, _same, None)
        t = f"DECIMAL({scale + whole},{scale})"
        return Comparison(_cast_to(t), _cast_to(t), f"as {t} (exact)", True)
    if fa == fb == "float":
        return Comparison(_cast_to("DOUBLE"), _cast_to("DOUBLE"), "as DOUBLE (exact)", True)
    if {fa, fb} == {"int", "float"}:
        def of_int(r: str) -> list[str]:
            return [f"CAST({r} AS HUGEINT)", "CAST(NULL AS DOUBLE)"]

        def of_float(r: str) -> list[str]:
            whole = f"(isfinite({r}) AND {r} = trunc({r}) AND TRY_CAST({r} AS HUGEINT) IS NOT NULL)"
            return [f"CASE WHEN {whole} THEN TRY_CAST({r} AS HUGEINT) END",
                    f"CASE WHEN NOT {whole} THEN CAST({r} AS DOUBLE) END"]

        a, b = (of_int, of_float) if fa == "int" else (of_float, of_int)
        return Comparison(a, b, "as numbers: an integer equals a float that holds exactly that integer", True)
    if {fa, fb} == {"decimal", "float"}:
        _, scale = _digits(ta if fa == "decimal" else tb)
        t = f"DECIMAL(38,{scale})"

        def of_dec(r: str) -> list[str]:
            return [f"CAST({r} AS {t})", f"CAST({r} AS DOUBLE)"]

        def of_flt(r: str) -> list[str]:
            return [f"TRY_CAST({r} AS {t})", f"CAST({r} AS DOUBLE)"]

        a, b = (of_dec, of_flt) if fa == "decimal" else (of_flt, of_dec)
        return Comparison(a, b, f"as numbers: equal when the float rounds to the decimal at scale {scale} "
                                "and the decimal rounds to the float", True)
    if "null" in (fa, fb):  # a column of nulls (Arrow's null type) holds nulls of any type
        other = tb if fa == "null" else ta
        a, b = (_cast_to(other), _same) if fa == "null" else (_same, _cast_to(other))
        return Comparison(a, b, f"as {other} (a column of nulls)", {_family(other)} <= numeric)
    if fa == fb and fa in ("naive", "zoned"):
        fine, coarse = ("TIMESTAMP_NS", "TIMESTAMP") if fa == "naive" else (_ZONED_NS, _ZONED)
        t = fine if fine in (ta.upper(), tb.upper()) else coarse
        if t == fine:  # nanoseconds; a time outside their range (years 1677 to 2262) compared in microseconds
            def cast(r: str) -> list[str]:
                return [f"TRY_CAST({r} AS {t})", f"CASE WHEN {r} IS NOT NULL AND TRY_CAST({r} AS {t}) IS NULL "
                                                 f"THEN CAST({r} AS {coarse}) END"]
        else:
            cast = _cast_to(t)
        why = " (a date is its midnight)" if "DATE" in (ta.upper(), tb.upper()) else (" (instants)" if fa == "zoned" else "")
        return Comparison(cast, cast, f"as {t}{why}")
    if "text" in (fa, fb) and ({fa, fb} - {"text"}) <= {"int", "float", "decimal", "bool", "naive", "zoned"}:
        other = tb if fa == "text" else ta

        pattern = _TEXT_PATTERN.get(_family(other))

        def of_text(r: str) -> list[str]:
            parsed = f"TRY_CAST({r} AS {other})"
            if pattern:
                parsed = f"CASE WHEN regexp_full_match({r}, {lit(pattern)}) THEN {parsed} END"
            return [parsed, f"CASE WHEN {r} IS NOT NULL AND {parsed} IS NULL THEN {r} END"]

        def of_other(r: str) -> list[str]:
            return [f"CAST({r} AS {other})", "CAST(NULL AS VARCHAR)"]

        a, b = (of_text, of_other) if fa == "text" else (of_other, of_text)
        how = ("times without an offset are UTC" if _family(other) in ("naive", "zoned")
               else "text not written as one differs")
        return Comparison(a, b, f"by reading the text as {other} ({how})")
    return Comparison(_same, _same, None)


def _normalised(ref: str, duck_type: str, opts: DiffOptions) -> str:
    """A text value as compared: spaces at either end dropped, lower case, as asked."""
    if _family(duck_type) != "text":
        return ref
    if opts.ignore_spaces:
        ref = f"trim({ref}, {_SPACES})"
    if opts.ignore_case:
        ref = f"lower({ref})"
    return ref


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Col:
    """One column as the two sides hold it: its name (as in the data), DuckDB's name for it
    on each side (DuckDB renames ``A`` to ``A_1`` beside ``a``), and its types."""

    name: str
    a: str | None  # DuckDB's name in A (None: not in A)
    b: str | None
    duck_a: str | None = None
    duck_b: str | None = None
    type_a: str | None = None  # the type shown (the sidecar's Arrow type when known)
    type_b: str | None = None
    name_b: str | None = None  # the name in B when it differs (matched by case)


@dataclass(frozen=True)
class Side:
    """One version as DuckDB reads it: its source expression and its columns in order
    (real name, DuckDB name, DuckDB type, shown type)."""

    version: AssetVersion
    src: str
    columns: tuple[tuple[str, str, str, str], ...]


class _Names:
    """Internal column names no user column can be: a prefix that no column name (in either
    version, compared case-insensitively as DuckDB does) starts with."""

    def __init__(self, names: Sequence[str]) -> None:
        lowered = [n.lower() for n in names]
        prefix = "__fx"
        while any(n.startswith(prefix) for n in lowered):
            prefix += "_"
        self.prefix = prefix

    def __call__(self, what: str) -> str:
        return self.prefix + what


def _resolve_side(s: "Session", v: AssetVersion, what: str) -> Side:
    src = sqlsrc.source_sql(s.store, v, s.con)
    described = s.run(f"DESCRIBE SELECT * FROM {src}", what)
    duck = [(r[0], r[1]) for r in described]
    sidecar = list(v.table.columns) if v.table is not None else []
    if len(sidecar) == len(duck):  # the sidecar's names and types, by position (DuckDB renames A to A_1 beside a)
        cols = tuple((c.name, d[0], d[1], c.type) for c, d in zip(sidecar, duck))
    else:
        cols = tuple((d[0], d[0], d[1], d[1]) for d in duck)
    return Side(v, src, cols)


def _find(side: Side, name: str, fold: bool) -> tuple[str, str, str, str] | None:
    for c in side.columns:
        if c[0] == name:
            return c
    if fold:
        hits = [c for c in side.columns if c[0].lower() == name.lower()]
        if len(hits) == 1:
            return hits[0]
    return None


def _pair_columns(a: Side, b: Side, opts: DiffOptions) -> list[Col]:
    """Columns of A and B paired by name (case-insensitively with ``ignore_column_case``), in A's
    order then B's new columns; ``--columns`` and ``--exclude`` applied."""
    if opts.ignore_column_case:
        for side, label in ((a, "A"), (b, "B")):
            seen: dict[str, str] = {}
            for c in side.columns:
                other = seen.setdefault(c[0].lower(), c[0])
                if other != c[0]:
                    raise ExplorerError(
                        f"--ignore-column-case: version {label} of {side.version.asset} (run {side.version.run_id}) "
                        f"has columns {other!r} and {c[0]!r}, which differ only by case"
                    )
    fold = (lambda n: n.lower()) if opts.ignore_column_case else (lambda n: n)
    by_b = {fold(c[0]): c for c in b.columns}
    out: list[Col] = []
    used: set[str] = set()
    for ca in a.columns:
        cb = by_b.get(fold(ca[0]))
        if cb is not None:
            used.add(cb[0])
            out.append(Col(ca[0], ca[1], cb[1], ca[2], cb[2], ca[3], cb[3], cb[0] if cb[0] != ca[0] else None))
        else:
            out.append(Col(ca[0], ca[1], None, ca[2], None, ca[3], None))
    for cb in b.columns:
        if cb[0] not in used:
            out.append(Col(cb[0], None, cb[1], None, cb[2], None, cb[3]))
    return out


def _check_names(names: Sequence[str], cols: list[Col], opts: DiffOptions, option: str, asset: str) -> None:
    fold = (lambda n: n.lower()) if opts.ignore_column_case else (lambda n: n)
    known = {fold(c.name) for c in cols} | {fold(c.name_b) for c in cols if c.name_b}
    for n in names:
        if fold(n) not in known:
            raise ExplorerError(f"{option} {n!r}: no column of that name in either version of {asset}; "
                                f"its columns: {', '.join(c.name for c in cols)}")


# --------------------------------------------------------------------------- the session


class Session:
    """A DuckDB connection that can read the two versions (made by ``explorer.sql.connect``, the
    builder SQL uses: the same sources, the same file checks, time zone UTC)."""

    def __init__(self, store, versions: Sequence[AssetVersion]) -> None:
        self.store = store
        self.con = sqlsrc.connect(
            store, versions=versions,
            settings={"preserve_insertion_order": False, "TimeZone": "UTC", "enable_progress_bar": False},
        )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, sql: str, what: str) -> list[tuple]:
        """Execute and fetch everything (so no result is left pending on the connection)."""
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise ExplorerError(f"cannot diff {what}: {message_line(exc)}") from None

    def arrow(self, sql: str, what: str) -> Any:
        """The result as an Arrow table."""
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise ExplorerError(f"cannot diff {what}: {message_line(exc)}") from None

    def records(self, sql: str, what: str) -> list[dict[str, Any]]:
        """Rows as dicts of plain values: fetched by DuckDB itself when every column's type is one
        it converts to the very objects pyarrow's ``to_pylist`` gives (``_fetched_as_is``), so that a
        diff of such columns never imports pyarrow and numpy (some 0.4 s of a diff process); else
        through Arrow (``plain_rows``). A DuckDB that converts zoned timestamps with pytz, where
        pytz is not installed, is answered through Arrow too."""
        try:
            rel = self.con.sql(sql)
            types = [str(t) for t in rel.types]
            if all(_fetched_as_is(t) for t in types):
                names = rel.columns
                rows = rel.fetchall()
                dated = [i for i, t in enumerate(types) if t in _DATED]
                # beyond datetime's range DuckDB gives text, and infinities as the largest and smallest
                # datetimes, where pyarrow raises: those rows are left to Arrow, to answer as before
                if not any(isinstance(r[i], str) or r[i] in _EXTREMES for r in rows for i in dated):
                    return [dict(zip(names, row)) for row in rows]
        except duckdb.Error as exc:
            if "pytz" not in str(exc):
                raise ExplorerError(f"cannot diff {what}: {message_line(exc)}") from None
        return plain_rows(self.arrow(sql, what))


# DuckDB's types whose values its own fetch gives as the same Python objects (type, value, zone)
# as pyarrow's ``to_pylist`` of its Arrow result; not the others (an interval, a map, a UUID, a
# HUGEINT, nanoseconds and nested types come out differently), which go through Arrow.
_FETCHED_AS_IS = frozenset({
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
    "FLOAT", "DOUBLE", "VARCHAR", "BLOB", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", _ZONED,
})


_DATED = frozenset({"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", _ZONED})
_EXTREMES = (datetime.max, datetime.min, date.max, date.min)  # how DuckDB fetches the infinities


def _fetched_as_is(duck_type: str) -> bool:
    return duck_type in _FETCHED_AS_IS or bool(_DECIMAL.match(duck_type))


_UNITS = ("s", "ms", "us")  # timestamp units whose values are whole datetimes (ns ones are left to pyarrow)


def plain_rows(table: Any) -> list[dict[str, Any]]:
    """``table.to_pylist()``, with the zoned timestamp columns converted here: pyarrow converts
    them through pandas, whose import costs a diff process some 0.3 s for a few sample rows.
    The values are the same objects pyarrow gives (a datetime in the column's zone)."""
    import pyarrow as pa

    zoned = {}
    for i, f in enumerate(table.schema):
        t = f.type
        if pa.types.is_timestamp(t) and t.tz and t.unit in _UNITS and t.tz[0] not in "+-":
            zoned[i] = _zone(t.tz)
    if not zoned or any(z is None for z in zoned.values()):
        return table.to_pylist()
    columns = []
    for i, f in enumerate(table.schema):
        col = table.column(i)
        if i in zoned:
            tz = zoned[i]
            values = col.cast(pa.timestamp(f.type.unit)).to_pylist()  # the UTC wall clock
            try:
                columns.append([None if v is None else tz.fromutc(v.replace(tzinfo=tz)) for v in values])
            except OverflowError:  # out of datetime's range in that zone: as pyarrow says it
                return table.to_pylist()
        else:
            columns.append(col.to_pylist())
    names = table.column_names
    return [dict(zip(names, row)) for row in zip(*columns)] if columns else [{} for _ in range(table.num_rows)]


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --------------------------------------------------------------------------- shared pieces


def _facts(by_name: dict[str, ColumnStats], name: str | None, redacted: bool) -> ColumnFacts | None:
    c = by_name.get(name) if name is not None else None
    if c is None:
        return None
    if redacted:
        return ColumnFacts(c.type, c.null_count, REDACTED if c.min is not None else None,
                           REDACTED if c.max is not None else None, REDACTED if c.mean is not None else None)
    return ColumnFacts(c.type, c.null_count, c.min, c.max, c.mean)


def _stats(va: AssetVersion, vb: AssetVersion, cols: list[Col], redact: set[str]) -> dict[str, ColumnStatsPair]:
    # the sidecars' statistics by name, decoded once (not once per column: quadratic at 1,000 columns)
    ta, tb = ({c.name: c for c in v.table.columns} if v.table is not None else {} for v in (va, vb))
    out = {}
    for c in cols:
        red = c.name in redact
        out[c.name] = ColumnStatsPair(
            _facts(ta, c.name if c.a else None, red), _facts(tb, (c.name_b or c.name) if c.b else None, red)
        )
    return out


def _shown(value: Any, redacted: bool) -> Any:
    """A sample value as the JSON shows it: redacted, or plain and cut if it is a long string."""
    if redacted and value is not None:
        return REDACTED
    value = jsonable(value)
    if isinstance(value, str):
        return cut_text(value)
    return value


def _cell(column: str, x: Any, y: Any, redacted: bool) -> CellChange:
    if redacted:
        return CellChange(column, REDACTED if x is not None else None, REDACTED if y is not None else None)
    x, y = jsonable(x), jsonable(y)
    if isinstance(x, str) and isinstance(y, str) and max(len(x), len(y)) > CUT:
        wa, wb = around(x, y, CUT)
        return CellChange(column, wa, wb, len(x), len(y))
    length_a = len(x) if isinstance(x, str) and len(x) > CUT else None
    length_b = len(y) if isinstance(y, str) and len(y) > CUT else None
    return CellChange(column, cut_text(x) if length_a else x, cut_text(y) if length_b else y, length_a, length_b)


@dataclass
class Plan:
    """Everything the steps of a diff share: the sides, the paired and compared columns with
    their comparisons, the key, the internal names and the options."""

    a: Side
    b: Side
    cols: list[Col]
    keys: list[Col]
    compared: list[Col]
    comparisons: dict[str, Comparison]
    key_comparisons: list[Comparison]
    names: _Names
    opts: DiffOptions
    what: str
    notes: list[str] = field(default_factory=list)

    def key_exprs(self, side: str, alias: str = "") -> list[str]:
        """The canonical key expressions of one side (``a`` or ``b``), floats wrapped so that
        no filter on them reaches the parquet statistics (which leave NaN out)."""
        out = []
        for k, c in zip(self.keys, self.key_comparisons):
            name, duck = (k.a, k.duck_a) if side == "a" else (k.b, k.duck_b)
            ref = _normalised((alias + "." if alias else "") + q(name), duck, self.opts)
            exprs = (c.a if side == "a" else c.b)(ref)
            if _family(duck) in ("float", "decimal"):
                exprs = [f"({e} + 0)" if _family(duck) == "float" else e for e in exprs]
            out.extend(exprs)
        return out

    def value_exprs(self, col: Col, side: str, alias: str = "") -> list[str]:
        c = self.comparisons[col.name]
        if c.compared_as is None:  # no exact cast: the sides never compare equal
            return ["0" if side == "a" else "1"]
        name, duck = (col.a, col.duck_a) if side == "a" else (col.b, col.duck_b)
        ref = _normalised((alias + "." if alias else "") + q(name), duck, self.opts)
        return (c.a if side == "a" else c.b)(ref)

    @property
    def key_names(self) -> list[str]:
        return [self.names(f"k{i}") for i in range(len(self.key_exprs("a")))]

    def side_keys(self, side: str, alias: str = "") -> str:
        return ", ".join(f"{e} AS {n}" for e, n in zip(self.key_exprs(side, alias), self.key_names))

    def row_hash(self, side: str) -> str:
        exprs = [e for c in self.compared for e in self.value_exprs(c, side)]
        return f"hash({', '.join(exprs)})" if exprs else "0::UBIGINT"

    def on(self, x: str, y: str) -> str:
        return " AND ".join(f"{x}.{n} IS NOT DISTINCT FROM {y}.{n}" for n in self.key_names) or "true"

    def differs(self, col: Col, x: str = "ra", y: str = "rb") -> str:
        """SQL predicate: the two values of ``col`` differ (nulls equal nulls, NaN equals NaN,
        tolerances for numbers: ``|a - b| <= abs_tol + rel_tol * |b|``)."""
        c = self.comparisons[col.name]
        if c.compared_as is None:
            return "true"
        pairs = zip(self.value_exprs(col, "a", x), self.value_exprs(col, "b", y))
        same = " AND ".join(f"({ea} IS NOT DISTINCT FROM {eb})" for ea, eb in pairs)
        abs_tol, rel_tol = self.opts.tolerance(col.name)
        if c.numeric and (abs_tol or rel_tol):
            va, vb = f"CAST({x}.{q(col.a)} AS DOUBLE)", f"CAST({y}.{q(col.b)} AS DOUBLE)"
            same = f"({same}) OR coalesce(abs({va} - {vb}) <= {float(abs_tol)!r} + {float(rel_tol)!r} * abs({vb}), false)"
        return f"(NOT ({same}))"


# --------------------------------------------------------------------------- entry


def _folder(opts: DiffOptions) -> Callable[[str], str]:
    return (lambda n: n.lower()) if opts.ignore_column_case else (lambda n: n)


def _scope(a: Side, b: Side, opts: DiffOptions, notes: list[str]) -> tuple[list[Col], list[Col], list[Col], set[str]]:
    """The columns of a diff: every column paired, the keys, those in scope (``--columns`` and
    ``--exclude`` applied, keys kept), and the names to redact (in A and in B); every column named in
    an option checked."""
    asset = a.version.asset
    cols = _pair_columns(a, b, opts)
    for option, names in (("--exclude", opts.exclude), ("--columns", opts.columns), ("--redact", opts.redact),
                          ("--abs-tol", [c for c, _ in opts.abs_tol_columns]),
                          ("--rel-tol", [c for c, _ in opts.rel_tol_columns])):
        _check_names(names, cols, opts, option, asset)
    key_cols = _resolve_keys(a, b, opts.keys, cols, opts, notes) if opts.keys else []
    fold = _folder(opts)
    key_names = {fold(k.name) for k in key_cols}
    excluded = {fold(n) for n in opts.exclude}
    for k in key_cols:
        if fold(k.name) in excluded or (k.name_b and fold(k.name_b) in excluded):
            raise ExplorerError(f"--exclude {k.name!r}: it is a key column of the diff of {asset}; "
                                "a key cannot be left out (pass other keys, or --no-key)")
    chosen = {fold(n) for n in opts.columns}

    def named(c: Col, names: set[str]) -> bool:
        return fold(c.name) in names or (c.name_b is not None and fold(c.name_b) in names)

    in_scope = [c for c in cols if not named(c, excluded) and (not chosen or named(c, chosen) or named(c, key_names))]
    hidden = {fold(n) for n in opts.redact}
    redact = {name for c in cols if named(c, hidden) for name in (c.name, c.name_b) if name}
    return cols, key_cols, in_scope, redact


def _sidecar_side(v: AssetVersion) -> Side:
    """A version's columns as its sidecar records them (for identical bytes: nothing is read)."""
    return Side(v, "", tuple((c.name, c.name, c.type, c.type) for c in (v.table.columns if v.table else ())))


def identical(va: AssetVersion, vb: AssetVersion, keys: tuple[str, ...], opts: DiffOptions = DiffOptions()) -> TableDiff:
    """Same bytes: the answer comes from the sidecars alone (the options' columns checked and
    applied to the statistics as in a diff that reads the data)."""
    n = va.table.num_rows if va.table else None
    notes: list[str] = []
    if va.table is not None:
        _, key_cols, cols, redact = _scope(_sidecar_side(va), _sidecar_side(vb), replace(opts, keys=tuple(keys)), notes)
        keys = tuple(k.name for k in key_cols)
    else:
        cols, redact = [], set()
    return TableDiff(
        mode="identical",
        keys=keys,
        schema=SchemaDiff(),
        rows=RowCounts(n, n, 0, 0, 0, n),
        columns_changed={},
        samples=Samples(),
        stats=_stats(va, vb, cols, redact),
        notes=tuple(notes) + ("identical bytes: the data was not read",),
        options=opts,
    )


def _resolve_keys(a: Side, b: Side, names: Sequence[str], cols: list[Col], opts: DiffOptions, notes: list[str]) -> list[Col]:
    """The key columns: each name found on each side exactly, else by case when one column matches."""
    out = []
    for name in dict.fromkeys(names):
        found = []
        for side, label in ((a, "A"), (b, "B")):
            c = _find(side, name, True)
            if c is None:
                raise ExplorerError(
                    f"key column {name!r} is missing in version {label} of {side.version.asset} "
                    f"(run {side.version.run_id}); its columns: {', '.join(x[0] for x in side.columns)}"
                )
            if c[0] != name:
                notes.append(f"key {name!r} is column {c[0]!r} in version {label} (matched by case)")
            found.append(c)
        ca, cb = found
        out.append(Col(ca[0], ca[1], cb[1], ca[2], cb[2], ca[3], cb[3], cb[0] if cb[0] != ca[0] else None))
    return out


def _schema_diff(cols: list[Col], comparisons: dict[str, Comparison], changed: dict[str, int] | None,
                 key_comparisons: dict[str, Comparison] | None = None) -> SchemaDiff:
    """Columns added, removed and retyped; a retyped key says how its values were matched."""
    key_comparisons = key_comparisons or {}
    added = tuple(SchemaColumn(c.name, c.type_b or "") for c in cols if c.a is None)
    removed = tuple(SchemaColumn(c.name, c.type_a or "") for c in cols if c.b is None)
    moved = []
    for c in cols:
        # a change of the recorded type (the sidecar's); DuckDB's own types may differ for the same
        # recorded type (a CSV float column of whole numbers is detected as BIGINT): not a change
        if c.a is None or c.b is None or c.type_a == c.type_b:
            continue
        if c.name in key_comparisons:  # a key: its rows were matched by it, its values are not compared
            how = key_comparisons[c.name].compared_as
            moved.append(TypeChange(c.name, c.type_a or "", c.type_b or "", f"{how}, as a key" if how else None, None))
            continue
        comp = comparisons.get(c.name)
        how = comp.compared_as if comp else None
        if comp is not None and comp.compared_as is not None and c.duck_a == c.duck_b:
            how = f"as {c.duck_a}" + (" (instants)" if c.duck_a in (_ZONED, _ZONED_NS) else "")
        equal = None if changed is None or comp is None or how is None else c.name not in changed
        moved.append(TypeChange(c.name, c.type_a or "", c.type_b or "", how, equal))
    return SchemaDiff(added, removed, tuple(moved))


def diff_tables(
    store,
    va: AssetVersion,
    vb: AssetVersion,
    keys: tuple[str, ...] = (),
    tolerance: float = 0.0,
    limit: int = 10,
    options: DiffOptions | None = None,
) -> TableDiff:
    opts = options or DiffOptions(keys=tuple(keys), abs_tol=tolerance, limit=limit)
    what = f"{va.asset} ({va.run_id} vs {vb.run_id})"
    with Session(store, [va, vb]) as s:
        a, b = _resolve_side(s, va, what), _resolve_side(s, vb, what)
        notes: list[str] = []
        cols, key_cols, in_scope, redact = _scope(a, b, opts, notes)
        fold = _folder(opts)
        key_names = {fold(k.name) for k in key_cols}
        compared = [c for c in in_scope if c.a and c.b and fold(c.name) not in key_names
                    and fold(c.name_b or "") not in key_names]
        comparisons = {c.name: _compare_types(c.duck_a, c.duck_b) for c in compared}
        key_comparisons = []
        for k in key_cols:
            comp = _compare_types(k.duck_a, k.duck_b)
            if comp.compared_as is None:
                raise ExplorerError(f"key column {k.name!r} of {va.asset} is {k.duck_a} in A and {k.duck_b} in B: "
                                    "no exact cast between them, rows cannot be matched by it")
            key_comparisons.append(comp)
        all_names = [c[0] for c in a.columns + b.columns] + [c[1] for c in a.columns + b.columns]
        plan = Plan(a, b, in_scope, key_cols, compared, comparisons, key_comparisons, _Names(all_names), opts, what, notes)
        stats = _stats(va, vb, in_scope, redact)
        if key_cols:
            return _keyed(s, plan, stats, redact)
        return _unkeyed(s, plan, stats, redact)


# --------------------------------------------------------------------------- keyed, step by step


@dataclass
class _Classes:
    rows_a: int
    rows_b: int
    keys_a: int  # distinct keys of A
    counts: dict[str, int]
    dup_keys: int
    dup_rows_a: int
    dup_rows_b: int
    dup_a_keys: int  # repeated keys present in A
    fetched: bool = False  # ``pick``, ``ra`` and ``rb`` made by step 1


# The widest table (columns in scope, per side) whose keyed diff carries every column through its
# classifying join, reading each file once; a wider one joins a hash of each row and reads the
# rows that differ again. DuckDB's join carries its columns row by row: at 2,000,000 rows of 10
# columns carrying them costs less than reading the rows again, at 20 about as much, at 50 and
# beyond more (docs/benchmarks.md, the fifth round of the 2,000,000-row diff process).
CARRIED_COLUMNS = 16


def _carried(p: Plan, side: str) -> list[str]:
    """DuckDB's names of the columns of one side that the diff reads beyond the classifying join:
    every column in scope and the keys, each once, in order."""
    keys = [k.a if side == "a" else k.b for k in p.keys]
    return list(dict.fromkeys([d for d, _ in _side_columns(p, side)] + keys))


def _classify(s: Session, p: Plan) -> _Classes:
    """Step 1: the ``cls`` table of every key that is not unchanged (added, removed, cand, dup),
    and, when the keys are unique and the table narrow (``CARRIED_COLUMNS``), ``ra`` / ``rb``: the
    rows of those keys (step 2 done)."""
    n = p.names
    c, na, nb = n("c"), n("na"), n("nb")
    rows_a = s.run(f"SELECT count(*) FROM {p.a.src}", p.what)[0][0]
    rows_b = s.run(f"SELECT count(*) FROM {p.b.src}", p.what)[0][0]
    carry = max(len(_carried(p, "a")), len(_carried(p, "b"))) <= CARRIED_COLUMNS
    unique = (_classify_carried if carry else _classify_hashed)(s, p, rows_a, rows_b)
    keys_a = rows_a
    if not unique:
        rows_a, rows_b, keys_a = _classify_repeated(s, p)
    counts = dict(s.run(f"SELECT {c}, count(*) FROM {n('cls')} GROUP BY {c}", p.what))
    dup_keys, dup_rows_a, dup_rows_b, dup_a_keys = s.run(
        f"SELECT count(*), coalesce(sum({na}), 0)::BIGINT, coalesce(sum({nb}), 0)::BIGINT, count({na}) "
        f"FROM {n('cls')} WHERE {c} = 'dup'",
        p.what,
    )[0]
    return _Classes(int(rows_a), int(rows_b), int(keys_a), counts, int(dup_keys), int(dup_rows_a), int(dup_rows_b),
                    int(dup_a_keys), fetched=unique and carry)


def _plain_keys(p: Plan, side: str) -> dict[str, str]:
    """The key columns of one side whose canonical form is the column itself (the same type on
    both sides, no text normalised) and whose equal values are the same values (integers, text,
    times, not floats: -0.0 = 0.0): DuckDB's name -> the internal name of that form."""
    out, i = {}, 0
    for k, c in zip(p.keys, p.key_comparisons):
        name, duck = (k.a, k.duck_a) if side == "a" else (k.b, k.duck_b)
        exprs = (c.a if side == "a" else c.b)(_normalised(q(name), duck, p.opts))
        if exprs == [q(name)] and _family(duck) in ("int", "decimal", "text", "bool", "naive", "zoned"):
            out[name] = p.names(f"k{i}")
        i += len(exprs)
    return out


def _classify_carried(s: Session, p: Plan, rows_a: int, rows_b: int) -> bool:
    """Step 1 in one read of each file: a full outer join of each side's keys and the columns in
    scope, grouped so that it keeps the rows that differ (one-sided, or a value not exactly equal:
    the candidates), one group per key, with both sides' values, and counts the rest in one group.
    The keys are unique when the join's rows count each side's rows once (a key repeated on one
    side and found on the other makes more) and no kept key holds two rows (a key repeated on one
    side only). Then ``cls``, ``pick``, ``ra`` and ``rb`` are made from the kept rows and True is
    returned; else nothing is kept, and False."""
    n = p.names
    kn = p.key_names
    pr, pa, pb, d, cnt, na, nb, w = (n(x) for x in ("p", "pa", "pb", "d", "n", "na", "nb", "w"))
    plain = {side: _plain_keys(p, side) for side in ("a", "b")}  # a key column the join carries already
    carried = {side: [x for x in _carried(p, side) if x not in plain[side]] for side in ("a", "b")}
    vals = {side: [n(f"{side}{i}") for i in range(len(carried[side]))] for side in ("a", "b")}

    def side_sql(side: str, src: str) -> str:
        cols = "".join(f", {q(x)}" for x in carried[side])
        return f"SELECT {p.side_keys(side)}, true AS {pr}{cols} FROM {src}"

    differs = [f"NOT ({' AND '.join(f'({ea} IS NOT DISTINCT FROM {eb})' for ea, eb in zip(p.value_exprs(col, 'a', 'ga'), p.value_exprs(col, 'b', 'gb')))})"
               for col in p.compared]
    kept = " OR ".join([f"ga.{pr} IS NULL", f"gb.{pr} IS NULL"] + differs)
    kcoal = "".join(f", coalesce(ga.{k}, gb.{k}) AS {k}" for k in kn)
    joined = "".join(f", {alias}.{q(x)} AS {v}" for side, alias in (("a", "ga"), ("b", "gb"))
                     for x, v in zip(carried[side], vals[side]))
    keys = "".join(f", CASE WHEN {d} THEN {k} END AS {k}" for k in kn)
    firsts = "".join(f", any_value({v}) AS {v}" for side in ("a", "b") for v in vals[side])
    s.run(
        f"""CREATE TEMP TABLE {w} AS
        SELECT {d}{keys}, count(*) AS {cnt}, count({pa}) AS {na}, count({pb}) AS {nb}{firsts}
        FROM (SELECT ({kept}) AS {d}{kcoal}, ga.{pr} AS {pa}, gb.{pr} AS {pb}{joined}
              FROM ({side_sql('a', p.a.src)}) ga FULL OUTER JOIN ({side_sql('b', p.b.src)}) gb ON {p.on('ga', 'gb')})
        GROUP BY ALL""",
        p.what,
    )
    ta, tb, most = s.run(f"SELECT coalesce(sum({na}), 0)::BIGINT, coalesce(sum({nb}), 0)::BIGINT, "
                         f"coalesce(max({cnt}) FILTER (WHERE {d}), 0) FROM {w}", p.what)[0]
    if (ta, tb) != (rows_a, rows_b) or most > 1:
        s.run(f"DROP TABLE {w}", p.what)
        return False
    c, korder = n("c"), ", ".join(kn)
    s.run(
        f"""CREATE TEMP TABLE {n('cls')} AS
        SELECT {korder}, CASE WHEN {na} > 0 THEN 1 END AS {na}, CASE WHEN {nb} > 0 THEN 1 END AS {nb},
          CASE WHEN {na} = 0 THEN 'added' WHEN {nb} = 0 THEN 'removed' ELSE 'cand' END AS {c}
        FROM {w} WHERE {d}""",
        p.what,
    )
    _pick(s, p)
    for name, side, cls in ((n("ra"), "a", "removed"), (n("rb"), "b", "added")):
        sel = ", ".join([f"t.{v} AS {q(x)}" for x, v in zip(carried[side], vals[side])]
                        + [f"t.{k} AS {q(x)}" for x, k in plain[side].items()])
        s.run(
            f"""CREATE TEMP TABLE {name} AS SELECT {sel}{"".join(f", t.{k}" for k in kn)} FROM {w} t
            SEMI JOIN (SELECT {korder} FROM {n('pick')} WHERE {c} IN ('cand', '{cls}')) p ON {p.on('t', 'p')}
            WHERE t.{d}""",
            p.what,
        )
    s.run(f"DROP TABLE {w}", p.what)
    return True


def _classify_hashed(s: Session, p: Plan, rows_a: int, rows_b: int) -> bool:
    """Step 1 for a wide table: a full outer join of ``(key, hash(compared columns))`` from each
    side keeps, in ``cls``, the keys that are not unchanged (candidates: hashes differ); its totals
    (window counts) and one kept row per key prove the keys unique. Returns True when they are;
    else ``cls`` is dropped and False."""
    n = p.names
    kn = p.key_names
    kcoal = ", ".join(f"coalesce(ga.{k}, gb.{k}) AS {k}" for k in kn)
    h, pr, na, nb, c, ta, tb = (n(x) for x in ("h", "p", "na", "nb", "c", "ta", "tb"))
    s.run(
        f"""CREATE TEMP TABLE {n('cls')} AS
        SELECT {kcoal}, CASE WHEN ga.{pr} THEN 1 END AS {na}, CASE WHEN gb.{pr} THEN 1 END AS {nb},
          CASE WHEN ga.{pr} IS NULL THEN 'added' WHEN gb.{pr} IS NULL THEN 'removed' ELSE 'cand' END AS {c},
          count(ga.{pr}) OVER () AS {ta}, count(gb.{pr}) OVER () AS {tb}
        FROM (SELECT {p.side_keys('a')}, {p.row_hash('a')} AS {h}, true AS {pr} FROM {p.a.src}) ga
        FULL OUTER JOIN (SELECT {p.side_keys('b')}, {p.row_hash('b')} AS {h}, true AS {pr} FROM {p.b.src}) gb
          ON {p.on('ga', 'gb')}
        QUALIFY ga.{pr} IS NULL OR gb.{pr} IS NULL OR ga.{h} <> gb.{h}""",
        p.what,
    )
    totals = s.run(f"SELECT {ta}, {tb} FROM {n('cls')} LIMIT 1", p.what)
    korder = ", ".join(kn)
    if totals:
        # a repeated key matched on the other side multiplies join rows: the totals exceed the row counts;
        # a repeated key found on one side only shows up twice among the kept rows
        has_dups = tuple(totals[0]) != (rows_a, rows_b) or bool(s.run(
            f"SELECT count(*) FROM (SELECT {korder} FROM {n('cls')} GROUP BY ALL HAVING count(*) > 1)", p.what)[0][0])
    else:  # nothing differs by hash: a plain check for repeated keys decides
        has_dups = any(
            s.run(f"SELECT count(*) FROM (SELECT {p.side_keys(side)} FROM {src} GROUP BY ALL HAVING count(*) > 1)",
                  p.what)[0][0]
            for side, src in (("a", p.a.src), ("b", p.b.src))
        )
    if has_dups:
        s.run(f"DROP TABLE {n('cls')}", p.what)
    return not has_dups


def _classify_repeated(s: Session, p: Plan) -> tuple[int, int, int]:
    """Step 1 for repeated keys: per side key, multiplicity, row hash; keys repeated on either
    side are classed ``dup``. Returns A's rows, B's rows and A's distinct keys."""
    n = p.names
    h, na, nb, c, cnt = (n(x) for x in ("h", "na", "nb", "c", "n"))
    for name, side, src in ((n("ga"), "a", p.a.src), (n("gb"), "b", p.b.src)):
        s.run(f"CREATE TEMP TABLE {name} AS SELECT {p.side_keys(side)}, count(*) AS {cnt}, "
              f"min({p.row_hash(side)}) AS {h} FROM {src} GROUP BY ALL", p.what)
    rows_a, keys_a = s.run(f"SELECT coalesce(sum({cnt}), 0)::BIGINT, count(*) FROM {n('ga')}", p.what)[0]
    rows_b = s.run(f"SELECT coalesce(sum({cnt}), 0)::BIGINT FROM {n('gb')}", p.what)[0][0]
    kcoal = ", ".join(f"coalesce(ga.{k}, gb.{k}) AS {k}" for k in p.key_names)
    s.run(
        f"""CREATE TEMP TABLE {n('cls')} AS
        SELECT {kcoal}, ga.{cnt} AS {na}, gb.{cnt} AS {nb},
          CASE WHEN ga.{cnt} > 1 OR gb.{cnt} > 1 THEN 'dup'
               WHEN ga.{cnt} IS NULL THEN 'added'
               WHEN gb.{cnt} IS NULL THEN 'removed'
               ELSE 'cand' END AS {c}
        FROM {n('ga')} ga FULL OUTER JOIN {n('gb')} gb ON {p.on('ga', 'gb')}
        WHERE ga.{cnt} IS NULL OR gb.{cnt} IS NULL OR ga.{cnt} > 1 OR gb.{cnt} > 1 OR ga.{h} <> gb.{h}""",
        p.what,
    )
    s.run(f"DROP TABLE {n('ga')}; DROP TABLE {n('gb')}", p.what)
    return int(rows_a), int(rows_b), int(keys_a)


def _pick(s: Session, p: Plan) -> None:
    """``pick``: the keys whose rows the diff reads (the candidates, the repeated keys and the
    sample keys of the added and removed rows)."""
    n = p.names
    korder = ", ".join(p.key_names)
    c, limit = n("c"), p.opts.limit
    s.run(
        f"""CREATE TEMP TABLE {n('pick')} AS
        SELECT {korder}, {c} FROM {n('cls')} WHERE {c} IN ('cand', 'dup')
        UNION ALL (SELECT {korder}, {c} FROM {n('cls')} WHERE {c} = 'added' ORDER BY {korder} LIMIT {limit})
        UNION ALL (SELECT {korder}, {c} FROM {n('cls')} WHERE {c} = 'removed' ORDER BY {korder} LIMIT {limit})""",
        p.what,
    )


def _fetch(s: Session, p: Plan) -> None:
    """Step 2 for repeated keys: ``pick`` and, one scan per side, its keys' full rows in ``ra`` /
    ``rb``."""
    n = p.names
    korder = ", ".join(p.key_names)
    c = n("c")
    _pick(s, p)
    for name, side, src, cls in ((n("ra"), "a", p.a.src, "removed"), (n("rb"), "b", p.b.src, "added")):
        s.run(
            f"""CREATE TEMP TABLE {name} AS
            SELECT t.* FROM (SELECT *, {p.side_keys(side)} FROM {src}) t
            SEMI JOIN (SELECT {korder} FROM {n('pick')} WHERE {c} IN ('cand', 'dup', '{cls}')) p ON {p.on('t', 'p')}""",
            p.what,
        )


def _candidates(p: Plan) -> str:
    """FROM clause: the candidate rows of A and B side by side."""
    n = p.names
    return (f"FROM {n('ra')} ra JOIN {n('rb')} rb ON {p.on('ra', 'rb')} "
            f"SEMI JOIN (SELECT {', '.join(p.key_names)} FROM {n('pick')} WHERE {n('c')} = 'cand') p ON {p.on('ra', 'p')}")


def _compare(s: Session, p: Plan) -> tuple[int, dict[str, int]]:
    """Step 3: every cell of the candidate rows compared once, in one pass: the ``dd`` table holds
    the keys and one flag per compared column (the value differs); changed rows and changed values
    per column are counted from the stored flags in one query of plain ``count_if`` (DuckDB binds
    a thousand of those over stored flags far faster than a thousand filtered aggregates of the
    comparisons themselves), in DuckDB: a diff process needs no pyarrow for it."""
    n = p.names
    flags = [n(f"d{i}") for i in range(len(p.compared))]
    keys = ", ".join(f"ra.{k}" for k in p.key_names)
    cells = "".join(f", {p.differs(c)} AS {f}" for c, f in zip(p.compared, flags))
    s.run(f"CREATE TEMP TABLE {n('dd')} AS SELECT {keys}{cells} {_candidates(p)}", p.what)  # the changed samples read it
    if not flags:
        return 0, {}
    *counts, changed = s.run(
        f"SELECT {', '.join(f'count_if({f})' for f in flags)}, count_if({' OR '.join(flags)}) FROM {n('dd')}", p.what)[0]
    per_column = {c.name: int(k) for c, k in zip(p.compared, counts) if k}  # (None when no row is a candidate)
    return int(changed or 0), per_column


def _changed_samples(s: Session, p: Plan, redact: set[str], columns_changed: dict[str, int]) -> tuple[ChangedRow, ...]:
    """The first changed rows in key order, with the changed cells before and after (read from the
    flags of step 3; only the columns with a change are fetched)."""
    n = p.names
    if not p.opts.limit or not columns_changed:
        return ()
    changed = [(i, c) for i, c in enumerate(p.compared) if c.name in columns_changed]
    any_diff = " OR ".join(f"dd.{n(f'd{i}')}" for i, _ in changed)
    key_sel = ", ".join(f"ra.{q(k.a)} AS {n(f'key{i}')}" for i, k in enumerate(p.keys))
    cells = ", ".join(
        f"ra.{q(c.a)} AS {n(f'a{i}')}, rb.{q(c.b)} AS {n(f'b{i}')}, dd.{n(f'd{i}')} AS {n(f'd{i}')}"
        for i, c in changed
    )
    order = ", ".join("dd." + k for k in p.key_names)
    rows = s.records(
        f"SELECT {key_sel}, {cells} FROM (SELECT * FROM {n('dd')} dd WHERE {any_diff} ORDER BY {order} "
        f"LIMIT {p.opts.limit}) dd JOIN {n('ra')} ra ON {p.on('dd', 'ra')} JOIN {n('rb')} rb ON {p.on('dd', 'rb')} "
        f"ORDER BY {order}",
        p.what,
    )
    out = []
    for row in rows:
        key = {k.name: _shown(row[n(f"key{i}")], k.name in redact) for i, k in enumerate(p.keys)}
        changes = tuple(
            _cell(c.name, row[n(f"a{i}")], row[n(f"b{i}")], c.name in redact)
            for i, c in changed if row[n(f"d{i}")]
        )
        out.append(ChangedRow(key, changes))
    return tuple(out)


def _row_samples(s: Session, p: Plan, redact: set[str], counts: dict[str, int]) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """Added and removed rows, the first in key order."""
    if not p.opts.limit:
        return (), ()
    n = p.names
    got = {}
    for name, side, cls in ((n("rb"), "b", "added"), (n("ra"), "a", "removed")):
        if not counts.get(cls):
            got[cls] = ()
            continue
        cols = _side_columns(p, side)
        sel = ", ".join(f"t.{q(d)} AS {n(f'v{i}')}" for i, (d, _) in enumerate(cols))
        rows = s.records(
            f"SELECT {sel} FROM {name} t SEMI JOIN (SELECT {', '.join(p.key_names)} FROM {n('pick')} "
            f"WHERE {n('c')} = '{cls}') p ON {p.on('t', 'p')} ORDER BY {', '.join('t.' + k for k in p.key_names)} "
            f"LIMIT {p.opts.limit}",
            p.what,
        )
        got[cls] = tuple({real: _shown(r[n(f"v{i}")], real in redact) for i, (_, real) in enumerate(cols)} for r in rows)
    return got["added"], got["removed"]


def _side_columns(p: Plan, side: str) -> list[tuple[str, str]]:
    """(DuckDB name, real name) of one side's columns in scope, in order."""
    if side == "a":
        return [(c.a, c.name) for c in p.cols if c.a]
    return [(c.b, c.name_b or c.name) for c in p.cols if c.b]


def _first_of(p: Plan, side: str, alias: str) -> str:
    """Aggregates keeping one row's values of every column of a side, as ``v0``, ``v1``, ..."""
    return ", ".join(f"first({alias}.{q(d)}) AS {p.names(f'v{i}')}" for i, (d, _) in enumerate(_side_columns(p, side)))


def _counted_rows(rows: list[dict[str, Any]], p: Plan, names: list[str], redact: set[str]) -> tuple[dict[str, Any], ...]:
    """Sample rows under their real names, with ``__count``: how many times each is there."""
    return tuple(
        {**{name: _shown(row[p.names(f"v{i}")], name in redact) for i, name in enumerate(names)},
         "__count": int(row[p.names("count")])}
        for row in rows
    )


def _repeated(s: Session, p: Plan, cl: _Classes, redact: set[str]) -> Duplicates | None:
    """Step 4 for repeated keys: their rows paired within each key by full content (the key and
    every compared column, as compared), the rows without a partner shown with their count."""
    if not cl.dup_keys:
        return None
    n = p.names
    kn = p.key_names
    korder = ", ".join(kn)
    limit = max(p.opts.limit, 1)

    def keys_of(name: str, side: str) -> str:
        first = ", ".join(f"first(t.{q(k.a if side == 'a' else k.b)}) AS {n(f'key{i}')}" for i, k in enumerate(p.keys))
        return f"SELECT {korder}, {first} FROM {name} t GROUP BY ALL"

    shown = ", ".join(f"coalesce(fa.{n(f'key{i}')}, fb.{n(f'key{i}')}) AS {n(f'key{i}')}" for i in range(len(p.keys)))
    ex = s.records(
        f"SELECT {shown}, coalesce(c.{n('na')}, 0) AS {n('na')}, coalesce(c.{n('nb')}, 0) AS {n('nb')} "
        f"FROM {n('cls')} c LEFT JOIN ({keys_of(n('ra'), 'a')}) fa ON {p.on('c', 'fa')} "
        f"LEFT JOIN ({keys_of(n('rb'), 'b')}) fb ON {p.on('c', 'fb')} "
        f"WHERE c.{n('c')} = 'dup' ORDER BY {', '.join('c.' + k for k in kn)} LIMIT {limit}",
        p.what,
    )
    examples = tuple(
        DuplicateKey({k.name: _shown(r[n(f"key{i}")], k.name in redact) for i, k in enumerate(p.keys)},
                     int(r[n("na")]), int(r[n("nb")]))
        for r in ex
    )
    # multiset pairing: group each side's rows of the repeated keys by their content as compared
    m = len(kn) + sum(len(p.value_exprs(c, "a")) for c in p.compared)
    for name, src, side in ((n("dx"), n("ra"), "a"), (n("dy"), n("rb"), "b")):
        content = [f"t.{k}" for k in kn] + [e for c in p.compared for e in p.value_exprs(c, side, "t")]
        ms = ", ".join(f"{e} AS {n(f'm{i}')}" for i, e in enumerate(content))
        s.run(
            f"CREATE TEMP TABLE {name} AS SELECT {ms}, count(*) AS {n('n')}, {_first_of(p, side, 't')} "
            f"FROM {src} t SEMI JOIN (SELECT {korder} FROM {n('pick')} WHERE {n('c')} = 'dup') p ON {p.on('t', 'p')} "
            f"GROUP BY {', '.join(str(i + 1) for i in range(m))}",
            p.what,
        )

    def m_on(x: str, y: str) -> str:
        return " AND ".join(f"{x}.{n(f'm{i}')} IS NOT DISTINCT FROM {y}.{n(f'm{i}')}" for i in range(m))

    cnt = n("n")
    matched, only_a, only_b = s.run(
        f"SELECT coalesce(sum(least(coalesce(x.{cnt}, 0), coalesce(y.{cnt}, 0))), 0)::BIGINT, "
        f"coalesce(sum(greatest(coalesce(x.{cnt}, 0) - coalesce(y.{cnt}, 0), 0)), 0)::BIGINT, "
        f"coalesce(sum(greatest(coalesce(y.{cnt}, 0) - coalesce(x.{cnt}, 0), 0)), 0)::BIGINT "
        f"FROM {n('dx')} x FULL OUTER JOIN {n('dy')} y ON {m_on('x', 'y')}",
        p.what,
    )[0]
    unmatched = {}
    for here, there, side in ((n("dx"), n("dy"), "a"), (n("dy"), n("dx"), "b")):
        cols = _side_columns(p, side)
        sel = "".join(f"h.{n(f'v{i}')}, " for i in range(len(cols)))
        rows = s.records(
            f"SELECT {sel}h.{cnt} - coalesce(o.{cnt}, 0) AS {n('count')} FROM {here} h LEFT JOIN {there} o "
            f"ON {m_on('h', 'o')} WHERE h.{cnt} > coalesce(o.{cnt}, 0) "
            f"ORDER BY {', '.join('h.' + n(f'm{i}') for i in range(m))} LIMIT {limit}",
            p.what,
        )
        unmatched[side] = _counted_rows(rows, p, [name for _, name in cols], redact)
    return Duplicates(cl.dup_keys, cl.dup_rows_a, cl.dup_rows_b, int(matched), int(only_a), int(only_b),
                      examples, unmatched["a"], unmatched["b"])


def _keyed(s: Session, p: Plan, stats: dict[str, ColumnStatsPair], redact: set[str]) -> TableDiff:
    cl = _classify(s, p)
    if not cl.fetched:
        _fetch(s, p)
    changed, columns_changed = _compare(s, p)
    added, removed = cl.counts.get("added", 0), cl.counts.get("removed", 0)
    unchanged = cl.keys_a - cl.dup_a_keys - removed - changed  # unique keys of A that matched and compare equal
    changed_rows = _changed_samples(s, p, redact, columns_changed)
    added_rows, removed_rows = _row_samples(s, p, redact, cl.counts)
    duplicates = _repeated(s, p, cl, redact)
    notes = list(p.notes)
    schema = _schema_diff(p.cols, p.comparisons, columns_changed, dict(zip((k.name for k in p.keys), p.key_comparisons)))
    if schema.added or schema.removed:
        notes.append("values are compared on the columns present in both versions")
    _tolerance_note(p, notes)
    return TableDiff(
        mode="keyed",
        keys=tuple(k.name for k in p.keys),
        schema=schema,
        rows=RowCounts(cl.rows_a, cl.rows_b, int(added), int(removed), changed, int(unchanged)),
        columns_changed=columns_changed,
        samples=Samples(added_rows, removed_rows, changed_rows),
        stats=stats,
        duplicates=duplicates,
        compared_columns=tuple(c.name for c in p.compared),
        notes=tuple(notes),
        options=p.opts,
    )


def _tolerance_note(p: Plan, notes: list[str]) -> None:
    not_numeric = [c.name for c in p.compared if not p.comparisons[c.name].numeric
                   and any(p.opts.tolerance(c.name)) and (dict(p.opts.abs_tol_columns + p.opts.rel_tol_columns)
                                                           .get(c.name) is not None)]
    if not_numeric:
        notes.append(f"tolerances apply to numbers only; compared exactly: {', '.join(not_numeric)}")


# --------------------------------------------------------------------------- unkeyed


def _unkeyed(s: Session, p: Plan, stats: dict[str, ColumnStatsPair], redact: set[str]) -> TableDiff:
    n = p.names
    notes = list(p.notes)
    schema = _schema_diff(p.cols, p.comparisons, None)
    if not p.compared:
        ra = s.run(f"SELECT count(*) FROM {p.a.src}", p.what)[0][0]
        rb = s.run(f"SELECT count(*) FROM {p.b.src}", p.what)[0][0]
        return TableDiff(
            mode="unkeyed", keys=(), schema=schema, rows=RowCounts(ra, rb, rb, ra, None, 0),
            columns_changed={}, samples=Samples(), stats=stats,
            notes=tuple(notes + ["the versions share no column: no rows in common"]), options=p.opts,
        )
    cnt, h, na, nb = n("n"), n("h"), n("na"), n("nb")

    def content(side: str) -> list[str]:
        return [e for c in p.compared for e in p.value_exprs(c, side, "t")]

    # each side grouped by the hash of its rows' content as compared (one hash, not a thousand
    # grouping columns: the width costs one hash per row), then the groups joined by hash
    for name, side, src in ((n("ga"), "a", p.a.src), (n("gb"), "b", p.b.src)):
        s.run(f"CREATE TEMP TABLE {name} AS SELECT hash({', '.join(content(side))}) AS {h}, count(*) AS {cnt} "
              f"FROM {src} t GROUP BY 1", p.what)
    s.run(
        f"""CREATE TEMP TABLE {n('j')} AS SELECT coalesce(ga.{h}, gb.{h}) AS {h}, coalesce(ga.{cnt}, 0) AS {na},
            coalesce(gb.{cnt}, 0) AS {nb} FROM {n('ga')} ga FULL OUTER JOIN {n('gb')} gb ON ga.{h} = gb.{h}""",
        p.what,
    )
    ra, rb, only_a, only_b, both = s.run(
        f"SELECT coalesce(sum({na}), 0)::BIGINT, coalesce(sum({nb}), 0)::BIGINT, "
        f"coalesce(sum(greatest({na} - {nb}, 0)), 0)::BIGINT, coalesce(sum(greatest({nb} - {na}, 0)), 0)::BIGINT, "
        f"coalesce(sum(least({na}, {nb})), 0)::BIGINT FROM {n('j')}",
        p.what,
    )[0]
    samples: dict[str, tuple] = {"added": (), "removed": ()}
    if p.opts.limit:
        for cls, side, src, cond, count, many in (("removed", "a", p.a.src, f"{na} > {nb}", f"{na} - {nb}", only_a),
                                                  ("added", "b", p.b.src, f"{nb} > {na}", f"{nb} - {na}", only_b)):
            if not many:
                continue
            # the rows of the groups with copies left over: one row per group, the first in content order
            exprs = content(side)
            order = ", ".join(f"first({e})" for e in exprs)
            sel = ", ".join(f"first(t.{q(c.a if side == 'a' else c.b)}) AS {n(f'v{i}')}" for i, c in enumerate(p.compared))
            rows = s.records(
                f"SELECT {sel}, first(d.{n('left')}) AS {n('count')} FROM {src} t "
                f"JOIN (SELECT {h}, {count} AS {n('left')} FROM {n('j')} WHERE {cond}) d ON hash({', '.join(exprs)}) = d.{h} "
                f"GROUP BY d.{h} ORDER BY {order} LIMIT {p.opts.limit}",
                p.what,
            )
            names = [c.name if side == "a" else (c.name_b or c.name) for c in p.compared]
            samples[cls] = _counted_rows(rows, p, names, redact)
    notes.append("no key: whole rows compared as a multiset (order ignored, duplicates counted)")
    if p.opts.has_tolerance:
        notes.append("tolerances apply to keyed comparisons only; rows were compared exactly")
    if schema.added or schema.removed:
        notes.append(f"rows are compared on the {len(p.compared)} columns present in both versions")
    return TableDiff(
        mode="unkeyed",
        keys=(),
        schema=schema,
        rows=RowCounts(int(ra), int(rb), int(only_b), int(only_a), None, int(both)),
        columns_changed={},
        samples=Samples(samples["added"], samples["removed"], ()),
        stats=stats,
        compared_columns=tuple(c.name for c in p.compared),
        notes=tuple(notes),
        options=p.opts,
    )
