"""Diff two versions of an asset and explain why they differ.

>>> d = diff_versions(store, "features", "previous", "latest", keys=["application_id"])
>>> d.same_content, d.to_dict()["rows"], d.summary()

Tables are compared in DuckDB reading the files in place (:mod:`.table`); JSON by path
(:mod:`.structured`); arrays element-wise (:mod:`.array`); pickles and bytes by content hash
only (:mod:`.opaque`). The metadata and lineage explanation (:mod:`.explain`) use sidecars only.
"""

from __future__ import annotations

from typing import Iterable

from ..errors import ExplorerError
from ..models import AssetVersion
from .array import diff_arrays
from .explain import explain, metadata_diff
from .opaque import diff_opaque
from .result import (
    ArrayDiff,
    LineageStep,
    OpaqueDiff,
    StructuredDiff,
    TableDiff,
    VersionDiff,
)
from .structured import diff_json
from .table import diff_tables, identical

KINDS = {
    "parquet": "table",
    "csv": "table",
    "directory": "table",
    "json": "json",
    "npy": "array",
    "pickle": "opaque",
    "bytes": "opaque",
}


def resolve_ref(store, key: str, ref: str) -> AssetVersion:
    """A version of ``key`` from a run id, ``latest`` or ``previous`` (the version before the latest)."""
    versions = store.asset_versions(key)  # unknown asset -> UnknownAsset
    if ref == "latest":
        return versions[-1]
    if ref == "previous":
        if len(versions) < 2:
            raise ExplorerError(
                f"{key} has only one version (run {versions[-1].run_id}); there is no previous version"
            )
        return versions[-2]
    return store.version(key, ref)


def diff_versions(
    store,
    key: str,
    run_a: str = "previous",
    run_b: str = "latest",
    keys: Iterable[str] = (),
    tolerance: float = 0.0,
    limit: int = 10,
    unkeyed: bool = False,
) -> VersionDiff:
    """Compare the versions of ``key`` written by ``run_a`` and ``run_b``.

    ``keys``: key columns for a table diff; when empty, the key columns both versions declare
    in their sidecars are used, else (or with ``unkeyed=True``) whole rows are compared as a multiset.
    ``tolerance``: absolute tolerance for numbers. ``limit``: sample rows per class.
    """
    if tolerance is None or tolerance < 0:
        raise ExplorerError("tolerance must be a non-negative number")
    va = resolve_ref(store, key, run_a)
    vb = resolve_ref(store, key, run_b)
    if va.data_format != vb.data_format:
        raise ExplorerError(
            f"cannot diff {key}: version A (run {va.run_id}) is {va.data_format} "
            f"but version B (run {vb.run_id}) is {vb.data_format}"
        )
    kind = KINDS[va.data_format]
    keys = tuple(keys or ())
    if keys and kind != "table":
        raise ExplorerError(f"--key applies to tables; {key} is {va.data_format}")
    if not keys and not unkeyed and va.keys and tuple(va.keys) == tuple(vb.keys):
        keys = tuple(va.keys)
    if unkeyed:
        keys = ()
    same_bytes = va.content_hash == vb.content_hash
    parts: dict = {}
    if kind == "table":
        if same_bytes:
            parts["table"] = identical(va, vb, keys)
        else:
            parts["table"] = diff_tables(store, va, vb, keys, tolerance, limit)
        differs = parts["table"].differs
    elif kind == "json":
        if same_bytes:
            parts["json"] = StructuredDiff((), (), ())
        else:
            parts["json"] = diff_json(store.load(key, va.run_id), store.load(key, vb.run_id), tolerance)
        differs = parts["json"].differs
    elif kind == "array":
        a = store.load(key, va.run_id)
        b = a if same_bytes else store.load(key, vb.run_id)
        parts["array"] = diff_arrays(a, b, tolerance)
        differs = parts["array"].differs
    else:
        parts["opaque"] = diff_opaque(va, vb)
        differs = parts["opaque"].differs
    steps, lines = explain(store.index, va, vb)
    return VersionDiff(
        asset=key,
        version_a=va,
        version_b=vb,
        kind=kind,
        same_content=same_bytes or not differs,
        identical_bytes=same_bytes,
        metadata=metadata_diff(store.index, va, vb),
        lineage=steps,
        explanation=lines,
        tolerance=float(tolerance),
        **parts,
    )


__all__ = [
    "ArrayDiff",
    "LineageStep",
    "OpaqueDiff",
    "StructuredDiff",
    "TableDiff",
    "VersionDiff",
    "diff_arrays",
    "diff_json",
    "diff_opaque",
    "diff_versions",
    "explain",
    "metadata_diff",
    "resolve_ref",
]
