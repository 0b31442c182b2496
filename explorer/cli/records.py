"""Query results (Arrow tables) as JSON records, CSV and table cells: one defined
representation per type, the same in every format (docs/catalogue.md lists them).

Each value as :func:`explorer.values.json_value` writes it (the table of types is there).
In JSON, a column name used twice gets ``_2``, ``_3``, ... after its later uses.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyarrow as pa

from ..values import json_value as plain


def _row_values(table: pa.Table):
    """Rows as tuples of Python values, column by column (``to_pylist`` would merge two
    columns of the same name)."""
    return zip(*(col.to_pylist() for col in table.columns)) if table.num_columns else iter(())


def record_names(names: list[str]) -> list[str]:
    """Column names as JSON keys: a name used twice (``select 1 as a, 2 as a``) gets ``_2``,
    ``_3``, ... after its second and later uses, since an object cannot hold a key twice."""
    seen: dict[str, int] = {}
    taken = set(names)
    out = []
    for name in names:
        if name not in seen:
            seen[name] = 1
            out.append(name)
            continue
        k = seen[name]
        while True:
            k += 1
            candidate = f"{name}_{k}"
            if candidate not in taken:
                break
        seen[name] = k
        taken.add(candidate)
        out.append(candidate)
    return out


def to_records(table: pa.Table) -> list[dict[str, Any]]:
    """The table as JSON-ready records (``json.dumps(..., allow_nan=False)`` accepts them)."""
    names = record_names(table.column_names)
    return [dict(zip(names, (plain(v) for v in row))) for row in _row_values(table)]


def text(value: Any) -> str:
    """One field of CSV or a table cell: scalars as in JSON, nested values as JSON, NULL empty."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_json(table: pa.Table) -> str:
    return json.dumps(to_records(table), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def to_csv(table: pa.Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in _row_values(table):
        writer.writerow([text(v) for v in row])
    return buf.getvalue()


def cells(table: pa.Table, limit: int) -> list[list[str]]:
    """The first ``limit`` rows as table cells (plain text: the caller escapes for the terminal)."""
    return [[text(v) for v in row] for row in _row_values(table.slice(0, limit))]
