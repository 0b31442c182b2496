"""CSV: a header and rows, types inferred by the reader (pyarrow's, DuckDB's)."""

from __future__ import annotations

import io
from typing import Any

from . import register
from .base import PREVIEW_BYTES, Format, Location, duck_path, head_of_batches, quote_literal, table_of


class Csv(Format):
    name = "csv"
    extensions = (".csv",)
    kind = "table"
    table = True

    def write(self, value: Any) -> bytes:
        import pyarrow.csv as pacsv

        sink = io.BytesIO()
        pacsv.write_csv(table_of(value, self.name), sink)
        return sink.getvalue()

    def read(self, loc: Location, columns: list[str] | None = None, filter: Any = None) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if filter is not None:
            try:
                return _read_filtered(loc, columns, filter)
            except pa.ArrowInvalid:
                pass  # a later block did not fit the first block's types: read it whole
        with loc.fs.open(loc.path, "rb") as fh:
            table = pacsv.read_csv(fh)
        if filter is not None:
            table = table.filter(filter)
        if columns:
            table = table.select(columns)
        return table

    def schema(self, loc: Location) -> Any:
        import pyarrow.csv as pacsv

        with loc.fs.open(loc.path, "rb") as fh:
            return pacsv.open_csv(fh).schema

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        """A few small blocks: pyarrow's streaming reader reads some 32 blocks ahead of the one
        it parses, so blocks are 64 KiB (2 MiB read); a row longer than that (a very wide
        header) is read again with 16 MiB blocks."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        for block in (1 << 16, 1 << 24):
            try:
                with loc.fs.open(loc.path, "rb", block_size=PREVIEW_BYTES) as fh:
                    reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(use_threads=False, block_size=block))
                    return head_of_batches(reader, rows, offset, reader.schema)
            except pa.ArrowInvalid as exc:
                if block == 1 << 24 or "straddl" not in str(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the last block size re-raises

    def duckdb_source(self, loc: Location, con: Any = None) -> str:
        """``read_csv`` with DuckDB's type detection, except for the columns the sidecar records as
        text: those are read as written (detection would read ``"01"`` as 1 and ``"1.0"`` as 1, so a
        diff could not see the change from ``"1.0"`` to ``"1"``)."""
        text = _text_columns(loc)
        types = (", types = {" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in text) + "}") if text else ""
        return f"read_csv({duck_path(loc.url(loc.path))}, auto_detect=true{types})"


def _text_columns(loc: Location) -> list[str]:
    """The columns the version's sidecar records as strings (none if it records no table)."""
    table = getattr(getattr(loc, "version", None), "table", None)
    if table is None:
        return []
    return [c.name for c in table.columns if c.type in ("string", "large_string", "utf8", "large_utf8")]


def _read_filtered(loc: Location, columns: list[str] | None, filter: Any) -> Any:
    """Stream a CSV block by block, keeping only the rows that pass ``filter``: memory holds
    one block and the matches, never the whole file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with loc.fs.open(loc.path, "rb") as fh:
        reader = pacsv.open_csv(fh)
        schema = reader.schema
        parts = []
        for batch in reader:
            part = pa.Table.from_batches([batch]).filter(filter)
            if part.num_rows:
                parts.append(part.select(columns) if columns else part)
    if parts:
        return pa.concat_tables(parts)
    empty = schema.empty_table()
    return empty.select(columns) if columns else empty


register(Csv())
