"""SQL over a store, on DuckDB.

Every tabular asset (parquet, csv, parquet directory) is a view named by its key at its
latest version (``features``, ``"raw/applications"``) and by ``"KEY@RUN_ID"`` at each
version. ``runs`` and ``versions`` are metadata tables (also as ``frontier.runs`` and
``frontier.versions``, which an asset of the same name cannot hide), so lineage itself
can be queried.

Only queries run (SELECT and friends, EXPLAIN): statements that could write files, such
as COPY or EXPORT, are refused, so SQL can never change a store.

Views are created lazily: before running a query, the tables it names are looked up
(``duckdb.get_table_names``) and only those views are created, so opening a store and
running a query reads only the data that query touches. On remote stores DuckDB reads
through the store's own fsspec filesystem (``register_filesystem``): no second set of
credentials.
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from . import format as fmt
from .errors import ExplorerError, SqlError, one_line
from .models import AssetVersion
from .store.data import resolve
from .store.fs import is_local

if TYPE_CHECKING:
    from .store.store import Store

META_SCHEMA = "frontier"
META_TABLES = ("runs", "versions")
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUERY_TYPES = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _protocol(fs) -> str:
    return fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]


class SqlCatalog:
    """One DuckDB connection over one store; views are made on demand."""

    def __init__(self, store: "Store") -> None:
        self.store = store
        # no extension downloads behind the user's back; remote files go through fsspec
        self.con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
        self.local = is_local(store.fs)
        if not self.local:
            self.con.register_filesystem(store.data_fs)
        self._made: set[str] = set()
        self._lock = threading.Lock()
        self.relations = self._relations()

    # ------------------------------------------------------------------ names
    def _relations(self) -> dict[str, AssetVersion]:
        """View name -> version, for every tabular version and each tabular asset's latest."""
        index = self.store.index
        out: dict[str, AssetVersion] = {}
        for (asset, run_id), v in index.versions.items():
            if v.data_format in fmt.TABLE_FORMATS:
                out[f"{asset}@{run_id}"] = v
        for key, v in index.latest_versions().items():
            if v.data_format in fmt.TABLE_FORMATS:
                out[key] = v
        return out

    def table_names(self) -> list[str]:
        """Every name a query can use: asset keys, ``KEY@RUN`` and the metadata tables."""
        return sorted(set(self.relations) | set(META_TABLES)) + [f"{META_SCHEMA}.{t}" for t in META_TABLES]

    def url(self, v: AssetVersion) -> str:
        path = resolve(self.store.fs, self.store.root, v)
        if self.local:
            return path
        return f"{_protocol(self.store.fs)}://{path}"

    def source(self, v: AssetVersion) -> str:
        """The DuckDB table function reading one version (lazy until queried)."""
        url = self.url(v)
        if v.data_format == "parquet":
            return f"read_parquet({_quote_str(url)})"
        if v.data_format == "directory":
            return f"read_parquet({_quote_str(url.rstrip('/') + '/**/*.parquet')}, hive_partitioning=true)"
        if v.data_format == "csv":
            return f"read_csv({_quote_str(url)}, auto_detect=true)"
        raise ExplorerError(f"{v.asset} is {v.data_format}, not a table")

    # ------------------------------------------------------------------ views
    def _ensure(self, names: set[str]) -> None:
        if names & set(META_TABLES) and "__meta__" not in self._made:
            self._make_meta()
            self._made.add("__meta__")
        for name in sorted(names):
            if name in self._made or name not in self.relations:
                continue
            try:
                self.con.execute(f"CREATE VIEW {_quote_ident(name)} AS SELECT * FROM {self.source(self.relations[name])}")
            except duckdb.Error as exc:
                v = self.relations[name]
                raise SqlError(f"cannot read {v.asset} in run {v.run_id} ({v.data_path}): {one_line(exc)}") from None
            self._made.add(name)

    def _make_meta(self) -> None:
        runs, versions = metadata_tables(self.store)
        self.con.register("_frontier_runs", runs)
        self.con.register("_frontier_versions", versions)
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
        self.con.execute(
            f"CREATE VIEW {META_SCHEMA}.runs AS SELECT * REPLACE (tags::JSON AS tags) FROM _frontier_runs"
        )
        self.con.execute(
            f"CREATE VIEW {META_SCHEMA}.versions AS SELECT * REPLACE (metadata::JSON AS metadata) FROM _frontier_versions"
        )
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
            names = set(duckdb.get_table_names(query))
        except duckdb.Error:
            names = set()
        lowered = query.lower()
        for name in self.relations:
            low = name.lower()
            if f'"{low}"' in lowered or (_BARE.match(name) and re.search(rf"(?<![\w\"]){re.escape(low)}(?![\w\"@/])", lowered)):
                names.add(name)
        names |= {t for t in META_TABLES if re.search(rf"\b{t}\b", lowered)}
        return names

    def _check_read_only(self, query: str) -> None:
        """Only queries run: COPY, EXPORT, ATTACH, INSTALL, PRAGMA, CREATE ... could write
        files (into the store, even), so they are refused."""
        try:
            statements = self.con.extract_statements(query)
        except duckdb.Error as exc:
            raise SqlError(one_line(exc)) from None
        for st in statements:
            if st.type not in _QUERY_TYPES:
                raise SqlError(
                    f"only queries run here (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, EXPLAIN), not "
                    f"{st.type.name}: the explorer never writes; save a result with --format parquet --output FILE"
                )

    def _run(self, query: str, fetch):
        if not isinstance(query, str) or not query.strip():
            raise SqlError("empty query")
        with self._lock:
            self._check_read_only(query)
            self._ensure(self.referenced(query))
            try:
                rel = self.con.sql(query)
                if rel is None:  # a statement without a result (SET, CREATE ...)
                    rel = self.con.sql("SELECT 1 AS ok WHERE false")
                return fetch(rel)
            except duckdb.Error as exc:
                raise SqlError(one_line(exc)) from None

    def arrow(self, query: str) -> pa.Table:
        """The result of a query as an Arrow table."""

        def fetch(rel):
            out = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
            return out.read_all() if isinstance(out, pa.RecordBatchReader) else out

        return self._run(query, fetch)

    def df(self, query: str):
        """The result of a query as a pandas DataFrame."""
        return self._run(query, lambda rel: rel.df())


def metadata_tables(store: "Store") -> tuple[pa.Table, pa.Table]:
    """The ``runs`` and ``versions`` tables as Arrow (JSON columns as strings)."""
    index = store.index
    runs = pa.Table.from_pylist(
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
    tainted = store.tainted()
    input_type = pa.struct([("asset", pa.string()), ("run_id", pa.string()), ("content_hash", pa.string())])
    rows = []
    for r in index.run_list():
        for v in index.run_versions(r.run_id):
            rows.append(
                {
                    "asset": v.asset,
                    "run_id": v.run_id,
                    "created_at": v.created_at,
                    "format": v.data_format,
                    "data_path": v.data_path,
                    "size_bytes": v.size_bytes,
                    "rows": v.table.num_rows if v.table else None,
                    "content_hash": v.content_hash,
                    "code_version": v.code_version,
                    "run_status": r.status,
                    "is_latest": index.latest(v.asset) is v,
                    "tainted": (v.asset, v.run_id) in tainted,
                    "metadata": json.dumps(v.metadata, sort_keys=True, default=str),
                    "inputs": [i.to_dict() for i in v.inputs],
                    "keys": list(v.keys),
                }
            )
    versions = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("asset", pa.string()),
                ("run_id", pa.string()),
                ("created_at", pa.timestamp("us", tz="UTC")),
                ("format", pa.string()),
                ("data_path", pa.string()),
                ("size_bytes", pa.int64()),
                ("rows", pa.int64()),
                ("content_hash", pa.string()),
                ("code_version", pa.string()),
                ("run_status", pa.string()),
                ("is_latest", pa.bool_()),
                ("tainted", pa.bool_()),
                ("metadata", pa.string()),
                ("inputs", pa.list_(input_type)),
                ("keys", pa.list_(pa.string())),
            ]
        ),
    )
    return runs, versions


__all__ = ["SqlCatalog", "SqlError", "metadata_tables"]
