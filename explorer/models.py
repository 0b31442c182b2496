"""Plain data passed between layers, with ``to_dict()``.

JSON output anywhere in the project is ``to_dict()`` serialised, never a second
hand-built shape.

The facts read from a store (runs, versions and what they hold) are frozen ``msgspec``
structs rather than dataclasses: ``format.py`` decodes and type-checks a whole run manifest
into them in one compiled pass, which costs less than ``json.loads`` building dicts would,
and they are not tracked by the cyclic garbage collector (``gc=False``: they hold no
reference cycles), so an index of hundreds of thousands of versions adds nothing to
collections. They behave like frozen dataclasses: keyword or positional construction,
equality, hashing, and ``replace`` (below) for a changed copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import msgspec
from msgspec.structs import astuple, replace

__all__ = ["AssetVersion", "CheckResult", "ColumnStats", "InputRef", "Observation", "PackedColumns", "PlannedAsset", "Run",
           "TableInfo", "iso", "replace", "short_hash", "short_value", "utc"]

_FROZEN = {"frozen": True, "gc": False}

RUN_STATUSES = ("running", "success", "failed")
CHECK_SEVERITIES = ("ERROR", "WARN")
INSIDE = "frontier/inside"
"""The metadata entry of an op output internal to graph-backed assets (the assets' keys): an op
output of its run, never a node of the asset graph."""
EXTERNAL = "external"
"""The ``data_format`` of a version whose value is not in the store (Dagster recorded the
materialization, the asset wrote its data elsewhere or returned nothing): it has no data file."""


def utc(ts: float | None) -> datetime | None:
    """A POSIX timestamp (Dagster's event and run times) as an aware UTC datetime; None for none (or 0)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc) if ts else None


_HEX = frozenset("0123456789abcdef")
_BOUNDARIES = "-_.:/ "
_SHORT_PREFIXES = {"sha256:": "", "dagster-data-version:": "dv:", "dagster-materialization:": "event ", "unhashed:": None}


def short_value(value: str, width: int = 12) -> str:
    """``value`` shortened for a table cell, keeping it recognizable: whole when it is short (up
    to ``width`` + 4), hex digests to their first ``width`` digits, anything else cut at its last
    separator (``-``, ``_``, ``.``, ``:``, ``/``, space) within ``width`` characters, with ``…``
    (a UUID-like Dagster data version ``eea435bc-6f1e-...`` -> ``eea435bc…``)."""
    if len(value) <= width + 4:
        return value
    if set(value.lower()) <= _HEX:
        return value[:width]
    cut = max(value.rfind(sep, 0, width + 1) for sep in _BOUNDARIES)
    return (value[:cut] if cut >= 4 else value[:width]) + "…"


def short_hash(content_hash: str | None, width: int = 12) -> str:
    """A content hash as tables show it: a sha256 as its first ``width`` hex digits, a Dagster
    data version as ``dv:`` and the version shortened at a boundary (``short_value``), a stock
    output that has no hash as ``no hash``, any other ``algo:value`` as its value shortened;
    ``""`` for none. Views show the whole hash wherever there is room (``show``, JSON)."""
    if not content_hash:
        return ""
    for prefix, label in _SHORT_PREFIXES.items():
        if content_hash.startswith(prefix):
            return "no hash" if label is None else label + short_value(content_hash[len(prefix):], width)
    return short_value(content_hash.split(":", 1)[-1], width)


def iso(ts: datetime | None) -> str | None:
    """UTC ISO 8601 with a trailing Z, or None."""
    if ts is None:
        return None
    return ts.isoformat().replace("+00:00", "Z")


class InputRef(msgspec.Struct, **_FROZEN):
    """One upstream version consumed by an asset version."""

    asset: str
    run_id: str
    content_hash: str | None = None
    partition: str | None = None  # the partition of ``asset`` consumed (partitioned inputs)

    @property
    def ident(self) -> tuple[str, ...]:
        """The version's key in ``Index.versions``: (asset, run_id[, partition])."""
        return (self.asset, self.run_id) if self.partition is None else (self.asset, self.run_id, self.partition)

    def to_dict(self) -> dict[str, Any]:
        out = {"asset": self.asset, "run_id": self.run_id, "content_hash": self.content_hash}
        if self.partition is not None:
            out["partition"] = self.partition
        return out


class PlannedAsset(msgspec.Struct, **_FROZEN):
    """An asset a run intended to materialize, with the inputs and code version it planned."""

    asset: str
    inputs: tuple[str, ...] | None = None
    code_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "inputs": list(self.inputs) if self.inputs is not None else None,
            "code_version": self.code_version,
        }


class ColumnStats(msgspec.Struct, **_FROZEN):
    """Summary statistics of one table column, recorded at write time."""

    name: str
    type: str
    null_count: int | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    distinct: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "null_count": self.null_count,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "distinct": self.distinct,
        }


class _Packed(msgspec.Struct, array_like=True, gc=False):
    """One column's statistics as ``PackedColumns`` stores them (a msgpack array)."""

    name: str
    type: str
    null_count: int | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    distinct: int | None = None


_PACK = msgspec.msgpack.Encoder()
_UNPACK = msgspec.msgpack.Decoder(list[_Packed])


class PackedColumns(Sequence):
    """The column statistics of a version read from a store, held as one msgpack ``bytes``
    and decoded when read: a sequence of ``ColumnStats`` like the tuple it stands for.

    An index holds every version's statistics (a few columns of min, max, mean, nulls and
    distinct values each); as Python objects they were about 60% of the index's memory (some
    1,150 bytes of 1,930 per version of a 20-asset store), packed about 300. Reading them
    costs a microsecond or two per version, paid only where statistics are read (one
    asset's schema, a history plot, an export), never by opening the store."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    @classmethod
    def pack(cls, columns: Sequence[ColumnStats]) -> PackedColumns | tuple[ColumnStats, ...]:
        """``columns`` packed; left as a tuple when a value has no msgpack form (an integer
        beyond 64 bits, say)."""
        try:
            return cls(_PACK.encode(list(map(astuple, columns))))
        except (TypeError, OverflowError, msgspec.EncodeError):
            return tuple(columns)

    def _columns(self) -> tuple[ColumnStats, ...]:
        return tuple(ColumnStats(p.name, p.type, p.null_count, p.min, p.max, p.mean, p.distinct)
                     for p in _UNPACK.decode(self._raw))

    def __iter__(self) -> Iterator[ColumnStats]:
        return iter(self._columns())

    def __len__(self) -> int:
        return len(self._columns())

    def __getitem__(self, i):
        return self._columns()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedColumns):
            return self._raw == other._raw or self._columns() == other._columns()
        if isinstance(other, Sequence):
            return self._columns() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._columns())

    def __repr__(self) -> str:
        return repr(self._columns())

    def __reduce__(self):
        return (PackedColumns, (self._raw,))


class TableInfo(msgspec.Struct, **_FROZEN):
    """Schema, row count and column statistics of a tabular version (``columns`` a tuple of
    ``ColumnStats``, or for a version read from a store the ``PackedColumns`` standing for one)."""

    num_rows: int
    columns: Sequence[ColumnStats]

    def column(self, name: str) -> ColumnStats | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def schema(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    def to_dict(self) -> dict[str, Any]:
        return {"num_rows": self.num_rows, "columns": [c.to_dict() for c in self.columns]}


class AssetVersion(msgspec.Struct, **_FROZEN):
    """One committed version of an asset: the facts of its sidecar."""

    asset: str
    run_id: str
    created_at: datetime
    data_path: str | None  # relative to the store root, always inside the run's prefix; None: stored outside the store
    data_format: str  # a registered format, or EXTERNAL (no data file)
    size_bytes: int
    content_hash: str
    code_version: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    inputs: tuple[InputRef, ...] = ()
    table: TableInfo | None = None
    keys: tuple[str, ...] = ()
    # the partition key (time window start, static or dynamic key; a multi-partition key is
    # Dagster's "a|b" string, its dimensions by name in ``partition_dimensions``); None: unpartitioned
    partition: str | None = None
    partition_dimensions: dict[str, str] | None = None

    @property
    def ref(self) -> InputRef:
        return InputRef(self.asset, self.run_id, self.content_hash, self.partition)

    @property
    def ident(self) -> tuple[str, ...]:
        """The version's key in ``Index.versions``: (asset, run_id[, partition])."""
        return (self.asset, self.run_id) if self.partition is None else (self.asset, self.run_id, self.partition)

    @property
    def short_hash(self) -> str:
        return short_hash(self.content_hash)

    @property
    def inside(self) -> tuple[str, ...]:
        """The graph-backed assets this op output is internal to (empty for anything else)."""
        got = self.metadata.get(INSIDE) if self.metadata else None
        return tuple(x for x in got if isinstance(x, str)) if isinstance(got, list) else ()

    @property
    def stored(self) -> bool:
        """Whether the version's data is in the store (False: Dagster recorded it, the value
        went elsewhere: "stored outside the store")."""
        return self.data_path is not None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "asset": self.asset,
            "run_id": self.run_id,
            "created_at": iso(self.created_at),
            "data_path": self.data_path,
            "format": self.data_format,
            "size_bytes": self.size_bytes,
            "content_hash": self.content_hash,
            "code_version": self.code_version,
            "metadata": self.metadata,
            "inputs": [i.to_dict() for i in self.inputs],
            "table": self.table.to_dict() if self.table else None,
            "keys": list(self.keys),
            "partition": self.partition,
            "partition_dimensions": self.partition_dimensions,
        }
        if not self.stored:
            out["stored"] = False  # "stored outside the store": no data file
        return out


class CheckResult(msgspec.Struct, **_FROZEN):
    """One evaluation of an asset check (Dagster's ``AssetCheckEvaluation``), attached to the
    version it checked: the version of ``asset`` (of ``partition``) that run ``target_run_id``
    wrote (None: the asset had no materialization when the check ran)."""

    asset: str
    name: str
    run_id: str  # the run that evaluated the check
    created_at: datetime
    passed: bool
    severity: str = "ERROR"  # ERROR or WARN (Dagster's AssetCheckSeverity)
    description: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    target_run_id: str | None = None
    partition: str | None = None

    @property
    def target(self) -> tuple[str, ...] | None:
        """The ``ident`` of the version checked, or None."""
        if self.target_run_id is None:
            return None
        return (self.asset, self.target_run_id) if self.partition is None else (self.asset, self.target_run_id, self.partition)

    @property
    def blocking(self) -> bool:
        """A failed ERROR check: a reason to look at the asset."""
        return not self.passed and self.severity == "ERROR"

    @property
    def outcome(self) -> str:
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "check": self.name,
            "run_id": self.run_id,
            "created_at": iso(self.created_at),
            "passed": self.passed,
            "outcome": self.outcome,
            "severity": self.severity,
            "description": self.description,
            "metadata": self.metadata,
            "target_run_id": self.target_run_id,
            "partition": self.partition,
        }


class Observation(msgspec.Struct, **_FROZEN):
    """One observation of a source asset (Dagster's ``AssetObservation``): the data version
    Dagster recorded for data that lives outside any run."""

    asset: str
    run_id: str
    created_at: datetime
    data_version: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    partition: str | None = None

    @property
    def content_hash(self) -> str | None:
        """How a consuming version's input records it (``dagster-data-version:<v>``)."""
        return data_version_hash(self.data_version) if self.data_version is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "run_id": self.run_id,
            "created_at": iso(self.created_at),
            "data_version": self.data_version,
            "metadata": self.metadata,
            "partition": self.partition,
        }


DATA_VERSION_PREFIX = "dagster-data-version:"


def data_version_hash(data_version: str) -> str:
    """The content hash standing for a Dagster data version."""
    return DATA_VERSION_PREFIX + data_version


class Run(msgspec.Struct, **_FROZEN):
    """One run: the facts of its manifest."""

    run_id: str
    job: str | None
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    code_version: str | None = None
    parent_run_id: str | None = None
    planned: tuple[PlannedAsset, ...] = ()
    consolidated: bool = False
    asset_count: int = 0
    checks: tuple[CheckResult, ...] = ()  # asset check evaluations the run recorded
    observations: tuple[Observation, ...] = ()  # source asset observations the run recorded

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        out = {
            "run_id": self.run_id,
            "job": self.job,
            "status": self.status,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_seconds": self.duration_seconds,
            "tags": self.tags,
            "code_version": self.code_version,
            "parent_run_id": self.parent_run_id,
            "planned_assets": [p.to_dict() for p in self.planned],
            "assets": self.asset_count,
        }
        if self.checks:
            out["checks"] = [c.to_dict() for c in self.checks]
        if self.observations:
            out["observations"] = [o.to_dict() for o in self.observations]
        return out
