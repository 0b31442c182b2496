"""Reading the data of a version: whole loads and cheap previews. Never unpickles unless asked."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from .. import format as fmt
from ..errors import ExplorerError, FormatError, UnsafeLoad
from ..models import AssetVersion
from .fs import is_local

PICKLE_REFUSAL = (
    "{what} is a pickle; unpickling runs code from the store, so it is not loaded "
    "(opt in with --trust-pickle or allow_pickle=True)"
)


def resolve(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> str:
    """Absolute path of a version's data, refusing anything that leaves the store root."""
    rel = fmt.check_relative_path(version.data_path, "data_path", version.sidecar_path or version.asset)
    path = fmt.join(root, rel)
    if is_local(fs):
        real_root = os.path.realpath(root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise FormatError(f"{rel}: resolves outside the store (symlink?); refused")
    return path


def _missing(version: AssetVersion) -> ExplorerError:
    return ExplorerError(
        f"data of {version.asset} in run {version.run_id} is missing ({version.data_path})"
    )


def read_table(
    fs: fsspec.AbstractFileSystem,
    root: str,
    version: AssetVersion,
    columns: list[str] | None = None,
    filter: Any = None,
) -> pa.Table:
    """Read a tabular version as an Arrow table (optionally a column subset / row filter)."""
    return _named(version, _read_table(fs, root, version, columns, filter))


def _named(version: AssetVersion, table: Any) -> Any:
    """A table or schema, once its column names are known to be text: a damaged CSV header
    can hold bytes that are not UTF-8, which pyarrow reports only when a name is asked for."""
    try:
        (table.schema if isinstance(table, pa.Table) else table).names
    except UnicodeDecodeError:
        raise ExplorerError(f"{version.data_path}: cannot read table (a column name is not valid UTF-8)") from None
    return table


def _read_table(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, columns: list[str] | None, filter: Any) -> pa.Table:
    path = resolve(fs, root, version)
    try:
        if version.data_format == "parquet":
            return pq.read_table(path, filesystem=fs, columns=columns, filters=filter)
        if version.data_format == "directory":
            import pyarrow.dataset as ds

            dataset = ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive")
            return dataset.to_table(columns=columns, filter=filter)
        if version.data_format == "csv":
            import pyarrow.csv as pacsv

            if filter is not None:
                try:
                    return _read_csv_filtered(fs, path, columns, filter)
                except pa.ArrowInvalid:
                    pass  # a later block did not fit the first block's types: read it whole
            with fs.open(path, "rb") as fh:
                table = pacsv.read_csv(fh)
            if filter is not None:
                table = table.filter(filter)
            if columns:
                table = table.select(columns)
            return table
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: cannot read table ({exc})") from None
    raise ExplorerError(f"{version.asset} is {version.data_format}, not a table")


def _read_csv_filtered(fs: fsspec.AbstractFileSystem, path: str, columns: list[str] | None, filter: Any) -> pa.Table:
    """Stream a CSV block by block, keeping only the rows that pass ``filter``: memory holds
    one block and the matches, never the whole file."""
    import pyarrow.csv as pacsv

    with fs.open(path, "rb") as fh:
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


def read_matching(
    fs: fsspec.AbstractFileSystem,
    root: str,
    version: AssetVersion,
    filter: Any,
    filter_columns: list[str],
) -> pa.Table:
    """The rows of a tabular version passing ``filter`` (an expression over ``filter_columns``),
    reading as little as possible.

    For a parquet file, row groups whose statistics exclude the filter are skipped (as
    ``read_table`` does); of the row groups left, only ``filter_columns`` are read first, and
    the other columns only of the row groups that hold a match. When the values are spread
    over the whole file (no clustering), this reads the key column plus a few row groups
    instead of everything. Other formats: ``read_table`` with the filter.
    """
    if version.data_format != "parquet":
        return read_table(fs, root, version, None, filter)
    return _named(version, _read_matching(fs, root, version, filter, filter_columns))


def _read_matching(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, filter: Any, filter_columns: list[str]) -> pa.Table:
    import pyarrow.dataset as ds

    path = resolve(fs, root, version)
    try:
        dataset = ds.dataset(path, filesystem=fs, format="parquet")
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
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: cannot read table ({exc})") from None


def table_schema(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> pa.Schema:
    """The Arrow schema of a tabular version, as a reader sees it (parquet footer, dataset
    schema, or the types inferred from a CSV's first block)."""
    return _named(version, _table_schema(fs, root, version))


def _table_schema(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> pa.Schema:
    path = resolve(fs, root, version)
    try:
        if version.data_format == "parquet":
            with fs.open(path, "rb") as fh:
                return pq.read_schema(fh)
        if version.data_format == "directory":
            import pyarrow.dataset as ds

            return ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").schema
        if version.data_format == "csv":
            import pyarrow.csv as pacsv

            with fs.open(path, "rb") as fh:
                return pacsv.open_csv(fh).schema
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: cannot read table ({exc})") from None
    raise ExplorerError(f"{version.asset} is {version.data_format}, not a table")


def load(
    fs: fsspec.AbstractFileSystem,
    root: str,
    version: AssetVersion,
    allow_pickle: bool = False,
    as_arrow: bool = False,
) -> Any:
    """The value of a version: DataFrame (or Arrow table), dict/list, ndarray, bytes."""
    if version.data_format in fmt.TABLE_FORMATS:
        table = read_table(fs, root, version)
        return table if as_arrow else table.to_pandas()
    if version.data_format == "pickle" and not allow_pickle:
        raise UnsafeLoad(PICKLE_REFUSAL.format(what=f"{version.asset} in run {version.run_id}"))
    path = resolve(fs, root, version)
    try:
        raw = fs.cat_file(path)
    except FileNotFoundError:
        raise _missing(version) from None
    if version.data_format == "json":
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise ExplorerError(f"{version.data_path}: invalid JSON ({exc})") from None
    if version.data_format == "npy":
        import numpy as np

        try:
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - a damaged header fails in ast/tokenize (SyntaxError,
            # TokenError), a short body in reshape (ValueError) or EOFError: all mean "not a valid array"
            raise ExplorerError(f"{version.data_path}: cannot read array ({type(exc).__name__}: {exc})") from None
    if version.data_format == "pickle":
        import pickle

        return pickle.loads(raw)  # noqa: S301 - the user opted in
    return raw


def preview_table(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, rows: int = 50) -> pa.Table:
    """The first ``rows`` rows, reading only what is shown (first row groups / first CSV block)."""
    return _named(version, _preview_table(fs, root, version, rows))


def _preview_table(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, rows: int) -> pa.Table:
    path = resolve(fs, root, version)
    try:
        if version.data_format == "parquet":
            with fs.open(path, "rb") as fh:
                pf = pq.ParquetFile(fh, pre_buffer=False)
                parts = []
                got = 0
                for group in range(pf.metadata.num_row_groups):  # one row group at a time
                    if got >= rows:
                        break
                    for batch in pf.iter_batches(batch_size=max(rows, 1), row_groups=[group]):
                        parts.append(batch)
                        got += batch.num_rows
                        if got >= rows:
                            break
                if not parts:
                    return pf.schema_arrow.empty_table()
                return pa.Table.from_batches(parts).slice(0, rows)
        if version.data_format == "directory":
            import pyarrow.dataset as ds

            return ds.dataset(path, filesystem=fs, format="parquet", partitioning="hive").head(rows)
        if version.data_format == "csv":
            import pyarrow.csv as pacsv

            with fs.open(path, "rb") as fh:
                reader = pacsv.open_csv(fh)
                batches = []
                got = 0
                for batch in reader:
                    batches.append(batch)
                    got += batch.num_rows
                    if got >= rows:
                        break
                if not batches:
                    return reader.schema.empty_table()
                return pa.Table.from_batches(batches).slice(0, rows)
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: cannot read table ({exc})") from None
    raise ExplorerError(f"{version.asset} is {version.data_format}, not a table")


def preview(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, rows: int = 50) -> Any:
    """A small view of any version: a DataFrame for tables, the value for JSON/arrays, a
    description for bytes and pickles (which are never unpickled here)."""
    if version.data_format in fmt.TABLE_FORMATS:
        return preview_table(fs, root, version, rows).to_pandas()
    if version.data_format in ("json", "npy"):
        return load(fs, root, version)
    if version.data_format == "pickle":
        return PICKLE_REFUSAL.format(what=f"{version.asset} in run {version.run_id}")
    path = resolve(fs, root, version)
    try:
        with fs.open(path, "rb") as fh:
            head = fh.read(256)
    except FileNotFoundError:
        raise _missing(version) from None
    return f"{version.size_bytes} bytes; first bytes: {head[:64]!r}"
