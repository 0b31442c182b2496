"""Checkpoints: the consolidated manifests of many finished runs in one object, so that a cold
open of a large store on an object store reads one object instead of one per run.

A checkpoint is written only on request (``frontier-explore checkpoint STORE``, or a writer
given ``checkpoint_every=N``) under ``_frontier_checkpoints/``, once, under a new name
(exclusive create: never overwritten, so concurrent writers cannot damage one another's). It
copies each finished run's manifest byte for byte; readers parse those bytes exactly as they
parse a manifest read from its run, keep only runs the store still lists, and read everything
else (newer runs, runs unfinished when it was written) from the runs themselves. A checkpoint
that does not validate is reported in a warning and skipped: the next older one, or the runs,
are read instead.

The object is gzip-compressed: a first line of JSON (kind, format version, creation time and
the ``[run_id, size]`` of every manifest), then the manifests, concatenated in that order.

In a store whose marker says ``run_log`` the header also holds a log mark and the runs it lists
but does not hold (``pending``: running, unconsolidated or unreadable when it was written):
every run registered in ``_frontier_runs/`` under a name that sorts at or before the mark is
either held or pending, so a reader lists only the registrations after the mark instead of the
store's root (``read.logged_run_ids``). The mark is the checkpoint writer's clock when its root
listing began, minus ``format.RUN_LOG_MARGIN`` (the clock skew between machines it tolerates).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import fsspec

from .. import format as fmt
from ..errors import FormatError
from ..models import iso
from .fs import create_exclusive, forget_listing
from .fsspec_adapter import cat_many, names_after

MAX_UNPACKED = 8 << 30
"""A checkpoint unpacking to more than this many bytes is refused (a damaged or hostile one)."""
USE_FROM = 32
"""Readers fetch a checkpoint only when at least this many listed runs still need reading."""


@dataclass(frozen=True)
class Checkpoint:
    name: str
    created_at: datetime
    manifests: dict[str, bytes]  # run id -> its consolidated manifest, as the run wrote it
    log_mark: str | None = None  # (a store with a run log) registrations at or before it are held or pending
    pending: tuple[str, ...] = ()  # runs listed when it was written but not held (read from the runs)

    def to_dict(self) -> dict:
        return {"name": self.name, "path": fmt.checkpoint_path(self.name), "created_at": iso(self.created_at),
                "runs": len(self.manifests), "log_mark": self.log_mark}


@dataclass(frozen=True)
class Outcome:
    """What ``write`` did: the checkpoint written (None: nothing new to add), the one it
    started from, and the warnings of reading the runs."""

    written: Checkpoint | None
    base: Checkpoint | None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"written": self.written.to_dict() if self.written else None,
                "previous": self.base.to_dict() if self.base else None, "warnings": list(self.warnings)}


def names(fs: fsspec.AbstractFileSystem, root: str) -> list[str]:
    """The store's checkpoints, newest (most runs covered) first: one listing."""
    folder = fmt.join(root, fmt.CHECKPOINTS_DIR)
    forget_listing(fs, folder)
    found = names_after(fs, folder, "")  # (one request on S3 also when there is no such folder)
    return sorted((n for n in found if fmt.checkpoint_runs(n) is not None), reverse=True)


def encode(manifests: dict[str, bytes], created_at: datetime, log_mark: str | None = None,
           pending: tuple[str, ...] = ()) -> bytes:
    order = sorted(manifests)
    header = {"kind": fmt.CHECKPOINT_KIND, "format_version": fmt.FORMAT_VERSION, "created_at": iso(created_at),
              "runs": [[r, len(manifests[r])] for r in order]}
    if log_mark is not None:
        header["log_mark"] = log_mark
        header["pending"] = sorted(pending)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
        gz.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
        for r in order:
            gz.write(manifests[r])
    return out.getvalue()


def decode(raw: bytes, name: str) -> Checkpoint:
    """Raises FormatError naming the checkpoint when it does not validate."""
    where = fmt.checkpoint_path(name)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw), mode="rb") as gz:
            line = gz.readline(1 << 30)
            header = json.loads(line)
            if not isinstance(header, dict) or header.get("kind") != fmt.CHECKPOINT_KIND:
                raise FormatError(f"{where}: not a checkpoint")
            major = str(header.get("format_version", "")).split(".")[0]
            if major != str(fmt.FORMAT_MAJOR):
                raise FormatError(f"{where}: format version {header.get('format_version')!r} is not supported")
            entries = header.get("runs")
            if not isinstance(entries, list) or not all(
                    isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], int) and e[1] >= 0
                    for e in entries):
                raise FormatError(f"{where}: its list of runs is malformed")
            log_mark, pending = header.get("log_mark"), header.get("pending", [])
            if log_mark is not None and not fmt.is_run_log_mark(log_mark):
                raise FormatError(f"{where}: its log mark is malformed")
            if not isinstance(pending, list) or not all(isinstance(p, str) for p in pending):
                raise FormatError(f"{where}: its list of pending runs is malformed")
            if sum(e[1] for e in entries) > MAX_UNPACKED:
                raise FormatError(f"{where}: larger than {MAX_UNPACKED} bytes unpacked")
            manifests: dict[str, bytes] = {}
            for run_id, size in entries:
                body = gz.read(size)
                if len(body) != size:
                    raise FormatError(f"{where}: cut short in the manifest of run {fmt.printable(run_id)}")
                manifests[run_id] = body
            if gz.read(1):
                raise FormatError(f"{where}: bytes after the last manifest")
            created = datetime.fromisoformat(str(header.get("created_at")).replace("Z", "+00:00"))
    except FormatError:
        raise
    except (OSError, EOFError, ValueError, UnicodeDecodeError, zlib.error) as exc:  # CRC, deflate, truncation, JSON
        raise FormatError(f"{where}: damaged ({type(exc).__name__}: {exc})") from None
    if len(manifests) != len(entries):
        raise FormatError(f"{where}: a run is listed twice")
    return Checkpoint(name, created, manifests, log_mark, tuple(pending) if log_mark is not None else ())


def newest(fs: fsspec.AbstractFileSystem, root: str, warnings: list[str]) -> Checkpoint | None:
    """The newest checkpoint that validates (one listing, one GET; one more per damaged one)."""
    for name in names(fs, root):
        raw = cat_many(fs, [fmt.join(root, fmt.checkpoint_path(name))])[0]  # (a plain GET: no HEAD first)
        if isinstance(raw, FileNotFoundError):
            continue
        if isinstance(raw, BaseException):
            raise raw
        try:
            return decode(raw, name)
        except FormatError as exc:
            warnings.append(f"{exc}; checkpoint skipped (the runs are read instead)")
    return None


def write(fs: fsspec.AbstractFileSystem, root: str,
          clock: Callable[[], datetime] | None = None, margin: timedelta = fmt.RUN_LOG_MARGIN) -> Outcome:
    """Write a checkpoint of every finished run the store lists, starting from the newest one
    (only runs it lacks are read). ``margin``: how far behind this machine's clock a writer's may
    be (the log mark is the listing's start minus it; tests give 0 to exercise the race itself)."""
    from .read import list_run_ids, read_marker, read_runs

    warnings: list[str] = []
    reserved: set[str] = set()
    # the log mark: this machine's wall clock (as the writers' registrations) before the listing
    mark = fmt.run_log_mark(datetime.now(timezone.utc), margin) if fmt.marker_run_log(read_marker(fs, root, warnings)) else None
    listed = list_run_ids(fs, root, reserved)
    still = set(listed)
    base = newest(fs, root, warnings) if fmt.CHECKPOINTS_DIR in reserved else None
    manifests = {r: raw for r, raw in (base.manifests.items() if base else ()) if r in still}
    fresh: dict[str, bytes] = {}
    records, read_warnings, _ = read_runs(fs, root, [r for r in listed if r not in manifests],
                                          keep_raw=fresh.__setitem__, checkpoints=False)
    warnings.extend(read_warnings)
    for rec in records:  # only finished, consolidated runs: the ones that never change again
        raw = fresh.get(rec.run.run_id)
        if raw is not None and rec.run.status != "running":
            manifests[rec.run.run_id] = raw
    pending = tuple(r for r in listed if r not in manifests)
    stale_mark = mark is not None and (base is None or base.log_mark is None)  # a first mark is worth writing
    if not manifests or (base is not None and set(manifests) <= set(base.manifests) and not stale_mark):
        return Outcome(None, base, tuple(warnings))
    now = (clock or (lambda: datetime.now(timezone.utc)))()
    name = fmt.checkpoint_name(len(manifests), now, os.urandom(4).hex())
    create_exclusive(fs, fmt.join(root, fmt.checkpoint_path(name)), encode(manifests, now, mark, pending))
    return Outcome(Checkpoint(name, now, manifests, mark, pending if mark is not None else ()), base, tuple(warnings))


def covered(fs: fsspec.AbstractFileSystem, root: str) -> int:
    """How many runs the newest checkpoint covers, from its name alone (0: none)."""
    found = names(fs, root)
    return fmt.checkpoint_runs(found[0]) if found else 0


__all__ = ["Checkpoint", "Outcome", "MAX_UNPACKED", "USE_FROM", "covered", "decode", "encode", "names", "newest", "write"]
