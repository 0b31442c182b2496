"""The store format, version 1: paths, manifest and sidecar schemas, validation.

This is the only module that knows file names inside a store. See
``docs/store-format.md`` for the user-facing description.

Layout (``<root>`` is the store URL)::

    <root>/_frontier_store.json                         store marker (optional)
    <root>/<run_id>/_frontier/run.json                  run manifest; consolidated at finish
    <root>/<run_id>/_frontier/versions/<key>.json       one sidecar per asset version
    <root>/<run_id>/<asset key path>[.<ext>]            the data (file or directory)
    <root>/_frontier_flags/...                          reserved for flags
    <root>/_frontier_checkpoints/<name>.json.gz         checkpoints: finished runs' manifests in one object
    <root>/_frontier_runs/<UTC time>--<run_id>          the run log: one empty object per run created

``<key>`` in a sidecar name is the asset key percent-encoded (``/`` -> ``%2F``) so
that all sidecars of a run sit in one flat folder, listable with one request.
"""

from __future__ import annotations

import json
import math
import re
import sys
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

import msgspec

from . import formats
from .errors import FormatError
from .models import (
    CHECK_SEVERITIES, EXTERNAL, RUN_STATUSES, AssetVersion, CheckResult, ColumnStats, InputRef, Observation, PackedColumns,
    PlannedAsset, Run, TableInfo,
)
from .visible import visible

FORMAT_MAJOR = 1
FORMAT_VERSION = "1.2"  # the newest minor version read and written; 1.1: partitioned versions;
# 1.2: versions stored outside the store (no data file), asset check results and observations in run manifests
PARTITIONS_VERSION = "1.1"
BASE_VERSION = "1.0"  # what a document that uses nothing newer says (so 1.0 readers read it unchanged)
RUN_KIND = "frontier-explore/run"
SIDECAR_KIND = "frontier-explore/sidecar"
STORE_KIND = "frontier-explore/store"
FLAG_KIND = "frontier-explore/flag"
CHECKPOINT_KIND = "frontier-explore/checkpoint"

STORE_MARKER = "_frontier_store.json"
META_DIR = "_frontier"
RUN_MANIFEST = "run.json"
VERSIONS_DIR = "versions"
FLAGS_DIR = "_frontier_flags"
CHECKPOINTS_DIR = "_frontier_checkpoints"
RUN_LOG_DIR = "_frontier_runs"  # the run log: an empty object per run, named by run_log_name
RUN_LOG_MARGIN = timedelta(hours=1)
"""How far behind the checkpoint writer's clock a writer's clock may be: a checkpoint's log mark is
its listing's start minus this, so a run registered by such a writer after the listing began still
sorts after the mark (see ``run_log_mark`` and docs/store-format.md)."""



def __getattr__(name: str) -> Any:
    """``DATA_FORMATS``, ``TABLE_FORMATS`` and ``EXTENSIONS`` as they were before the formats
    moved to ``explorer.formats`` (computed from its registry, so a registered format is in them)."""
    if name == "DATA_FORMATS":
        return formats.names()
    if name == "TABLE_FORMATS":
        return tuple(n for n in formats.names() if formats.is_table(n))
    if name == "EXTENSIONS":
        return dict(formats.written_extensions())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


MAX_NAME = 255
MAX_PATH = 1024
# Characters refused in names and escaped by ``printable``: C0 and C1 controls, DEL, the
# bidirectional marks, embeddings, overrides and isolates (which reorder what a terminal
# shows) and the line and paragraph separators (which break a line where none is seen).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


# --------------------------------------------------------------------------- validation


def _check_segment(seg: str, what: str, where: str) -> None:
    if seg in ("", ".", ".."):
        raise FormatError(f"{where}: unsafe {what} segment {seg!r}")
    if len(seg) > MAX_NAME:
        raise FormatError(f"{where}: {what} segment longer than {MAX_NAME} characters")
    if "\\" in seg:
        raise FormatError(f"{where}: backslash in {what} {seg!r}")


def printable(name: str) -> str:
    """A name safe to print in a message: see ``explorer.visible``."""
    return visible(name)


def _check_text(value: Any, what: str, where: str, is_str: bool) -> None:
    """The checks every name read from a store starts with: ``is_str`` (the caller's own test of
    its type), non-empty, at most MAX_PATH characters, encodable as UTF-8."""
    if not is_str or not value:
        raise FormatError(f"{where}: {what} must be a non-empty string")
    if len(value) > MAX_PATH:
        raise FormatError(f"{where}: {what} longer than {MAX_PATH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError(f"{where}: {what} {printable(value)!r} is not valid UTF-8") from None


def check_relative_path(path: Any, what: str, where: str) -> str:
    """Validate a store-relative path: no ``..``, absolute paths, schemes or control characters."""
    _check_text(path, what, where, isinstance(path, str))
    bad = _CONTROL.search(path)
    if bad:
        kind = "control character" if ord(bad.group()) <= 0x9F else "bidi or line-separator character"
        raise FormatError(f"{where}: {kind} in {what} {path!r}")
    if path.startswith("/") or _SCHEME.match(path):
        raise FormatError(f"{where}: {what} {path!r} is absolute or has a URL scheme")
    for seg in path.split("/"):
        _check_segment(seg, what, where)
    return path


# Run ids and asset keys recur in every manifest (inputs, plans): remember the valid ones
# so that indexing thousands of runs validates each distinct string once.
_VALID_RUN_IDS: set[str] = set()
_VALID_KEYS: set[str] = set()
_MEMO_LIMIT = 200_000


def _remember(memo: set[str], value: str) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo.add(value)


# Names made of these characters, starting with a letter or digit, pass every check below
# (no separator, scheme, control character, backslash, dot segment or reserved prefix):
# one regular expression answers for the common case (tests/test_format_fast.py checks it).
_PLAIN_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._+=@-]{0,%d}" % (MAX_NAME - 1)
_PLAIN_RUN_ID = re.compile(_PLAIN_SEGMENT)
_PLAIN_KEY = re.compile(f"{_PLAIN_SEGMENT}(?:/{_PLAIN_SEGMENT})*")


def check_run_id(run_id: Any, where: str = "run id") -> str:
    if type(run_id) is str:
        if run_id in _VALID_RUN_IDS:
            return run_id
        if _PLAIN_RUN_ID.fullmatch(run_id):
            _remember(_VALID_RUN_IDS, run_id)
            return run_id
    check_relative_path(run_id, "run id", where)
    if "/" in run_id or run_id.startswith(("_", ".")):
        raise FormatError(f"{where}: invalid run id {run_id!r}")
    _remember(_VALID_RUN_IDS, run_id)
    return run_id


def check_asset_key(key: Any, where: str = "asset key") -> str:
    if type(key) is str:
        if key in _VALID_KEYS:
            return key
        if len(key) <= MAX_PATH and _PLAIN_KEY.fullmatch(key):
            _remember(_VALID_KEYS, key)
            return key
    check_relative_path(key, "asset key", where)
    if key.split("/")[0].startswith("_"):
        raise FormatError(f"{where}: asset key {key!r} uses a reserved prefix")
    _remember(_VALID_KEYS, key)
    return key


def check_partition(value: Any, where: str, what: str = "partition") -> str:
    """A partition key read from a store or given to the writer: a non-empty string of at most
    MAX_PATH characters without control, bidi or line-separator characters (brackets, slashes,
    ``|`` and markup are allowed: they are escaped wherever a partition is shown)."""
    _check_text(value, what, where, type(value) is str)
    if _CONTROL.search(value):
        raise FormatError(f"{where}: control, bidi or line-separator character in {what} {printable(value)!r}")
    return value


def check_dimensions(value: Any, where: str) -> dict[str, str] | None:
    """The dimensions of a multi-partition key (``{"color": "blue", "date": "2022-01-01"}``), or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise FormatError(f"{where}: partition_dimensions must be a non-empty object")
    for k, v in value.items():
        check_partition(k, where, "partition dimension name")
        check_partition(v, where, f"partition dimension {printable(k)!r}")
    return dict(value)


def _check_version(doc: Any, kind: str, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: expected a JSON object")
    if doc.get("format") != kind:
        raise FormatError(f"{where}: not a {kind} document (format={doc.get('format')!r})")
    version = str(doc.get("format_version", ""))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise FormatError(f"{where}: invalid format_version {version!r}") from None
    if major != FORMAT_MAJOR:
        raise FormatError(
            f"{where}: unsupported format version {version} (this explorer reads {FORMAT_MAJOR}.x)"
        )
    return doc


# How deep JSON read from a store may nest (objects and arrays): a whole document, and a
# free-form value inside one (metadata, a column's min and max). Anything deeper is refused
# with a FormatError naming the file, so that no reader (nor anything that later walks the
# value: rendering, JSON output, the index cache) recurses without bound. The writer refuses
# to write free-form values deeper than MAX_VALUE_DEPTH, so every store it writes is readable.
MAX_DEPTH = 100
MAX_VALUE_DEPTH = 32
_CONTAINERS = (dict, list)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` containers deep (no recursion)."""
    stack = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        v, depth = pop()
        if depth > limit:
            return True
        for x in (v.values() if type(v) is dict else v):
            if type(x) in _CONTAINERS:
                push((x, depth + 1))
    return False


def check_value_depth(value: Any, where: str, what: str = "metadata") -> Any:
    """A free-form value nesting at most MAX_VALUE_DEPTH levels, or FormatError."""
    if type(value) in _CONTAINERS and _deeper_than(value, MAX_VALUE_DEPTH):
        raise FormatError(f"{where}: {what} nested deeper than {MAX_VALUE_DEPTH} levels")
    return value


class InvalidJSON(FormatError):
    """A store document that does not decode as JSON (torn, truncated, or nested too deep)."""


def loads(raw: bytes | str, where: str) -> Any:
    """JSON read from a store (the one place it is decoded): InvalidJSON naming ``where``
    when it is not JSON, or nests deeper than MAX_DEPTH. (Old stores' ``NaN`` literals are
    still read.)"""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidJSON(f"{where}: invalid JSON ({exc})") from None
    except RecursionError:
        raise InvalidJSON(f"{where}: JSON nested too deeply (more than {MAX_DEPTH} levels)") from None
    if type(doc) in _CONTAINERS:
        opened = raw.count(b"[" if isinstance(raw, bytes) else "[") + raw.count(b"{" if isinstance(raw, bytes) else "{")
        if opened > MAX_DEPTH and _deeper_than(doc, MAX_DEPTH):
            raise InvalidJSON(f"{where}: JSON nested too deeply (more than {MAX_DEPTH} levels)")
    return doc


# --------------------------------------------------------------------------- paths


def join(*parts: str) -> str:
    """Join path parts with ``/``; the first part keeps a leading ``/`` (an absolute root)."""
    parts = [p for p in parts if p not in ("", None)]
    if not parts:
        return ""
    head = parts[0].rstrip("/") or "/"
    tail = [p.strip("/") for p in parts[1:]]
    return "/".join([head if head != "/" else ""] + tail) if tail else head


def run_prefix(run_id: str) -> str:
    return check_run_id(run_id)


def run_manifest_path(run_id: str) -> str:
    return join(run_id, META_DIR, RUN_MANIFEST)


def versions_dir(run_id: str) -> str:
    return join(run_id, META_DIR, VERSIONS_DIR)


@lru_cache(maxsize=65536)
def encode_key(key: str) -> str:
    return quote(key, safe="")


def decode_key(name: str) -> str:
    return unquote(name)


def sidecar_path(run_id: str, key: str, partition: str | None = None) -> str:
    # == join(versions_dir(run_id), encode_key(key) + ".json"): a run id has no "/" and an
    # encoded key has none either, so the parts need no stripping. A partitioned version's
    # name adds "@" and the encoded partition ("@" is always encoded inside a key).
    if partition is not None:
        return f"{run_id}/{META_DIR}/{VERSIONS_DIR}/{encode_key(key)}@{encode_key(partition)}.json"
    return f"{run_id}/{META_DIR}/{VERSIONS_DIR}/{encode_key(key)}.json"


def _partition_segment(value: str) -> str:
    """One path segment of a partition: percent-encoded, a leading dot too (so never ``..``)."""
    seg = quote(value, safe="")
    return "%2E" + seg[1:] if seg.startswith(".") else seg


def partition_path(partition: str, dimensions: dict[str, str] | None = None) -> str:
    """Where a partition's data goes below its asset key: ``2023-01-22``, or one segment per
    dimension of a multi-partition (``blue/2022-01-01``, in the dimensions' order), each
    percent-encoded (as Dagster's UPathIOManager lays partitions out)."""
    parts = list(dimensions.values()) if dimensions else [partition]
    return "/".join(_partition_segment(p) for p in parts)


def data_path(run_id: str, key: str, data_format: str, partition: str | None = None,
              dimensions: dict[str, str] | None = None) -> str:
    if partition is not None:
        return join(run_id, key, partition_path(partition, dimensions) + formats.extension(data_format))
    return join(run_id, key + formats.extension(data_format))


def flags_dir() -> str:
    """The reserved folder of flags: one small JSON object per flag or retraction."""
    return FLAGS_DIR


def flag_path(name: str) -> str:
    """``_frontier_flags/<name>.json``; names are unique (time + uuid), so writers never collide."""
    if "/" in name or name.startswith(".") or not name:
        raise FormatError(f"invalid flag name {name!r}")
    return join(FLAGS_DIR, name + ".json")


_CHECKPOINT_NAME = re.compile(r"^(\d{10})-(\d{8}T\d{6}Z)-([0-9a-f]{8})\.json\.gz$")


def checkpoint_name(runs: int, at: datetime, token: str) -> str:
    """``<runs covered, 10 digits>-<UTC time>-<8 hex>.json.gz``: names sort by how many runs
    they cover, then by time, so the newest is the last of one listing."""
    return f"{runs:010d}-{at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{token}.json.gz"


def checkpoint_runs(name: str) -> int | None:
    """How many runs the checkpoint named ``name`` covers (None: not a checkpoint's name)."""
    m = _CHECKPOINT_NAME.match(name)
    return int(m.group(1)) if m else None


def checkpoint_path(name: str) -> str:
    if checkpoint_runs(name) is None:
        raise FormatError(f"invalid checkpoint name {name!r}")
    return join(CHECKPOINTS_DIR, name)


_LOG_TIME = "%Y%m%dT%H%M%S%fZ"
_RUN_LOG_MARK = re.compile(r"^\d{8}T\d{12}Z$")
_RUN_LOG_NAME = re.compile(r"^(\d{8}T\d{12}Z)--(.+)$")


def run_log_name(run_id: str, at: datetime) -> str:
    """``<UTC time to the microsecond>--<run id>``: names sort by when the run was registered."""
    return f"{at.astimezone(timezone.utc):{_LOG_TIME}}--{check_run_id(run_id)}"


def run_log_path(name: str) -> str:
    if parse_run_log_name(name) is None:
        raise FormatError(f"invalid run registration name {name!r}")
    return join(RUN_LOG_DIR, name)


def parse_run_log_name(name: str) -> tuple[str, str] | None:
    """(time, run id) of a run registration's name, or None when it is not one."""
    m = _RUN_LOG_NAME.match(name)
    if not m:
        return None
    try:
        return m.group(1), check_run_id(m.group(2))
    except FormatError:
        return None


def run_log_mark(at: datetime, margin: timedelta = RUN_LOG_MARGIN) -> str:
    """A checkpoint's log mark for a listing started at ``at`` (its writer's clock): the time
    ``margin`` earlier, in registration names' form. Every registration whose name sorts at or
    before it belongs to a run that listing saw (a writer registers a run after its manifest
    exists, so a run the listing missed was registered after it began)."""
    return f"{(at - margin).astimezone(timezone.utc):{_LOG_TIME}}"


def is_run_log_mark(value: object) -> bool:
    return isinstance(value, str) and bool(_RUN_LOG_MARK.match(value))


COLUMN_LINEAGE_KEY = "dagster/column_lineage"
"""The metadata entry of column lineage (Dagster's own key): see ``explorer.column_lineage``."""


def column_lineage_entry(spec: Any) -> dict[str, Any]:
    """``{column: [(asset, column) or "asset.column" or {"asset_key", "column_name"}, ...]}`` as the
    stored ``dagster/column_lineage`` entry. Raises FormatError on anything else."""
    if not hasattr(spec, "items"):
        raise FormatError("column_lineage must map each column to the (asset, column) pairs it comes from")
    out: dict[str, list[dict[str, str]]] = {}
    for column, deps in spec.items():
        if not isinstance(column, str) or not column:
            raise FormatError(f"column_lineage: invalid column name {column!r}")
        if isinstance(deps, (str, bytes)) or not hasattr(deps, "__iter__"):
            raise FormatError(f"column_lineage[{column!r}] must be a list of (asset, column) pairs")
        entries = []
        for dep in deps:
            if isinstance(dep, dict) and isinstance(dep.get("asset_key"), str) and isinstance(dep.get("column_name"), str):
                asset, col = dep["asset_key"], dep["column_name"]
            elif isinstance(dep, (tuple, list)) and len(dep) == 2 and all(isinstance(x, str) for x in dep):
                asset, col = dep
            elif isinstance(dep, str) and "." in dep:
                asset, col = dep.rsplit(".", 1)
            else:
                raise FormatError(f"column_lineage[{column!r}]: {dep!r} is not an (asset, column) pair")
            entries.append({"asset_key": asset, "column_name": col})
        out[column] = entries
    return {"deps_by_column": out}


# --------------------------------------------------------------------------- time


def now() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(value: Any, where: str, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise FormatError(f"{where}: {field_name} must be an ISO 8601 string")
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"{where}: invalid {field_name} {value!r}") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc)


def format_time(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- documents


def store_marker_doc(run_log: bool = True) -> dict[str, Any]:
    """The store marker a writer creates. ``run_log``: every writer of the store registers the
    runs it creates under ``_frontier_runs/`` (stores made by older versions have no such field;
    a writer that could not register a run rewrites the marker with ``run_log: false``)."""
    return {"format": STORE_KIND, "format_version": BASE_VERSION, "run_log": run_log}


def marker_run_log(doc: Any) -> bool:
    """Whether a store marker document says the store keeps a run log."""
    return isinstance(doc, dict) and doc.get("format") == STORE_KIND and doc.get("run_log") is True


def _partitioned(v: AssetVersion) -> bool:
    return v.partition is not None or any(i.partition is not None for i in v.inputs)


def _sidecar_version(v: AssetVersion) -> str:
    """The oldest minor version that holds ``v`` (so older readers read what they can)."""
    if v.data_path is None:
        return FORMAT_VERSION
    return PARTITIONS_VERSION if _partitioned(v) else BASE_VERSION


def _run_version(run: Run, versions: list[AssetVersion] | None) -> str:
    if run.checks or run.observations:
        return FORMAT_VERSION
    return max((_sidecar_version(v) for v in versions or ()), key=lambda x: tuple(map(int, x.split("."))), default=BASE_VERSION)


def check_doc(c: CheckResult) -> dict[str, Any]:
    doc = {"asset": c.asset, "check": c.name, "run_id": c.run_id, "created_at": format_time(c.created_at),
           "passed": c.passed, "severity": c.severity, "description": c.description, "metadata": c.metadata,
           "target_run_id": c.target_run_id}
    if c.partition is not None:
        doc["partition"] = c.partition
    return doc


def observation_doc(o: Observation) -> dict[str, Any]:
    doc = {"asset": o.asset, "run_id": o.run_id, "created_at": format_time(o.created_at),
           "data_version": o.data_version, "metadata": o.metadata}
    if o.partition is not None:
        doc["partition"] = o.partition
    return doc


def run_doc(run: Run, versions: list[AssetVersion] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": RUN_KIND,
        "format_version": _run_version(run, versions),
        "run_id": run.run_id,
        "job": run.job,
        "status": run.status,
        "started_at": format_time(run.started_at),
        "finished_at": format_time(run.finished_at) if run.finished_at else None,
        "tags": run.tags,
        "code_version": run.code_version,
        "parent_run_id": run.parent_run_id,
        "planned_assets": [p.to_dict() for p in run.planned],
    }
    if run.checks:
        doc["checks"] = [check_doc(c) for c in run.checks]
    if run.observations:
        doc["observations"] = [observation_doc(o) for o in run.observations]
    if versions is not None:
        doc["consolidated"] = True
        doc["versions"] = [sidecar_doc(v) for v in versions]
    return doc


def sidecar_doc(v: AssetVersion) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": SIDECAR_KIND,
        "format_version": _sidecar_version(v),
        "asset": v.asset,
        "run_id": v.run_id,
        "created_at": format_time(v.created_at),
        "data_path": v.data_path,
        "data_format": v.data_format,
        "size_bytes": v.size_bytes,
        "content_hash": v.content_hash,
        "code_version": v.code_version,
        "metadata": v.metadata,
        "inputs": [i.to_dict() for i in v.inputs],
    }
    if v.table is not None:
        doc["table"] = _finite_stats(v.table.to_dict())
    if v.keys:
        doc["keys"] = list(v.keys)
    if v.partition is not None:
        doc["partition"] = v.partition
        if v.partition_dimensions:
            doc["partition_dimensions"] = dict(v.partition_dimensions)
    return doc


_PLANNED_MEMO: dict[tuple, PlannedAsset] = {}


def _str_or_none(value: Any, where: str, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise FormatError(f"{where}: {name} must be a string")
    return str(value)


def _planned(raw: Any, where: str) -> tuple[PlannedAsset, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FormatError(f"{where}: planned_assets must be a list")
    out = []
    for item in raw:
        if isinstance(item, str):
            out.append(PlannedAsset(check_asset_key(item, where)))
            continue
        if not isinstance(item, dict):
            raise FormatError(f"{where}: invalid planned asset {item!r}")
        inputs = item.get("inputs")
        if inputs is not None:
            if not isinstance(inputs, list):
                raise FormatError(f"{where}: planned inputs must be a list")
            inputs = tuple(check_asset_key(i, where) for i in inputs)
        cv = item.get("code_version")
        ident = (item.get("asset"), inputs, type(cv), cv)
        try:
            planned = _PLANNED_MEMO.get(ident)
        except TypeError:  # unhashable values: invalid, reported below
            planned = None
        if planned is None:
            planned = PlannedAsset(
                check_asset_key(item.get("asset"), where),
                inputs,
                _str_or_none(item.get("code_version"), where, "code_version"),
            )
            if len(_PLANNED_MEMO) >= _MEMO_LIMIT:
                _PLANNED_MEMO.clear()
            _PLANNED_MEMO[ident] = planned  # immutable: shared between runs that plan alike
        out.append(planned)
    return tuple(out)


def parse_run(doc: Any, where: str, expected_run_id: str | None = None) -> Run:
    """Validate a run manifest and return the Run (without its versions)."""
    doc = _check_version(doc, RUN_KIND, where)
    run_id = check_run_id(doc.get("run_id"), where)
    if expected_run_id is not None and run_id != expected_run_id:
        raise FormatError(f"{where}: run_id {run_id!r} does not match its prefix")
    status = doc.get("status")
    if status not in ("running", "success", "failed"):
        raise FormatError(f"{where}: invalid status {status!r}")
    tags = doc.get("tags") or {}
    if not isinstance(tags, dict):
        raise FormatError(f"{where}: tags must be an object")
    finished = doc.get("finished_at")
    parent = doc.get("parent_run_id")
    return Run(
        run_id=run_id,
        job=_str_or_none(doc.get("job"), where, "job"),
        status=status,
        started_at=parse_time(doc.get("started_at"), where, "started_at"),
        finished_at=parse_time(finished, where, "finished_at") if finished else None,
        tags={str(k): str(v) for k, v in tags.items()},
        code_version=_str_or_none(doc.get("code_version"), where, "code_version"),
        parent_run_id=check_run_id(parent, where) if parent else None,
        planned=_planned(doc.get("planned_assets"), where),
        consolidated=bool(doc.get("consolidated")),
        checks=_checks(doc.get("checks"), where, run_id),
        observations=_observations(doc.get("observations"), where, run_id),
    )


def _list_of_objects(raw: Any, where: str, name: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
        raise FormatError(f"{where}: {name} must be a list of objects")
    return raw


def _metadata_of(raw: Any, where: str) -> dict[str, Any]:
    metadata = raw or {}
    if not isinstance(metadata, dict):
        raise FormatError(f"{where}: metadata must be an object")
    return check_value_depth(metadata, where)


def _checks(raw: Any, where: str, run_id: str) -> tuple[CheckResult, ...]:
    out = []
    for i, c in enumerate(_list_of_objects(raw, where, "checks")):
        here = f"{where} (checks[{i}])"
        name = c.get("check")
        if not isinstance(name, str) or not name:
            raise FormatError(f"{here}: check must be a non-empty string")
        check_partition(name, here, "check name")
        if not isinstance(c.get("passed"), bool):
            raise FormatError(f"{here}: passed must be true or false")
        severity = c.get("severity", "ERROR")
        if severity not in CHECK_SEVERITIES:
            raise FormatError(f"{here}: invalid severity {severity!r}")
        target = c.get("target_run_id")
        part = c.get("partition")
        out.append(CheckResult(
            asset=check_asset_key(c.get("asset"), here),
            name=name,
            run_id=check_run_id(c.get("run_id", run_id), here),
            created_at=parse_time(c.get("created_at"), here, "created_at"),
            passed=c["passed"],
            severity=severity,
            description=_str_or_none(c.get("description"), here, "description"),
            metadata=_metadata_of(c.get("metadata"), here),
            target_run_id=check_run_id(target, here) if target is not None else None,
            partition=check_partition(part, here) if part is not None else None,
        ))
    return tuple(out)


def _observations(raw: Any, where: str, run_id: str) -> tuple[Observation, ...]:
    out = []
    for i, o in enumerate(_list_of_objects(raw, where, "observations")):
        here = f"{where} (observations[{i}])"
        part = o.get("partition")
        out.append(Observation(
            asset=check_asset_key(o.get("asset"), here),
            run_id=check_run_id(o.get("run_id", run_id), here),
            created_at=parse_time(o.get("created_at"), here, "created_at"),
            data_version=_str_or_none(o.get("data_version"), here, "data_version"),
            metadata=_metadata_of(o.get("metadata"), here),
            partition=check_partition(part, here) if part is not None else None,
        ))
    return tuple(out)


def _table(raw: Any, where: str) -> TableInfo | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), list):
        raise FormatError(f"{where}: invalid table section")
    columns = []
    for c in raw["columns"]:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise FormatError(f"{where}: invalid column entry")
        get = c.get
        check_value_depth(get("min"), where, f"min of column {c['name']!r}")
        check_value_depth(get("max"), where, f"max of column {c['name']!r}")
        columns.append(ColumnStats(c["name"], str(get("type")), get("null_count"), get("min"), get("max"), get("mean"), get("distinct")))
    num_rows = raw.get("num_rows")
    if not isinstance(num_rows, int):
        raise FormatError(f"{where}: table.num_rows must be an integer")
    return TableInfo(num_rows=num_rows, columns=PackedColumns.pack(columns))


def parse_sidecar(doc: Any, where: str, expected_run_id: str | None = None) -> AssetVersion:
    """Validate a sidecar and return its AssetVersion. Paths are checked to stay in the run."""
    doc = _check_version(doc, SIDECAR_KIND, where)
    run_id = check_run_id(doc.get("run_id"), where)
    if expected_run_id is not None and run_id != expected_run_id:
        raise FormatError(f"{where}: run_id {run_id!r} does not match its run {expected_run_id!r}")
    key = check_asset_key(doc.get("asset"), where)
    fmt = doc.get("data_format")
    if doc.get("data_path") is None and fmt == EXTERNAL:
        dpath = None  # stored outside the store: no data file
    else:
        dpath = check_relative_path(doc.get("data_path"), "data_path", where)
        if not dpath.startswith(run_id + "/"):
            raise FormatError(f"{where}: data_path {dpath!r} is outside its run's prefix")
        if not formats.known(fmt):
            raise FormatError(f"{where}: unknown data_format {fmt!r}")
    size = doc.get("size_bytes")
    if not isinstance(size, int) or size < 0:
        raise FormatError(f"{where}: size_bytes must be a non-negative integer")
    chash = doc.get("content_hash")
    if not isinstance(chash, str) or not chash:
        raise FormatError(f"{where}: missing content_hash")
    inputs_raw = doc.get("inputs") or []
    if not isinstance(inputs_raw, list):
        raise FormatError(f"{where}: inputs must be a list")
    inputs = []
    for i in inputs_raw:
        if not isinstance(i, dict):
            raise FormatError(f"{where}: invalid input {i!r}")
        part = i.get("partition")
        inputs.append(InputRef(
            check_asset_key(i.get("asset"), where),
            check_run_id(i.get("run_id"), where),
            _str_or_none(i.get("content_hash"), where, "input content_hash"),
            check_partition(part, where, "input partition") if part is not None else None,
        ))
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise FormatError(f"{where}: metadata must be an object")
    check_value_depth(metadata, where)
    keys = doc.get("keys") or []
    if not isinstance(keys, list) or (keys and not all(isinstance(k, str) for k in keys)):
        raise FormatError(f"{where}: keys must be a list of column names")
    partition = doc.get("partition")
    if partition is not None:
        check_partition(partition, where)
    dims = check_dimensions(doc.get("partition_dimensions"), where) if partition is not None else None
    return AssetVersion(
        asset=key,
        run_id=run_id,
        created_at=parse_time(doc.get("created_at"), where, "created_at"),
        data_path=dpath,
        data_format=fmt,
        size_bytes=size,
        content_hash=chash,
        code_version=_str_or_none(doc.get("code_version"), where, "code_version"),
        metadata=metadata,
        inputs=tuple(inputs),
        table=_table(doc.get("table"), where),
        keys=tuple(keys),
        partition=partition,
        partition_dimensions=dims,
    )


# --------------------------------------------------------------------------- compiled path
#
# Indexing a store parses thousands of consolidated manifests. ``decode_manifest`` decodes
# and type-checks a whole manifest in one compiled pass (msgspec) straight into the model
# structs, then makes in Python only the checks that types cannot express (ids, keys and
# paths, mostly answered from the memo of values already checked). It is an accelerator,
# not a second definition of the format: anything unusual (a type it does not expect, a
# naive timestamp, a path it cannot vouch for cheaply) makes it return None, and the caller
# takes the general path (``loads`` + ``parse_run`` + ``parse_sidecar``), which accepts the
# same document or names what is wrong with it. So it never accepts what the general path
# refuses, and when both accept they give equal results (tests/test_format_fast.py).

_FormatVersion = Literal["1.0", "1.1", "1.2"]


class _SidecarDoc(msgspec.Struct, gc=False):
    format: Literal["frontier-explore/sidecar"]
    format_version: _FormatVersion
    asset: str
    run_id: str
    created_at: str
    data_path: str | None
    data_format: str  # one of the registered formats, or EXTERNAL without a data_path (checked in ``_versions``)
    size_bytes: Annotated[int, msgspec.Meta(ge=0)]
    content_hash: Annotated[str, msgspec.Meta(min_length=1)]
    code_version: str | None = None
    metadata: dict[str, Any] = {}
    inputs: tuple[InputRef, ...] = ()
    table: TableInfo | None = None
    keys: tuple[str, ...] = ()
    partition: str | None = None
    partition_dimensions: dict[str, str] | None = None


class _RunDoc(msgspec.Struct, gc=False):
    format: Literal["frontier-explore/run"]
    format_version: _FormatVersion
    run_id: str
    status: Literal["running", "success", "failed"]
    started_at: str
    job: str | None = None
    finished_at: str | None = None
    tags: dict[str, str] = {}
    code_version: str | None = None
    parent_run_id: str | None = None
    planned_assets: tuple[PlannedAsset, ...] = ()
    consolidated: bool = False
    versions: list[_SidecarDoc] | None = None
    checks: tuple[dict[str, Any], ...] = ()
    observations: tuple[dict[str, Any], ...] = ()


_RUN_DECODER = msgspec.json.Decoder(_RunDoc)
_UTC = timezone.utc
_PLANS: dict[tuple[PlannedAsset, ...], tuple[PlannedAsset, ...]] = {}


class _Unusual(Exception):
    """The compiled path declines a document: the general path decides."""


def _utc(value: str) -> datetime:
    ts = datetime.fromisoformat(value)  # (3.11: accepts a trailing Z, like parse_time)
    if ts.tzinfo is not _UTC:
        raise _Unusual
    return ts


def checked_plan(planned: tuple[PlannedAsset, ...]) -> tuple[PlannedAsset, ...]:
    """Planned assets decoded by msgspec, their keys checked (raises FormatError)."""
    shared = _PLANS.get(planned)
    if shared is not None:  # validated before (runs of a job plan alike): share it
        return shared
    for p in planned:
        check_asset_key(p.asset)
        for k in p.inputs or ():
            check_asset_key(k)
    if len(_PLANS) >= 10_000:
        _PLANS.clear()
    _PLANS[planned] = planned
    return planned


def _versions(docs: list[_SidecarDoc], run_id: str) -> list[AssetVersion]:
    """The versions of one manifest (one loop with its lookups bound: it runs 200,000 times
    for a store of 10,000 runs).

    The strings that repeat across versions (asset keys, formats, code versions, the run ids
    and content hashes inputs name, column names and types) are interned (``sys.intern``:
    freed with the last version that holds them), so the index holds one copy of each: about
    half the memory of a version, whose strings the decoder makes afresh each time."""
    keys, run_ids, ext, utc, fromiso, intern = _VALID_KEYS, _VALID_RUN_IDS, formats.written_extensions(), _UTC, datetime.fromisoformat, sys.intern
    pack = PackedColumns.pack
    run_id = intern(run_id)
    prefix = run_id + "/"
    containers = _CONTAINERS
    seen: set = set()
    out = []
    append = out.append
    for d in docs:
        key = d.asset
        if d.run_id != run_id:
            raise _Unusual
        if key not in keys:
            check_asset_key(key)
        path = d.data_path
        # the path the writer gives a version is safe because its key is; any other is checked
        written = ext.get(d.data_format)
        if path is None:
            if d.data_format != EXTERNAL:
                raise _Unusual
        elif written is None:
            raise _Unusual  # an unknown format: the general path names it
        elif path != prefix + key + written or len(path) > MAX_PATH or len(path) - path.rfind("/") > MAX_NAME:
            check_relative_path(path, "data_path", "")
            if not path.startswith(prefix):
                raise _Unusual
        for i in d.inputs:
            if i.asset not in keys:
                check_asset_key(i.asset)
            if i.run_id not in run_ids:
                check_run_id(i.run_id)
            if i.partition is not None:
                check_partition(i.partition, "")
        part = d.partition
        if part is not None:
            check_partition(part, "")
            if d.partition_dimensions is not None:
                check_dimensions(d.partition_dimensions, "")
        ident = key if part is None else (key, part)
        created = fromiso(d.created_at)  # (3.11: accepts a trailing Z, like parse_time)
        if created.tzinfo is not utc:
            raise _Unusual
        if ident in seen:
            raise _Unusual  # listed twice: the general path keeps the first and warns
        seen.add(ident)
        md, table, inputs, code = d.metadata, d.table, d.inputs, d.code_version
        if md:
            for x in md.values():
                if type(x) in containers:
                    check_value_depth(md, "")
                    break
        key = intern(key)
        if inputs:
            inputs = tuple([InputRef(intern(i.asset), intern(i.run_id), i.content_hash and intern(i.content_hash),
                                     i.partition)
                            for i in inputs])
        if table is not None:
            table = TableInfo(table.num_rows, pack(table.columns))
        append(AssetVersion(
            key, run_id, created, path, intern(d.data_format), d.size_bytes, intern(d.content_hash),
            code and intern(code), md, inputs, table, d.keys,
            part, d.partition_dimensions if part is not None else None,
        ))
    # column statistics hold scalars as the writer records them; any container (which could
    # nest too deep) sends the manifest to the general path, which checks it (one pass in C)
    columns = list(chain.from_iterable(d.table.columns for d in docs if d.table is not None))
    if columns and not (_CONTAINER_TYPES.isdisjoint(map(type, map(_MIN, columns))) and _CONTAINER_TYPES.isdisjoint(map(type, map(_MAX, columns)))):
        raise _Unusual
    return out


_CONTAINER_TYPES = frozenset(_CONTAINERS)
_MIN, _MAX = attrgetter("min"), attrgetter("max")


def _run_from(doc: _RunDoc) -> Run:
    parent = doc.parent_run_id
    run_id = check_run_id(doc.run_id)
    where = run_manifest_path(run_id)
    # checks and observations are few per run: the general parser checks them
    checks = _checks(list(doc.checks), where, run_id) if doc.checks else ()
    observations = _observations(list(doc.observations), where, run_id) if doc.observations else ()
    return Run(
        run_id, doc.job, doc.status, _utc(doc.started_at),
        _utc(doc.finished_at) if doc.finished_at is not None else None,
        doc.tags, doc.code_version, check_run_id(parent) if parent is not None else None,
        checked_plan(doc.planned_assets), doc.consolidated, checks=checks, observations=observations,
    )


def decode_manifest(raw: bytes, expected_run_id: str) -> tuple[Run, list[AssetVersion] | None] | None:
    """A run manifest as (run, versions), versions None when the run is not consolidated; or
    None when the compiled path declines the document (then use ``loads`` + ``parse_run``)."""
    try:
        doc = _RUN_DECODER.decode(raw)
        run = _run_from(doc)
        if run.run_id != expected_run_id:
            return None
        if not (doc.consolidated and doc.versions is not None):
            return run, None
        return run, _versions(doc.versions, run.run_id)
    except (msgspec.MsgspecError, FormatError, ValueError, RecursionError, _Unusual):
        return None


def check_run(run: Run, where: str) -> Run:
    """What the types of a Run decoded straight into the model (as the index cache keeps
    runs) cannot say: valid ids, a known status, UTC times. Raises FormatError."""
    check_run_id(run.run_id, where)
    if run.parent_run_id is not None:
        check_run_id(run.parent_run_id, where)
    if run.status not in RUN_STATUSES:
        raise FormatError(f"{where}: invalid status {run.status!r}")
    if run.started_at.tzinfo is not _UTC or (run.finished_at is not None and run.finished_at.tzinfo is not _UTC):
        raise FormatError(f"{where}: times must be UTC")
    checked_plan(run.planned)
    return run


def decode_run(raw: bytes) -> Run | None:
    """A run document without versions (as the index cache keeps it) through the compiled
    path, or None when it declines it."""
    try:
        doc = _RUN_DECODER.decode(raw)
        return None if doc.versions is not None else _run_from(doc)
    except (msgspec.MsgspecError, FormatError, ValueError, RecursionError, _Unusual):
        return None


def dumps(doc: dict[str, Any]) -> bytes:
    """Strict JSON of a store document: a float that is not a number (NaN, +-infinity), which
    standard JSON cannot hold, is written as the string ``"NaN"``, ``"Infinity"`` or
    ``"-Infinity"`` (see docs/store-format.md). Raises FormatError for values nested too deep."""
    try:
        return json.dumps(finite(doc), indent=1, sort_keys=False, allow_nan=False, default=_json_default).encode("utf-8")
    except RecursionError:
        raise FormatError(f"a value nested too deeply (more than {MAX_VALUE_DEPTH} levels) cannot be stored") from None


def _finite_stats(table: dict[str, Any]) -> dict[str, Any]:
    """Column statistics that are numbers or null: a min, max or mean that is not a finite
    number (NaN, +-infinity) is not recorded (null), as ``dumps`` would make it a string."""
    for c in table["columns"]:
        for name in ("min", "max", "mean"):
            value = c.get(name)
            if isinstance(value, float) and not math.isfinite(value):
                c[name] = None
    return table


def non_finite_name(value: float) -> str:
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its name (containers copied only when
    they hold one)."""
    t = type(value)
    if t is float:
        return value if math.isfinite(value) else non_finite_name(value)
    if t is dict:
        out = {k: finite(v) for k, v in value.items()}
        return out if any(out[k] is not value[k] for k in value) else value
    if t is list or t is tuple:
        out = [finite(v) for v in value]
        return out if any(a is not b for a, b in zip(out, value)) else value
    if isinstance(value, float) and not math.isfinite(value):  # numpy floats
        return non_finite_name(value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if hasattr(value, "item"):  # numpy scalars
        return finite(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
