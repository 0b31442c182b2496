"""The local index cache: what was read from a store last time, so that a reopen reads
only runs that are new or were unfinished.

One file per store, in the user cache directory (``platformdirs.user_cache_dir``, or
``$FRONTIER_EXPLORE_CACHE_DIR``), named by a hash of the store URL and its non-secret
storage options. Credentials are never part of the name or the content. The file is
written atomically (temporary file + rename) and is safe to delete at any time.

Only finished, consolidated runs are cached: their manifest is immutable by contract.
The file is JSON Lines::

    {"format": "frontier-explore/index-cache", "cache_version": 1, "url": ..., "runs": N}
    {"run": <run_doc without versions>, "assets": n, "stamp": [mtime_ns, size] | null, "warnings": [...]}
    <the run's consolidated manifest (a run_doc with its sidecar_docs), on one line>
    ... two lines per run

Everything is validated with ``format.parse_run`` / ``format.parse_sidecar`` exactly like
store data: the run lines when the cache is opened, the manifest lines when the versions
are first needed. A cache that fails validation is discarded (deleted) and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import format as fmt
from ..errors import FormatError
from ..models import AssetVersion, Run
from .fs import public_options

CACHE_KIND = "frontier-explore/index-cache"
CACHE_VERSION = 1
APP_NAME = "frontier-explore"
ENV_DIR = "FRONTIER_EXPLORE_CACHE_DIR"


class CorruptCache(FormatError):
    """The cache file failed validation."""


@dataclass
class Entry:
    """One run as the indexer knows it: the run, and its versions parsed or still raw."""

    run: Run  # asset_count set
    versions: list[AssetVersion] | None = None  # None: not parsed yet (see raw)
    raw: bytes | None = None  # the consolidated manifest, one line, unparsed or kept for saving
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


def entry_manifest(entry: Entry) -> bytes:
    if entry.raw is not None:
        return one_line(entry.raw)
    assert entry.versions is not None
    return one_line(fmt.dumps(fmt.run_doc(entry.run, entry.versions)))


def _run_line(entry: Entry) -> bytes:
    doc = fmt.run_doc(entry.run, [])
    doc.pop("versions", None)
    return json.dumps(
        {"run": doc, "assets": entry.run.asset_count, "stamp": entry.stamp, "warnings": entry.warnings},
        separators=(",", ":"),
        default=fmt._json_default,
    ).encode("utf-8")


def save(path: Path, url: str, entries: list[Entry]) -> None:
    """Write the cache atomically. Failing to write a cache is never an error for a reader."""
    entries = [e for e in entries if e.cacheable and (e.raw is not None or e.versions is not None)]
    header = json.dumps(
        {"format": CACHE_KIND, "cache_version": CACHE_VERSION, "url": url, "runs": len(entries)},
        separators=(",", ":"),
    ).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".jsonl")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header + b"\n")
                for e in entries:
                    f.write(_run_line(e) + b"\n")
                    f.write(entry_manifest(e) + b"\n")
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass


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


def load(path: Path, url: str) -> dict[str, Entry] | None:
    """The cached runs of a store, validated; None when there is no usable cache (a
    corrupt or foreign file is deleted)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        return _parse(data, url, str(path))
    except (FormatError, ValueError, TypeError, KeyError, AttributeError):
        discard(path)
        return None


def _parse(data: bytes, url: str, where: str) -> dict[str, Entry]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise CorruptCache(f"{where}: empty")
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("format") != CACHE_KIND or header.get("cache_version") != CACHE_VERSION:
        raise CorruptCache(f"{where}: not an index cache of this version")
    if header.get("url") != url:
        raise CorruptCache(f"{where}: cache of another store")
    n = header.get("runs")
    if not isinstance(n, int) or len(lines) != 1 + 2 * n:
        raise CorruptCache(f"{where}: truncated")
    out: dict[str, Entry] = {}
    for i in range(n):
        meta = json.loads(lines[1 + 2 * i])
        w = f"{where} (run line {i})"
        if not isinstance(meta, dict):
            raise CorruptCache(f"{w}: expected an object")
        run = fmt.parse_run(meta.get("run"), w)
        assets = meta.get("assets")
        warnings = meta.get("warnings")
        if not isinstance(assets, int) or assets < 0:
            raise CorruptCache(f"{w}: invalid asset count")
        if not isinstance(warnings, list) or not all(isinstance(x, str) for x in warnings):
            raise CorruptCache(f"{w}: invalid warnings")
        if run.status == "running" or not run.consolidated or run.run_id in out:
            raise CorruptCache(f"{w}: a run that cannot be cached")
        raw = lines[2 + 2 * i]
        if not raw.startswith(b"{"):
            raise CorruptCache(f"{w}: invalid manifest line")
        out[run.run_id] = Entry(
            run=replace(run, asset_count=assets),
            raw=raw,
            stamp=_stamp(meta.get("stamp"), w),
            warnings=list(warnings),
        )
    return out


def parse_entry_versions(entry: Entry) -> list[AssetVersion]:
    """Parse and validate a cached run's versions (raises CorruptCache if they do not match
    what the cache recorded about the run)."""
    from .index import parse_manifest

    run_id = entry.run.run_id
    assert entry.raw is not None
    try:
        rec, complete = parse_manifest(entry.raw, run_id)
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
            if p.is_file() and (p.suffix == ".jsonl" or p.name.startswith(".tmp-")):
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
            try:
                with p.open("rb") as f:
                    header = json.loads(f.readline())
                url, runs = str(header.get("url")), header.get("runs")
            except (OSError, ValueError, AttributeError):
                url, runs = None, None
            stores.append({"file": str(p), "url": url, "runs": runs, "bytes": p.stat().st_size})
    return {"dir": str(d), "files": len(stores), "bytes": sum(s["bytes"] for s in stores), "stores": stores}
