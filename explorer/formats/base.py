"""The one interface every data format implements, and what a format is handed to read.

A format is a class with a few facts (``name``, ``extensions``, ``kind``, ``table``,
``directory``, ``trusted``) and the operations the library needs of it: ``write``, ``read``,
``schema``, ``preview`` (with ``offset`` and ``rows``), ``statistics``, ``duckdb_source``,
``hash`` and ``facts``. Defaults below cover what most formats share (a single file hashed
with sha256, raw bytes as the loaded value); a format overrides what it does differently.

Formats never resolve paths nor open a store: the store's reader (``explorer.store.data``)
checks the version's path and hands a ``Location`` in, and maps the errors of reading
(missing file, damaged data) to one-line messages, once for every format. Heavy libraries
(pyarrow, numpy) are imported inside the methods, so registering the formats costs nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Sequence

from ..errors import ExplorerError, WriteError
from ..models import AssetVersion, TableInfo

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

PREVIEW_BYTES = 1 << 20  # the most a preview of JSON, an array or raw bytes reads (1 MiB)
CHUNK = 4 * 1024 * 1024  # bytes hashed at a time


def quote_literal(text: str) -> str:
    """A SQL string literal (DuckDB): the one quoting of values built into SQL text."""
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """A quoted SQL identifier (DuckDB): the one quoting of names built into SQL text."""
    return '"' + name.replace('"', '""') + '"'


_GLOB = re.compile(r"([*?\[])")


def literal_glob(path: str) -> str:
    """``path`` as a DuckDB glob pattern that matches only ``path`` itself: DuckDB reads
    every path it is given as a pattern, so ``*``, ``?`` and ``[`` are each put in a
    character class (``team*`` -> ``team[*]``). Braces are not special to DuckDB."""
    return _GLOB.sub(r"[\1]", path)


def duck_path(url: str) -> str:
    """A file's URL as the SQL literal a DuckDB reader function is given: matching only it."""
    return quote_literal(literal_glob(url))


@dataclass(frozen=True)
class Location:
    """One version's data as a format reads it: the filesystem, the checked absolute path, and
    two services of the store's reader: ``files(data_only)`` lists a directory version's files
    (symbolic links refused), ``url(path)`` names a path as DuckDB reads it (a local path or
    PROTOCOL://PATH; ``duck_path`` makes it a pattern matching only itself)."""

    fs: Any
    path: str
    version: AssetVersion
    files: Callable[[bool], list[str]]
    url: Callable[[str], str]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hash_file(fs: Any, path: str) -> tuple[str, int]:
    """(sha256, size) of every byte of one file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size


def to_arrow(value: Any) -> "pa.Table | None":
    """``value`` as an Arrow table when it is one (a table, a record batch, a DataFrame or a
    Series); None otherwise. A DataFrame Arrow cannot store is a WriteError naming the column."""
    import pyarrow as pa

    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return None
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):
        try:
            return _from_frame(pa, pd, value)
        except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
            raise WriteError(_unconvertible(value, exc)) from None
    return None


def _from_frame(pa: Any, pd: Any, df: Any) -> "pa.Table":
    """A DataFrame as a table, its index kept as pandas' ``to_parquet`` keeps it when the index
    is named (``df.set_index("id")``): each level becomes a column, first (as ``reset_index``
    puts them), recorded in the pandas metadata so that loading the version restores the index;
    a named ``RangeIndex`` is kept in the metadata alone. An unnamed index (the default
    ``RangeIndex``, or what filtering left) is not data and is dropped."""
    if all(name is None for name in df.index.names):
        return pa.Table.from_pandas(df, preserve_index=False)
    table = pa.Table.from_pandas(df, preserve_index=None)
    if isinstance(df.index, pd.RangeIndex):
        return table
    n = len(df.columns)  # from_pandas puts the index columns last
    return table.select([*range(n, table.num_columns), *range(n)])


def _unconvertible(df: Any, exc: Exception) -> str:
    """One line naming the column Arrow cannot store (a column mixing types, as object columns can)."""
    import pyarrow as pa

    for name in df.columns:
        try:
            pa.Table.from_pandas(df[[name]], preserve_index=False)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            kinds = sorted({type(v).__name__ for v in df[name].dropna()})
            return (f"column {str(name)!r} cannot be stored as a table column: it mixes values of types "
                    f"{', '.join(kinds)} (convert it to one type, e.g. .astype(str))")
    return f"the DataFrame cannot be stored as a table: {str(exc).splitlines()[0]}"


def table_of(value: Any, name: str) -> "pa.Table":
    """The Arrow table a table format writes, or a WriteError saying what it got."""
    table = to_arrow(value)
    if table is None:
        raise WriteError(f"format {name} needs a DataFrame or Arrow table, got {type(value).__name__}")
    return table


def head_of_batches(batches: Any, rows: int, offset: int, schema: Any) -> "pa.Table":
    """Rows ``offset`` .. ``offset + rows`` of a stream of record batches, reading no batch
    past the last row shown; an empty table of ``schema`` when there are none."""
    import pyarrow as pa

    parts = []
    got = 0
    for batch in batches:
        if got + batch.num_rows <= offset:  # wholly before the window: dropped at once
            got += batch.num_rows
            continue
        parts.append(batch)
        got += batch.num_rows
        if got >= offset + rows:
            break
    if not parts:
        return schema.empty_table()
    first = got - sum(b.num_rows for b in parts)  # the row number of parts[0]'s first row
    return pa.Table.from_batches(parts, schema=parts[0].schema).slice(offset - first, rows)


class Format:
    """A data format. Subclass, set the facts, override the operations, ``register`` an instance."""

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()  # the first is written; all are recognised in stock stores
    kind: ClassVar[str] = "opaque"  # how two versions are compared: "table", "json", "array" or "opaque"
    table: ClassVar[bool] = False  # read as an Arrow table (SQL, table diffs, traces, schemas)
    directory: ClassVar[bool] = False  # a folder of files rather than one file
    trusted: ClassVar[bool] = False  # loading runs code from the store (pickle): only on opt-in
    in_stock_stores: ClassVar[bool] = True  # a stock Dagster file with one of ``extensions`` is this format
    claim_order: ClassVar[int] = 100  # the writer's default: the lowest-ordered format that claims a value

    @property
    def extension(self) -> str:
        return self.extensions[0] if self.extensions else ""

    # -- writing
    def claims(self, value: Any) -> bool:
        """Whether a value given without ``format=`` is written in this format."""
        return False

    def write(self, value: Any) -> bytes:
        """The bytes of a single-file version holding ``value``."""
        raise WriteError(f"format {self.name} is not written by this writer")

    def write_tree(self, table: "pa.Table", partition_by: Sequence[str]) -> dict[str, bytes]:
        """A directory format's files, ``{relative path: bytes}``."""
        raise WriteError(f"format {self.name} is not a directory format")

    def statistics(self, table: "pa.Table") -> TableInfo:
        """The table summary kept in the sidecar (rows, columns, per-column facts)."""
        from .statistics import summarize

        return summarize(table)

    # -- reading (tables)
    def read(self, loc: Location, columns: list[str] | None = None, filter: Any = None) -> "pa.Table":
        raise ExplorerError(f"{loc.version.asset} is {self.name}, not a table")

    def read_matching(self, loc: Location, filter: Any, filter_columns: list[str]) -> "pa.Table":
        """The rows passing ``filter``, reading as little as the format allows."""
        return self.read(loc, None, filter)

    def schema(self, loc: Location) -> "pa.Schema":
        raise ExplorerError(f"{loc.version.asset} is {self.name}, not a table")

    def duckdb_source(self, loc: Location, con: Any = None) -> str:
        """The DuckDB table expression reading the version in place (``con``: the connection,
        for a format that registers an Arrow object with it rather than naming files)."""
        raise ExplorerError(f"{loc.version.asset} in run {loc.version.run_id} is {self.name}, not a table")

    def allowed(self, loc: Location) -> tuple[list[str], list[str]]:
        """(files, folders) DuckDB must be allowed to open for ``duckdb_source``."""
        return [loc.url(loc.path)], []

    # -- reading (any value)
    def load(self, loc: Location) -> Any:
        """The value of the version (raw bytes by default)."""
        return loc.fs.cat_file(loc.path)

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        """A small view reading only what it shows: rows ``offset`` .. ``offset + rows`` of a
        table (an Arrow table), else a value or a text describing the first bytes."""
        with loc.fs.open(loc.path, "rb", block_size=PREVIEW_BYTES) as fh:  # (s3fs would read 50 MB ahead)
            if offset:
                fh.seek(offset)
            head = fh.read(256)
        where = f" from byte {offset}" if offset else ""
        return f"{loc.version.size_bytes} bytes; first bytes{where}: {head[:64]!r}"

    def facts(self, loc: Location) -> tuple[dict[str, Any], str | None]:
        """What can be said of a non-table version without running code: (facts, note)."""
        return {}, None

    def hash(self, fs: Any, path: str, files: Callable[[bool], list[str]]) -> tuple[str, int]:
        """(content hash, size) of the version as the store holds it now: every byte."""
        return hash_file(fs, path)
