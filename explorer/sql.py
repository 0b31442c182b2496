"""SQL over a store, on DuckDB, which can only read the store.

Every tabular asset (parquet, csv, parquet directory) is a view named by its key at its
latest version (``features``, ``"raw/applications"``) and by ``"KEY@RUN_ID"`` at each
version; ``"KEY@*"`` stacks every version and ``"KEY@RUN1,RUN2"`` the versions of those runs
(ids, unique prefixes or labels), each row with its version's ``run_id`` and ``created_at``. ``runs`` and ``versions`` are metadata tables (also as ``frontier.runs`` and
``frontier.versions``, which an asset of the same name cannot hide), so lineage itself
can be queried.

What a query can reach is decided by DuckDB itself (``connect``): the connection may open
the store's tabular data files and nothing else (``allowed_paths`` / ``allowed_directories``
with ``enable_external_access=false``), never installs or loads an extension, does not see
the caller's Python variables, and its configuration is locked so that a query cannot set
any of this back. On top of that only queries run (SELECT and friends, EXPLAIN of a query,
EXPLAIN ANALYZE of a query): COPY, EXPORT, ATTACH, INSTALL, SET ... are refused, also
inside EXPLAIN, because DuckDB's allow-list lets a query write to the files it may read.
On an object store the store's filesystem is registered with DuckDB read-only.
``allow_files=True`` lets queries read local files too (never write them).

Paths are passed to DuckDB as glob patterns matching exactly one file (``*``, ``?`` and
``[`` escaped), so a store named ``team*`` never reads ``team-other``.

Views are created lazily: before running a query, the tables it names are looked up
(``get_table_names`` of the locked connection, never of DuckDB's default connection, which
would autoinstall extensions) and only those views are created, so opening a store and
running a query reads only the data that query touches. On remote stores DuckDB reads
through the store's own fsspec filesystem (``register_filesystem``): no second set of
credentials.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import uuid
from typing import TYPE_CHECKING, Any

import duckdb
import fsspec
import msgspec

from . import formats
from .errors import ExplorerError, SqlError, message_line
from .formats.base import literal_glob, quote_ident, quote_literal
from .models import AssetVersion
from .store.data import duckdb_source, location
from .store.fs import is_local, protocol
from .store.fsspec_adapter import strip_protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from .store.source import Source

META_SCHEMA = "frontier"
META_TABLES = ("runs", "versions", "checks", "observations")
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUOTED = re.compile(r'"((?:[^"]|"")+)"')
_LOCAL_FILES = "/"  # with allow_files: every local absolute path (object stores' URLs do not start with /)


# ---------------------------------------------------------------------- paths and sources


def _unglob(pattern: str) -> str | None:
    """The path a ``literal_glob`` pattern stands for, or None if it is not one."""
    path = re.sub(r"\[([*?\[])\]", r"\1", pattern)
    return path if literal_glob(path) == pattern else None


def data_url(store: Source, v: AssetVersion) -> str:
    """The URL DuckDB reads a version's data at (a local path, or PROTOCOL://PATH)."""
    loc = location(store.fs, store.root, v)
    return loc.url(loc.path)


def source_sql(store: "Source", v: AssetVersion, con: Any = None) -> str:
    """The DuckDB table expression reading one version in place (lazy until queried),
    for a connection made by ``connect``: exactly the version's file (or the parquet
    files of a directory version), whatever characters its path holds; its format's
    ``duckdb_source`` (``explorer.store.data.duckdb_source``, the one builder)."""
    return duckdb_source(store.data_fs, store.root, v, url_fs=store.fs, con=con)


def _allow_list(store: Source, versions=None) -> tuple[list[str], list[str], set[str], set[str]]:
    """What DuckDB may open: (allowed paths, allowed directories) in DuckDB's terms, and
    the plain files and directories they stand for. DuckDB checks both the pattern a
    query names and each file it expands to, so both are listed. ``versions``: only those
    (default: every version of the store)."""
    paths: list[str] = []
    dirs: list[str] = []
    files: set[str] = set()
    folders: set[str] = set()
    for v in store.index.versions.values() if versions is None else versions:
        if not formats.is_table(v.data_format):
            continue
        try:
            loc = location(store.fs, store.root, v)
        except (ExplorerError, ValueError):  # an unsafe data path: its view reports it
            continue
        its_files, its_folders = formats.get(v.data_format).allowed(loc)
        for url in its_folders:
            # the directory itself, and its name as the literal pattern that starts each of
            # its files' patterns (source_sql lists the files; their expansions fall in url/)
            dirs.extend({url + "/", literal_glob(url) + "/"})
            folders.add(url)
        for url in its_files:
            paths.extend({url, literal_glob(url)})
            files.add(url)
    return paths, dirs, files, folders


class ReadOnlyFiles(fsspec.AbstractFileSystem):
    """A store's filesystem as DuckDB is given it: reads pass through, every write is
    refused, and the exact patterns ``source_sql`` makes are answered without fsspec's own
    globbing (a file's pattern is that file; a directory's is its parquet files)."""

    cachable = False

    def __init__(self, fs: fsspec.AbstractFileSystem, files: set[str], folders: set[str]) -> None:
        super().__init__()
        self.fs = fs
        self.protocol = fs.protocol  # (DuckDB routes URLs to a filesystem by its protocol)
        self.files = {strip_protocol(fs, f) for f in files}
        self.folders = {strip_protocol(fs, f) for f in folders}

    def _strip_protocol(self, path):
        return strip_protocol(self.fs, path)

    def unstrip_protocol(self, name: str) -> str:
        return self.fs.unstrip_protocol(name)

    def _refuse(self, path: Any = "", *args: Any, **kwargs: Any):
        raise PermissionError(f"read-only: SQL never writes to the store ({path})")

    rm = rm_file = _rm = mv = move = rename = mkdir = makedirs = mkdirs = touch = _refuse
    put = put_file = pipe = pipe_file = cp_file = copy = _refuse

    def open(self, path, mode="rb", **kwargs):
        if any(c in mode for c in "wax+"):
            self._refuse(path)
        return self.fs.open(path, mode, **kwargs)

    def _open(self, path, mode="rb", **kwargs):
        return self.open(path, mode, **kwargs)

    def glob(self, path, maxdepth=None, **kwargs):
        stripped = strip_protocol(self.fs, path)
        literal = _unglob(stripped)
        if literal in self.files:
            return [literal] if self.fs.exists(literal) else []
        if self._in_directory_version(literal):  # a file source_sql listed from a directory version
            return [literal]
        return self.fs.glob(path, maxdepth=maxdepth, **kwargs)

    def _in_directory_version(self, path: str) -> bool:
        """Whether ``path`` lies inside one of the directory versions (checked by its ancestors)."""
        parts = path.split("/")
        return any("/".join(parts[:i]) in self.folders for i in range(1, len(parts)))

    def info(self, path, **kwargs):
        return self.fs.info(path, **kwargs)

    def size(self, path):
        return self.fs.size(path)

    def exists(self, path, **kwargs):
        return self.fs.exists(path, **kwargs)

    def isfile(self, path):
        return self.fs.isfile(path)

    def isdir(self, path):
        return self.fs.isdir(path)

    def modified(self, path):
        return self.fs.modified(path)

    def ls(self, path, detail=True, **kwargs):
        return self.fs.ls(path, detail=detail, **kwargs)

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
        return self.fs.find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)

    def cat_file(self, path, start=None, end=None, **kwargs):
        return self.fs.cat_file(path, start=start, end=end, **kwargs)


def connect(
    store: Source,
    *,
    allow_files: bool = False,
    temp_directory: str | None = None,
    settings: dict[str, Any] | None = None,
    versions=None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can read the store's tabular data and nothing else.

    DuckDB enforces it: only the store's own data files may be opened (and, with
    ``allow_files``, local files), no extension is installed or loaded, Python variables
    are not scanned, and the configuration is locked. DuckDB's allow-list does not tell
    reading from writing: run only statements that ``check_query`` accepts. Read the
    versions with ``source_sql``. Spilling goes to ``temp_directory`` (by default a private
    folder that DuckDB creates only if it spills and removes on close). ``settings`` are
    other DuckDB settings to make before the configuration is locked
    (``{"preserve_insertion_order": False}``). ``versions``: the only versions the connection
    may read (default: every tabular version of the store).
    """
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "python_enable_replacements": False,
        },
    )
    try:
        paths, dirs, files, folders = _allow_list(store, versions)
        if not is_local(store.fs):
            con.register_filesystem(ReadOnlyFiles(store.data_fs, files, folders))
        if allow_files:
            dirs.append(_LOCAL_FILES)
        if temp_directory is None:
            temp_directory = os.path.join(tempfile.gettempdir(), f"frontier-sql-{uuid.uuid4().hex}")
        con.execute(f"SET temp_directory = {quote_literal(temp_directory)}")
        for name, value in (settings or {}).items():
            con.execute(f"SET {quote_ident(name)} = ?", [value])
        con.execute("SET allowed_paths = ?", [paths])  # (a parameter: 3x faster than a literal list)
        con.execute("SET allowed_directories = ?", [dirs])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


# ---------------------------------------------------------------------- what may run

_QUERY_WORDS = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN [ANALYZE] of a query"
_WORD = re.compile(r"\w+|\S")
_NAMES = {"LOAD": "INSTALL or LOAD", "SET": "SET or RESET"}  # (DuckDB's types of those statements)


def _explained(text: str) -> list[str]:
    """The statement an ``EXPLAIN [ANALYZE] [(options)] ...`` statement explains, as text:
    two readings when a parenthesis follows (options, or the start of the query itself)."""
    starts = [pos for pos, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]
    words = [_WORD.match(text, pos).group(0) for pos in starts]  # type: ignore[union-attr]
    i = 1  # words[0] is EXPLAIN
    if i < len(words) and words[i].lower() in ("analyze", "analyse"):
        i += 1
    if i >= len(words):
        return []
    readings = [text[starts[i]:]]
    if words[i] == "(":
        depth = 0
        while i < len(words):
            depth += {"(": 1, ")": -1}.get(words[i], 0)
            i += 1
            if depth == 0:
                break
        readings.append(text[starts[i]:] if i < len(starts) else "")
    return readings


def _statement_kind(con: duckdb.DuckDBPyConnection, st) -> str | None:
    """None for a query; else what the statement is (``COPY``, ``EXPLAIN of INSTALL``).

    An EXPLAIN passes when what it explains is one query. Where a parenthesis makes two
    readings, either may be that query: the other then cannot parse as a statement that
    writes (a query's continuation, such as ``UNION``, never starts one)."""
    if st.type == duckdb.StatementType.SELECT:
        return None
    if st.type != duckdb.StatementType.EXPLAIN:
        return _NAMES.get(st.type.name, st.type.name)
    kinds = []
    for reading in _explained(st.query):
        try:
            inner = con.extract_statements(reading)
        except duckdb.Error:
            continue
        if len(inner) == 1 and inner[0].type == duckdb.StatementType.SELECT:
            return None
        kinds.append(" and ".join(_NAMES.get(s.type.name, s.type.name) for s in inner) or "nothing")
    return "EXPLAIN of " + (kinds[-1] if kinds else "something that is not a query")


def check_query(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise SqlError unless every statement in ``query`` is a query (or EXPLAIN of one):
    DuckDB's own checks keep a query inside the store's files, this keeps it from
    writing to them (EXPLAIN ANALYZE runs the statement it explains)."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise SqlError(message_line(exc)) from None
    for st in statements:
        kind = _statement_kind(con, st)
        if kind is not None:
            raise SqlError(
                f"refused: only queries run here ({_QUERY_WORDS}), not {kind}: SQL never writes, "
                f"installs or attaches anything; save a result with --format parquet --output FILE"
            )


_PERMISSION = re.compile(r'Cannot access (file|directory) "(.*?)" - file system operations are disabled by configuration')


def refusal(exc: duckdb.Error) -> str:
    """DuckDB's error as one line; its permission errors said in the explorer's terms."""
    text = message_line(exc)
    if not isinstance(exc, duckdb.PermissionException):
        return text
    m = _PERMISSION.search(text)
    if m:
        return (
            f"refused: the query tried to reach {m.group(2)!r}, which is not one of the store's tables: "
            f"SQL reads only the store's own data files (--allow-files, or allow_files=True, lets it read local files)"
        )
    if "extension" in text.lower():
        return "refused: SQL here cannot install or load DuckDB extensions"
    return "refused: " + text


# ---------------------------------------------------------------------- the catalogue


class SqlCatalog:
    """One locked-down DuckDB connection over one store; views are made on demand."""

    def __init__(self, store: Source, allow_files: bool = False, versions: str = "needed") -> None:
        """``versions``: which versions' files DuckDB may open: ``"needed"`` (the default)
        those of the views a query names, allowed as queries name them (a query on the
        metadata tables checks no data file at all); ``"all"`` every tabular version, once."""
        self.store = store
        self.allow_files = allow_files
        self._lock = threading.Lock()
        self.relations = self._relations()
        self.sets = self._partition_sets()
        self._made: set[str] = set()
        self._meta: tuple[pa.Table, pa.Table] | None = None
        self._allowed: dict[tuple[str, ...], AssetVersion] = {}
        self._by_path: dict[str, list[AssetVersion]] | None = None
        if versions == "all":
            self._allowed = {v.ident: v for v in self.store.index.versions.values() if formats.is_table(v.data_format)}
        self.con = connect(store, allow_files=allow_files, versions=list(self._allowed.values()))

    def _allow(self, versions: list[AssetVersion]) -> None:
        """Let DuckDB open the files of ``versions``. Its allow-list is locked with the
        configuration, so a version not yet allowed means a new connection, allowed the
        union, on which the views made so far are made again."""
        new = {v.ident: v for v in versions if v.ident not in self._allowed}
        if not new:
            return
        allowed = {**self._allowed, **new}
        con = connect(self.store, allow_files=self.allow_files, versions=list(allowed.values()))
        old, self.con, self._allowed = self.con, con, allowed
        old.close()
        made, self._made = self._made, set()
        if "__meta__" in made:
            self._make_meta()
            self._made.add("__meta__")
        self._ensure(made - {"__meta__"})

    def _versions_of(self, name: str) -> list[AssetVersion]:
        """The versions a view name reads (none for a name that is not a view of this store)."""
        v = self.relations.get(name)
        if v is not None:
            return [v]
        return self.sets.get(name) or self.stacked(name) or []

    # ------------------------------------------------------------------ names
    def _relations(self) -> dict[str, AssetVersion]:
        """View name -> version, for every tabular version and each tabular asset's latest."""
        index = self.store.index
        out: dict[str, AssetVersion] = {}
        for v in index.versions.values():
            if formats.is_table(v.data_format) and v.partition is None:
                out[f"{v.asset}@{v.run_id}"] = v
        for key, v in index.latest_versions().items():
            if formats.is_table(v.data_format) and v.partition is None:
                out[key] = v
        return out

    def _partition_sets(self) -> dict[str, list[AssetVersion]]:
        """View name -> the versions it stacks, for partitioned tabular assets: ``KEY`` the
        latest version of every partition, ``KEY@RUN`` the partitions that run wrote."""
        index = self.store.index
        out: dict[str, list[AssetVersion]] = {}
        for key in index.asset_keys():
            parts = index.partitions(key)
            latest = [vs[-1] for vs in parts.values() if formats.is_table(vs[-1].data_format)]
            if not latest:
                continue
            out[key] = latest
            for vs in parts.values():
                for v in vs:
                    if formats.is_table(v.data_format):
                        out.setdefault(f"{key}@{v.run_id}", []).append(v)
        return out

    def table_names(self) -> list[str]:
        """Every name a query can use: asset keys, ``KEY@RUN``, ``KEY@*`` and the metadata tables."""
        return sorted(set(self.data_view_names()) | set(META_TABLES)) + [f"{META_SCHEMA}.{t}" for t in META_TABLES]

    # ------------------------------------------------------------------ views
    def _ensure(self, names: set[str]) -> None:
        if names & set(META_TABLES) and "__meta__" not in self._made:
            self._make_meta()
            self._made.add("__meta__")
        wanted = [n for n in sorted(names) if n not in self._made and n != "__meta__"]
        self._allow([v for n in wanted for v in self._versions_of(n)])
        for name in wanted:
            if name in self._made:  # (made again by a new connection)
                continue
            if name not in self.relations and name not in self.sets and self.stacked(name) is None:
                continue  # not a view of this store: DuckDB says so in its own words
            body = self.view_sql(name)
            try:
                self.con.execute(f"CREATE VIEW {quote_ident(name)} AS {body}")
            except duckdb.Error as exc:
                raise SqlError(self._unreadable(name, exc)) from None
            self._made.add(name)

    def data_view_names(self) -> list[str]:
        """Every view over data this store holds: each tabular asset (``KEY``, its latest
        version, or the latest version of every partition), ``KEY@RUN`` and ``KEY@*``."""
        stacks = {f"{k}@*" for k in (*self.relations, *self.sets) if "@" not in k}
        return sorted(set(self.relations) | set(self.sets) | stacks)

    def view_sql(self, name: str) -> str:
        """The query a view of this store stands for (``KEY``, ``KEY@RUN``, ``KEY@*``,
        ``KEY@RUN1,RUN2``): what ``Store.sql`` reads under that name, and what the catalog
        file (``explorer.catalog_db``) stores, so that both give the same rows."""
        self._allow(self._versions_of(name))
        v = self.relations.get(name)
        if v is not None:
            try:
                return f"SELECT * FROM {source_sql(self.store, v, self.con)}"
            except (ExplorerError, OSError) as exc:
                raise SqlError(f"cannot read {v.asset} in run {v.run_id} ({v.data_path}): {message_line(exc)}") from None
        versions = self.sets.get(name)
        if versions is None:
            versions = self.stacked(name)
        if versions is None:
            raise SqlError(f"no table or view named {name!r} in this store")
        return self._stack_sql(name, versions)

    def _unreadable(self, name: str, exc: Exception) -> str:
        v = self.relations.get(name)
        why = refusal(exc) if isinstance(exc, duckdb.Error) else message_line(exc)
        if v is not None:
            return f"cannot read {v.asset} in run {v.run_id} ({v.data_path}): {why}"
        return f"cannot stack the versions of {name}: {why}"

    def stacked(self, name: str) -> list[AssetVersion] | None:
        """The versions a ``KEY@*`` or ``KEY@RUN1,RUN2`` name stacks, oldest first; None when
        ``name`` is not of that form or names no tabular asset."""
        key, at, runs = name.rpartition("@")
        if not at or (key not in self.relations and key not in self.sets):
            return None
        if runs == "*":
            return [v for v in self.store.index.asset_versions(key) if formats.is_table(v.data_format)]
        if "," not in runs:
            return None
        from .names import resolve_run

        chosen = []
        for ref in (r.strip() for r in runs.split(",")):
            run_id = resolve_run(self.store.index.runs, ref)
            v = self.relations.get(f"{key}@{run_id}")
            vs = [v] if v is not None else self.sets.get(f"{key}@{run_id}")
            if not vs:
                raise SqlError(f"{key} has no table version in run {run_id}")
            chosen.extend(vs)
        return chosen

    def _stack_sql(self, name: str, versions: list[AssetVersion]) -> str:
        """One query stacking ``versions`` (by column name), each row with its version's run_id
        and created_at, and ``partition`` first when any of them is a partition."""
        partitioned = any(v.partition is not None for v in versions)
        parts = []
        for v in versions:
            try:
                src = source_sql(self.store, v, self.con)
                names = self.con.sql(f"SELECT * FROM {src} LIMIT 0").columns
            except (duckdb.Error, ExplorerError, OSError) as exc:
                why = refusal(exc) if isinstance(exc, duckdb.Error) else message_line(exc)
                raise SqlError(f"cannot read {v.asset} in run {v.run_id} ({v.data_path}): {why}") from None
            added = ("partition", "run_id", "created_at") if partitioned else ("run_id", "created_at")
            clash = [c for c in added if c in names]
            if clash:
                raise SqlError(f"{v.asset} has a column named {clash[0]!r}: \"{name}\" adds that column itself")
            created = v.created_at.isoformat()
            part = f"{quote_literal(v.partition)} AS \"partition\", " if v.partition is not None else ("NULL::VARCHAR AS \"partition\", " if partitioned else "")
            parts.append(f"SELECT {part}{quote_literal(v.run_id)} AS run_id, TIMESTAMPTZ {quote_literal(created)} AS created_at, * "
                         f"FROM {src}")
        return " UNION ALL BY NAME ".join(parts) if parts else "SELECT NULL::VARCHAR AS run_id, NULL::TIMESTAMPTZ AS created_at WHERE false"

    def _make_meta(self) -> None:
        if self._meta is None:
            self._meta = metadata_tables(self.store)
        runs, versions = self._meta
        self.con.register("_frontier_runs", runs)
        self.con.register("_frontier_versions", versions)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
        self.con.execute(
            f"CREATE VIEW {META_SCHEMA}.runs AS SELECT * REPLACE (tags::JSON AS tags) FROM _frontier_runs"
        )
        self.con.execute(
            f"CREATE VIEW {META_SCHEMA}.versions AS SELECT * REPLACE (metadata::JSON AS metadata) FROM _frontier_versions"
        )
        for name, table in (("checks", checks_table(self.store.index)), ("observations", observations_table(self.store.index))):
            self.con.register(f"_frontier_{name}", table)
            self.con.execute(f"CREATE VIEW {META_SCHEMA}.{name} AS SELECT * REPLACE (metadata::JSON AS metadata) "
                             f"FROM _frontier_{name}")
        for t in META_TABLES:
            if t not in self.relations:  # an asset of that name keeps its name
                self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM {META_SCHEMA}.{t}")

    def referenced(self, query: str) -> set[str]:
        """Table names a query refers to (a superset is harmless, a miss is not).

        DuckDB's parser answers first; as it gives up on some valid queries (it binds
        ``JOIN ... USING``), any known name appearing in the text, quoted or as a bare
        word, is added too.
        """
        try:
            names = set(self.con.get_table_names(query))
        except duckdb.Error:
            names = set()
        lowered = query.lower()
        for name in (*self.relations, *self.sets):
            low = name.lower()
            if f'"{low}"' in lowered or (_BARE.match(name) and re.search(rf"(?<![\w\"]){re.escape(low)}(?![\w\"@/])", lowered)):
                names.add(name)
        names |= {t for t in META_TABLES if re.search(rf"\b{t}\b", lowered)}
        names |= {m.replace('""', '"') for m in _QUOTED.findall(query) if "@" in m and m not in self.relations}
        return names

    def files_named(self, query: str) -> list[AssetVersion]:
        """The versions whose data file a query names as a string (``read_parquet('...')``),
        so that DuckDB may open them; matched by path, without touching the filesystem."""
        try:
            tokens = duckdb.tokenize(query)
        except duckdb.Error:
            return []
        literals = {query[pos:].split("'", 2)[1] for pos, kind in tokens
                    if kind == duckdb.token_type.string_const and query[pos:pos + 1] == "'"}
        if not literals:
            return []
        if self._by_path is None:
            root = self.store.root
            scheme = "" if is_local(self.store.fs) else f"{protocol(self.store.fs)}://"
            self._by_path = {}
            for v in self.store.index.versions.values():
                if formats.is_table(v.data_format) and v.data_path:
                    path = os.path.normpath(f"{root.rstrip('/')}/{v.data_path}")
                    for name in {path, scheme + path}:  # (versions of equal content may share a file)
                        self._by_path.setdefault(name, []).append(v)
        return [v for text in literals for v in self._by_path.get(os.path.normpath(text) if "://" not in text else text, ())]

    def _run(self, query: str, fetch):
        if not isinstance(query, str) or not query.strip():
            raise SqlError("empty query")
        with self._lock:
            check_query(self.con, query)
            self._allow(self.files_named(query))
            self._ensure(self.referenced(query))
            try:
                rel = self.con.sql(query)
                if rel is None:  # a statement without a result
                    rel = self.con.sql("SELECT 1 AS ok WHERE false")
                return fetch(rel)
            except duckdb.Error as exc:
                raise SqlError(refusal(exc)) from None

    def arrow(self, query: str) -> pa.Table:
        """The result of a query as an Arrow table."""
        import pyarrow as pa

        def fetch(rel):
            out = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
            return out.read_all() if isinstance(out, pa.RecordBatchReader) else out

        return self._run(query, fetch)

    def df(self, query: str):
        """The result of a query as a pandas DataFrame."""
        return self._run(query, lambda rel: rel.df())


def metadata_tables(store: Source) -> tuple[pa.Table, pa.Table]:
    """The ``runs`` and ``versions`` tables as Arrow (JSON columns as strings)."""
    return runs_table(store.index), versions_table(store)


def checks_table(index) -> pa.Table:
    """The ``checks`` table: every asset check evaluation, with the version it checked
    (``target_run_id``) and whether that version is the asset's latest (``metadata`` as JSON)."""
    import pyarrow as pa  # (a query on the metadata tables; a diff never builds them)

    rows = []
    for c in index.all_checks():
        latest = index.latest(c.asset, c.partition)
        rows.append({
            "asset": c.asset, "partition": c.partition, "check": c.name, "run_id": c.run_id, "created_at": c.created_at,
            "passed": c.passed, "severity": c.severity, "description": c.description,
            "target_run_id": c.target_run_id,
            "of_latest": latest is not None and c.target_run_id == latest.run_id,
            "metadata": json.dumps(c.metadata, sort_keys=True, default=str),
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("asset", pa.string()), ("partition", pa.string()), ("check", pa.string()), ("run_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")), ("passed", pa.bool_()), ("severity", pa.string()),
        ("description", pa.string()), ("target_run_id", pa.string()), ("of_latest", pa.bool_()), ("metadata", pa.string()),
    ]))


def observations_table(index) -> pa.Table:
    """The ``observations`` table: every observation of a source asset (``metadata`` as JSON)."""
    import pyarrow as pa  # (a query on the metadata tables; a diff never builds them)

    rows = [{"asset": o.asset, "partition": o.partition, "run_id": o.run_id, "created_at": o.created_at,
             "data_version": o.data_version, "metadata": json.dumps(o.metadata, sort_keys=True, default=str)}
            for o in index.all_observations()]
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("asset", pa.string()), ("partition", pa.string()), ("run_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")), ("data_version", pa.string()), ("metadata", pa.string()),
    ]))


def runs_table(index) -> pa.Table:
    """The ``runs`` table as Arrow (``tags`` as a JSON string): from the index alone."""
    import pyarrow as pa  # (a query on the metadata tables; a diff never builds them)

    return pa.Table.from_pylist(
        [
            {
                "run_id": r.run_id,
                "job": r.job,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "duration_seconds": r.duration_seconds,
                "code_version": r.code_version,
                "parent_run_id": r.parent_run_id,
                "tags": json.dumps(r.tags, sort_keys=True),
                "assets": r.asset_count,
            }
            for r in index.run_list()
        ],
        schema=pa.schema(
            [
                ("run_id", pa.string()),
                ("job", pa.string()),
                ("status", pa.string()),
                ("started_at", pa.timestamp("us", tz="UTC")),
                ("finished_at", pa.timestamp("us", tz="UTC")),
                ("duration_seconds", pa.float64()),
                ("code_version", pa.string()),
                ("parent_run_id", pa.string()),
                ("tags", pa.string()),
                ("assets", pa.int64()),
            ]
        ),
    )


def versions_table(store: Source) -> pa.Table:
    """The ``versions`` table as Arrow (``metadata`` as a JSON string); reads the flags for taint."""
    import pyarrow as pa  # (a query on the metadata tables; a diff never builds them)

    index = store.index
    tainted = store.tainted()
    input_type = pa.struct([("asset", pa.string()), ("run_id", pa.string()), ("content_hash", pa.string()), ("partition", pa.string())])
    from .catalogue import same_content_as

    same = {(key, run, None): first for key in index.asset_keys() if not index.is_partitioned(key)
            for run, first in same_content_as(index.asset_versions(key)).items()}
    for key in index.asset_keys():
        for part, vs in index.partitions(key).items():
            same.update({(key, run, part): first for run, first in same_content_as(vs).items()})
    columns: dict[str, list] = {name: [] for name in VERSION_COLUMNS}
    add = {name: col.append for name, col in columns.items()}
    encode = msgspec.json.Encoder(order="sorted").encode
    for r in index.run_list():
        for v in index.run_versions(r.run_id):
            add["asset"](v.asset)
            add["partition"](v.partition)
            add["run_id"](v.run_id)
            add["created_at"](v.created_at)
            add["format"](v.data_format)
            add["data_path"](v.data_path)
            add["size_bytes"](v.size_bytes)
            add["rows"](v.table.num_rows if v.table else None)
            add["content_hash"](v.content_hash)
            add["same_as_run_id"](same.get((v.asset, v.run_id, v.partition)))
            add["code_version"](v.code_version)
            add["run_status"](r.status)
            add["is_latest"](index.latest(v.asset, v.partition) is v)
            add["tainted"]((v.asset, v.run_id) in tainted)
            add["metadata"](_json_text(v.metadata, encode))
            add["inputs"]([i.to_dict() for i in v.inputs])
            add["keys"](list(v.keys))
    schema = pa.schema(
        [
            ("asset", pa.string()),
            ("partition", pa.string()),
            ("run_id", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")),
            ("format", pa.string()),
            ("data_path", pa.string()),
            ("size_bytes", pa.int64()),
            ("rows", pa.int64()),
            ("content_hash", pa.string()),
            ("same_as_run_id", pa.string()),
            ("code_version", pa.string()),
            ("run_status", pa.string()),
            ("is_latest", pa.bool_()),
            ("tainted", pa.bool_()),
            ("metadata", pa.string()),
            ("inputs", pa.list_(input_type)),
            ("keys", pa.list_(pa.string())),
        ]
    )
    # built column by column (a dict per version cost a third of the time at 200,000 versions)
    return pa.Table.from_arrays([pa.array(columns[f.name], f.type) for f in schema], schema=schema)


VERSION_COLUMNS = ("asset", "partition", "run_id", "created_at", "format", "data_path", "size_bytes", "rows",
                   "content_hash", "same_as_run_id", "code_version", "run_status", "is_latest", "tainted",
                   "metadata", "inputs", "keys")


def _json_text(value: Any, encode) -> str:
    """A version's metadata as JSON text, keys sorted: msgspec's encoder (ten times the
    standard library's), the standard library for what it cannot encode."""
    try:
        return encode(value).decode()
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value, sort_keys=True, default=str)


__all__ = ["ReadOnlyFiles", "SqlCatalog", "SqlError", "check_query", "checks_table", "connect", "data_url", "literal_glob",
           "metadata_tables", "observations_table", "refusal", "runs_table", "source_sql", "versions_table"]
