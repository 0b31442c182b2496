"""The index: every run and asset version of a store, read with as few requests as possible.

Reading a store costs one listing of the root, one batched read of the run manifests
and, only for runs without a consolidated manifest (crashed or still running), one
listing and one batched read of their sidecars.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import fsspec

from .. import format as fmt
from ..errors import FormatError, StoreNotFound
from ..models import AssetVersion, Run

Progress = Callable[[int, int], None]


@dataclass
class RunRecord:
    """What one run contributes to the index (also the unit the local cache stores)."""

    run: Run
    versions: list[AssetVersion] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Index:
    """All runs and versions of a store, in memory. Pure queries, no I/O."""

    runs: dict[str, Run] = field(default_factory=dict)
    versions: dict[tuple[str, str], AssetVersion] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _by_asset: dict[str, list[AssetVersion]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Iterable[RunRecord], warnings: Iterable[str] = ()) -> "Index":
        idx = cls(warnings=list(warnings))
        for rec in records:
            idx.add(rec)
        idx._sort()
        return idx

    def add(self, rec: RunRecord) -> None:
        run = replace(rec.run, asset_count=len(rec.versions))
        self.runs[run.run_id] = run
        for v in rec.versions:
            self.versions[(v.asset, v.run_id)] = v
        self.warnings.extend(rec.warnings)

    def _sort(self) -> None:
        self.runs = dict(sorted(self.runs.items(), key=lambda kv: (kv[1].started_at, kv[0])))
        order = {rid: i for i, rid in enumerate(self.runs)}
        by_asset: dict[str, list[AssetVersion]] = {}
        for v in self.versions.values():
            by_asset.setdefault(v.asset, []).append(v)
        for vs in by_asset.values():
            vs.sort(key=lambda v: (v.created_at, order.get(v.run_id, 0)))
        self._by_asset = dict(sorted(by_asset.items()))

    # ------------------------------------------------------------------ queries
    def run_list(self) -> list[Run]:
        """Runs ordered by start time, oldest first."""
        return list(self.runs.values())

    def asset_keys(self) -> list[str]:
        return list(self._by_asset)

    def asset_versions(self, key: str) -> list[AssetVersion]:
        """Committed versions of an asset, oldest first."""
        return list(self._by_asset.get(key, ()))

    def run_versions(self, run_id: str) -> list[AssetVersion]:
        return sorted((v for (a, r), v in self.versions.items() if r == run_id), key=lambda v: v.created_at)

    def latest(self, key: str) -> AssetVersion | None:
        vs = self._by_asset.get(key)
        return vs[-1] if vs else None

    def latest_versions(self) -> dict[str, AssetVersion]:
        return {k: vs[-1] for k, vs in self._by_asset.items() if vs}


# ---------------------------------------------------------------------- reading


def _parse_versions(docs: Iterable[tuple[str, object]], run_id: str, rec: RunRecord) -> None:
    for where, doc in docs:
        try:
            rec.versions.append(fmt.parse_sidecar(doc, where, run_id))
        except FormatError as exc:
            rec.warnings.append(str(exc))


def list_run_ids(fs: fsspec.AbstractFileSystem, root: str) -> list[str]:
    """One listing of the store root: the folders that may be runs."""
    try:
        entries = fs.ls(root, detail=True)
    except FileNotFoundError:
        raise StoreNotFound(f"no frontier store at {root}: it does not exist") from None
    except NotADirectoryError:
        raise StoreNotFound(f"no frontier store at {root}: it is a file, not a folder") from None
    except PermissionError:
        raise StoreNotFound(f"no frontier store at {root}: permission denied") from None
    if not entries and not fs.isdir(root):
        if fs.isfile(root):
            raise StoreNotFound(f"no frontier store at {root}: it is a file, not a folder")
        raise StoreNotFound(f"no frontier store at {root}: it does not exist")
    out = []
    for e in entries:
        if e.get("type") != "directory" and not e.get("islink"):
            continue  # symlinks are listed so that the caller can refuse those leaving the store
        name = e["name"].rstrip("/").rsplit("/", 1)[-1]
        if name.startswith(("_", ".")):
            continue
        out.append(name)  # invalid names are reported by read_runs (no manifest / invalid run id)
    return sorted(out)


def has_marker(fs: fsspec.AbstractFileSystem, root: str) -> bool:
    try:
        return fs.exists(fmt.join(root, fmt.STORE_MARKER))
    except OSError:
        return False


def read_runs(
    fs: fsspec.AbstractFileSystem,
    root: str,
    run_ids: list[str],
    progress: Progress | None = None,
    batch: int = 256,
) -> tuple[list[RunRecord], list[str], list[str]]:
    """Read the given runs. Returns (records, warnings, ids of folders without a manifest)."""
    records: list[RunRecord] = []
    warnings: list[str] = []
    no_manifest: list[str] = []
    pending: list[RunRecord] = []
    done = 0
    for start in range(0, len(run_ids), batch):
        chunk = run_ids[start : start + batch]
        paths = {fmt.join(root, fmt.run_manifest_path(r)): r for r in chunk}
        got = fs.cat(list(paths), on_error="return")
        for path, run_id in paths.items():
            raw = got.get(path, FileNotFoundError(path))
            rel = fmt.run_manifest_path(run_id)
            if isinstance(raw, FileNotFoundError):
                no_manifest.append(run_id)
                continue
            if isinstance(raw, PermissionError):
                warnings.append(f"{rel}: permission denied; run {run_id} skipped")
                continue
            if isinstance(raw, BaseException):
                warnings.append(f"{rel}: cannot read ({type(raw).__name__}: {raw}); run {run_id} skipped")
                continue
            try:
                doc = fmt.loads(raw, rel)
                run = fmt.parse_run(doc, rel, run_id)
            except FormatError as exc:
                warnings.append(f"{exc}; run {run_id} skipped")
                continue
            rec = RunRecord(run)
            if run.consolidated and isinstance(doc.get("versions"), list):
                _parse_versions(((f"{rel} (versions[{i}])", d) for i, d in enumerate(doc["versions"])), run_id, rec)
                records.append(rec)
            else:
                pending.append(rec)
        done += len(chunk)
        if progress:
            progress(done, len(run_ids))
    for rec in pending:
        _read_sidecars(fs, root, rec)
        records.append(rec)
    return records, warnings, no_manifest


def _read_sidecars(fs: fsspec.AbstractFileSystem, root: str, rec: RunRecord) -> None:
    run_id = rec.run.run_id
    folder = fmt.join(root, fmt.versions_dir(run_id))
    try:
        names = [p for p in fs.ls(folder, detail=False) if p.endswith(".json")]
    except FileNotFoundError:
        return
    except PermissionError:
        rec.warnings.append(f"{fmt.versions_dir(run_id)}: permission denied")
        return
    got = fs.cat(sorted(names), on_error="return")
    docs = []
    for path in sorted(names):
        rel = path[len(root) + 1 :] if path.startswith(root + "/") else path
        raw = got.get(path)
        if isinstance(raw, BaseException) or raw is None:
            rec.warnings.append(f"{rel}: cannot read sidecar ({raw})")
            continue
        try:
            docs.append((rel, fmt.loads(raw, rel)))
        except FormatError as exc:
            rec.warnings.append(str(exc))
    _parse_versions(docs, run_id, rec)


def _outside_root(fs: fsspec.AbstractFileSystem, root: str, run_ids: list[str]) -> tuple[list[str], list[str]]:
    """On local disk, split off run folders (or their manifests) that resolve outside the root."""
    from .fs import is_local

    if not is_local(fs):
        return run_ids, []
    import os

    real_root = os.path.realpath(root)
    keep, escaping = [], []
    for r in run_ids:
        paths = (fmt.join(root, r), fmt.join(root, fmt.run_manifest_path(r)), fmt.join(root, fmt.versions_dir(r)))
        if all(os.path.realpath(p).startswith(real_root + os.sep) for p in paths):
            keep.append(r)
        else:
            escaping.append(r)
    return keep, escaping


def build_index(fs: fsspec.AbstractFileSystem, root: str, progress: Progress | None = None) -> Index:
    """Read a whole store into an Index. Broken runs become warnings, never errors."""
    run_ids, escaping = _outside_root(fs, root, list_run_ids(fs, root))
    records, warnings, no_manifest = read_runs(fs, root, run_ids, progress)
    warnings.extend(f"{fmt.printable(r)}/: symlink pointing outside the store, not followed" for r in escaping)
    if not records and not has_marker(fs, root):
        if no_manifest:
            raise StoreNotFound(
                f"no frontier store at {root}: no run manifests ({fmt.META_DIR}/{fmt.RUN_MANIFEST}) found"
            )
        if not warnings:
            raise StoreNotFound(f"no frontier store at {root}: the folder holds no runs")
    for run_id in no_manifest:
        warnings.append(f"{fmt.printable(run_id)}/: folder without a run manifest, skipped")
    return Index.from_records(records, warnings)
