"""Parquet: one file, zstd-compressed, 128 Ki rows a row group. The default for tables."""

from __future__ import annotations

from typing import Any

from . import register
from .base import Format, Location, head_of_batches, duck_path, table_of, to_arrow


def parquet_bytes(table: Any) -> bytes:
    """A table as the parquet bytes every writer here writes (the directory format too)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=128 * 1024)
    return sink.getvalue().to_pybytes()


class Parquet(Format):
    name = "parquet"
    extensions = (".parquet", ".pq")
    kind = "table"
    table = True
    claim_order = 10

    def claims(self, value: Any) -> bool:
        return to_arrow(value) is not None

    def write(self, value: Any) -> bytes:
        return parquet_bytes(table_of(value, self.name))

    def read(self, loc: Location, columns: list[str] | None = None, filter: Any = None) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(loc.path, filesystem=loc.fs, columns=columns, filters=filter)

    def read_matching(self, loc: Location, filter: Any, filter_columns: list[str]) -> Any:
        """Row groups whose statistics exclude the filter are skipped; of the row groups left,
        only ``filter_columns`` are read first, and the other columns only of the row groups
        that hold a match. When the values are spread over the whole file (no clustering), this
        reads the key column plus a few row groups instead of everything."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        dataset = ds.dataset(loc.path, filesystem=loc.fs, format="parquet")
        parts = []
        for fragment in dataset.get_fragments():
            groups = fragment.split_by_row_group(filter, schema=dataset.schema)
            if len(groups) <= 2:  # pruning did the work: one read of what is left
                parts += [g.to_table(schema=dataset.schema, filter=filter) for g in groups]
                continue
            for group in groups:
                probe = group.to_table(schema=dataset.schema, columns=list(filter_columns), filter=filter)
                if probe.num_rows:
                    parts.append(group.to_table(schema=dataset.schema, filter=filter))
        parts = [p for p in parts if p.num_rows]
        if parts:
            return pa.concat_tables(parts)
        return dataset.schema.empty_table()

    def schema(self, loc: Location) -> Any:
        import pyarrow.parquet as pq

        with loc.fs.open(loc.path, "rb") as fh:
            return pq.read_schema(fh)

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        """One row group at a time; row groups wholly before ``offset`` are never read."""
        import pyarrow.parquet as pq

        with loc.fs.open(loc.path, "rb") as fh:
            pf = pq.ParquetFile(fh, pre_buffer=False)
            skipped, groups = 0, []
            for group in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(group).num_rows
                if skipped + n <= offset and not groups:
                    skipped += n
                    continue
                groups.append(group)

            def batches():
                for group in groups:
                    yield from pf.iter_batches(batch_size=max(rows, 1), row_groups=[group])

            return head_of_batches(batches(), rows, offset - skipped, pf.schema_arrow)

    def duckdb_source(self, loc: Location, con: Any = None) -> str:
        return f"read_parquet({duck_path(loc.url(loc.path))})"


register(Parquet())
