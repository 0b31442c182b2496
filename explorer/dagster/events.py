"""Dagster's event log records as the explorer's models: materializations (for versions stored
outside the store), asset check evaluations (``CheckResult``) and observations (``Observation``).

Duck-typed over Dagster's event objects (``EventLogEntry`` with a ``dagster_event``), so this
module does not import Dagster: ``explorer.dagster.io`` (recording into a store at the end of a
run) and ``explorer.dagster.instance`` (reading an instance for a stock store) share it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .. import format as fmt
from ..models import CheckResult, Observation, data_version_hash, utc

DATA_VERSION_TAG = "dagster/data_version"
CODE_VERSION_TAG = "dagster/code_version"
POINTER_TAG = "dagster/input_event_pointer/"
INPUT_DATA_VERSION_TAG = "dagster/input_data_version/"
DIMENSION_TAG = "dagster/partition/"

KINDS = ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "ASSET_OBSERVATION")


def asset_path(asset_key: Any) -> str:
    """A Dagster ``AssetKey`` as the explorer's key: its path joined with ``/``."""
    return "/".join(asset_key.path)


def json_value(value: Any) -> Any:
    """A Dagster metadata value (``MetadataValue``, ``TableSchema``, plain values) as plain JSON."""
    inner = getattr(value, "value", value) if type(value).__module__.startswith("dagster") else value
    if type(inner).__name__ == "TableSchema":
        return {"columns": [{"name": c.name, "type": c.type} for c in inner.columns]}
    if type(inner).__module__.startswith("dagster") and hasattr(inner, "_asdict"):
        inner = inner._asdict()
    try:
        return json.loads(fmt.dumps({"v": inner}))["v"]
    except (TypeError, ValueError):
        return str(inner)


def json_metadata(metadata: Any) -> dict[str, Any]:
    return {str(k): json_value(v) for k, v in (metadata or {}).items()}


@dataclass
class MaterializationFacts:
    """What an ``ASSET_MATERIALIZATION`` event says about the version it made."""

    asset: str
    run_id: str
    step_key: str | None
    timestamp: float
    storage_id: int | None
    partition: str | None
    dimensions: dict[str, str] | None
    data_version: str | None
    code_version: str | None  # None when Dagster's default (the run id) stood in for one
    metadata: dict[str, Any] = field(default_factory=dict)
    # upstream asset -> (storage id of the event it read, the data version it read)
    inputs: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """What stands for the data: Dagster's data version, else the event itself."""
        if self.data_version is not None:
            return data_version_hash(self.data_version)
        return f"dagster-materialization:{self.storage_id if self.storage_id is not None else f'{self.run_id}/{self.asset}'}"


def _kind(entry: Any) -> str | None:
    event = getattr(entry, "dagster_event", None)
    return None if event is None else event.event_type_value


def materialization(entry: Any, storage_id: int | None = None) -> MaterializationFacts | None:
    if _kind(entry) != "ASSET_MATERIALIZATION":
        return None
    event = entry.dagster_event
    mat = event.event_specific_data.materialization
    tags = dict(getattr(mat, "tags", None) or {})
    dims = {k[len(DIMENSION_TAG):]: v for k, v in tags.items() if k.startswith(DIMENSION_TAG)}
    inputs: dict[str, tuple[int | None, str | None]] = {}
    for k, v in tags.items():
        if k.startswith(POINTER_TAG):
            try:
                pointer = int(v)
            except ValueError:
                pointer = None
            up = k[len(POINTER_TAG):]
            inputs[up] = (pointer, tags.get(INPUT_DATA_VERSION_TAG + up))
    for k, v in tags.items():
        if k.startswith(INPUT_DATA_VERSION_TAG) and k[len(INPUT_DATA_VERSION_TAG):] not in inputs:
            inputs[k[len(INPUT_DATA_VERSION_TAG):]] = (None, v)
    code = tags.get(CODE_VERSION_TAG)
    return MaterializationFacts(
        asset=asset_path(mat.asset_key),
        run_id=entry.run_id,
        step_key=event.step_key,
        timestamp=entry.timestamp,
        storage_id=storage_id if storage_id is not None else getattr(entry, "storage_id", None),
        partition=None if mat.partition is None else str(mat.partition),
        dimensions=dict(sorted(dims.items())) or None,
        data_version=tags.get(DATA_VERSION_TAG),
        code_version=None if code in (None, entry.run_id) else code,
        metadata=json_metadata(mat.metadata),
        inputs=inputs,
    )


MAX_WINDOW = 64  # the longest run of upstream partitions tried when matching an input data version


def partitions_read(history: "list[tuple[float, str, Any]]", read: str, before: float,
                    prefer: str | None) -> "list[tuple[str, Any]] | None":
    """Which partitions of a partitioned upstream asset a materialization read, from the input
    data version Dagster recorded (``dagster/input_data_version/<asset>``).

    Dagster hashes the data versions of the upstream partitions the partition mapping chose, in
    partition key order (sha256 of their concatenation; one partition too), so the input event
    pointer, which names the upstream asset's latest materialization of *any* partition, is not
    what was read. ``history`` is the upstream's materializations ``(timestamp, run id, m)``
    oldest first, ``m`` with ``partition`` and ``data_version`` (``MaterializationFacts`` or the
    stock reader's ``Materialization``). The partitions as they were at ``before`` (the
    downstream materialization's time) are tried: the same key as ``prefer`` first, then each
    one, then runs of consecutive keys. ``[(run id, m)]`` of the partitions read, or None when
    no choice gives that version (then the pointer is all that is known). Partitions whose data
    versions are equal cannot be told apart: the first that matches is taken."""
    import hashlib

    state: dict[str, tuple[str, Any]] = {}
    for ts, run_id, m in history:
        if ts <= before and m.partition is not None and m.data_version:
            state[m.partition] = (run_id, m)
    keys = sorted(state)

    def digest(window: list[str]) -> str:
        return hashlib.sha256("".join(state[k][1].data_version for k in window).encode("utf-8")).hexdigest()

    order = ([prefer] if prefer in state else []) + [k for k in keys if k != prefer]
    for k in order:
        if digest([k]) == read:
            return [state[k]]
    for size in range(2, min(len(keys), MAX_WINDOW) + 1):
        for start in range(len(keys) - size + 1):
            window = keys[start:start + size]
            if digest(window) == read:
                return [state[k] for k in window]
    return None


def check_result(entry: Any) -> CheckResult | None:
    """An ``ASSET_CHECK_EVALUATION`` event as a CheckResult attached to the materialization it
    targeted (``target_materialization_data.run_id``)."""
    if _kind(entry) != "ASSET_CHECK_EVALUATION":
        return None
    ev = entry.dagster_event.event_specific_data
    target = getattr(ev, "target_materialization_data", None)
    severity = getattr(getattr(ev, "severity", None), "value", None) or "ERROR"
    partition = getattr(ev, "partition", None)
    return CheckResult(
        asset=asset_path(ev.asset_key),
        name=str(ev.check_name),
        run_id=entry.run_id,
        created_at=utc(entry.timestamp),
        passed=bool(ev.passed),
        severity=severity if severity in ("ERROR", "WARN") else "ERROR",
        description=getattr(ev, "description", None),
        metadata=json_metadata(ev.metadata),
        target_run_id=getattr(target, "run_id", None),
        partition=None if partition is None else str(partition),
    )


def observation(entry: Any) -> Observation | None:
    """An ``ASSET_OBSERVATION`` event as an Observation (its data version from the tags)."""
    if _kind(entry) != "ASSET_OBSERVATION":
        return None
    obs = entry.dagster_event.event_specific_data.asset_observation
    tags = dict(getattr(obs, "tags", None) or {})
    partition = getattr(obs, "partition", None)
    return Observation(
        asset=asset_path(obs.asset_key),
        run_id=entry.run_id,
        created_at=utc(entry.timestamp),
        data_version=tags.get(DATA_VERSION_TAG),
        metadata=json_metadata(obs.metadata),
        partition=None if partition is None else str(partition),
    )


__all__ = ["KINDS", "MaterializationFacts", "asset_path", "check_result", "json_metadata", "json_value",
           "materialization", "observation", "partitions_read"]
