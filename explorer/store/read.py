"""Reading a store into the index (``explorer.index``) with as few requests as possible.

Reading a store costs one listing of the root (with a delimiter: the run prefixes, not
the objects under them), one concurrent batch of GETs of the run manifests and, only for
runs without a consolidated manifest (crashed or still running), one listing and one
batch of GETs of their sidecars. With the local cache (``cache.py``) a reopen reads only
the runs that are new or were unfinished last time.

A cold open of a store that keeps a run log (its marker says ``run_log``) and has a checkpoint
with a log mark lists no root: the checkpoint's runs, and those registered in ``_frontier_runs/``
after its mark, are the store's runs (``logged_run_ids``; docs/store-format.md, "The run log").
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable

import fsspec

from .. import format as fmt
from ..errors import FormatError, StoreNotFound, StoreUnavailable
from ..index import Index, LazyIndex, Progress, RunRecord, _run_order, bulk_load
from ..models import AssetVersion, Run, replace
from . import checkpoint as checkpoint_mod
from .fsspec_adapter import cat_many, strip_protocol

if TYPE_CHECKING:  # pragma: no cover
    from . import cache


# ---------------------------------------------------------------------- reading

# Exceptions meaning "the endpoint did not answer" rather than "this object is bad": botocore's
# HTTPClientError family (EndpointConnectionError, ConnectionClosedError, Connect/ReadTimeoutError),
# aiohttp's client connection errors, and the builtin ConnectionError/TimeoutError. Matched by
# class name so that the index needs neither botocore nor aiohttp installed.
_CONNECTION_ERRORS = {
    "HTTPClientError", "EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError",
    "ReadTimeoutError", "ClientConnectionError", "ServerDisconnectedError", "ServerTimeoutError",
}


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the store's endpoint went away (worth retrying later)."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return any(c.__name__ in _CONNECTION_ERRORS for c in type(exc).__mro__)


def unavailable(fs: fsspec.AbstractFileSystem, root: str, exc: BaseException) -> StoreUnavailable:
    """A one-line error naming the store and what the connection said."""
    from .fs import display_url

    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StoreUnavailable(f"cannot reach store {display_url(fs, root)}: {detail}")


@dataclass
class Unreachable:
    """Filled by ``read_runs``: runs left out because the endpoint stopped answering, and the
    one-line error naming the store."""

    run_ids: list[str] = field(default_factory=list)
    error: StoreUnavailable | None = None


def _unreachable_warning(fs: fsspec.AbstractFileSystem, root: str, run_ids: list[str], exc: BaseException) -> str:
    shown = ", ".join(fmt.printable(r) for r in run_ids[:3]) + (f" and {len(run_ids) - 3} more" if len(run_ids) > 3 else "")
    return (f"{len(run_ids)} run(s) not read because the endpoint stopped answering ({str(unavailable(fs, root, exc))}): "
            f"{shown}; refresh to retry")




def _parse_versions(docs: Iterable[tuple[str, object]], run_id: str, rec: RunRecord) -> None:
    """Append each valid version to ``rec`` (a bad one is a warning naming it). An asset listed
    twice in one manifest counts once: the first entry is kept, the others are warnings."""
    seen = {v.ident for v in rec.versions}
    for where, doc in docs:
        try:
            version = fmt.parse_sidecar(doc, where, run_id)
        except FormatError as exc:
            rec.warnings.append(str(exc))
            continue
        if version.ident in seen:
            what = f"asset {version.asset!r}" + (f" partition {version.partition!r}" if version.partition is not None else "")
            rec.warnings.append(f"{where}: {what} is listed twice in run {run_id}; the first entry is kept")
            continue
        seen.add(version.ident)
        rec.versions.append(version)


def parse_manifest(raw: bytes, run_id: str) -> tuple[RunRecord, bool]:
    """Parse a run manifest: (record, complete). ``complete`` is False when the run is not
    consolidated, so its versions must come from its sidecars. Raises FormatError."""
    fast = fmt.decode_manifest(raw, run_id)
    if fast is not None:
        run, versions = fast
        return RunRecord(run, versions if versions is not None else []), versions is not None
    return parse_manifest_general(raw, run_id)


def cached_versions(entry: "cache.Entry") -> list[AssetVersion]:
    """Parse and validate a cached run's versions from the cache's log (CorruptCache if they
    do not match what the cache recorded about the run). Here rather than in ``cache``, which
    only stores bytes and so never imports the reader back."""
    from . import cache

    run_id = entry.run.run_id
    try:
        if entry.source is None:
            raise cache.CorruptCache(f"no cached manifest of {run_id}")
        rec, complete = parse_manifest(entry.source.read(), run_id)
    except FormatError as exc:
        raise cache.CorruptCache(f"cached manifest of {run_id}: {exc}") from None
    if (
        not complete
        or len(rec.versions) != entry.run.asset_count
        or replace(rec.run, asset_count=entry.run.asset_count) != entry.run
    ):
        raise cache.CorruptCache(f"cached manifest of {run_id} does not match its run line")
    return rec.versions


def parse_manifest_general(raw: bytes, run_id: str) -> tuple[RunRecord, bool]:
    """``parse_manifest`` without the compiled path: every field checked in Python, each bad
    version a warning naming it (the path taken for any manifest the compiled one declines)."""
    rel = fmt.run_manifest_path(run_id)
    doc = fmt.loads(raw, rel)
    run = fmt.parse_run(doc, rel, run_id)
    rec = RunRecord(run)
    if run.consolidated and isinstance(doc.get("versions"), list):
        _parse_versions(((f"{rel} (versions[{i}])", d) for i, d in enumerate(doc["versions"])), run_id, rec)
        return rec, True
    return rec, False


def _torn_record(run_id: str) -> RunRecord | None:
    """The record of a run whose manifest does not decode (torn, truncated): its versions come
    from its sidecars, as for a running run; what only the manifest knew (job, tags, times,
    status) is unknown, and the run is shown as failed, starting at its first version."""
    try:
        fmt.check_run_id(run_id)
    except FormatError:
        return None
    return RunRecord(Run(run_id=run_id, job=None, status="failed", started_at=_EPOCH))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_LISTING_ERRORS = (FileNotFoundError, NotADirectoryError, PermissionError)
_WHY = {FileNotFoundError: "it does not exist", NotADirectoryError: "it is a file, not a folder",
        PermissionError: "permission denied"}


def _not_listable(where: str, exc: OSError) -> StoreNotFound:
    why = next(text for kind, text in _WHY.items() if isinstance(exc, kind))
    return StoreNotFound(f"no frontier store at {where}: {why}")


def list_run_ids(fs: fsspec.AbstractFileSystem, root: str, reserved: set[str] | None = None) -> list[str]:
    """One listing of the store root (a delimiter listing on object stores): the folders
    that may be runs. The filesystem's listing cache is bypassed, so new runs are seen.
    Names starting with ``_`` (the store's own, such as the flags folder) go to ``reserved``."""
    from .fs import is_local

    if is_local(fs):
        try:  # a directory scan: no stat per entry
            with os.scandir(root) as it:
                names = [e.name for e in it if not e.name.startswith(".") and e.is_dir()]
            if reserved is not None:
                reserved.update(n for n in names if n.startswith("_"))
            return sorted([n for n in names if not n.startswith("_")])
        except _LISTING_ERRORS as exc:
            raise _not_listable(root, exc) from None
    from .fs import display_url, forget_listing

    where = display_url(fs, root)  # s3://bucket/prefix, as the user wrote it
    forget_listing(fs, root)
    try:
        entries = fs.ls(root, detail=True)
    except _LISTING_ERRORS as exc:
        raise _not_listable(where, exc) from None
    except Exception as exc:  # noqa: BLE001 - e.g. botocore's NoCredentialsError, ProfileNotFound
        if is_connection_error(exc):
            raise unavailable(fs, root, exc) from None
        if isinstance(exc, OSError):
            raise
        raise StoreNotFound(f"cannot list store {where}: {exc}") from None
    if not entries and not fs.isdir(root):
        if fs.isfile(root):
            raise StoreNotFound(f"no frontier store at {where}: it is a file, not a folder")
        raise StoreNotFound(f"no frontier store at {where}: it does not exist")
    out = []
    for e in entries:
        if e.get("type") != "directory" and not e.get("islink"):
            continue  # symlinks are listed so that the caller can refuse those leaving the store
        name = e["name"].rstrip("/").rsplit("/", 1)[-1]
        if name.startswith(("_", ".")):
            if reserved is not None and name.startswith("_"):
                reserved.add(name)
            continue
        out.append(name)  # invalid names are reported by read_runs (no manifest / invalid run id)
    return sorted(out)


def read_marker(fs: fsspec.AbstractFileSystem, root: str, warnings: list[str]) -> dict | None:
    """The store marker's document (one GET), or None: none, or not valid (a warning)."""
    raw = cat_many(fs, [fmt.join(root, fmt.STORE_MARKER)])[0]  # (a plain GET: no HEAD first)
    if isinstance(raw, BaseException) or raw is None:
        return None  # none, or unreadable: the root listing that follows says what is wrong
    try:
        doc = fmt.loads(raw, fmt.STORE_MARKER)
    except FormatError as exc:
        warnings.append(f"{exc}; the store's root is listed")
        return None
    return doc if isinstance(doc, dict) else None


def logged_run_ids(fs: fsspec.AbstractFileSystem, root: str, warnings: list[str]
                   ) -> tuple[list[str] | None, checkpoint_mod.Checkpoint | None]:
    """(the store's runs without listing its root, the newest valid checkpoint read for it): the
    checkpoint's runs (held and pending) and those registered in the run log after its log mark
    (one listing, on S3 with ``StartAfter``). The runs are None when the store cannot be read so
    (its marker does not say ``run_log``, no checkpoint has a mark, or the log cannot be trusted:
    a warning says why): the caller lists the root (and uses the checkpoint, if one was read).
    Costs the marker's GET, the checkpoints' listing, the newest one's GET and the log's listing
    (one request per 1,000 registrations after the mark)."""
    from .fsspec_adapter import names_after

    if not fmt.marker_run_log(read_marker(fs, root, warnings)):
        return None, None
    try:
        ckpt = checkpoint_mod.newest(fs, root, warnings)
    except Exception as exc:  # noqa: BLE001 - the root listing decides (and names a lost endpoint)
        warnings.append(f"{fmt.CHECKPOINTS_DIR}: cannot read ({type(exc).__name__}: {exc}); the store's root is listed")
        return None, None
    if ckpt is None or ckpt.log_mark is None:
        return None, ckpt
    try:
        names = names_after(fs, fmt.join(root, fmt.RUN_LOG_DIR), ckpt.log_mark)
    except Exception as exc:  # noqa: BLE001
        warnings.append(f"{fmt.RUN_LOG_DIR}: cannot list ({type(exc).__name__}: {exc}); the store's root is listed")
        return None, ckpt
    registered: set[str] = set()
    bad = []
    for name in names:
        parsed = fmt.parse_run_log_name(name)
        if parsed is None:
            bad.append(name)
        else:
            registered.add(parsed[1])
    if bad:
        shown = ", ".join(repr(fmt.printable(n)) for n in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        warnings.append(f"{fmt.RUN_LOG_DIR}: {len(bad)} entr{'y is' if len(bad) == 1 else 'ies are'} not a run "
                        f"registration ({shown}); the store's root is listed")
        return None, ckpt
    return sorted(registered.union(ckpt.manifests, ckpt.pending)), ckpt


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
    keep_raw: Callable[[str, bytes], None] | None = None,
    unreachable: Unreachable | None = None,
    checkpoints: bool = False,
    checkpoint: checkpoint_mod.Checkpoint | None = None,
) -> tuple[list[RunRecord], list[str], list[str]]:
    """Read the given runs. Returns (records, warnings, ids of folders without a manifest).

    With many runs to read and ``checkpoints`` (the root listing showed the checkpoints
    folder), the finished runs the store's newest checkpoint
    holds come from it (one listing and one GET: see ``store/checkpoint.py``), the others from
    their manifests.

    ``keep_raw(run_id, manifest bytes)``, when given, is called for every consolidated run read.
    Runs that could not be read because the endpoint stopped answering are left out, with one
    warning for all of them, and their ids recorded in ``unreachable`` when given (the caller
    decides whether what was read is enough: see ``build_index`` and ``Indexer.refresh``).
    ``checkpoint`` (already read: ``logged_run_ids``) is used whatever the number of runs.
    """
    records: list[RunRecord] = []
    warnings: list[str] = []
    no_manifest: list[str] = []
    if checkpoint is not None or (checkpoints and len(run_ids) >= checkpoint_mod.USE_FROM):
        run_ids = _from_checkpoint(fs, root, run_ids, records, warnings, keep_raw, checkpoint)
    pending: list[RunRecord] = []
    torn: list[tuple[RunRecord, str]] = []  # manifests that are not JSON: their sidecars decide
    lost: list[str] = []
    lost_exc: BaseException | None = None
    done = 0
    if progress:
        progress(0, len(run_ids))
    for start in range(0, len(run_ids), batch):
        chunk = run_ids[start : start + batch]
        got = cat_many(fs, [fmt.join(root, fmt.run_manifest_path(r)) for r in chunk], batch_size=batch)
        for run_id, raw in zip(chunk, got):
            rel = fmt.run_manifest_path(run_id)
            if isinstance(raw, FileNotFoundError):
                no_manifest.append(run_id)
                continue
            if isinstance(raw, PermissionError):
                warnings.append(f"{rel}: permission denied; run {run_id} skipped")
                continue
            if isinstance(raw, BaseException) and is_connection_error(raw):
                lost.append(run_id)
                lost_exc = raw
                continue
            if isinstance(raw, BaseException):
                warnings.append(f"{rel}: cannot read ({type(raw).__name__}: {raw}); run {run_id} skipped")
                continue
            try:
                rec, complete = parse_manifest(raw, run_id)
            except fmt.InvalidJSON as exc:
                rec = _torn_record(run_id)
                if rec is None:
                    warnings.append(f"{exc}; run {run_id} skipped")
                else:
                    torn.append((rec, str(exc)))
                continue
            except FormatError as exc:
                warnings.append(f"{exc}; run {run_id} skipped")
                continue
            if complete:
                records.append(rec)
                if keep_raw is not None:
                    keep_raw(run_id, raw)
            else:
                pending.append(rec)
        done += len(chunk)
        if progress:
            progress(done, len(run_ids))
    pending.extend(rec for rec, _ in torn)
    cut_off = _read_sidecars(fs, root, pending)
    for rec, message in torn:
        if rec.versions:
            first = min(v.created_at for v in rec.versions)
            rec.run = replace(rec.run, started_at=first)
            warnings.append(f"{message}; run {rec.run.run_id} read from its {len(rec.versions)} sidecars (status unknown: shown as failed)")
        else:
            warnings.append(f"{message}; run {rec.run.run_id} skipped")
            pending = [p for p in pending if p is not rec]
    for rec, exc in cut_off:
        lost.append(rec.run.run_id)
        lost_exc = exc
    dropped = {id(rec) for rec, _ in cut_off}
    records.extend(rec for rec in pending if id(rec) not in dropped)
    if lost and lost_exc is not None:
        warnings.append(_unreachable_warning(fs, root, lost, lost_exc))
        if unreachable is not None:
            unreachable.run_ids.extend(lost)
            unreachable.error = unavailable(fs, root, lost_exc)
    return records, warnings, no_manifest


def _from_checkpoint(fs: fsspec.AbstractFileSystem, root: str, run_ids: list[str], records: list[RunRecord],
                     warnings: list[str], keep_raw: Callable[[str, bytes], None] | None,
                     ckpt: checkpoint_mod.Checkpoint | None = None) -> list[str]:
    """Take the finished runs of ``run_ids`` that the newest valid checkpoint (``ckpt`` when
    given) holds (parsed as manifests read from the runs are); returns the runs still to read."""
    try:
        ckpt = ckpt or checkpoint_mod.newest(fs, root, warnings)
    except OSError as exc:  # the listing or GET failed: the runs themselves are read
        warnings.append(f"{fmt.CHECKPOINTS_DIR}: cannot read ({type(exc).__name__}: {exc}); runs read one by one")
        return run_ids
    if ckpt is None:
        return run_ids
    rest: list[str] = []
    for run_id in run_ids:
        raw = ckpt.manifests.get(run_id)
        if raw is None:
            rest.append(run_id)
            continue
        try:
            rec, complete = parse_manifest(raw, run_id)
        except FormatError:
            complete = False
        if not complete or rec.run.status == "running":
            rest.append(run_id)  # (a checkpoint holds only finished runs; this one is read itself)
            continue
        records.append(rec)
        if keep_raw is not None:
            keep_raw(run_id, raw)
    return rest


def _read_sidecars(fs: fsspec.AbstractFileSystem, root: str, recs: list[RunRecord]) -> list[tuple[RunRecord, BaseException]]:
    """Sidecars of runs without a consolidated manifest: one listing per run, then one
    concurrent batch of GETs for all of them. Returns the runs that could not be read in full
    because the endpoint stopped answering (with the error), for the caller to leave out."""
    from .fs import forget_listing

    wanted: list[tuple[RunRecord, str]] = []
    lost: dict[int, tuple[RunRecord, BaseException]] = {}
    for rec in recs:
        run_id = rec.run.run_id
        folder = fmt.join(root, fmt.versions_dir(run_id))
        forget_listing(fs, folder)
        try:
            names = [p for p in fs.ls(folder, detail=False) if p.endswith(".json")]
        except FileNotFoundError:
            continue
        except PermissionError:
            rec.warnings.append(f"{fmt.versions_dir(run_id)}: permission denied")
            continue
        except Exception as exc:  # noqa: BLE001
            if not is_connection_error(exc):
                raise
            lost[id(rec)] = (rec, exc)
            continue
        wanted.extend((rec, p) for p in sorted(names))
    got = cat_many(fs, [p for _, p in wanted])
    docs: dict[int, list[tuple[str, object]]] = {}
    for (rec, path), raw in zip(wanted, got):
        path = strip_protocol(fs, path) if not path.startswith(root) else path
        rel = path[len(root) + 1 :] if path.startswith(root + "/") else path
        if isinstance(raw, BaseException) and is_connection_error(raw):
            lost.setdefault(id(rec), (rec, raw))
            continue
        if isinstance(raw, BaseException) or raw is None:
            rec.warnings.append(f"{rel}: cannot read sidecar ({raw})")
            continue
        try:
            docs.setdefault(id(rec), []).append((rel, fmt.loads(raw, rel)))
        except FormatError as exc:
            rec.warnings.append(str(exc))
    for rec in recs:
        if id(rec) not in lost:
            _parse_versions(docs.get(id(rec), []), rec.run.run_id, rec)
    return list(lost.values())


def _outside_root(fs: fsspec.AbstractFileSystem, root: str, run_ids: list[str]) -> tuple[list[str], list[str]]:
    """On local disk, split off run folders (or their manifests) that resolve outside the root.

    A path can only leave the root through a symlink, so a run whose folder, metadata folder,
    manifest and versions folder are not symlinks (one ``lstat`` each, no resolving of the
    root's own components) is inside; only runs with a symlink among them are resolved."""
    from .fs import is_local

    if not is_local(fs):
        return run_ids, []
    real_root = None
    keep, escaping = [], []
    for r in run_ids:
        base = f"{root}/{r}/{fmt.META_DIR}"  # (== join(root, r, META_DIR): r has no "/")
        paths = (f"{root}/{r}", base, f"{base}/{fmt.RUN_MANIFEST}", f"{base}/{fmt.VERSIONS_DIR}")
        if not any(_is_link(p) for p in paths):
            keep.append(r)
            continue
        real_root = real_root or os.path.realpath(root)
        if all(os.path.realpath(p).startswith(real_root + os.sep) for p in paths):
            keep.append(r)
        else:
            escaping.append(r)
    return keep, escaping


def _is_link(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:  # missing: nothing to follow (a missing manifest is reported by read_runs)
        return False


def _escaping_warnings(escaping: list[str]) -> list[str]:
    return [f"{fmt.printable(r)}/: symlink pointing outside the store, not followed" for r in escaping]


def _check_found(fs: fsspec.AbstractFileSystem, root: str, found_any: bool, no_manifest: list[str], warnings: list[str]) -> None:
    if not found_any and not has_marker(fs, root):
        if no_manifest:
            raise StoreNotFound(
                f"no frontier store at {root}: no run manifests ({fmt.META_DIR}/{fmt.RUN_MANIFEST}) found"
            )
        if not warnings:
            raise StoreNotFound(f"no frontier store at {root}: the folder holds no runs")


def _run_listing(fs: fsspec.AbstractFileSystem, root: str, warnings: list[str], full: bool
                 ) -> tuple[list[str], set[str] | None, checkpoint_mod.Checkpoint | None]:
    """(run ids, reserved names the root listing showed or None when it was not listed, the
    checkpoint already read, if any) of a cold read: through the run log when the store has one
    and ``full`` is not asked (``logged_run_ids``), else one listing of the root."""
    ckpt = None
    if not full:
        logged, ckpt = logged_run_ids(fs, root, warnings)
        if logged is not None:
            return logged, None, ckpt
    reserved: set[str] = set()
    return list_run_ids(fs, root, reserved), reserved, ckpt


def build_index(fs: fsspec.AbstractFileSystem, root: str, progress: Progress | None = None,
                freeze_gc: bool = False, full_listing: bool = False) -> Index:
    """Read a whole store into an Index, without the local cache. Broken runs become
    warnings, never errors. ``freeze_gc``: see ``explorer.index.bulk_load``. A store with a run
    log and a checkpoint that has a log mark is read without listing its root (a run deleted
    since that checkpoint is still shown), unless ``full_listing``."""
    early: list[str] = []
    listed, reserved, ckpt = _run_listing(fs, root, early, full_listing)
    run_ids, escaping = _outside_root(fs, root, listed)
    with bulk_load(freeze_gc):
        unreachable = Unreachable()
        records, warnings, no_manifest = read_runs(fs, root, run_ids, progress, unreachable=unreachable,
                                                   checkpoints=reserved is not None and fmt.CHECKPOINTS_DIR in reserved,
                                                   checkpoint=ckpt)
        warnings[:0] = early
        if unreachable.error is not None and not records:
            raise unreachable.error  # nothing read: an error, not an empty store
        warnings.extend(_escaping_warnings(escaping))
        _check_found(fs, root, bool(records), no_manifest, warnings)
        for run_id in no_manifest:
            warnings.append(f"{fmt.printable(run_id)}/: folder without a run manifest, skipped")
        idx = Index.from_records(records, warnings)
        idx.reserved = frozenset(reserved) if reserved is not None else None
        return idx


# ---------------------------------------------------------------------- incremental




class Indexer:
    """Keeps a store's index up to date with as few requests as possible.

    ``open()`` starts from the local cache (when given a cache file) and reads only runs
    that are new, were running or unconsolidated, or (on local disk, where a stat is cheap)
    whose manifest changed; ``refresh()`` does the same from what is in memory. Runs that
    left the listing leave the index. Finished runs on object stores are trusted from the
    cache: they are immutable by contract, and checking them would cost a request each.
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, url: str, cache_file=None,
                 freeze_gc: bool = False, full_listing: bool = False) -> None:
        from .fs import is_local

        self.fs = fs
        self.root = root
        self.url = url
        self.cache_file = cache_file
        self.freeze_gc = freeze_gc  # (explorer.index.bulk_load)
        self.full_listing = full_listing  # a cold open lists the root even when the run log would do
        self.local = is_local(fs)
        self.entries: dict = {}
        self.log = None  # the cache's manifest log (cache.ManifestLog), once known
        self.last_read: list[str] = []  # run ids read from the store by the last open/refresh
        self.unchecked: list[str] = []  # cached runs taken without their stat (open(check=False))

    def _stamp(self, run_id: str) -> tuple[int, int] | None:
        if not self.local:
            return None
        try:
            st = os.stat(f"{self.root}/{run_id}/{fmt.META_DIR}/{fmt.RUN_MANIFEST}")  # (run_manifest_path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _changed(self, run_ids: list[str], check: bool = True) -> list[str]:
        """The listed runs to read: not cached, not cacheable, or (on local disk, where a stat
        is cheap) whose manifest's modification time or size differs from when it was read.
        With ``check=False`` a cached finished run is taken as cached (as on object stores) and
        its id goes to ``unchecked``, for ``check_cached`` to stat later."""
        entries = self.entries
        if not self.local:
            return [r for r in run_ids if (e := entries.get(r)) is None or not e.cacheable]
        if not check:  # (every entry is listed: the caller removed the others)
            out = [r for r, e in entries.items() if e.stamp is None or not e.cacheable]
            skip = set(out)
            self.unchecked = [r for r in entries if r not in skip] if skip else list(entries)
            out.extend(r for r in run_ids if r not in entries)
            return out
        self.unchecked = []
        stamp = self._stamp
        return [r for r in run_ids  # one stat per cached run: the hot loop of a warm open
                if (e := entries.get(r)) is None or not e.cacheable or e.stamp is None or e.stamp != stamp(r)]

    def open(self, progress: Progress | None = None, check: bool = True) -> Index:
        """The store's index, from the cache and the runs to read. ``check=False`` (local
        stores) takes the cached finished runs without a stat each: ``check_cached`` makes
        those stats later (what an app showing the cached state first does)."""
        from . import cache

        with bulk_load(self.freeze_gc):
            cached = cache.load(self.cache_file, self.url) if self.cache_file is not None else None
            self.entries, self.log = cached if cached is not None else ({}, None)
            return self._refresh_gc(progress, cached is None, check)

    def check_cached(self) -> list[str]:
        """The runs taken from the cache unchecked (``open(check=False)``) whose manifest
        changed or went away since it was cached: one stat each. Empties ``unchecked``; when
        the result is not empty, a ``refresh`` reads those runs."""
        entries, stamp = self.entries, self._stamp
        changed = [r for r in self.unchecked if (e := entries.get(r)) is not None and e.stamp != stamp(r)]
        self.unchecked = []
        return changed

    def refresh(self, progress: Progress | None = None, _dirty: bool = False) -> Index:
        return self._refresh_gc(progress, _dirty, True)

    def _refresh_gc(self, progress: Progress | None, _dirty: bool, check: bool) -> Index:
        with bulk_load(self.freeze_gc):
            return self._refresh(progress, _dirty, check)

    def _refresh(self, progress: Progress | None, _dirty: bool, check: bool = True) -> Index:
        from . import cache

        early: list[str] = []
        ckpt = None
        if not self.entries:  # a cold open: through the run log when the store has one
            run_ids, reserved, ckpt = _run_listing(self.fs, self.root, early, self.full_listing)
        else:  # a warm one lists the root: it also tells which cached runs left the store
            reserved = set()
            run_ids = list_run_ids(self.fs, self.root, reserved)
        listed = set(run_ids)
        dirty = _dirty
        for gone in [r for r in self.entries if r not in listed]:
            del self.entries[gone]
            dirty = True
        to_read = self._changed(run_ids, check)
        # only runs about to be read need the symlink check: a cached run is not read again, and
        # one whose folder became a link elsewhere has another manifest stamp, so it is read
        to_read, escaping = _outside_root(self.fs, self.root, to_read)
        for r in escaping:
            if self.entries.pop(r, None) is not None:
                dirty = True
        stamps = {r: self._stamp(r) for r in to_read} if self.local else {}
        # manifests read now are appended to the cache's log as they arrive (not kept in memory)
        # (on local disk the cache keeps no copy: versions are read from the store when needed)
        writer = (cache.LogWriter(self.cache_file, self.log)
                  if self.cache_file is not None and to_read and not self.local else None)
        try:
            unreachable = Unreachable()
            records, warnings, no_manifest = read_runs(
                self.fs, self.root, to_read, progress, keep_raw=writer.add if writer is not None else None,
                unreachable=unreachable, checkpoints=reserved is not None and fmt.CHECKPOINTS_DIR in reserved,
                checkpoint=ckpt,
            )
            warnings[:0] = early
            located = writer.located if writer is not None else {}
            for r in to_read:
                if self.entries.pop(r, None) is not None:
                    dirty = True
            for rec in records:
                run_id = rec.run.run_id
                entry = cache.Entry(
                    run=replace(rec.run, asset_count=len(rec.versions)),
                    versions=rec.versions,
                    source=located.get(run_id),
                    stamp=stamps.get(run_id),
                    warnings=rec.warnings,
                )
                self.entries[run_id] = entry
                dirty = dirty or entry.cacheable
            self.last_read = to_read
            if unreachable.error is not None and not self.entries:
                raise unreachable.error  # nothing read and nothing cached: an error, not an empty store
            warnings.extend(_escaping_warnings(escaping))
            _check_found(self.fs, self.root, bool(self.entries), no_manifest, warnings)
            for run_id in no_manifest:
                warnings.append(f"{fmt.printable(run_id)}/: folder without a run manifest, skipped")
            if dirty and self.cache_file is not None:
                self.log = cache.save(self.cache_file, self.url, [self.entries[r] for r in sorted(self.entries)],
                                      writer.log if writer is not None else self.log, logged=not self.local)
        finally:
            if writer is not None:
                writer.log.release()  # (reads reopen it when versions are first needed)
        idx = self._index(warnings)
        idx.reserved = frozenset(reserved) if reserved is not None else None
        return idx

    def _index(self, warnings: list[str]) -> Index:
        entries = list(self.entries.values())
        if any(e.warnings for e in entries):
            for r in sorted(self.entries):
                warnings.extend(self.entries[r].warnings)
        if all(e.versions is not None for e in entries):
            return Index.from_records((RunRecord(e.run, e.versions) for e in entries), warnings)
        runs = {e.run.run_id: e.run for e in sorted(entries, key=_run_order)}
        return LazyIndex(runs, warnings, lambda: self._load_versions(entries), self.freeze_gc)

    def _load_versions(self, entries: list) -> tuple[list[AssetVersion], dict[str, Run]]:
        """Parse the cached runs' versions. On local disk the cache keeps no copy of the
        manifests: they are read from the store now (as fast as from a copy). A run whose
        cached manifest does not validate is read again from the store and the cache is
        discarded."""
        from . import cache

        out: list[AssetVersion] = []
        bad: list[str] = []
        unlogged: list[str] = []
        for e in entries:
            if e.versions is None:
                if e.source is None:
                    unlogged.append(e.run.run_id)
                    continue
                try:
                    e.versions = cached_versions(e)
                except (cache.CorruptCache, OSError):
                    bad.append(e.run.run_id)
                    continue
            out.extend(e.versions)
        for e in entries:
            if e.source is not None:
                e.source.log.release()  # keep the location (a later save copies from it)
        corrected: dict[str, Run] = {}
        if bad and self.cache_file is not None:
            cache.discard(self.cache_file)
        if bad or unlogged:
            records, _, _ = read_runs(self.fs, self.root, bad + unlogged)
            for rec in records:
                run = replace(rec.run, asset_count=len(rec.versions))
                out.extend(rec.versions)
                e = self.entries.get(run.run_id)
                if e is None:
                    continue
                if run != e.run:  # changed since the index was read: its stamp differs, so the
                    corrected[run.run_id] = run  # next refresh reads it again and saves it
                    e.run = run
                e.versions, e.warnings = rec.versions, rec.warnings
            for e in entries:
                if e.versions is None:  # its manifest went away meanwhile
                    e.versions = []
        return out, corrected
