"""An asset across runs: one row per version with statistics from the sidecars (no data reads),
and an iterator over every version's data for longitudinal analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from .errors import ExplorerError, UnsafeLoad
from .models import AssetVersion
from .store.data import PICKLE_REFUSAL

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .store.source import Source

COLUMN_STATS = ("mean", "min", "max", "null_count", "distinct")
BASE_COLUMNS = ["run_id", "started_at", "status", "hash"]
STAT_HELP = "num_rows, size_bytes, COLUMN.mean|min|max|null_count|distinct, metadata.KEY, value.PATH (inside JSON)"


def _metadata_value(meta: dict[str, Any], path: str) -> Any:
    if path in meta:
        return meta[path]
    value: Any = meta
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _stat_getter(stat: str, versions: list[AssetVersion], key: str, load=None):
    if stat == "num_rows":
        if not any(v.table for v in versions):
            raise ExplorerError(f"{key} is not a table: num_rows is unknown (statistics: {STAT_HELP})")
        return lambda v: v.table.num_rows if v.table else None
    if stat == "size_bytes":
        return lambda v: v.size_bytes
    if stat == "code_version":
        return lambda v: v.code_version
    if stat.startswith("value.") and len(stat) > len("value."):
        path = stat[len("value.") :]
        if not any(v.data_format == "json" for v in versions):
            raise ExplorerError(f"{key} is not JSON: value.{path} needs a JSON asset (statistics: {STAT_HELP})")
        from .compare import json_path

        def get(v: AssetVersion) -> Any:
            if v.data_format != "json" or load is None:
                return None
            value = json_path(load(v), path)
            return value if value is None or isinstance(value, (int, float, str, bool)) else repr(value)

        return get
    if stat.startswith("metadata.") and len(stat) > len("metadata."):
        path = stat[len("metadata.") :]
        return lambda v: _metadata_value(v.metadata, path)
    col, _, name = stat.rpartition(".")
    if col and name in COLUMN_STATS:
        if not any(v.table and v.table.column(col) for v in versions):
            raise ExplorerError(f"no version of {key} has a column {col!r}")
        return lambda v: getattr(v.table.column(col), name) if v.table and v.table.column(col) else None
    raise ExplorerError(f"unknown statistic {stat!r}; use {STAT_HELP}")


def json_paths(value: Any, limit: int = 100) -> list[str]:
    """The dotted paths of the numbers inside a JSON value, in document order, as ``value.PATH``
    takes them (``auc``, ``coefficients.0``, ``folds.2.f1``); at most ``limit``."""
    out: list[str] = []

    def walk(v: Any, prefix: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(v, bool):
            return
        if isinstance(v, (int, float)):
            if prefix:
                out.append(prefix)
            return
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        for k, child in items:
            walk(child, f"{prefix}.{k}" if prefix else str(k))

    walk(value, "")
    return out


def default_stats(versions: list[AssetVersion]) -> list[str]:
    return (["num_rows"] if any(v.table for v in versions) else []) + ["size_bytes"]


def history(store: "Source", key: str, stats: list[str] | None = None) -> "pd.DataFrame":
    """One row per version of ``key``, oldest first: run_id, started_at, status, hash (short) and
    the requested statistics (default: num_rows for tables, size_bytes). Served from sidecars,
    except ``value.PATH``, a value inside a JSON asset, which reads each JSON version once."""
    import pandas as pd

    rows, columns = history_records(store, key, stats)
    df = pd.DataFrame(rows, columns=columns)
    df["started_at"] = pd.to_datetime(df["started_at"], utc=True)
    return df


def history_records(store: "Source", key: str, stats: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of ``history`` as plain dicts (``started_at`` a ``datetime``, each statistic as
    stored: an integer stays one where another version lacks it) and the column names. No
    pandas: the CLI's ``history`` prints and plots these."""
    versions = store.asset_versions(key)
    stats = list(dict.fromkeys(stats)) if stats else default_stats(versions)
    cache: dict[str, Any] = {}

    def load(v: AssetVersion) -> Any:
        if v.run_id not in cache:
            cache[v.run_id] = store.load(key, v.run_id, allow_tainted=True)
        return cache[v.run_id]

    getters = {s: _stat_getter(s, versions, key, load) for s in stats}
    rows = []
    for v in versions:
        run = store.index.runs.get(v.run_id)
        row: dict[str, Any] = {
            "run_id": v.run_id,
            "started_at": run.started_at if run else v.created_at,
            "status": run.status if run else None,
            "hash": v.short_hash,
        }
        for s, get in getters.items():
            row[s] = get(v)
        rows.append(row)
    return rows, BASE_COLUMNS + stats


def iter_versions(store: "Source", key: str, allow_pickle: bool = False) -> Iterator[tuple[AssetVersion, Any]]:
    """``(version, data)`` for every version of ``key``, oldest first; data as ``store.load`` gives it.
    Pickles are refused (before anything is read) unless ``allow_pickle=True``."""
    versions = store.asset_versions(key)
    if not allow_pickle:
        for v in versions:
            if v.data_format == "pickle":
                raise UnsafeLoad(PICKLE_REFUSAL.format(what=f"{key} in run {v.run_id}"))

    def generate() -> Iterator[tuple[AssetVersion, Any]]:
        for v in versions:
            yield v, store.load(key, v.run_id, allow_pickle=allow_pickle)

    return generate()
