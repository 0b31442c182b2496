"""Query results (Arrow tables) as JSON records, CSV and table cells: one defined
representation per type, the same in every format (docs/catalogue.md lists them).

======================  ===================================================================
type                    written as
======================  ===================================================================
integers                numbers (exact, also beyond 2**53: HUGEINT, UBIGINT, decimals of scale 0)
floats                  numbers; NaN, Infinity, -Infinity as the strings ``"NaN"``,
                        ``"Infinity"``, ``"-Infinity"`` (JSON has no such numbers)
decimals                strings with every digit (``"12345678901234567890.12"``)
timestamps              ISO 8601; with a time zone, in UTC with its offset (``2026-01-02T03:04:05+00:00``)
dates, times            ISO 8601 (``2026-01-02``, ``03:04:05.250000``)
intervals, durations    ISO 8601 durations (``P1M2DT3H4M5.5S``; DuckDB's months, days and time
                        kept apart, as DuckDB keeps them)
blobs                   base64 strings
UUIDs                   strings
lists, structs, maps    JSON arrays and objects (a map with keys that are not strings: an
                        array of ``{"key": ..., "value": ...}``); in CSV and tables, that JSON
booleans                ``true`` / ``false``
NULL                    ``null`` in JSON, an empty field in CSV and tables
======================  ===================================================================

In JSON, a column name used twice gets ``_2``, ``_3``, ... after its later uses.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
import uuid
from typing import Any

import pyarrow as pa


def _iso_duration(months: int, days: int, nanoseconds: int) -> str:
    if not (months or days or nanoseconds):
        return "PT0S"
    sign = ""
    if months <= 0 and days <= 0 and nanoseconds <= 0:
        sign, months, days, nanoseconds = "-", -months, -days, -nanoseconds
    years, months = divmod(months, 12) if months >= 0 else (0, months)
    date = "".join(f"{n}{u}" for n, u in ((years, "Y"), (months, "M"), (days, "D")) if n)
    seconds, frac = divmod(abs(nanoseconds), 1_000_000_000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    sec = f"{seconds}.{frac:09d}".rstrip("0").rstrip(".") if frac else (str(seconds) if seconds else "")
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n) + (f"{sec}S" if sec else "")
    if nanoseconds < 0:
        time = "-" + time  # mixed signs (DuckDB allows 1 month -3 seconds)
    return sign + "P" + date + ("T" + time if time else "")


def plain(value: Any) -> Any:
    """A value from ``Table.to_pylist()`` as plain JSON data (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return plain(float(value))
        return int(value) if value.as_tuple().exponent == 0 else str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # DuckDB hands TIMESTAMPTZ over in the session's (the machine's) zone: the same instant
        # is always written in UTC, whatever TZ the command ran under
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _iso_duration(0, value.days, (value.seconds * 1_000_000 + value.microseconds) * 1000)
    if isinstance(value, pa.MonthDayNano):
        return _iso_duration(value.months, value.days, value.nanoseconds)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
        # a map: pyarrow gives [(key, value), ...]
        if all(isinstance(k, str) for k, _ in value):
            return {k: plain(v) for k, v in value}
        return [{"key": plain(k), "value": plain(v)} for k, v in value]
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    return str(value)


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
