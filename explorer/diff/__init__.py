"""Diff two versions of an asset and explain why they differ.

>>> d = diff_versions(store, "features", "previous", "latest", keys=["application_id"])
>>> d.same_content, d.to_dict()["rows"], d.summary()

Tables are compared in DuckDB reading the files in place (:mod:`.table`); JSON by path
(:mod:`.structured`); arrays element-wise (:mod:`.array`); pickles and bytes by content hash
only (:mod:`.opaque`). The metadata and lineage explanation (:mod:`.explain`) use sidecars only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Iterable

from .. import formats
from ..errors import ExplorerError
from ..models import AssetVersion
from .explain import explain, metadata_diff
from .opaque import diff_opaque
from .result import (
    ArrayDiff,
    DiffOptions,
    LineageStep,
    OpaqueDiff,
    Pair,
    PathChange,
    PathValue,
    StructuredDiff,
    TableDiff,
    ValueChange,
    VersionDiff,
)
from .structured import diff_json

# .table (DuckDB) and .array (numpy) are imported by the diff that needs them.

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


def _declared_keys(va: AssetVersion, vb: AssetVersion) -> tuple[tuple[str, ...], str | None]:
    """The keys both versions declare, and a note when they declare different ones."""
    ka, kb = tuple(va.keys or ()), tuple(vb.keys or ())
    if ka == kb:
        return ka, None
    if ka and kb and [k.lower() for k in ka] == [k.lower() for k in kb]:
        return ka, (f"the versions declare the keys {', '.join(ka)} (A) and {', '.join(kb)} (B), "
                    "which differ only by case: rows matched by them")
    if ka or kb:
        return (), (f"the versions declare different keys ({', '.join(ka) or 'none'} in A, "
                    f"{', '.join(kb) or 'none'} in B): whole rows compared; pass --key to match rows by key")
    return (), None


def _tolerances(value, name: str) -> tuple[float, tuple[tuple[str, float], ...]]:
    """A tolerance given as a number, a {column: number} mapping, or a list of numbers and
    (column, number) pairs: (global value, per-column values), each checked."""
    glob = 0.0
    per: dict[str, float] = {}
    if value is None:
        return glob, ()
    items = value.items() if isinstance(value, Mapping) else (
        [value] if isinstance(value, (int, float)) else list(value))
    for item in items:
        col, x = (None, item) if isinstance(item, (int, float)) else item
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
            raise ExplorerError(f"{name} must be a non-negative number{f' (column {col})' if col else ''}, got {x!r}")
        if col is None:
            glob = float(x)
        else:
            per[str(col)] = float(x)
    return glob, tuple(per.items())


def diff_versions(
    store,
    key: str,
    run_a: str = "previous",
    run_b: str = "latest",
    keys: Iterable[str] = (),
    tolerance: float | None = None,
    limit: int = 10,
    unkeyed: bool = False,
    *,
    abs_tol=None,
    rel_tol=None,
    ignore_spaces: bool = False,
    ignore_case: bool = False,
    ignore_column_case: bool = False,
    exclude: Iterable[str] = (),
    columns: Iterable[str] = (),
    redact: Iterable[str] = (),
) -> VersionDiff:
    """Compare the versions of ``key`` written by ``run_a`` and ``run_b``.

    ``keys``: key columns for a table diff; when empty, the key columns both versions declare
    in their sidecars are used, else (or with ``unkeyed=True``) whole rows are compared as a multiset.
    ``abs_tol`` / ``rel_tol``: tolerances for numbers, a number or ``{column: number}`` (or a list
    of numbers and ``(column, number)`` pairs); values are equal when ``|a - b| <= abs_tol +
    rel_tol * |b|``. ``tolerance`` is the older name of ``abs_tol``. ``ignore_spaces``: text equal
    up to spaces at either end; ``ignore_case``: text equal up to case (both also for keys);
    ``ignore_column_case``: columns matched by name whatever the case; ``exclude``: columns left
    out; ``columns``: only these compared (and the keys); ``redact``: values shown as ``***`` in
    samples and statistics. ``limit``: sample rows per class. See docs/diff.md.
    """
    if tolerance is not None and abs_tol is not None:
        raise ExplorerError("tolerance and abs_tol are the same option: pass one")
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float))
                                  or not math.isfinite(tolerance) or tolerance < 0):
        raise ExplorerError("tolerance must be a non-negative number")
    a_glob, a_cols = _tolerances(abs_tol if abs_tol is not None else tolerance, "abs_tol")
    r_glob, r_cols = _tolerances(rel_tol, "rel_tol")
    if not isinstance(limit, int) or limit < 0:
        raise ExplorerError("limit must be 0 or more")
    va = resolve_ref(store, key, run_a)
    vb = resolve_ref(store, key, run_b)
    if va.data_format != vb.data_format:
        raise ExplorerError(
            f"cannot diff {key}: version A (run {va.run_id}) is {va.data_format} "
            f"but version B (run {vb.run_id}) is {vb.data_format}"
        )
    kind = formats.get(va.data_format).kind
    keys = tuple(keys or ())
    if keys and kind != "table":
        raise ExplorerError(f"--key applies to tables; {key} is {va.data_format}")
    declared_note = None
    if not keys and not unkeyed:
        keys, declared_note = _declared_keys(va, vb)
    if unkeyed:
        keys = ()
    opts = DiffOptions(
        keys=keys, unkeyed=unkeyed, abs_tol=a_glob, rel_tol=r_glob, abs_tol_columns=a_cols, rel_tol_columns=r_cols,
        ignore_spaces=ignore_spaces, ignore_case=ignore_case, ignore_column_case=ignore_column_case,
        exclude=tuple(exclude), columns=tuple(columns), redact=tuple(redact), limit=limit,
    )
    same_bytes = va.content_hash == vb.content_hash
    parts: dict = {}
    if kind == "table":
        from .table import diff_tables, identical

        if same_bytes:
            parts["table"] = identical(va, vb, keys, opts)
        else:
            parts["table"] = diff_tables(store, va, vb, options=opts)
        if declared_note:
            t = parts["table"]
            parts["table"] = replace(t, notes=(declared_note,) + t.notes)
        differs = parts["table"].differs
    elif kind == "json":
        if same_bytes:
            parts["json"] = StructuredDiff((), (), ())
        else:
            parts["json"] = diff_json(store.load(key, va.run_id), store.load(key, vb.run_id), a_glob)
        differs = parts["json"].differs
    elif kind == "array":
        a = store.load(key, va.run_id)
        b = a if same_bytes else store.load(key, vb.run_id)
        from .array import diff_arrays

        parts["array"] = diff_arrays(a, b, a_glob)
        differs = parts["array"].differs
    elif kind == "external":
        # stored outside the store: what Dagster recorded is all there is to compare, the
        # metadata (its paths as the JSON diff) and the data version (the content hash)
        parts["json"] = diff_json(va.metadata, vb.metadata, a_glob)
        differs = parts["json"].differs or not same_bytes
    else:
        parts["opaque"] = diff_opaque(va, vb)
        differs = parts["opaque"].differs
    same_content = same_bytes or not differs
    steps, lines = explain(store.index, va, vb, same_content=same_content)
    return VersionDiff(
        asset=key,
        version_a=va,
        version_b=vb,
        kind=kind,
        same_content=same_content,
        identical_bytes=same_bytes,
        metadata=metadata_diff(store.index, va, vb),
        lineage=steps,
        explanation=lines,
        tolerance=a_glob,
        options=opts,
        **parts,
    )


__all__ = [
    "ArrayDiff",
    "DiffOptions",
    "LineageStep",
    "OpaqueDiff",
    "Pair",
    "PathChange",
    "PathValue",
    "StructuredDiff",
    "TableDiff",
    "ValueChange",
    "VersionDiff",
    "diff_arrays",
    "diff_json",
    "diff_opaque",
    "diff_versions",
    "explain",
    "metadata_diff",
    "resolve_ref",
]


def __getattr__(name: str):
    if name == "diff_arrays":
        from .array import diff_arrays

        return diff_arrays
    raise AttributeError(f"module 'explorer.diff' has no attribute {name!r}")
