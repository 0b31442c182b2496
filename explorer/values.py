"""Values read from tables as plain JSON data: one defined representation per type, used by
every JSON output (SQL results, diffs, traces; docs/catalogue.md lists them).

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
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
import sys
import uuid
from typing import Any


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


def json_value(value: Any) -> Any:
    """A value from ``Table.to_pylist()`` (or numpy, or Python) as plain JSON data (see the module docstring)."""
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
            return json_value(float(value))
        return int(value) if value.as_tuple().exponent == 0 else str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # DuckDB hands TIMESTAMPTZ over in the session's (the machine's) zone: the same instant
        # is always written in UTC, whatever TZ the command ran under
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _iso_duration(0, value.days, (value.seconds * 1_000_000 + value.microseconds) * 1000)
    pa = sys.modules.get("pyarrow")  # without pyarrow loaded, no value can be one of its types
    if pa is not None and isinstance(value, pa.MonthDayNano):
        return _iso_duration(value.months, value.days, value.nanoseconds)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
        # a map: pyarrow gives [(key, value), ...]
        if all(isinstance(k, str) for k, _ in value):
            return {k: json_value(v) for k, v in value}
        return [{"key": json_value(k), "value": json_value(v)} for k, v in value]
    if isinstance(value, (list, tuple)):
        return [json_value(x) for x in value]
    if hasattr(value, "item"):  # numpy scalars
        return json_value(value.item())
    if hasattr(value, "tolist"):  # numpy arrays
        return json_value(value.tolist())
    return str(value)
