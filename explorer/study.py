"""Studies across runs: every chosen version of an asset as one frame, and the store as it was
at a past time or run.

The store keeps every run's outputs so that an asset can be followed through them. ``frame``
reads the chosen versions concurrently (a thread pool: reads are I/O, and on an object store
each is a request) and stacks them with ``run_id`` and ``created_at`` columns; ``until`` cuts an
index down to what existed at a moment. Pure over the index; the data comes through the
``read`` callable the caller passes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from . import formats
from .errors import ExplorerError
from .models import AssetVersion, replace

READERS = 8
"""Versions read at once by ``frame`` (enough to hide an object store's latency, few enough
not to flood it)."""

ADDED = ("run_id", "created_at")


def chosen_versions(index, key: str, runs: Sequence[str] | None = None) -> list[AssetVersion]:
    """The versions of ``key`` in ``runs`` (run ids, in the order given), or all of them, oldest first."""
    from .lineage import partition_versions

    versions = partition_versions(index, key)  # ``key[part]``: the versions of that partition
    if runs is None:
        return versions
    out = []
    for run_id in runs:
        found = [v for v in versions if v.run_id == run_id]
        if not found:
            raise ExplorerError(f"{key} has no version in run {run_id}")
        out.extend(found)
    return out


def _json_rows(value: Any, v: AssetVersion) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(x, dict) for x in value):
        return value
    raise ExplorerError(f"{v.asset} in run {v.run_id} is JSON but not an object or a list of objects: no rows to stack")


def frame(
    versions: Iterable[AssetVersion],
    read: Callable[[AssetVersion, Sequence[str] | None], Any],
    columns: Sequence[str] | None = None,
    as_arrow: bool = False,
):
    """One DataFrame (or Arrow table) of every version in ``versions``: a table's rows, or a JSON
    object's fields flattened (``folds.0.auc``), each row carrying its version's ``run_id`` and
    ``created_at``. Columns that some versions lack are null there; ``columns`` picks columns
    (read only those from parquet). ``read(version, columns)`` gives an Arrow table for a table
    version, the parsed value for JSON."""
    import pandas as pd
    import pyarrow as pa

    versions = list(versions)
    kinds = {("table" if formats.is_table(v.data_format) else v.data_format) for v in versions}
    if kinds - {"table", "json"}:
        other = next(v for v in versions if not formats.is_table(v.data_format) and v.data_format != "json")
        raise ExplorerError(f"{other.asset} in run {other.run_id} is {other.data_format}: only tables and JSON objects stack into a frame")
    if len(kinds) > 1:
        raise ExplorerError(f"{versions[0].asset} is a table in some runs and JSON in others: choose runs of one kind")
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        parts = list(pool.map(lambda v: read(v, list(columns) if columns else None), versions))
    tables = []
    for v, part in zip(versions, parts):
        if not isinstance(part, pa.Table):
            part = pd.json_normalize(_json_rows(part, v), sep=".")
            if columns:
                part = part.reindex(columns=list(columns))
            part = pa.Table.from_pandas(part, preserve_index=False)
        clash = [c for c in ADDED if c in part.column_names]
        if clash:
            raise ExplorerError(f"{v.asset} has a column named {clash[0]!r}: frame adds that column itself")
        n = part.num_rows
        part = part.append_column("run_id", pa.array([v.run_id] * n, pa.string()))
        part = part.append_column("created_at", pa.array([v.created_at] * n, pa.timestamp("us", tz="UTC")))
        tables.append(part)
    if not tables:
        empty = pa.table({"run_id": pa.array([], pa.string()), "created_at": pa.array([], pa.timestamp("us", tz="UTC"))})
        return empty if as_arrow else empty.to_pandas()
    try:
        out = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ExplorerError(f"the versions of {versions[0].asset} cannot be stacked: {str(exc).splitlines()[0]}") from None
    first = [c for c in ADDED] + [c for c in out.column_names if c not in ADDED]
    out = out.select(first)
    return out if as_arrow else out.to_pandas()


def until(index, moment: datetime):
    """The index as it was at ``moment``: runs started by then, versions created by then; a run
    still going at that moment is ``running`` with no finish time."""
    from .index import Index, RunRecord

    records = []
    for run in index.run_list():
        if run.started_at > moment:
            continue
        if run.finished_at is not None and run.finished_at > moment:
            run = replace(run, status="running", finished_at=None)
        records.append(RunRecord(run, [v for v in index.run_versions(run.run_id) if v.created_at <= moment]))
    out = Index.from_records(records, warnings=list(index.warnings))
    out.reserved = index.reserved
    return out


def moment_of(index, as_of: str | datetime) -> datetime:
    """``as_of`` as a time: a datetime, an ISO time, or a run (its finish, or its start while it
    ran), with the errors a user can act on."""
    from .names import resolve_run
    from .staleness import StalenessArgumentError, resolve_as_of

    if isinstance(as_of, str) and as_of.strip() not in index.runs:
        try:
            return resolve_as_of(index, as_of)[0]
        except StalenessArgumentError:
            as_of = resolve_run(index.runs, as_of.strip())  # a label or prefix, or "unknown run ..."
    return resolve_as_of(index, as_of)[0]
