"""Table summaries computed once at write time, so history and diff summaries need no data reads."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..models import ColumnStats, TableInfo

DISTINCT_LIMIT = 2_000_000  # exact distinct counts below this many rows; skipped above


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return None
    if isinstance(value, (int, str, bool)):
        return value
    return str(value)


STRING_STAT_LIMIT = 64  # characters of a string min / max kept in a sidecar


def _bounded(value: Any) -> Any:
    """A string statistic cut to ``STRING_STAT_LIMIT`` characters, ending in ``…`` when cut
    (a 1 MB value must not make a 2 MB sidecar)."""
    if isinstance(value, str) and len(value) > STRING_STAT_LIMIT:
        return value[: STRING_STAT_LIMIT - 1] + "…"
    return value


def _orderable(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_boolean(t)
    )


def column_stats(name: str, col: pa.ChunkedArray, num_rows: int) -> ColumnStats:
    t = stored = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    stats: dict[str, Any] = {"null_count": int(col.null_count)}
    if _orderable(t) and num_rows:
        try:
            mm = pc.min_max(col).as_py()
            stats["min"] = _bounded(_scalar(mm["min"]))
            stats["max"] = _bounded(_scalar(mm["max"]))
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            try:
                stats["mean"] = _scalar(pc.mean(col).as_py())
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
                pass
        if num_rows <= DISTINCT_LIMIT:
            try:
                stats["distinct"] = int(pc.count_distinct(col, mode="only_valid").as_py())
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
                pass
    return ColumnStats(name=name, type=str(stored), **stats)


def summarize(table: pa.Table) -> TableInfo:
    cols = tuple(column_stats(f.name, table.column(i), table.num_rows) for i, f in enumerate(table.schema))
    return TableInfo(num_rows=table.num_rows, columns=cols)
