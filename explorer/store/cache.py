"""The local index cache: what was read from a store last time, so that a reopen reads
only runs that are new or were unfinished.

Two files per store, in the user cache directory (``platformdirs.user_cache_dir``, or
``$FRONTIER_EXPLORE_CACHE_DIR``), named by a hash of the store URL and its non-secret
storage options. Credentials are never part of the names or the content. Both are safe to
delete at any time.

- ``<key>.json``, the index: one JSON document, replaced atomically (temporary file +
  rename) at each save::

    {"format": "frontier-explore/index-cache", "cache_version": 3, "url": ...,
     "log": {"token": ..., "size": ...} | null,   the log this index points into
     "plans": [planned assets, ...],              shared by the runs that planned alike
     "runs": [{"run": <the Run, without its plan>, "plan": i,
               "stamp": [mtime_ns, size] | null, "warnings": [...],
               "at": offset in the log, "size": n}, ...]}

- ``<key>.manifests``, the log (remote stores only: a local store's manifests are on local
  disk already, and are read from the store when versions are first needed): the
  consolidated manifests of finished runs, byte for byte as read from the store, appended
  as they are read (a cold open writes each manifest once, a refresh appends only the new
  runs). Its first line holds a random token that the index records. It is rewritten only
  to compact it, when more than half of it belongs to runs that are no longer cached.

Only finished, consolidated runs are cached: their manifest is immutable by contract.
Everything is validated like store data (``format.check_run`` and the compiled path of
``format.py``): the index when the cache is opened, a run's manifest (checked against its index entry) when versions
are first needed. So a reopen reads a few hundred bytes per run, not the manifests. A cache
that fails validation is discarded (deleted) and rebuilt; a manifest that fails later is
read again from the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Literal, NamedTuple, Sequence

import msgspec

from .. import format as fmt
from ..errors import FormatError
from ..models import AssetVersion, PlannedAsset, Run, replace
from .fs import public_options, replace_local

CACHE_KIND = "frontier-explore/index-cache"
CACHE_VERSION = 3
APP_NAME = "frontier-explore"
ENV_DIR = "FRONTIER_EXPLORE_CACHE_DIR"
INDEX_SUFFIX = ".json"
LOG_SUFFIX = ".manifests"
COMPACT_MIN_BYTES = 1 << 20  # a log is compacted only when it holds more dead bytes than this


class CorruptCache(FormatError):
    """The cache file failed validation."""


class Slice(NamedTuple):
    """Where one run's manifest is in the cache's manifest log: the log, offset and size."""

    log: "ManifestLog"
    at: int
    size: int

    def read(self) -> bytes:
        return self.log.get(self.at, self.size)


class Entry(msgspec.Struct, gc=False):
    """One run as the indexer knows it: the run, and its versions parsed or still in the log.
    (A mutable struct rather than a dataclass, outside the garbage collector's watch: a warm
    open makes one per cached run, and none of them is part of a reference cycle.)"""

    run: Run  # asset_count set
    versions: list[AssetVersion] | None = None  # None: not parsed yet (see source)
    source: Slice | None = None  # the run's manifest in the log
    stamp: tuple[int, int] | None = None  # local stores: (mtime_ns, size) of the manifest when read
    warnings: Sequence[str] = ()

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
    """The index file of a store's cache (its log sits beside it: ``log_path``)."""
    return cache_dir() / f"{cache_key(url, storage_options)}{INDEX_SUFFIX}"


def log_path(index_file: Path) -> Path:
    return index_file.with_suffix(LOG_SUFFIX)


_LOG_MAGIC = b"frontier-explore/manifest-log "
_LOG_HEADER = len(_LOG_MAGIC) + 32 + 1  # magic, a random token (hex), newline


def _new_token() -> str:
    return os.urandom(16).hex()


def _read_token(f) -> str | None:
    f.seek(0)
    head = f.read(_LOG_HEADER)
    if len(head) != _LOG_HEADER or not head.startswith(_LOG_MAGIC) or not head.endswith(b"\n"):
        return None
    return head[len(_LOG_MAGIC) : -1].decode("ascii", "replace")


class ManifestLog:
    """One log file, known by the random token in its first line: manifests read by offset
    and size, and appended under an exclusive lock so that processes refreshing the same store
    at once never interleave. Reads check the token, so a log that another process compacted,
    deleted or replaced is never read in place of this one (the caller then falls back to the
    store)."""

    def __init__(self, path: Path, token: str | None = None) -> None:
        self.path, self.token = path, token
        self._r = None
        self._w = None

    def get(self, at: int, size: int) -> bytes:
        """One manifest (read from the open file: never the whole log in memory)."""
        if self._r is None:
            f = self.path.open("rb")
            if self.token is None or _read_token(f) != self.token:
                f.close()
                raise CorruptCache(f"{self.path} was replaced")
            self._r = f
        if at < _LOG_HEADER:
            raise CorruptCache(f"{self.path}: manifest location inside the header")
        self._r.seek(at)
        data = self._r.read(size)
        if len(data) != size:
            raise CorruptCache(f"{self.path}: manifest outside the log")
        return data

    def append(self, raw: bytes) -> tuple[int, int] | None:
        """Write one manifest at the end: (offset, size), or None when the log cannot be
        written or the path now names another log than this one."""
        try:
            if self._w is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._w = open(self.path, "a+b")  # noqa: SIM115 - kept open for the appends of a refresh
            with _locked(self._w):
                token = _read_token(self._w)
                if token is None and self._w.seek(0, os.SEEK_END) == 0:
                    token = _new_token()  # a new log
                    self._w.write(_LOG_MAGIC + token.encode("ascii") + b"\n")
                if token is None or (self.token is not None and token != self.token):
                    self._w.close()
                    self._w = None
                    return None
                self.token = token
                at = self._w.seek(0, os.SEEK_END)
                self._w.write(raw)
                self._w.flush()
            return at, len(raw)
        except OSError:
            return None

    def size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def release(self) -> None:
        for f in (self._r, self._w):
            if f is not None:
                f.close()
        self._r = self._w = None


class _locked:
    """An exclusive ``flock`` on an open file where the platform has one."""

    def __init__(self, f) -> None:
        self.f = f

    def __enter__(self):
        try:
            import fcntl

            fcntl.flock(self.f.fileno(), fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass

    def __exit__(self, *exc):
        try:
            import fcntl

            fcntl.flock(self.f.fileno(), fcntl.LOCK_UN)
        except (ImportError, OSError):
            pass


class LogWriter:
    """Appends the manifests read by an open or a refresh to the store's log (the log, not
    memory, holds them until the index is saved)."""

    def __init__(self, index_file: Path, current: ManifestLog | None) -> None:
        self.log = current or ManifestLog(log_path(index_file))
        self.located: dict[str, Slice] = {}

    def add(self, run_id: str, raw: bytes) -> None:
        got = self.log.append(raw)
        if got is None and self.log.token is not None and not self.located:
            self.log = ManifestLog(self.log.path)  # the loaded log was replaced: append to the new one
            got = self.log.append(raw)
        if got is not None:
            self.located[run_id] = Slice(self.log, *got)


_ENC = msgspec.json.Encoder()


def save(path: Path, url: str, entries: list[Entry], log: ManifestLog | None, logged: bool = True) -> ManifestLog | None:
    """Write the index (and, when needed, add manifests to the log or compact it). Returns the
    log the index now points into. Failing to write a cache is never an error for a reader.

    An entry whose manifest is not in ``log`` (never appended, or in a log another process
    replaced) gets it appended: copied from where it is, or re-encoded from its parsed
    versions; an entry with neither is left out (read again from the store next time).
    With ``logged=False`` (local stores, whose manifests are on local disk already) there is
    no log: the index only."""
    if not logged:
        try:
            _write_index(path, url, [e for e in entries if e.cacheable], None, 0)
        except OSError:
            pass
        return None
    live: list[Entry] = []
    log = log or ManifestLog(log_path(path))
    try:
        for e in entries:
            if not e.cacheable:
                continue
            if e.source is None or e.source.log is not log:
                raw = None
                if e.source is not None:
                    try:
                        raw = e.source.read()
                    except (OSError, CorruptCache):
                        raw = None
                if raw is None and e.versions is not None:
                    raw = fmt.dumps(fmt.run_doc(e.run, e.versions))
                got = log.append(raw) if raw is not None else None
                if got is None:
                    continue
                if e.source is not None and e.source.log is not log:
                    e.source.log.release()
                e.source = Slice(log, *got)
            live.append(e)
        live_bytes = sum(e.source.size for e in live)
        total = log.size()
        if total - live_bytes > max(live_bytes, COMPACT_MIN_BYTES):
            log = _compact(log, live)
            total = log.size()
        if log.token is None:
            return log
        _write_index(path, url, live, log, total)
    except OSError:
        pass
    return log


def _compact(log: ManifestLog, live: list[Entry]) -> ManifestLog:
    """Copy the live manifests into a new log and put it in place of the old one."""
    token = _new_token()

    def write(f) -> list[int]:
        places = []
        f.write(_LOG_MAGIC + token.encode("ascii") + b"\n")
        for e in live:
            places.append(f.tell())
            f.write(e.source.read())
        return places

    places = _replace(log.path, LOG_SUFFIX, write)
    new = ManifestLog(log.path, token)
    for e, at in zip(live, places):
        e.source = Slice(new, at, e.source.size)
    log.release()
    return new


def _write_index(path: Path, url: str, live: list[Entry], log: ManifestLog | None, log_size: int) -> None:
    plans: dict[tuple, int] = {}
    plan_of_id: dict[int, int] = {}  # runs of a job share one plan object (format.checked_plan)
    parts = []
    for e in live:
        run = e.run
        plan = plan_of_id.get(id(run.planned))
        if plan is None:
            plan = plan_of_id[id(run.planned)] = plans.setdefault(run.planned, len(plans))
        at, size = (e.source.at, e.source.size) if log is not None else (0, 0)
        parts.append(b'{"run":%s,"plan":%d,"stamp":%s,"warnings":%s,"at":%d,"size":%d}' % (
            _ENC.encode(replace(run, planned=())), plan, _ENC.encode(e.stamp), _ENC.encode(e.warnings), at, size))
    header = _ENC.encode({"format": CACHE_KIND, "cache_version": CACHE_VERSION, "url": url,
                          "log": {"token": log.token, "size": log_size} if log is not None else None})
    data = header[:-1] + b',"plans":[' + b",".join(map(_ENC.encode, plans)) + b'],"runs":[\n' + b",\n".join(parts) + b"\n]}\n"
    _replace(path, INDEX_SUFFIX, lambda f: f.write(data))


def _replace(path: Path, suffix: str, write: Callable[[Any], Any]) -> Any:
    """Write a cache file atomically (``fs.replace_local``); returns what ``write`` returns."""
    return replace_local(path, write)


def discard(path: Path) -> None:
    """Delete a store's cache: its index and its log."""
    for p in (path, log_path(path)):
        try:
            p.unlink()
        except OSError:
            pass


class _LogRef(msgspec.Struct):
    token: str
    size: int


class _CachedRun(msgspec.Struct, gc=False):
    run: Run  # without its plan (shared, in "plans"); checked by format.check_run
    plan: int
    at: int
    size: int
    stamp: tuple[int, int] | None
    warnings: tuple[str, ...]  # (a tuple: most are empty, and the empty tuple is shared)


class _CacheDoc(msgspec.Struct):
    format: Literal["frontier-explore/index-cache"]
    cache_version: Literal[3]
    url: str
    log: _LogRef | None  # None: a local store, whose manifests are read from the store itself
    plans: list[tuple[PlannedAsset, ...]]
    runs: list[_CachedRun]


_CACHE_DECODER = msgspec.json.Decoder(_CacheDoc)


def load(path: Path, url: str) -> tuple[dict[str, Entry], ManifestLog] | None:
    """The cached runs of a store, validated, and the log they point into; None when there
    is no usable cache (a corrupt or foreign one is deleted). Only the index is read here."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        return _parse(raw, path, url)
    except (FormatError, msgspec.MsgspecError, ValueError, TypeError, OSError):
        discard(path)
        return None


def _parse(raw: bytes, path: Path, url: str) -> tuple[dict[str, Entry], ManifestLog]:
    where = str(path)
    doc = _CACHE_DECODER.decode(raw)
    if doc.url != url:
        raise CorruptCache(f"{where}: cache of another store")
    log = ManifestLog(log_path(path), doc.log.token) if doc.log is not None else None
    if log is not None:
        with log.path.open("rb") as f:
            if _read_token(f) != log.token or os.fstat(f.fileno()).st_size < doc.log.size:
                raise CorruptCache(f"{where}: its log was replaced or truncated")
    plans = [fmt.checked_plan(p) for p in doc.plans]
    out: dict[str, Entry] = {}
    n_plans = len(plans)
    for i, c in enumerate(doc.runs):
        run = fmt.check_run(c.run, where)
        if run.status == "running" or not run.consolidated or run.planned or run.run_id in out:
            raise CorruptCache(f"{where} (run {i}): a run that cannot be cached")
        if run.asset_count < 0 or not 0 <= c.plan < n_plans:
            raise CorruptCache(f"{where} (run {i}): invalid asset count or plan")
        if log is not None and not (_LOG_HEADER <= c.at and 0 < c.size and c.at + c.size <= doc.log.size):
            raise CorruptCache(f"{where} (run {i}): invalid manifest location")
        out[run.run_id] = Entry(
            replace(run, planned=plans[c.plan]), None,
            Slice(log, c.at, c.size) if log is not None else None,
            c.stamp,
            c.warnings,
        )
    return out, log


def clear() -> int:
    """Delete every index cache file. Returns how many were deleted."""
    d = cache_dir()
    n = 0
    if d.is_dir():
        for p in d.iterdir():
            # indexes, logs, saves in progress, and caches of earlier versions (.jsonl)
            if p.is_file() and (p.suffix in (INDEX_SUFFIX, LOG_SUFFIX, ".jsonl") or p.name.startswith(".tmp-")):
                try:
                    p.unlink()
                    n += p.suffix == INDEX_SUFFIX and not p.name.startswith(".")
                except OSError:
                    pass
    return n


def info() -> dict[str, Any]:
    """Where the cache is and what it holds: ``{"dir", "files", "bytes", "stores"}``."""
    d = cache_dir()
    stores = []
    if d.is_dir():
        for p in sorted(d.glob("*" + INDEX_SUFFIX)):
            if p.name.startswith("."):
                continue  # a save in progress
            try:
                doc = json.loads(p.read_bytes())
                url, runs = str(doc.get("url")), len(doc.get("runs"))
            except (OSError, ValueError, AttributeError, TypeError):
                url, runs = None, None
            size = sum(f.stat().st_size for f in (p, log_path(p)) if f.exists())
            stores.append({"file": str(p), "url": url, "runs": runs, "bytes": size})
    return {"dir": str(d), "files": len(stores), "bytes": sum(s["bytes"] for s in stores), "stores": stores}
