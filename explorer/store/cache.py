"""The local index cache: what was read from a store last time, so that a reopen reads
only runs that are new or were unfinished.

One file per store, in the user cache directory (``platformdirs.user_cache_dir``, or
``$FRONTIER_EXPLORE_CACHE_DIR``), named by a hash of the store URL and its non-secret
storage options. Credentials are never part of the name or the content. The file is
written atomically (temporary file + rename) and is safe to delete at any time.

Only finished, consolidated runs are cached: their manifest is immutable by contract.
The file is JSON Lines::

    {"format": "frontier-explore/index-cache", "cache_version": 2, "url": ..., "plans": P, "runs": N, "bytes": B}
    P lines: a planned_assets list (as in run_doc), shared by the runs that planned it
    N lines: {"run": <run_doc without planned_assets and versions>, "plan": i, "assets": n,
              "stamp": [mtime_ns, size] | null, "warnings": [...], "at": offset, "size": n}
    B bytes: the runs' consolidated manifests (run_doc with their sidecar_docs), one per line

Everything is validated with ``format.parse_run`` / ``format.parse_sidecar`` exactly like
store data: the plans and run lines when the cache is opened, a run's manifest (checked
against its run line) when versions are first needed. So a reopen reads a few hundred
bytes per run, not the manifests. A cache that fails validation is discarded (deleted) and
rebuilt; a manifest that fails later is read again from the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import format as fmt
from ..errors import FormatError
from ..models import AssetVersion, Run, replace
from .fs import public_options

CACHE_KIND = "frontier-explore/index-cache"
CACHE_VERSION = 2
APP_NAME = "frontier-explore"
ENV_DIR = "FRONTIER_EXPLORE_CACHE_DIR"


class CorruptCache(FormatError):
    """The cache file failed validation."""


@dataclass
class Entry:
    """One run as the indexer knows it: the run, and its versions parsed or still raw."""

    run: Run  # asset_count set
    versions: list[AssetVersion] | None = None  # None: not parsed yet (see raw)
    raw: bytes | None = None  # the consolidated manifest as read from the store, kept for saving
    source: tuple | None = None  # (Manifests, offset, size): the manifest in the cache file
    stamp: list[int] | None = None  # local stores: [mtime_ns, size] of the manifest when read
    warnings: list[str] = field(default_factory=list)

    @property
    def cacheable(self) -> bool:
        return self.run.status != "running" and self.run.consolidated


def cache_dir() -> Path:
    """Where index caches live (created on first write)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME)) / "index"


def cache_key(url: str, storage_options: dict[str, Any] | None = None) -> str:
    ident = json.dumps({"url": url, "options": public_options(storage_options)}, sort_keys=True, default=str)
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()[:32]


def cache_path(url: str, storage_options: dict[str, Any] | None = None) -> Path:
    return cache_dir() / f"{cache_key(url, storage_options)}.jsonl"


def one_line(raw: bytes) -> bytes:
    """A JSON document on one line. Newlines in JSON text are only ever whitespace between
    tokens (inside strings they are escaped), so replacing them keeps the same document."""
    return raw.replace(b"\r", b" ").replace(b"\n", b" ")


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), default=fmt._json_default).encode("utf-8")


def save(path: Path, url: str, entries: list[Entry]) -> None:
    """Write the cache atomically. Failing to write a cache is never an error for a reader.

    Layout: a header line; the distinct planned-asset lists (runs of a job share one); one
    line per run (its run_doc without versions, the index of its plan, its asset count,
    stamp, warnings, and where its manifest is); then the manifests, one per line. A reopen
    reads the lines before the manifests only.
    """
    entries = [e for e in entries if e.cacheable and (e.raw, e.versions, e.source) != (None, None, None)]
    handles: dict[int, Any] = {}  # open previous cache files, checked to be the validated ones
    try:
        plans: dict[bytes, int] = {}
        run_lines: list[bytes] = []
        plan_of: list[tuple[Entry, tuple, int, int]] = []  # (entry, how to write, offset, size)
        offset = 0
        for e in entries:
            how = _manifest_source(e, handles)
            if how is None:
                continue  # its cached manifest is gone and it was never parsed: read it next time
            size = how[-1]
            doc = fmt.run_doc(e.run)
            plan = _dumps(doc.pop("planned_assets"))
            doc["consolidated"] = True
            run_lines.append(_dumps({
                "run": doc, "plan": plans.setdefault(plan, len(plans)), "assets": e.run.asset_count,
                "stamp": e.stamp, "warnings": e.warnings, "at": offset, "size": size,
            }))
            plan_of.append((e, how, offset, size))
            offset += size
        header = _dumps({"format": CACHE_KIND, "cache_version": CACHE_VERSION, "url": url,
                         "plans": len(plans), "runs": len(plan_of), "bytes": offset})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header + b"\n")
                f.writelines(p + b"\n" for p in plans)
                f.writelines(line + b"\n" for line in run_lines)
                start = f.tell()
                for _, how, _, size in plan_of:  # one manifest in memory at a time
                    if how[0] == "copy":
                        _, src, pos, _ = how
                        src.seek(pos)
                        data = src.read(size)
                        if len(data) != size:
                            raise OSError("previous cache file truncated")
                        f.write(data)
                    elif how[0] == "raw":
                        f.write(one_line(how[1]))
                        f.write(b"\n")
                    else:
                        f.write(how[1])
                        f.write(b"\n")
                f.flush()
                identity = _identity(os.fstat(f.fileno()))
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        return
    finally:
        for h in handles.values():
            if h is not None:
                h.close()
    section = Manifests(path, identity, start, offset)
    for e, _, at, size in plan_of:  # the manifests now live in the new file
        if e.source is not None:
            e.source[0].release()
        e.source = (section, at, size)
        e.raw = None


def _manifest_source(e: Entry, handles: dict[int, Any]) -> tuple | None:
    """How to write an entry's manifest line: ("raw", manifest as read, size), ("bytes",
    one-line manifest, size) or ("copy", open previous cache file, position, size)."""
    if e.raw is not None:
        return ("raw", e.raw, len(e.raw) + 1)  # made one line when written: one copy at a time
    if e.source is not None:
        manifests, at, size = e.source
        key = id(manifests)
        if key not in handles:
            try:
                h = manifests.path.open("rb")
                if _identity(os.fstat(h.fileno())) != manifests.identity:
                    h.close()
                    h = None
            except OSError:
                h = None
            handles[key] = h
        if handles[key] is not None:
            return ("copy", handles[key], manifests.start + at, size)
    if e.versions is not None:
        data = one_line(fmt.dumps(fmt.run_doc(e.run, e.versions)))
        return ("bytes", data, len(data) + 1)
    return None


def discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _stamp(value: Any, where: str) -> list[int] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(x, int) for x in value)):
        raise CorruptCache(f"{where}: invalid stamp")
    return list(value)


class Manifests:
    """The manifest section of a cache file, read on demand (when versions are first needed,
    or to copy unchanged manifests into a new cache file). Reads check that the file is
    still the one that was validated (same inode, size and mtime); if another process
    replaced it, reading fails and the caller falls back to the store."""

    def __init__(self, path: Path, identity: tuple[int, int, int], start: int, size: int) -> None:
        self.path, self.identity, self.start, self._size = path, identity, start, size
        self._f = None

    def get(self, at: int, size: int) -> bytes:
        """One manifest (read from the open file: never the whole section in memory)."""
        if self._f is None:
            f = self.path.open("rb")
            if _identity(os.fstat(f.fileno())) != self.identity:
                f.close()
                raise CorruptCache(f"{self.path} was replaced")
            self._f = f
        if at + size > self._size:
            raise CorruptCache(f"{self.path}: manifest outside the section")
        self._f.seek(self.start + at)
        data = self._f.read(size)
        if len(data) != size:
            raise CorruptCache(f"{self.path}: manifests truncated")
        return data

    def release(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class Spool:
    """Manifests read from the store, kept in a temporary file beside the cache (not in
    memory) until the cache is saved; the save copies them from here."""

    def __init__(self, cache_file: Path) -> None:
        self.path: Path | None = None
        self._f = None
        self._at: dict[str, tuple[int, int]] = {}
        self._size = 0
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".tmp-spool-", suffix=".jsonl")
            self.path, self._f = Path(tmp), os.fdopen(fd, "wb")
        except OSError:
            pass  # no cache this time

    def add(self, run_id: str, raw: bytes) -> None:
        if self._f is None:
            return
        try:
            self._f.write(one_line(raw))
            self._f.write(b"\n")
        except OSError:
            self._f.close()
            self._f = None
            return
        self._at[run_id] = (self._size, len(raw) + 1)
        self._size += len(raw) + 1

    def finish(self) -> dict[str, tuple]:
        """run id -> (Manifests, offset, size) in the spool file."""
        if self._f is None:
            return {}
        try:
            self._f.flush()
            identity = _identity(os.fstat(self._f.fileno()))
            self._f.close()
        except OSError:
            return {}
        section = Manifests(self.path, identity, 0, self._size)
        return {r: (section, at, size) for r, (at, size) in self._at.items()}

    def remove(self, entries) -> None:
        """Forget the spool (entries still pointing here, because the save failed, lose
        their source: their versions are parsed) and delete the file."""
        if self._f is not None and not self._f.closed:
            self._f.close()
        for e in entries:
            if e.source is not None and e.source[0].path == self.path:
                e.source = None
        if self.path is not None:
            try:
                self.path.unlink()
            except OSError:
                pass


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def load(path: Path, url: str) -> dict[str, Entry] | None:
    """The cached runs of a store, validated; None when there is no usable cache (a
    corrupt or foreign file is deleted). Only the run lines are read here."""
    try:
        f = path.open("rb")
    except OSError:
        return None
    try:
        with f:
            return _parse(f, path, url)
    except (FormatError, ValueError, TypeError, KeyError, AttributeError, OSError):
        discard(path)
        return None


def _parse(f, path: Path, url: str) -> dict[str, Entry]:
    where = str(path)
    header = json.loads(f.readline())
    if not isinstance(header, dict) or header.get("format") != CACHE_KIND or header.get("cache_version") != CACHE_VERSION:
        raise CorruptCache(f"{where}: not an index cache of this version")
    if header.get("url") != url:
        raise CorruptCache(f"{where}: cache of another store")
    n, n_plans, size = header.get("runs"), header.get("plans"), header.get("bytes")
    if not all(isinstance(x, int) and x >= 0 for x in (n, n_plans, size)):
        raise CorruptCache(f"{where}: invalid header")
    plans = [fmt._planned(json.loads(f.readline()), f"{where} (plan {i})") for i in range(n_plans)]
    metas = [f.readline() for _ in range(n)]
    start = f.tell()
    st = os.fstat(f.fileno())
    if st.st_size != start + size:
        raise CorruptCache(f"{where}: truncated")
    manifests = Manifests(path, _identity(st), start, size)
    out: dict[str, Entry] = {}
    for i, line in enumerate(metas):
        meta = json.loads(line)
        w = f"{where} (run line {i})"
        if not isinstance(meta, dict):
            raise CorruptCache(f"{w}: expected an object")
        doc = meta.get("run")
        if not isinstance(doc, dict) or "planned_assets" in doc:
            raise CorruptCache(f"{w}: invalid run")
        run = fmt.parse_run(doc, w)
        assets, warnings, plan = meta.get("assets"), meta.get("warnings"), meta.get("plan")
        at, length = meta.get("at"), meta.get("size")
        if not isinstance(assets, int) or assets < 0:
            raise CorruptCache(f"{w}: invalid asset count")
        if not isinstance(warnings, list) or not all(isinstance(x, str) for x in warnings):
            raise CorruptCache(f"{w}: invalid warnings")
        if not isinstance(plan, int) or not 0 <= plan < n_plans:
            raise CorruptCache(f"{w}: invalid plan")
        if not (isinstance(at, int) and isinstance(length, int) and 0 <= at and 0 < length and at + length <= size):
            raise CorruptCache(f"{w}: invalid manifest location")
        if run.status == "running" or not run.consolidated or run.run_id in out:
            raise CorruptCache(f"{w}: a run that cannot be cached")
        out[run.run_id] = Entry(
            run=replace(run, planned=plans[plan], asset_count=assets),
            stamp=_stamp(meta.get("stamp"), w),
            warnings=list(warnings),
            source=(manifests, at, length),
        )
    return out


def parse_entry_versions(entry: Entry) -> list[AssetVersion]:
    """Parse and validate a cached run's versions (raises CorruptCache if they do not match
    what the cache recorded about the run)."""
    from .index import parse_manifest

    run_id = entry.run.run_id
    try:
        if entry.raw is not None:
            raw = entry.raw
        elif entry.source is None:
            raise CorruptCache(f"no cached manifest of {run_id}")
        else:
            manifests, at, size = entry.source
            raw = manifests.get(at, size)
        rec, complete = parse_manifest(raw, run_id)
    except FormatError as exc:
        raise CorruptCache(f"cached manifest of {run_id}: {exc}") from None
    if (
        not complete
        or len(rec.versions) != entry.run.asset_count
        or replace(rec.run, asset_count=entry.run.asset_count) != entry.run
    ):
        raise CorruptCache(f"cached manifest of {run_id} does not match its run line")
    return rec.versions


def clear() -> int:
    """Delete every index cache file. Returns how many were deleted."""
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.iterdir():
            if p.is_file() and (p.suffix == ".jsonl" or p.name.startswith(".tmp-")):  # (and spools)
                try:
                    p.unlink()
                    n += 1
                except OSError:
                    pass
    return n


def info() -> dict[str, Any]:
    """Where the cache is and what it holds: ``{"dir", "files", "bytes", "stores"}``."""
    d = cache_dir()
    stores = []
    if d.is_dir():
        for p in sorted(d.glob("*.jsonl")):
            if p.name.startswith("."):
                continue  # a save or spool in progress
            try:
                with p.open("rb") as f:
                    header = json.loads(f.readline())
                url, runs = str(header.get("url")), header.get("runs")
            except (OSError, ValueError, AttributeError):
                url, runs = None, None
            stores.append({"file": str(p), "url": url, "runs": runs, "bytes": p.stat().st_size})
    return {"dir": str(d), "files": len(stores), "bytes": sum(s["bytes"] for s in stores), "stores": stores}
