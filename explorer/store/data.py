"""Reading the data of a version: whole loads and cheap previews. Never unpickles unless asked."""

from __future__ import annotations

import io
import json
import os
import stat
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from .. import format as fmt
from ..errors import ExplorerError, FormatError, UnsafeLoad, one_line
from ..models import AssetVersion
from .fs import RefusedFile, check_readable, is_local, shown_path

PREVIEW_BYTES = 1 << 20  # the most a preview of JSON, an array or raw bytes reads (1 MiB)

PICKLE_REFUSAL = (
    "{what} is a pickle; unpickling runs code from the store, so it is not loaded "
    "(opt in with --trust-pickle or allow_pickle=True)"
)


def resolve(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> str:
    """Absolute path of a version's data, refusing anything that leaves the store root.

    On local disk a data file must also be a regular file (a FIFO would make any reader, DuckDB
    included, wait forever) that no symbolic link takes out of the store; a missing one is
    left to the reader to report."""
    rel = fmt.check_relative_path(version.data_path, "data_path", fmt.sidecar_path(version.run_id, version.asset, version.partition))
    path = fmt.join(root, rel)
    if is_local(fs):
        real_root = os.path.realpath(root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise FormatError(f"{rel}: resolves outside the store (symlink?); refused")
        if version.data_format != "directory":
            try:
                check_readable(path, root, real_root)
            except RefusedFile as exc:
                raise FormatError(str(exc)) from None
            except OSError:
                pass  # missing or unreadable: the reader says which
    return path


def directory_files(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, data_only: bool = True) -> list[str]:
    """The files of a directory version, absolute paths, sorted: the one listing every reader of
    such a version uses (pyarrow here, DuckDB sources, ``verify``).

    Symbolic links are never followed: a link (to a file or a folder, inside the store or not)
    or any other entry that is not a regular file or a folder is refused with an ExplorerError
    naming it, so a link cannot bring outside rows in and a loop cannot repeat files. With
    ``data_only`` only the parquet files a reader reads are listed (as pyarrow's discovery does:
    names starting with ``.`` or ``_`` are left out); otherwise every file, for hashing."""
    path = resolve(fs, root, version)
    base = path.rstrip("/") + "/"
    if is_local(fs):
        if not os.path.isdir(path):
            raise FileNotFoundError(path)
        files = []
        for folder, dirs, names in os.walk(path, followlinks=False):
            for name in sorted(dirs + names):
                full = os.path.join(folder, name)
                mode = os.lstat(full).st_mode
                if stat.S_ISLNK(mode):
                    raise ExplorerError(f"{shown_path(full, root)}: symlink inside directory version {version.asset} "
                                        f"of run {version.run_id}, not followed; the version is not read")
                if stat.S_ISREG(mode):
                    files.append(full)
                elif not stat.S_ISDIR(mode):
                    raise ExplorerError(f"{shown_path(full, root)}: not a regular file inside directory version "
                                        f"{version.asset} of run {version.run_id}; the version is not read")
    else:
        files = [p for p in fs.find(path) if not p.rstrip("/").endswith("/")]
        if not files and not fs.isdir(path):
            raise FileNotFoundError(path)
    files = sorted(files)
    if data_only:
        files = [f for f in files if f.endswith(".parquet")
                 and not any(part.startswith((".", "_")) for part in f[len(base):].split("/"))]
    return files


def _dataset(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, path: str):
    """A directory version as a pyarrow dataset over exactly ``directory_files``."""
    import pyarrow.dataset as ds

    return ds.dataset(directory_files(fs, root, version), filesystem=fs, format="parquet",
                      partitioning="hive", partition_base_dir=path)


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


def _frame(version: AssetVersion, table: pa.Table, warnings: list[str] | None) -> Any:
    """``table.to_pandas()``; when the file's ``pandas`` metadata breaks that (not JSON, wrong
    types, missing keys), the table is converted as plain Arrow without it, and a warning
    naming the file goes to ``warnings``. (Nothing is checked when the conversion works.)"""
    try:
        return table.to_pandas()
    except Exception as exc:  # noqa: BLE001 - JSONDecodeError, TypeError, KeyError, ValueError ... from the entry
        meta = table.schema.metadata or {}
        if b"pandas" not in meta:
            raise
        note = (f"{version.data_path}: broken pandas metadata ignored ({type(exc).__name__}: {one_line(exc)}); "
                "read as a plain Arrow table")
        if warnings is not None and note not in warnings:
            warnings.append(note)
        return table.replace_schema_metadata({k: v for k, v in meta.items() if k != b"pandas"} or None).to_pandas()


def _read_table(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, columns: list[str] | None, filter: Any) -> pa.Table:
    path = resolve(fs, root, version)
    try:
        if version.data_format == "parquet":
            return pq.read_table(path, filesystem=fs, columns=columns, filters=filter)
        if version.data_format == "directory":
            return _dataset(fs, root, version, path).to_table(columns=columns, filter=filter)
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
        raise ExplorerError(f"{version.data_path}: cannot read table ({one_line(exc)})") from None
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
        raise ExplorerError(f"{version.data_path}: cannot read table ({one_line(exc)})") from None


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
            return _dataset(fs, root, version, path).schema
        if version.data_format == "csv":
            import pyarrow.csv as pacsv

            with fs.open(path, "rb") as fh:
                return pacsv.open_csv(fh).schema
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: cannot read table ({one_line(exc)})") from None
    raise ExplorerError(f"{version.asset} is {version.data_format}, not a table")


def load(
    fs: fsspec.AbstractFileSystem,
    root: str,
    version: AssetVersion,
    allow_pickle: bool = False,
    as_arrow: bool = False,
    warnings: list[str] | None = None,
) -> Any:
    """The value of a version: DataFrame (or Arrow table), dict/list, ndarray, bytes. Notes on
    the data (broken pandas metadata, ignored) go to ``warnings``."""
    if version.data_format in fmt.TABLE_FORMATS:
        table = read_table(fs, root, version)
        return table if as_arrow else _frame(version, table, warnings)
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
            raise ExplorerError(f"{version.data_path}: invalid JSON ({one_line(exc)})") from None
    if version.data_format == "npy":
        import numpy as np

        try:
            return np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - a damaged header fails in ast/tokenize (SyntaxError,
            # TokenError), a short body in reshape (ValueError) or EOFError: all mean "not a valid array"
            raise ExplorerError(f"{version.data_path}: cannot read array ({type(exc).__name__}: {one_line(exc)})") from None
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
            return _dataset(fs, root, version, path).head(rows)
        if version.data_format == "csv":
            return _preview_csv(fs, path, rows)
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: cannot read table ({one_line(exc)})") from None
    raise ExplorerError(f"{version.asset} is {version.data_format}, not a table")


def _preview_csv(fs: fsspec.AbstractFileSystem, path: str, rows: int) -> pa.Table:
    """The first ``rows`` rows of a CSV file, reading a few small blocks: pyarrow's streaming
    reader reads some 32 blocks ahead of the one it parses, so blocks are 64 KiB (2 MiB read);
    a row longer than that (a very wide header) is read again with 16 MiB blocks."""
    import pyarrow.csv as pacsv

    for block in (1 << 16, 1 << 24):
        try:
            with fs.open(path, "rb", block_size=PREVIEW_BYTES) as fh:
                reader = pacsv.open_csv(fh, read_options=pacsv.ReadOptions(use_threads=False, block_size=block))
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
        except pa.ArrowInvalid as exc:
            if block == 1 << 24 or "straddl" not in str(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the last block size re-raises


def preview(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, rows: int = 50,
            warnings: list[str] | None = None) -> Any:
    """A small view of any version, reading only what it shows: a DataFrame of the first rows
    for tables; for JSON the value, or (past ``PREVIEW_BYTES``) the text of its first bytes with
    a "preview truncated" note; for arrays the array, or its first rows with a note; for bytes
    and pickles (never unpickled here) a description with the first bytes."""
    if version.data_format in fmt.TABLE_FORMATS:
        return _frame(version, preview_table(fs, root, version, rows), warnings)
    if version.data_format == "pickle":
        return PICKLE_REFUSAL.format(what=f"{version.asset} in run {version.run_id}")
    path = resolve(fs, root, version)
    try:
        with fs.open(path, "rb", block_size=PREVIEW_BYTES) as fh:  # (s3fs would read 50 MB ahead)
            if version.data_format == "npy":
                return _preview_array(fh, version, rows)
            head = fh.read(PREVIEW_BYTES + 1 if version.data_format == "json" else 256)
    except FileNotFoundError:
        raise _missing(version) from None
    except OSError as exc:
        raise ExplorerError(f"{version.data_path}: cannot read ({one_line(exc)})") from None
    if version.data_format == "json":
        if len(head) <= PREVIEW_BYTES:
            try:
                return json.loads(head)
            except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
                raise ExplorerError(f"{version.data_path}: invalid JSON ({one_line(exc)})") from None
        return (f"preview truncated: the first {PREVIEW_BYTES} bytes of {version.size_bytes} bytes of JSON "
                f"(load the version to read it whole)\n" + head[:PREVIEW_BYTES].decode("utf-8", errors="replace"))
    return f"{version.size_bytes} bytes; first bytes: {head[:64]!r}"


def _preview_array(fh: Any, version: AssetVersion, rows: int) -> Any:
    """The array in an open ``.npy`` file, or only its first rows: the header is parsed, then
    at most ``rows`` rows (and at most ``PREVIEW_BYTES``) are read, never the whole file."""
    import numpy as np
    from numpy.lib import format as npformat

    try:
        major, _minor = npformat.read_magic(fh)
        if major == 1:
            shape, fortran, dtype = npformat.read_array_header_1_0(fh)
        elif major in (2, 3):
            shape, fortran, dtype = npformat.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy format version {major}")
        if dtype.hasobject:
            raise ValueError("an object array (a pickle); not loaded")
        total = int(np.prod(shape, dtype=np.int64))
        itemsize = max(dtype.itemsize, 1)
        budget = max(PREVIEW_BYTES // itemsize, 1)
        if shape and not fortran:
            per_row = int(np.prod(shape[1:], dtype=np.int64))
            keep_rows = min(shape[0], rows, budget // per_row if per_row else shape[0])
            count, out_shape = keep_rows * per_row, (keep_rows, *shape[1:])
        else:  # a scalar, or Fortran order (rows are not contiguous): the first values as stored
            count = min(total, budget)
            out_shape = shape if count == total else (count,)
        raw = fh.read(count * itemsize)
        if len(raw) < count * itemsize:
            raise ValueError(f"the file holds fewer values than its header says ({len(raw) // itemsize} of {count})")
        array = np.frombuffer(raw, dtype=dtype, count=count).reshape(out_shape, order="F" if fortran and count == total else "C")
    except Exception as exc:  # noqa: BLE001 - a damaged header fails in ast/tokenize (SyntaxError,
        # TokenError), a short body in reshape (ValueError) or EOFError: all mean "not a valid array"
        raise ExplorerError(f"{version.data_path}: cannot read array ({type(exc).__name__}: {one_line(exc)})") from None
    if count == total:
        return array
    what = f"first {out_shape[0]} rows" if len(out_shape) == len(shape) else f"first {count} values as stored"
    return (f"preview truncated: {what} of a {'x'.join(map(str, shape))} {dtype} array "
            f"(load the version to read it whole)\n{np.array_repr(array)}")
