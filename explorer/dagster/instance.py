"""What a Dagster instance knows about runs, read through its public API.

``read_instance(dagster_home)`` opens the instance (``DagsterInstance.from_config``), reads its
run records (job, status, tags, parent run, start and end times), each run's execution plan
snapshot (which outputs are assets, which belong to ops inside graph-backed assets) and, per
run, the event log entries that describe data flow: ``STEP_OUTPUT`` (which outputs a step
produced, with mapping keys), ``LOADED_INPUT`` (which upstream step output each step loaded),
``ASSET_MATERIALIZATION`` (partition, data and code version, metadata, and the inputs read:
event pointers and input data versions), ``ASSET_CHECK_EVALUATION`` and ``ASSET_OBSERVATION``
(converted by ``explorer.dagster.events``, shared with the IO manager's side). The result is
plain data (:class:`DagsterRunInfo`) for ``explorer.dagster.stock``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

from ..errors import StoreNotFound
from ..models import CheckResult, Observation, utc
from . import events as dg_events


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
    code_version: str | None = None  # the asset's code version (None where Dagster's default, the run id, stood in)
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
    planned: list[str] = field(default_factory=list)  # assets the run planned (ASSET_MATERIALIZATION_PLANNED), in order
    checks: list[CheckResult] = field(default_factory=list)  # asset check evaluations of the run
    observations: list[Observation] = field(default_factory=list)  # source asset observations of the run
    observation_ids: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # storage id -> (asset, partition)
    # from the run's execution plan: "step/output" of every output that is an asset, and of the
    # outputs of ops inside graph-backed assets (no assets), with the assets of their graph
    asset_outputs: dict[str, str] = field(default_factory=dict)  # "step/output" -> asset key
    internal_outputs: dict[str, list[str]] = field(default_factory=dict)


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


def _plan_outputs(instance, run, info: "DagsterRunInfo") -> None:
    """Which outputs of the run's execution plan are assets and which are op outputs inside a
    graph-backed asset (an output that is no asset, of an op nested in a graph whose other
    outputs are assets: ``layover_breakdown_2022.filter_for_2022``)."""
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
    graphs: dict[str, set[str]] = {}  # the top-level graph of a nested step -> its assets
    for key, asset in info.asset_outputs.items():
        step = key.rsplit("/", 1)[0]
        if "." in step:
            graphs.setdefault(step.split(".", 1)[0], set()).add(asset)
    for key in others:
        step = key.rsplit("/", 1)[0]
        if "." in step and step.split(".", 1)[0] in graphs:
            info.internal_outputs[key] = sorted(graphs[step.split(".", 1)[0]])


def _storage_ids(instance, dg, infos: dict[str, DagsterRunInfo]) -> None:
    """The storage id of each materialization and observation that input event pointers name
    (ids of the asset index, not of a run's own event log), read per upstream asset."""
    named = {a for info in infos.values() for m in info.materializations for a in m.inputs}
    observed = {o.asset for info in infos.values() for o in info.observations}
    ids: dict[tuple, int] = {}
    for asset in sorted(named | observed):
        for materialized in (True, False) if asset in observed else (True,):
            fetch = instance.fetch_materializations if materialized else instance.fetch_observations
            cursor = None
            while True:
                page = fetch(dg.AssetKey.from_user_string(asset), limit=1000, cursor=cursor)
                for r in page.records:
                    event = r.asset_materialization if materialized else r.asset_observation
                    part = None if event is None or event.partition is None else str(event.partition)
                    if materialized:
                        ids[(r.run_id, asset, part, r.timestamp)] = r.storage_id
                    elif r.run_id in infos:
                        infos[r.run_id].observation_ids[r.storage_id] = (asset, part)
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
        dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        dg.DagsterEventType.ASSET_OBSERVATION,
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
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
                    facts = dg_events.materialization(entry)
                    info.materializations.append(
                        Materialization(
                            asset=facts.asset,
                            step_key=facts.step_key,
                            timestamp=facts.timestamp,
                            partition=facts.partition,
                            data_version=facts.data_version,
                            dimensions=facts.dimensions,
                            inputs={up: ptr for up, (ptr, _) in facts.inputs.items() if ptr is not None},
                            code_version=facts.code_version,
                            input_data_versions={up: dv for up, (_, dv) in facts.inputs.items() if dv},
                            metadata=facts.metadata,
                        )
                    )
                elif kind == "ASSET_MATERIALIZATION_PLANNED":
                    planned = dg_events.asset_path(data.asset_key)
                    if planned not in info.planned:
                        info.planned.append(planned)
                elif kind == "ASSET_CHECK_EVALUATION":
                    info.checks.append(dg_events.check_result(entry))
                elif kind == "ASSET_OBSERVATION":
                    info.observations.append(dg_events.observation(entry))
            _plan_outputs(instance, run, info)
            out[run.run_id] = info
        _storage_ids(instance, dg, out)
    finally:
        instance.dispose()
    return out


__all__ = ["DagsterRunInfo", "Materialization", "has_instance", "open_instance", "read_instance", "explorer_status"]
