"""The store as a DuckDB database file, for BI tools (Superset, Metabase, DBeaver, Jupyter).

``write_catalog(store, "store.duckdb")`` writes a database that holds *views* over the
store's own files, never copies of their data:

- one view per tabular asset at its latest version (``features``, ``"raw/applications"``),
- one per version (``"features@RUN_ID"``),
- one per asset over all its versions (``"features@*"``, with ``run_id`` and ``created_at``
  columns added; a directory version's hive partitions are columns),
- for a partitioned asset, ``features`` stacks the latest version of every partition and
  ``"features@RUN_ID"`` the partitions that run wrote, with a ``partition`` column,

each view the very query ``Store.sql`` reads under the same name (one definition,
``explorer.sql.SqlCatalog.view_sql``), so a BI tool and ``frontier-explore sql`` agree,

and, in schema ``frontier`` (also under their bare names unless an asset has that name),
the small metadata tables ``runs``, ``versions``, ``flags`` and ``views`` (what each view
reads): a snapshot of the store's index when the file was written, the same rows as
``Store.sql`` gives.

The views are the DuckDB table expressions ``explorer.sql.source_sql`` makes for
``Store.sql``: exactly one version's files, whatever characters their paths hold. Local
stores are read by absolute path. On ``s3://`` (and ``gs://``) stores the views name the
objects' URLs, which DuckDB reads through its httpfs extension with the credentials of the
host that opens the file (environment variables or a DuckDB secret): no credential is
ever written into the file. Writing the file reads each version's schema (to bind the
views) through the store's own filesystem, and nothing else.

The file is written beside its destination and moved into place, so that a BI tool
reading it sees the old catalog or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from .errors import ExplorerError, SqlError, message_line
from .formats.base import quote_ident, quote_literal
from .sql import META_SCHEMA, ReadOnlyFiles, SqlCatalog, _allow_list, checks_table, metadata_tables, observations_table
from .store.fs import is_local
from .store.fs import protocol as fs_protocol

CATALOG_TABLES = ("runs", "versions", "checks", "observations", "flags", "views")
# protocols whose URLs DuckDB itself can read (httpfs); a memory:// store lives in one process only
REMOTE_PROTOCOLS = ("s3", "s3a", "gs", "gcs")


@dataclass(frozen=True)
class CatalogView:
    """One view of the catalog: its name, what it reads and the SQL it is."""

    name: str
    kind: str  # "latest", "version" or "all"
    asset: str
    run_id: str | None  # None for "all"
    sql: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "asset": self.asset, "run_id": self.run_id, "sql": self.sql}


@dataclass(frozen=True)
class CatalogSummary:
    """What ``write_catalog`` wrote."""

    path: str
    store: str
    views: tuple[CatalogView, ...]
    tables: tuple[str, ...]
    skipped: tuple[str, ...] = field(default=())  # views not made, each with its reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "store": self.store,
            "views": [v.to_dict() for v in self.views],
            "tables": list(self.tables),
            "skipped": list(self.skipped),
        }


def check_shareable(store) -> None:
    """Raise unless another process can read the store's files by the URLs the views name."""
    if is_local(store.fs):
        return
    protocol = fs_protocol(store.fs)
    if protocol not in REMOTE_PROTOCOLS:
        raise ExplorerError(
            f"cannot write a catalog of {store.url}: DuckDB reads only local paths and s3:// or gs:// URLs, "
            f"not {protocol}://"
        )


def catalog_views(store) -> tuple[list[CatalogView], list[str]]:
    """Every view the catalog of ``store`` holds, in the order they are created, each the
    query ``Store.sql`` reads under the same name (``explorer.sql.SqlCatalog.view_sql``);
    and the views left out, each with its reason."""
    catalog = SqlCatalog(store)
    views: list[CatalogView] = []
    skipped: list[str] = []
    try:
        for name in catalog.data_view_names():
            asset, at, run = name.rpartition("@")
            if not at:
                asset, kind, run_id = name, "latest", None
                v = catalog.relations.get(name)
                run_id = v.run_id if v is not None else None  # a partitioned asset: several runs
            else:
                kind, run_id = ("all", None) if run == "*" else ("version", run)
            try:
                views.append(CatalogView(name, kind, asset, run_id, catalog.view_sql(name)))
            except SqlError as exc:
                skipped.append(f"{name}: {exc}")
    finally:
        catalog.con.close()
    return views, skipped


def _flags_table(store) -> pa.Table:
    schema = pa.schema([
        ("id", pa.string()), ("action", pa.string()), ("asset", pa.string()), ("run_id", pa.string()),
        ("author", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")), ("reason", pa.string()),
        ("active", pa.bool_()),
    ])
    active = store.flagged()
    rows = [
        {"id": f.id, "action": f.action, "asset": f.asset, "run_id": f.run_id, "author": f.author,
         "created_at": f.created_at, "reason": f.reason, "active": f.action == "flag" and f.version in active}
        for f in store.flags()
    ]
    return pa.Table.from_pylist(rows, schema=schema)


def _views_table(views: list[CatalogView]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"name": v.name, "kind": v.kind, "asset": v.asset, "run_id": v.run_id} for v in views],
        schema=pa.schema([("name", pa.string()), ("kind", pa.string()), ("asset", pa.string()), ("run_id", pa.string())]),
    )


def _connect(path: str, store) -> duckdb.DuckDBPyConnection:
    """A connection writing ``path`` that installs and loads no extension; on an object store
    it reads the versions' schemas through the store's own filesystem, read-only."""
    con = duckdb.connect(path, config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "python_enable_replacements": False,
    })
    if not is_local(store.fs):
        _, _, files, folders = _allow_list(store)
        con.register_filesystem(ReadOnlyFiles(store.data_fs, files, folders))
    return con


def write_catalog(store, path: str | os.PathLike) -> CatalogSummary:
    """Write the DuckDB catalog of ``store`` to ``path`` (replacing it whole): views over the
    store's files and its metadata tables. Returns what was written."""
    check_shareable(store)
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ExplorerError(f"cannot write {path}: no folder {folder}")
    fd, tmp = tempfile.mkstemp(prefix=".catalog-", suffix=".duckdb", dir=folder)
    os.close(fd)
    os.unlink(tmp)  # DuckDB makes the file itself
    made: list[CatalogView] = []
    try:
        con = _connect(tmp, store)
        try:
            views, skipped = catalog_views(store)
            for view in views:
                try:
                    con.execute(f"CREATE VIEW {quote_ident(view.name)} AS {view.sql}")
                except duckdb.Error as exc:
                    skipped.append(f"{view.name}: {message_line(exc)}")
                    continue
                made.append(view)
            names = {v.name for v in made}
            tables = _write_metadata(con, store, made, names)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise
    return CatalogSummary(path, store.url, tuple(made), tables, tuple(skipped))


def _write_metadata(con, store, views: list[CatalogView], names: set[str]) -> tuple[str, ...]:
    runs, versions = metadata_tables(store)
    sources = {"runs": runs, "versions": versions, "checks": checks_table(store.index),
               "observations": observations_table(store.index), "flags": _flags_table(store), "views": _views_table(views)}
    json_columns = {"runs": ["tags"], "versions": ["metadata"], "checks": ["metadata"], "observations": ["metadata"]}
    con.execute(f"CREATE SCHEMA {META_SCHEMA}")
    info = pa.Table.from_pylist([{
        "store": store.url,
        "written_at": datetime.now(UTC),
        "runs": len(store.index.runs),
        "views": len(views),
    }])
    sources["catalog"] = info
    tables = []
    for name, table in sources.items():
        con.register("_frontier_source", table)
        replace = ", ".join(f"{c}::JSON AS {c}" for c in json_columns.get(name, []))
        select = f"SELECT * REPLACE ({replace})" if replace else "SELECT *"
        con.execute(f"CREATE TABLE {META_SCHEMA}.{name} AS {select} FROM _frontier_source")
        con.unregister("_frontier_source")
        tables.append(f"{META_SCHEMA}.{name}")
        if name in CATALOG_TABLES and name not in names:  # an asset of that name keeps its name
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM {META_SCHEMA}.{name}")
            tables.append(name)
    return tuple(tables)


def describe_s3_access(store) -> str | None:
    """For an object store: how a BI host gives DuckDB access (printed by the CLI), else None."""
    if is_local(store.fs):
        return None
    endpoint = (store.storage_options.get("client_kwargs") or {}).get("endpoint_url") or store.storage_options.get("endpoint_url")
    lines = ["The views read the store's objects through DuckDB's httpfs extension, with the opening host's credentials:",
             "  INSTALL httpfs; LOAD httpfs;",
             "  CREATE SECRET (TYPE s3, PROVIDER credential_chain);   -- or KEY_ID/SECRET/REGION"]
    if endpoint:
        from urllib.parse import urlsplit

        parts = urlsplit(str(endpoint))
        ssl = "" if parts.scheme != "http" else ", USE_SSL false"
        lines.append(f"  (this store's endpoint: add ENDPOINT {quote_literal(parts.netloc or str(endpoint))}, URL_STYLE 'path'{ssl} to the secret)")
    return "\n".join(lines)


__all__ = ["CatalogSummary", "CatalogView", "catalog_views", "check_shareable", "describe_s3_access", "write_catalog"]
