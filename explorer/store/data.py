"""Reading the data of a version: whole loads and cheap previews. Never unpickles unless asked.

What differs between formats is in ``explorer.formats`` (one module each); this module checks
where a version's data is (``resolve``, ``directory_files``), hands the format a ``Location``,
and maps reading errors to one-line messages naming the version, once for every format."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from typing import Any, Iterator

import fsspec

from .. import format as fmt
from .. import formats
from ..errors import ExplorerError, FormatError, UnsafeLoad, message_line
from ..formats.base import PREVIEW_BYTES, Location
from ..formats.pickle import REFUSAL as PICKLE_REFUSAL
from ..formats.pickle import refusal
from ..models import AssetVersion
from .fs import RefusedFile, check_readable, is_local, protocol, shown_path

__all__ = ["PICKLE_REFUSAL", "PREVIEW_BYTES", "directory_files", "facts", "load", "location", "preview",
           "preview_table", "read_matching", "read_table", "resolve", "table_schema"]


def resolve(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> str:
    """Absolute path of a version's data, refusing anything that leaves the store root.

    On local disk a data file must also be a regular file (a FIFO would make any reader, DuckDB
    included, wait forever) that no symbolic link takes out of the store; a missing one is
    left to the reader to report. A version stored outside the store has no data: an
    ExplorerError saying so."""
    if version.data_path is None:
        from ..formats.external import not_stored

        raise not_stored(version)
    rel = fmt.check_relative_path(version.data_path, "data_path", fmt.sidecar_path(version.run_id, version.asset, version.partition))
    path = fmt.join(root, rel)
    if is_local(fs):
        real_root = os.path.realpath(root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise FormatError(f"{rel}: resolves outside the store (symlink?); refused")
        if not formats.get(version.data_format).directory:
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


def location(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, url_fs: Any = None) -> Location:
    """Where a version's data is, checked (``resolve``), as its format reads it. ``url_fs``:
    the filesystem whose protocol names paths for DuckDB (default ``fs``)."""
    path = resolve(fs, root, version)
    named = url_fs or fs
    local = is_local(named)
    scheme = protocol(named)

    def files(data_only: bool) -> list[str]:
        return directory_files(fs, root, version, data_only)

    def url(p: str) -> str:
        return p if local else f"{scheme}://{p}"

    return Location(fs, path, version, files, url)


def _missing(version: AssetVersion) -> ExplorerError:
    return ExplorerError(
        f"data of {version.asset} in run {version.run_id} is missing ({version.data_path})"
    )


@contextmanager
def _reading(version: AssetVersion, what: str = "cannot read table") -> Iterator[None]:
    """The one mapping of reading errors: a missing file names the version, damaged data
    (Arrow, the filesystem, undecodable text) is one line quoting the reader."""
    import pyarrow as pa

    try:
        yield
    except FileNotFoundError:
        raise _missing(version) from None
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise ExplorerError(f"{version.data_path}: {what} ({message_line(exc)})") from None


def _table_format(version: AssetVersion) -> formats.Format:
    f = formats.get(version.data_format)
    if not f.table:
        raise ExplorerError(f"{version.asset} is {version.data_format}, not a table")
    return f


def _named(version: AssetVersion, table: Any) -> Any:
    """A table or schema, once its column names are known to be text: a damaged CSV header
    can hold bytes that are not UTF-8, which pyarrow reports only when a name is asked for."""
    import pyarrow as pa

    try:
        (table.schema if isinstance(table, pa.Table) else table).names
    except UnicodeDecodeError:
        raise ExplorerError(f"{version.data_path}: cannot read table (a column name is not valid UTF-8)") from None
    return table


def _frame(version: AssetVersion, table: Any, warnings: list[str] | None) -> Any:
    """``table.to_pandas()``; when the file's ``pandas`` metadata breaks that (not JSON, wrong
    types, missing keys), the table is converted as plain Arrow without it, and a warning
    naming the file goes to ``warnings``. (Nothing is checked when the conversion works.)"""
    try:
        return table.to_pandas()
    except Exception as exc:  # noqa: BLE001 - JSONDecodeError, TypeError, KeyError, ValueError ... from the entry
        meta = table.schema.metadata or {}
        if b"pandas" not in meta:
            raise
        note = (f"{version.data_path}: broken pandas metadata ignored ({type(exc).__name__}: {message_line(exc)}); "
                "read as a plain Arrow table")
        if warnings is not None and note not in warnings:
            warnings.append(note)
        return table.replace_schema_metadata({k: v for k, v in meta.items() if k != b"pandas"} or None).to_pandas()


def read_table(
    fs: fsspec.AbstractFileSystem,
    root: str,
    version: AssetVersion,
    columns: list[str] | None = None,
    filter: Any = None,
) -> Any:
    """Read a tabular version as an Arrow table (optionally a column subset / row filter)."""
    f = _table_format(version)
    loc = location(fs, root, version)
    with _reading(version):
        return _named(version, f.read(loc, columns, filter))


def read_matching(
    fs: fsspec.AbstractFileSystem,
    root: str,
    version: AssetVersion,
    filter: Any,
    filter_columns: list[str],
) -> Any:
    """The rows of a tabular version passing ``filter`` (an expression over ``filter_columns``),
    reading as little as its format allows (a parquet file: only the row groups that can
    match, and of those first only ``filter_columns``)."""
    f = _table_format(version)
    loc = location(fs, root, version)
    with _reading(version):
        return _named(version, f.read_matching(loc, filter, filter_columns))


def table_schema(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> Any:
    """The Arrow schema of a tabular version, as a reader sees it (parquet footer, dataset
    schema, or the types inferred from a CSV's first block)."""
    f = _table_format(version)
    loc = location(fs, root, version)
    with _reading(version):
        return _named(version, f.schema(loc))


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
    f = formats.get(version.data_format)
    if f.table:
        table = read_table(fs, root, version)
        return table if as_arrow else _frame(version, table, warnings)
    if f.trusted and not allow_pickle:
        raise UnsafeLoad(refusal(version))
    loc = location(fs, root, version)
    try:
        return f.load(loc)
    except FileNotFoundError:
        raise _missing(version) from None


def preview_table(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, rows: int = 50,
                  offset: int = 0) -> Any:
    """Rows ``offset`` .. ``offset + rows``, reading only what is shown (first row groups / CSV blocks)."""
    f = _table_format(version)
    loc = location(fs, root, version)
    with _reading(version):
        return _named(version, f.preview(loc, rows, offset))


def preview(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, rows: int = 50,
            warnings: list[str] | None = None, offset: int = 0) -> Any:
    """A small view of any version, reading only what it shows: a DataFrame of rows ``offset``
    .. ``offset + rows`` for tables; for JSON the value, or (past ``PREVIEW_BYTES``) the text of
    its first bytes with a "preview truncated" note; for arrays the array, or its rows from
    ``offset`` with a note; for bytes (from byte ``offset``) and pickles (never unpickled here)
    a description with the first bytes."""
    f = formats.get(version.data_format)
    if f.table:
        return _frame(version, preview_table(fs, root, version, rows, offset), warnings)
    if f.trusted:
        return refusal(version)
    loc = location(fs, root, version)
    try:
        return f.preview(loc, rows, offset)
    except FileNotFoundError:
        raise _missing(version) from None
    except OSError as exc:
        raise ExplorerError(f"{version.data_path}: cannot read ({message_line(exc)})") from None


def facts(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion) -> tuple[dict[str, Any], str | None]:
    """What can be said of a non-table version without running code: (facts, note); an error
    reading it is the note."""
    try:
        return formats.get(version.data_format).facts(location(fs, root, version))
    except FileNotFoundError:
        return {}, str(_missing(version))
    except ExplorerError as exc:
        return {}, str(exc)


def content_hash(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, path: str) -> tuple[str, int]:
    """(content hash, size) of the version's bytes as the store holds them now (``verify``)."""
    def files(data_only: bool) -> list[str]:
        return directory_files(fs, root, version, data_only)

    return formats.get(version.data_format).hash(fs, path, files)


def duckdb_source(fs: fsspec.AbstractFileSystem, root: str, version: AssetVersion, url_fs: Any = None,
                  con: Any = None) -> str:
    """The one DuckDB table expression reading a version in place: its format's reader over
    exactly its file (or a directory's listed files), after checking the file is there."""
    f = formats.get(version.data_format)
    if not f.table:
        raise ExplorerError(f"{version.asset} in run {version.run_id} is {version.data_format}, not a table")
    loc = location(fs, root, version, url_fs)
    if not f.directory and not fs.exists(loc.path):
        raise _missing(version)
    return f.duckdb_source(loc, con)
