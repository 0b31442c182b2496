"""Feather (Arrow IPC files, ``.feather``): tables as Arrow holds them in memory, read without
conversion (uncompressed or lz4/zstd-compressed, as ``pyarrow.feather`` writes them).

DuckDB has no built-in reader of Arrow IPC files (its ``arrow`` extension would be downloaded,
which nothing here may depend on), so SQL and table diffs read a version through a pyarrow
dataset registered with the query's own connection: still lazy, still only this one file. A
catalog file (``frontier-explore catalog``) holds views as SQL text alone, so it leaves Feather
versions out, as it leaves out any version it cannot name by path.

This module is the whole of the format: the registry (``explorer.formats``) finds it, and the
writer, the reader, previews, SQL, diffs, traces, verification and stock Dagster stores
(``<asset>.feather``) look it up there.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import ExplorerError
from . import register
from .base import Format, Location, head_of_batches, quote_ident, table_of


def _dataset(loc: Location) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(loc.path, filesystem=loc.fs, format="feather")


class Feather(Format):
    name = "feather"
    extensions = (".feather", ".arrow")
    kind = "table"
    table = True

    def write(self, value: Any) -> bytes:
        import pyarrow as pa
        import pyarrow.feather as feather

        sink = pa.BufferOutputStream()
        feather.write_feather(table_of(value, self.name), sink, compression="zstd")
        return sink.getvalue().to_pybytes()

    def read(self, loc: Location, columns: list[str] | None = None, filter: Any = None) -> Any:
        return _dataset(loc).to_table(columns=columns, filter=filter)

    def schema(self, loc: Location) -> Any:
        return _dataset(loc).schema

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        dataset = _dataset(loc)
        return head_of_batches(dataset.to_batches(batch_size=max(rows, 1)), rows, offset, dataset.schema)

    def duckdb_source(self, loc: Location, con: Any = None) -> str:
        v = loc.version
        if con is None:
            raise ExplorerError(f"{v.asset} in run {v.run_id} is feather: DuckDB reads it only through a query's "
                                "own connection, not from SQL text alone")
        name = "__fx_feather_" + hashlib.sha256(loc.path.encode("utf-8")).hexdigest()[:20]
        con.register(name, _dataset(loc))
        return quote_ident(name)


register(Feather())
