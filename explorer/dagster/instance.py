"""What a Dagster instance knows about runs, read through its public API.

``read_instance(dagster_home)`` opens the instance (``DagsterInstance.from_config``), reads its
run records (job, status, tags, parent run, start and end times) and, per run, the event log
entries that describe data flow: ``STEP_OUTPUT`` (which outputs a step produced, with mapping
keys), ``LOADED_INPUT`` (which upstream step output each step loaded) and
``ASSET_MATERIALIZATION`` (which assets a step materialized, with partition and data version).
The result is plain data (:class:`DagsterRunInfo`) for ``explorer.dagster.stock``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

from ..errors import StoreNotFound
from ..models import utc


@dataclass
class Materialization:
    asset: str  # asset key path joined with "/"
    step_key: str | None
    timestamp: float
    partition: str | None = None
    data_version: str | None = None
    dimensions: dict[str, str] | None = None  # a multi-partition's keys by dimension name
    inputs: dict[str, int] = field(default_factory=dict)  # upstream asset -> storage id of the materialization read
    storage_id: int | None = None
    code_version: str | None = None  # Dagster's ``dagster/code_version`` (the run id when the asset declares none)
    input_data_versions: dict[str, str] = field(default_factory=dict)  # upstream asset -> data version read
    metadata: dict = field(default_factory=dict)  # the materialization's metadata as plain JSON


@dataclass
class DagsterRunInfo:
    run_id: str
    job: str | None
    status: str  # the explorer's status: running, success or failed
    dagster_status: str
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime | None
    tags: dict[str, str] = field(default_factory=dict)
    parent_run_id: str | None = None
    # "step/output[/mapping]" -> time the output was produced
    outputs: dict[str, float] = field(default_factory=dict)
    # downstream step key -> [(upstream step key, upstream output name)], in load order
    loaded: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    materializations: list[Materialization] = field(default_factory=list)
    # from the run's execution plan: "step/output" of every output that is an asset, and of the
    # outputs of a plan that has assets that are not (ops inside graph-backed assets)
    asset_outputs: dict[str, str] = field(default_factory=dict)  # "step/output" -> asset key
    internal_outputs: set[str] = field(default_factory=set)


def explorer_status(dagster_status: str) -> str:
    if dagster_status == "SUCCESS":
        return "success"
    if dagster_status in ("FAILURE", "CANCELED"):
        return "failed"
    return "running"


def has_instance(dagster_home: str) -> bool:
    """Whether ``dagster_home`` holds a Dagster instance: a ``dagster.yaml`` or the run storage
    Dagster's default SQLite configuration writes (``history/runs.db``). Opening a folder
    without either would make Dagster create its SQLite files there."""
    home = os.path.abspath(os.path.expanduser(dagster_home))
    return os.path.isfile(os.path.join(home, "dagster.yaml")) or os.path.isfile(os.path.join(home, "history", "runs.db"))


def open_instance(dagster_home: str):
    """``DagsterInstance.from_config(dagster_home)``, with one-line errors. A folder that holds
    no instance is refused before Dagster is asked, so that reading never creates one."""
    home = os.path.abspath(os.path.expanduser(dagster_home))
    if not os.path.isdir(home):
        raise StoreNotFound(f"no Dagster instance at {dagster_home}: the folder does not exist")
    if not has_instance(home):
        raise StoreNotFound(f"no Dagster instance at {dagster_home}: it holds neither dagster.yaml nor history/runs.db")
    import dagster as dg

    try:
        return dg.DagsterInstance.from_config(home)
    except Exception as exc:  # noqa: BLE001 - any configuration problem becomes one line
        raise StoreNotFound(f"cannot open the Dagster instance at {dagster_home}: {exc}") from None


_POINTER = "dagster/input_event_pointer/"
_INPUT_DATA_VERSION = "dagster/input_data_version/"
_DIMENSION = "dagster/partition/"


def json_metadata(metadata) -> dict:
    """Dagster metadata (``MetadataValue``s by name) as plain JSON: ints, floats, text,
    markdown, JSON, paths and URLs as their value, table schemas as their columns, anything
    else as its text."""
    import dagster as dg

    from .. import format as fmt

    out = {}
    for k, value in (metadata or {}).items():
        if isinstance(value, dg.MetadataValue):
            value = value.value
        if isinstance(value, dg.TableSchema):
            value = {"columns": [{"name": c.name, "type": c.type} for c in value.columns]}
        try:
            out[str(k)] = json.loads(fmt.dumps({"v": value}))["v"]
        except Exception:  # noqa: BLE001 - a value JSON cannot hold (or nested too deep): its text
            out[str(k)] = str(value)
    return out


def _plan_outputs(instance, run, info: "DagsterRunInfo") -> None:
    """Which outputs of the run's execution plan are assets and which are op outputs inside a
    graph-backed asset (an output that is no asset, in a plan that has assets)."""
    snap_id = getattr(run, "execution_plan_snapshot_id", None)
    if not snap_id:
        return
    try:
        snap = instance.get_execution_plan_snapshot(snap_id)
    except Exception:  # noqa: BLE001 - an instance without the snapshot: nothing known
        return
    others = []
    for step in snap.steps:
        for out in step.outputs:
            props = getattr(out, "properties", None)
            key = f"{step.key}/{out.name}"
            if props is not None and props.is_asset and props.asset_key is not None:
                info.asset_outputs[key] = "/".join(props.asset_key.path)
            elif props is None or props.asset_check_key is None:
                others.append(key)
    if info.asset_outputs:
        info.internal_outputs.update(others)


def _partition_facts(tags: dict[str, str]) -> dict:
    """A materialization's dimensions (``dagster/partition/<dim>`` tags) and the upstream
    materializations it read (``dagster/input_event_pointer/<asset>``: their storage ids)."""
    dims = {k[len(_DIMENSION):]: v for k, v in tags.items() if k.startswith(_DIMENSION)}
    versions = {k[len(_INPUT_DATA_VERSION):]: str(v) for k, v in tags.items() if k.startswith(_INPUT_DATA_VERSION)}
    inputs = {}
    for k, v in tags.items():
        if k.startswith(_POINTER):
            try:
                inputs[k[len(_POINTER):]] = int(v)
            except ValueError:
                continue
    return {"dimensions": dict(sorted(dims.items())) or None, "inputs": inputs, "input_data_versions": versions}


def _storage_ids(instance, dg, infos: dict[str, DagsterRunInfo]) -> None:
    """The storage id of each materialization that input event pointers name (ids of the
    asset index, not of a run's own event log), read per upstream asset."""
    named = {a for info in infos.values() for m in info.materializations for a in m.inputs}
    ids: dict[tuple, int] = {}
    for asset in sorted(named):
        cursor = None
        while True:
            page = instance.fetch_materializations(dg.AssetKey.from_user_string(asset), limit=1000, cursor=cursor)
            for r in page.records:
                mat = r.asset_materialization
                part = None if mat is None or mat.partition is None else str(mat.partition)
                ids[(r.run_id, asset, part, r.timestamp)] = r.storage_id
            if not page.has_more:
                break
            cursor = page.cursor
    for info in infos.values():
        for m in info.materializations:
            m.storage_id = ids.get((info.run_id, m.asset, m.partition, m.timestamp))


def read_instance(dagster_home: str, run_ids: Iterable[str] | None = None) -> dict[str, DagsterRunInfo]:
    """Runs (all, or only ``run_ids``) and their data-flow events from the instance at
    ``dagster_home``. Raises StoreNotFound when there is no instance there."""
    import dagster as dg

    instance = open_instance(dagster_home)
    wanted = set(run_ids) if run_ids is not None else None
    out: dict[str, DagsterRunInfo] = {}
    kinds = {
        dg.DagsterEventType.STEP_OUTPUT,
        dg.DagsterEventType.LOADED_INPUT,
        dg.DagsterEventType.ASSET_MATERIALIZATION,
    }
    try:
        filters = dg.RunsFilter(run_ids=sorted(wanted)) if wanted else None
        if wanted is not None and not wanted:
            return out
        for record in instance.get_run_records(filters=filters):
            run = record.dagster_run
            status = run.status.value
            info = DagsterRunInfo(
                run_id=run.run_id,
                job=run.job_name,
                status=explorer_status(status),
                dagster_status=status,
                started_at=utc(record.start_time),
                finished_at=utc(record.end_time),
                created_at=record.create_timestamp.astimezone(timezone.utc) if record.create_timestamp else None,
                tags={str(k): str(v) for k, v in (run.tags or {}).items()},
                parent_run_id=run.parent_run_id,
            )
            for entry in instance.all_logs(run.run_id, of_type=kinds):
                event = entry.dagster_event
                if event is None:
                    continue
                data = event.event_specific_data
                kind = event.event_type_value
                if kind == "STEP_OUTPUT":
                    h = data.step_output_handle
                    key = f"{h.step_key}/{h.output_name}" + (f"/{h.mapping_key}" if h.mapping_key else "")
                    info.outputs[key] = entry.timestamp
                elif kind == "LOADED_INPUT":
                    if data.upstream_step_key and data.upstream_output_name:
                        pair = (data.upstream_step_key, data.upstream_output_name)
                        loads = info.loaded.setdefault(event.step_key, [])
                        if pair not in loads:
                            loads.append(pair)
                elif kind == "ASSET_MATERIALIZATION":
                    mat = data.materialization
                    tags = getattr(mat, "tags", None) or {}
                    info.materializations.append(
                        Materialization(
                            asset="/".join(mat.asset_key.path),
                            step_key=event.step_key,
                            timestamp=entry.timestamp,
                            partition=None if mat.partition is None else str(mat.partition),
                            data_version=tags.get("dagster/data_version"),
                            code_version=tags.get("dagster/code_version"),
                            metadata=json_metadata(getattr(mat, "metadata", None)),
                            **_partition_facts(tags),
                        )
                    )
            _plan_outputs(instance, run, info)
            out[run.run_id] = info
        _storage_ids(instance, dg, out)
    finally:
        instance.dispose()
    return out


__all__ = ["DagsterRunInfo", "Materialization", "has_instance", "json_metadata", "open_instance", "read_instance", "explorer_status"]
