"""The data catalogue: fetch a version by run or by lineage, list an asset's versions.

``Store.load``, ``Store.versions`` and ``Store.find`` delegate here. Everything works on
the in-memory index and the version graph; only ``load`` reads data, and flags are read
(one listing of ``_frontier_flags/``) the first time taint is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from . import lineage
from .errors import ExplorerError, TaintedVersion, UnknownAsset, UnknownRun
from .models import AssetVersion
from .store import data
from .store import flags as flagmod

if TYPE_CHECKING:
    import pandas as pd

    from .store.source import Source

VersionNode = tuple[str, str]

__all__ = ["TaintedVersion", "find", "load", "version_records", "versions"]


def load(
    store: "Source",
    key: str,
    run: str | None = None,
    allow_pickle: bool = False,
    as_arrow: bool = False,
    allow_tainted: bool = False,
) -> Any:
    """The data of ``key`` in ``run``, or of its latest version.

    The latest version is refused when it is tainted (flagged, or built from a flagged
    version) unless ``allow_tainted=True``. Naming a run is a deliberate choice and is
    always honoured.
    """
    v = lineage.resolve_version(store.index, key, run)
    if run is None and not allow_tainted:
        sources = store.tainted().get((v.asset, v.run_id))
        if sources:
            why = flagmod.describe_taint((v.asset, v.run_id), sources, store.active_flags())
            raise TaintedVersion(
                f"the latest version of {key!r} (run {v.run_id}) is tainted: {why}; "
                f"pass allow_tainted=True to load it anyway, or run=... for another version"
            )
    return data.load(store.data_fs, store.root, v, allow_pickle, as_arrow, store.warnings)


def version_row(v: AssetVersion, run_status: str | None, tainted: bool) -> dict[str, Any]:
    return {
        "run_id": v.run_id,
        "created_at": v.created_at,
        "content_hash": v.content_hash,
        "size_bytes": v.size_bytes,
        "rows": v.table.num_rows if v.table else None,
        "format": v.data_format,
        "code_version": v.code_version,
        "status": run_status,
        "tainted": tainted,
    }


def same_content_as(versions_oldest_first) -> dict[str, str]:
    """run id -> the run of the first earlier version with the same content (byte-identical:
    the same content hash), for each version that repeats an earlier one."""
    first: dict[str, str] = {}
    out: dict[str, str] = {}
    for v in versions_oldest_first:
        seen = first.setdefault(v.content_hash, v.run_id)
        if seen != v.run_id:
            out[v.run_id] = seen
    return out


def version_records(store: "Source", key: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of ``versions`` as plain dicts (values as stored: a ``datetime``, full-precision
    numbers, metadata values as written; a metadata key a version lacks is ``None``), newest
    first, and the column names. No pandas: the CLI's ``versions`` prints these."""
    vs = store.asset_versions(key)  # unknown asset -> clear error
    tainted = store.tainted()
    rows = []
    meta_keys: list[str] = []
    first = same_content_as(vs)
    for v in reversed(vs):
        run = store.index.runs.get(v.run_id)
        row = version_row(v, run.status if run else None, (v.asset, v.run_id) in tainted)
        row["same_as"] = first.get(v.run_id)
        for mk, mv in v.metadata.items():
            col = f"metadata.{mk}"
            if col not in meta_keys:
                meta_keys.append(col)
            row[col] = mv
        rows.append(row)
    columns = list(version_row(vs[0], None, False)) + ["same_as"] + meta_keys
    return [{c: row.get(c) for c in columns} for row in rows], columns


def versions(store: "Source", key: str) -> "pd.DataFrame":
    """One row per version of ``key``, newest first: run, time, hash, size, rows, format,
    code version, the run's status, whether it is tainted, ``same_as`` (the run of the first
    earlier version with byte-identical content, else None), and one ``metadata.KEY`` column
    per metadata key found in any version."""
    import pandas as pd

    rows, columns = version_records(store, key)
    df = pd.DataFrame(rows, columns=columns)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    df["rows"] = df["rows"].astype("Int64")
    return df


def _matches(store: "Source", missing: dict[VersionNode, str | None], asset: str, ref: str) -> set[VersionNode]:
    """Versions of ``asset`` named by ``ref``: a run id, or a content hash (a prefix is enough,
    with or without ``sha256:``). Versions consumed but since deleted (``missing``: their
    recorded hash) count too."""
    versions = store.index.versions
    if not store.index.asset_versions(asset) and not any(n[0] == asset for n in missing):
        raise UnknownAsset(f"unknown asset {asset!r} in built_from")
    if not isinstance(ref, str) or not ref:
        raise ExplorerError(f"built_from[{asset!r}] must be a run id or a content hash")
    if (asset, ref) in versions or (asset, ref) in missing:
        return {(asset, ref)}
    if ref in store.index.runs:
        raise UnknownRun(f"run {ref} holds no version of {asset!r}")
    needle = ref.lower()
    found = set()
    candidates = [(v.ident, v.content_hash) for v in store.index.asset_versions(asset)]
    candidates += [(n, h) for n, h in missing.items() if n[0] == asset]
    for n, chash in candidates:
        chash = (chash or "").lower()
        if chash.startswith(needle) or chash.split(":", 1)[-1].startswith(needle):
            found.add(n)
    if not found:
        raise ExplorerError(f"no version of {asset!r} has run id or content hash {ref!r}")
    return found


def find(store: "Source", key: str, built_from: Mapping[str, str]) -> list[AssetVersion]:
    """The versions of ``key`` built (transitively, across runs) from every version named in
    ``built_from`` (``{asset: run id or content hash}``), newest first.

    A hash may match several versions (a re-ingest with identical bytes); a version of
    ``key`` qualifies when it was built from any of them.
    """
    store.asset_versions(key)  # unknown asset -> clear error
    if not built_from:
        raise ExplorerError("find needs built_from={asset: run id or content hash}")
    # each version's consumers in plain lists, not the whole version graph (networkx: several
    # times the memory at a million versions)
    readers = lineage.consumers(store.index)
    versions = store.index.versions
    # consumed, no longer in the store: the hash its first consumer (in the index's order) recorded
    missing: dict[VersionNode, str | None] = {
        m: next(i.content_hash for i in versions[first].inputs if i.ident == m)
        for m, (first, *_) in readers.items() if m not in versions}
    candidates: set[VersionNode] | None = None
    for asset, ref in built_from.items():
        downstream: set[VersionNode] = set()
        for start in _matches(store, missing, asset, ref):
            seen, stack = {start}, [start]
            while stack:
                for m in readers.get(stack.pop(), ()):
                    if m not in seen:
                        seen.add(m)
                        stack.append(m)
            downstream |= {d for d in seen if d[0] == key and d != start}  # (its descendants: not itself)
        candidates = downstream if candidates is None else candidates & downstream
    out = [store.index.versions[n] for n in candidates or () if n in store.index.versions]
    order = {rid: i for i, rid in enumerate(store.index.runs)}
    out.sort(key=lambda v: (v.created_at, order.get(v.run_id, 0)), reverse=True)
    return out
