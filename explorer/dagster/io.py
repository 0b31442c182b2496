"""``RunPrefixedIOManager``: a Dagster IO manager that writes a frontier run-prefixed store.

Layout (``<base>`` is ``base_path``)::

    <base>/<run_id>/<step_key>/<output_name>[/<mapping_key>]   op outputs (Dagster's own layout)
    <base>/<run_id>/<asset key path>[/<partition>]             asset outputs, one copy per run
                                                               (a multi-partition: /<key>/<key>, by dimension name)
    <base>/<run_id>/_frontier/...                              manifest and sidecars

The explorer's asset key of an op output is ``<step_key>/<output_name>[/<mapping_key>]``; of an
asset output its key path joined with ``/``; a partition is the version's ``partition``
(a multi-partition with its dimension names), never part of the key.

Pandas DataFrames and Arrow tables are written as parquet (a DataFrame's index is kept), every
other value as a pickle. ``load_input`` reads back what was written, unpickling pickles: they
were written by the same pipeline, exactly as Dagster's own ``fs_io_manager`` does. The explorer
itself never unpickles without an explicit opt-in.
"""

from __future__ import annotations

import json
import threading
import warnings
from typing import Any

import dagster as dg

from .. import format as fmt
from ..errors import ExplorerError, WriteError
from ..models import INSIDE, AssetVersion, CheckResult, InputRef, Observation, PlannedAsset, Run, utc
from ..store import data as store_data
from ..store.fs import display_url, open_fs
from ..store.writer import commit_version, write_version
from . import events as dg_events
from .eventlog import run_events
from .manifest import consolidate_run, mark_run_status, read_manifest, write_manifest

PYTHON_TYPE = "python_type"  # sidecar metadata key: how load_input gives the value back

# (store root, run id, step key) -> inputs the step loaded, in load order. Module level because
# Dagster may hand a step a copy of the resource; load_input and handle_output of one step always
# run in the same process (with any executor).
_LOADED: dict[tuple[str, str, str], list[InputRef]] = {}
_MANIFESTS: set[tuple[str, str]] = set()
_LOCK = threading.Lock()
_FS_CACHE: dict[tuple[str, str], tuple[Any, str]] = {}


def _open(base_path: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    cache_key = (base_path, json.dumps(storage_options, sort_keys=True, default=str))
    with _LOCK:
        if cache_key not in _FS_CACHE:
            _FS_CACHE[cache_key] = open_fs(base_path, storage_options)
        return _FS_CACHE[cache_key]


def _asset_path(asset_key: dg.AssetKey) -> str:
    return "/".join(asset_key.path)


_json_value = dg_events.json_value


def _metadata(context: dg.OutputContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in (context.definition_metadata, context.output_metadata):
        for k, v in (source or {}).items():
            out[str(k)] = _json_value(v)
    return out


def _code_version(context: dg.OutputContext) -> str | None:
    if context.has_asset_key:
        try:
            cv = context.step_context.job_def.asset_layer.get(context.asset_key).code_version
            if cv:
                return cv
        except Exception:  # noqa: BLE001 - a missing code version is not an error
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return context.op_def.version
        except Exception:  # noqa: BLE001
            return None


def _as_table(obj: Any) -> Any:
    """A pyarrow Table for DataFrames and Arrow tables (None for anything else)."""
    import pyarrow as pa

    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return None
    if isinstance(obj, pd.DataFrame):
        try:
            return pa.Table.from_pandas(obj)  # keeps a non-default index in the pandas metadata
        except (pa.ArrowException, TypeError, ValueError):
            return None  # mixed object columns and the like: pickled instead
    return None


def _asset_parents(context: dg.OutputContext) -> set[str] | None:
    """The keys of the asset's parents in the asset graph (None: unknown)."""
    try:
        node = context.step_context.job_def.asset_layer.get(context.asset_key)
        return {_asset_path(k) for k in node.parent_keys}
    except Exception:  # noqa: BLE001
        return None


def _latest_observation(instance: Any, asset_key: dg.AssetKey) -> tuple[str, str | None] | None:
    """(run id, content hash) of the latest observation of a source asset, or None."""
    try:
        records = instance.fetch_observations(asset_key, limit=1).records
    except Exception:  # noqa: BLE001
        return None
    for r in records:
        obs = dg_events.observation(r.event_log_entry)
        if obs is not None:
            return r.run_id, obs.content_hash
    return None


def _python_type(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _partition_of(key: Any, partitions_def: Any) -> tuple[str, dict[str, str] | None]:
    """(partition key, dimensions by name for a multi-partition) of one Dagster partition key."""
    dims = getattr(key, "keys_by_dimension", None)
    if dims is None and isinstance(partitions_def, dg.MultiPartitionsDefinition):
        try:
            dims = partitions_def.get_partition_key_from_str(str(key)).keys_by_dimension
        except Exception:  # noqa: BLE001 - then a plain key
            dims = None
    return str(key), (dict(sorted(dims.items())) if dims else None)


def _output_partitions(context: dg.OutputContext) -> dict[str, dict[str, str] | None] | None:
    """The partitions an asset output holds (one, or a range in a backfill run), or None."""
    if not (context.has_asset_key and context.has_asset_partitions):
        return None
    pdef = getattr(context, "asset_partitions_def", None)
    return dict(_partition_of(k, pdef) for k in context.asset_partition_keys)


def _node_code_version(job_def: Any, asset_key: Any, node_handle: Any) -> str | None:
    """The code version a planned output will be written with (as _code_version does)."""
    try:
        if asset_key is not None:
            cv = job_def.asset_layer.get(asset_key).code_version
            if cv:
                return cv
        if node_handle is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return job_def.graph.get_node(node_handle).definition.version
    except Exception:  # noqa: BLE001
        return None


def _plan_steps(context: dg.OutputContext) -> tuple[list[Any], set[str]]:
    """(steps, keys of the steps this run executes) of the run's whole execution plan.

    Under the multiprocess executor each step's process holds a plan of its own step only, so
    the plan is read from the snapshot the instance keeps of the run's plan (the same in every
    process); the step's own plan is the fallback (in-process it is the whole plan)."""
    step_context = context.step_context
    dagster_run = step_context.dagster_run
    try:
        snap = step_context.instance.get_execution_plan_snapshot(dagster_run.execution_plan_snapshot_id)
        steps = list(snap.steps)
        to_run = set(snap.step_keys_to_execute or [s.key for s in steps])
        if dagster_run.step_keys_to_execute:
            to_run &= set(dagster_run.step_keys_to_execute)
        return steps, to_run
    except Exception:  # noqa: BLE001 - no snapshot (an ephemeral instance): the step's plan
        plan = step_context.execution_plan
        steps = list(plan.get_all_steps_in_topo_order())
        return steps, set(getattr(plan, "step_keys_to_execute", None) or [s.key for s in steps])


def _input_handles(step_input: Any) -> list[Any] | None:
    handles = getattr(step_input, "upstream_output_handles", None)  # a snapshot's input
    if handles is None:
        handles = getattr(getattr(step_input, "source", None), "step_output_handle_dependencies", None)
    return None if handles is None else list(handles)


def _planned(context: dg.OutputContext) -> tuple[PlannedAsset, ...]:
    """What this run's execution plan intends to write, with the planned inputs.

    An asset's planned inputs are its parents in the asset graph (so a ``multi_asset`` with
    ``internal_asset_deps`` plans each output's own); asset checks and op outputs inside
    graph-backed assets are not planned (they are no assets). Mapped (dynamic) steps are not
    known before they run and are left out; inputs from a dynamic output are left unknown
    (``None``). Best effort: any surprise gives no plan.
    """
    try:
        job_def = context.step_context.job_def
        layer = job_def.asset_layer
        partition = context.step_context.dagster_run.tags.get("dagster/partition")
        steps, to_run = _plan_steps(context)
        out_keys: dict[tuple[str, str], str | None] = {}
        for step in steps:
            mapped = "?" in step.key
            for o in step.outputs if hasattr(step, "outputs") else step.step_outputs:
                props = getattr(o, "properties", None)
                asset_key = getattr(props, "asset_key", None)
                if getattr(props, "asset_check_key", None) is not None:
                    out_keys[(step.key, o.name)] = None  # an asset check: a result, not an asset
                elif asset_key is not None:
                    key = _asset_path(asset_key)
                    if layer.get(asset_key).partitions_def is not None and not partition:
                        key = None  # a range: not planned
                    out_keys[(step.key, o.name)] = key
                elif getattr(o, "is_dynamic", False) or getattr(props, "is_dynamic", False) or mapped:
                    out_keys[(step.key, o.name)] = None
                else:
                    out_keys[(step.key, o.name)] = f"{step.key}/{o.name}"
        planned = []
        for step in steps:
            if step.key not in to_run:
                continue  # a re-execution reuses this step's outputs from its parent run
            ins: list[str] | None = []
            for i in step.inputs if hasattr(step, "inputs") else step.step_inputs:
                handles = _input_handles(i)
                if handles is None:
                    ins = None
                    break
                for h in handles:
                    up = out_keys.get((h.step_key, h.output_name))
                    if up is None or h.mapping_key is not None:
                        ins = None
                        break
                    ins.append(up)
                if ins is None:
                    break
            for o in step.outputs if hasattr(step, "outputs") else step.step_outputs:
                key = out_keys.get((step.key, o.name))
                if key is None:
                    continue
                props = getattr(o, "properties", None)
                asset_key = getattr(props, "asset_key", None)
                node_handle = getattr(o, "node_handle", None) or getattr(step, "node_handle", None)
                if asset_key is None and node_handle is not None and _inside_assets(layer, node_handle):
                    continue  # an op output inside graph-backed assets
                mine = ins
                if asset_key is not None:
                    mine = sorted(_asset_path(k) for k in layer.get(asset_key).parent_keys)
                planned.append(PlannedAsset(key, tuple(dict.fromkeys(mine)) if mine is not None else None,
                                            _node_code_version(job_def, asset_key, node_handle)))
        return tuple(planned)
    except Exception:  # noqa: BLE001 - internal Dagster API; a missing plan is harmless
        return ()


def _inside_assets(layer: Any, node_handle: Any) -> list[str]:
    """The graph-backed assets an op (by its node handle) computes a part of; [] for an asset's
    own op and for ops of op jobs."""
    if getattr(node_handle, "parent", None) is None:
        return []
    try:
        assets_def = layer.get_assets_def_for_node(node_handle)
    except Exception:  # noqa: BLE001
        return []
    return sorted(_asset_path(k) for k in assets_def.keys) if assets_def is not None else []


def _dep_partitions(context: dg.OutputContext, parent: dg.AssetKey) -> list[str] | None:
    """The partitions of a partitioned ``deps=`` upstream the step depends on, as its partition
    mapping chose them (None: not partitioned, or unknown)."""
    step = context.step_context
    try:
        name = step.job_def.asset_layer.get_node_input_name(step.node_handle, parent)
        if not name or not step.has_asset_partitions_for_input(name):
            return None
        return [str(k) for k in step.asset_partitions_subset_for_input(name, require_valid_partitions=False)
                .get_partition_keys()]
    except Exception:  # noqa: BLE001 - internal Dagster API: then not known
        return None


class RunPrefixedIOManager(dg.ConfigurableIOManager):
    """Writes every output under ``<base_path>/<run_id>/...`` with frontier sidecars.

    >>> defs = dg.Definitions(assets=[...],
    ...     resources={"io_manager": RunPrefixedIOManager(base_path="s3://bucket/proj")})
    """

    base_path: str
    storage_options: dict[str, Any] = {}

    # ------------------------------------------------------------------ helpers
    @property
    def _store(self) -> tuple[Any, str]:
        return _open(self.base_path, dict(self.storage_options))

    def _output_key(self, context: dg.OutputContext) -> str:
        if context.has_asset_key:
            key = _asset_path(context.asset_key)
        else:
            key = f"{context.step_key}/{context.name}"
            if context.mapping_key:
                key = f"{key}/{context.mapping_key}"
        try:
            return fmt.check_asset_key(key)
        except ExplorerError as exc:
            raise WriteError(f"cannot store output {key!r}: {exc}") from None

    def _ensure_manifest(self, context: dg.OutputContext) -> None:
        fs, root = self._store
        run_id = context.run_id
        if (root, run_id) in _MANIFESTS:
            return
        if read_manifest(fs, root, run_id) is None:
            dagster_run = context.step_context.dagster_run
            started = None
            try:
                record = context.step_context.instance.get_run_record_by_id(run_id)
                started = utc(record.start_time) if record else None
            except Exception:  # noqa: BLE001
                pass
            run = Run(
                run_id=fmt.check_run_id(run_id),
                job=dagster_run.job_name,
                status="running",
                started_at=started or fmt.now(),
                tags={str(k): str(v) for k, v in (dagster_run.tags or {}).items()},
                code_version=None,
                parent_run_id=dagster_run.parent_run_id,
                planned=_planned(context),
            )
            write_manifest(fs, root, run, new=True)
        with _LOCK:
            _MANIFESTS.add((root, run_id))

    def _find_version(self, key: str, run_ids: list[str], partition: str | None = None) -> AssetVersion | None:
        fs, root = self._store
        for run_id in run_ids:
            if not run_id:
                continue
            rel = fmt.sidecar_path(run_id, key, partition)
            try:
                raw = fs.cat_file(fmt.join(root, rel))
            except FileNotFoundError:
                continue
            return fmt.parse_sidecar(fmt.loads(raw, rel), rel, run_id)
        return None

    def _latest_in_store(self, key: str, partition: str | None = None) -> AssetVersion | None:
        from ..api import Store

        try:
            store = Store.open(self.base_path, dict(self.storage_options))
            return store.index.latest(key, partition)
        except ExplorerError:
            return None

    def _asset_version(
        self, key: str, asset_key: dg.AssetKey, run_id: str, instance: Any, scan_store: bool = True,
        partition: str | None = None,
    ) -> AssetVersion | None:
        """The version of an asset (of one partition) an input reads: this run's, else the
        latest materialization the Dagster instance knows, else (``scan_store``) the latest in
        the store."""
        candidates = [run_id]
        try:
            if instance is None:
                pass
            elif partition is None:
                event = instance.get_latest_materialization_event(asset_key)
                if event is not None:
                    candidates.append(event.run_id)
            else:
                found = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1).records
                candidates.extend(r.run_id for r in found)
        except Exception:  # noqa: BLE001
            pass
        found = self._find_version(key, candidates, partition)
        if found is None and scan_store:
            found = self._latest_in_store(key, partition)
        return found

    def _remember(self, run_id: str, step_key: str, ref: InputRef) -> None:
        _, root = self._store
        with _LOCK:
            refs = _LOADED.setdefault((root, run_id, step_key), [])
            if ref not in refs:
                refs.append(ref)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Forget the inputs recorded for this run's steps (they are in the sidecars now)."""
        run = getattr(context, "run", None)  # Dagster >= 1.9; older: dagster_run
        if run is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run = getattr(context, "dagster_run", None)
        run_id = getattr(run, "run_id", None)
        if not run_id:
            return
        with _LOCK:
            for k in [k for k in _LOADED if k[1] == run_id]:
                del _LOADED[k]
            _MANIFESTS.difference_update({m for m in _MANIFESTS if m[1] == run_id})

    # ------------------------------------------------------------------ output
    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        fs, root = self._store
        run_id = context.run_id
        key = self._output_key(context)
        self._ensure_manifest(context)
        with _LOCK:
            inputs = list(_LOADED.get((root, run_id, context.step_key), ()))
        if context.has_asset_key:
            # the asset's own parents only: a multi_asset's step loads the inputs of all its
            # outputs (internal_asset_deps says which each used), a graph-backed asset's last op
            # loads an op output inside the graph
            parents = _asset_parents(context)
            if parents is not None:
                inputs = [i for i in inputs if i.asset in parents]
            inputs += self._unloaded_deps(context, inputs)
            if obj is None:
                return  # no value: recorded from the event log as a version stored outside the store

        partitions = _output_partitions(context)
        if partitions is None or len(partitions) == 1:
            partition, dims = next(iter(partitions.items())) if partitions else (None, None)
            version = self._write(context, key, obj, inputs, partition, dims)
            context.add_output_metadata(
                {
                    "path": dg.MetadataValue.path(fmt.join(display_url(fs, root), version.data_path)),
                    "content_hash": version.content_hash,
                    "frontier_key": key,
                }
            )
            return
        # one output of many partitions (a backfill run of a range): as Dagster's UPathIOManager,
        # the value is {partition key: value}, one version per partition
        if not isinstance(obj, dict) or set(map(str, obj)) != set(partitions):
            raise WriteError(f"{key}: an output of {len(partitions)} partitions must be a dict "
                             "{partition key: value} with one entry per partition")
        values = {str(k): v for k, v in obj.items()}
        for partition, dims in partitions.items():
            self._write(context, key, values[partition], inputs, partition, dims)
        context.add_output_metadata({"frontier_key": key, "frontier_partitions": len(partitions)})

    def _write(self, context: dg.OutputContext, key: str, obj: Any, inputs: list[InputRef],
               partition: str | None = None, dims: dict[str, str] | None = None) -> AssetVersion:
        fs, root = self._store
        run_id = context.run_id
        table = _as_table(obj)
        metadata = _metadata(context)
        metadata[PYTHON_TYPE] = _python_type(obj)
        if not context.has_asset_key:
            inside = _inside_assets(context.step_context.job_def.asset_layer, context.step_context.node_handle)
            if inside:
                metadata[INSIDE] = inside
        existing = self._find_version(key, [run_id], partition)
        if existing is not None:  # a retried step of the same run writes its output again
            for rel in (existing.data_path, fmt.sidecar_path(existing.run_id, existing.asset, existing.partition)):
                if rel and fs.exists(fmt.join(root, rel)):
                    fs.rm(fmt.join(root, rel), recursive=True)
        version = write_version(
            fs,
            root,
            run_id,
            key,
            table if table is not None else obj,
            inputs=tuple(inputs),
            data_format="parquet" if table is not None else "pickle",
            metadata=metadata,
            code_version=_code_version(context),
            data_rel=f"{run_id}/{key}" + (f"/{fmt.partition_path(partition, dims)}" if partition is not None else ""),
            partition=partition,
            partition_dimensions=dims,
        )
        return version

    def _unloaded_deps(self, context: dg.OutputContext, inputs: list[InputRef]) -> list[InputRef]:
        """Upstream assets declared with ``deps=`` (not loaded through an IO manager)."""
        try:
            node = context.step_context.job_def.asset_layer.get(context.asset_key)
            parents = sorted(node.parent_keys, key=_asset_path)
        except Exception:  # noqa: BLE001
            return []
        have = {i.asset for i in inputs}
        out = []
        for parent in parents:
            pkey = _asset_path(parent)
            if pkey in have or any(h.startswith(pkey + "/") for h in have):
                continue
            # no store scan per output: a dependency outside the store (an external source) is
            # simply not recorded
            instance = context.step_context.instance
            partitions = _dep_partitions(context, parent)
            if partitions:  # a partitioned dependency: the partitions its partition mapping chose
                for partition in partitions:
                    v = self._asset_version(pkey, parent, context.run_id, instance, scan_store=False,
                                            partition=partition)
                    if v is not None:
                        out.append(v.ref)
                continue
            v = self._asset_version(pkey, parent, context.run_id, instance, scan_store=False)
            if v is not None:
                out.append(v.ref)
                continue
            observed = _latest_observation(instance, parent)  # an observable source asset
            if observed is not None:
                out.append(InputRef(pkey, *observed))
        return out

    # ------------------------------------------------------------------ input
    def load_input(self, context: dg.InputContext) -> Any:
        up = context.upstream_output
        if up is None:
            raise WriteError(f"input {context.name!r} has no upstream output to load")
        step = context.step_context
        if up.has_asset_key:
            key = _asset_path(up.asset_key)
            partitions = [str(p) for p in context.asset_partition_keys] if context.has_asset_partitions else [None]
            if not partitions:
                return None  # as Dagster's UPathIOManager: a mapping that chose no partition
            values = {}
            for partition in partitions:
                v = self._asset_version(key, up.asset_key, up.run_id, context.instance, partition=partition)
                if v is None:
                    what = key + (f"[{partition}]" if partition is not None else "")
                    raise ExplorerError(f"no version of {what} in {self.base_path}")
                values[partition] = self._load(v)
                self._remember(step.run_id, step.step.key, v.ref)
            if len(values) == 1:  # as Dagster's UPathIOManager: one partition -> its value
                return next(iter(values.values()))
            return values  # several partitions -> {partition key: value}
        key = f"{up.step_key}/{up.name}" + (f"/{up.mapping_key}" if up.mapping_key else "")
        v = self._find_version(key, [up.run_id])
        if v is None:
            return self._load_stock(key, up.run_id, step)
        self._remember(step.run_id, step.step.key, v.ref)
        return self._load(v)

    def _load(self, v: AssetVersion) -> Any:
        if not v.stored:
            return None  # an output that was None (recorded from the event log)
        fs, root = self._store
        value = store_data.load(fs, root, v, allow_pickle=True, as_arrow=True)
        if v.data_format in fmt.TABLE_FORMATS:
            if str(v.metadata.get(PYTHON_TYPE, "")).startswith("pandas."):
                return value.to_pandas()
            if v.metadata.get(PYTHON_TYPE) == "pyarrow.lib.RecordBatch":
                return value.to_batches()[0] if value.num_rows else value
        return value

    def _load_stock(self, key: str, run_id: str, step: Any) -> Any:
        """An output without a sidecar: a pickle written by Dagster's own fs_io_manager."""
        import pickle

        fs, root = self._store
        path = fmt.join(root, run_id, key)
        try:
            raw = fs.cat_file(path)
        except FileNotFoundError:
            raise ExplorerError(f"no output {key} of run {run_id} in {self.base_path}") from None
        self._remember(step.run_id, step.step.key, InputRef(key, run_id, None))
        return pickle.loads(raw)  # noqa: S301 - written by this pipeline's own IO manager


# ---------------------------------------------------------------------- what the IO manager does not see
#
# Dagster calls no IO manager for outputs typed None / MaterializeResult (the assets of the
# current quickstart_etl), nor for asset checks and observations. The instance's event log is the
# record of all of them: ``record_run_events`` reads one run's (or one step's) events and writes
# what the store lacks: a version stored outside the store for each materialization that has no
# sidecar, and returns the run's check evaluations and observations for its manifest. It is
# called by ``finish_run`` (run end: sensors, ``consolidate_finished_runs``, scripts) and by the
# success hook of ``frontier_hooks`` (per step, as soon as the step ends). What it reads is
# ``explorer.dagster.eventlog``'s, which readers use too (``--dagster-home``: nothing written).

def record_run_events(
    base_path: str,
    run_id: str,
    instance: Any,
    storage_options: dict[str, Any] | None = None,
    step_key: str | None = None,
) -> tuple[list[AssetVersion], list[CheckResult], list[Observation]]:
    """Read the event log of run ``run_id`` (of one step: ``step_key``) and write, for every
    asset materialization the store has no version of, a version stored outside the store
    (:func:`run_events`). Returns (the versions written, the run's check evaluations, its
    observations)."""
    fs, root = open_fs(base_path, dict(storage_options or {}))
    fmt.check_run_id(run_id)
    versions, checks, observations = run_events(fs, root, run_id, instance, step_key)
    written = []
    for v in versions:
        try:
            written.append(commit_version(fs, root, v))
        except WriteError:
            continue  # committed meanwhile by another process (a hook and the run's end)
    return written, checks, observations


def finish_run(
    base_path: str,
    run_id: str,
    instance: "dg.DagsterInstance | str",
    storage_options: dict[str, Any] | None = None,
) -> Run:
    """End a run in the store as the Dagster instance recorded it: versions stored outside the
    store for the materializations the IO manager did not see, the run's asset check
    evaluations and observations, then consolidation with the run's final status, job, tags,
    parent and times. A run the IO manager never saw (every asset returned ``MaterializeResult``,
    an observation run) gets its manifest here. Safe to call again.

    >>> result = job.execute_in_process(instance=instance)
    >>> finish_run("s3://bucket/proj", result.run_id, instance)
    """
    owned = isinstance(instance, str)
    if owned:
        from .instance import open_instance

        instance = open_instance(instance)
    try:
        record = instance.get_run_record_by_id(run_id)
        if record is None:
            raise ExplorerError(f"run {run_id} is not in the Dagster instance")
        status = _status(record.dagster_run.status)
        if status == "running":
            raise WriteError(f"run {run_id} is still running; finish it when it ends")
        _, checks, observations = record_run_events(base_path, run_id, instance, storage_options)
        dagster_run = record.dagster_run
        return consolidate_run(
            base_path, run_id, status, storage_options, finished_at=utc(record.end_time),
            job=dagster_run.job_name, started_at=utc(record.start_time), checks=tuple(checks),
            observations=tuple(observations), tags=dagster_run.tags, parent_run_id=dagster_run.parent_run_id,
        )
    finally:
        if owned:
            instance.dispose()


# ---------------------------------------------------------------------- finishing runs


def _status(dagster_status: Any) -> str:
    name = getattr(dagster_status, "value", str(dagster_status))
    if name == "SUCCESS":
        return "success"
    if name in ("FAILURE", "CANCELED"):
        return "failed"
    return "running"


def consolidate_finished_runs(
    base_path: str,
    instance: "dg.DagsterInstance | str",
    storage_options: dict[str, Any] | None = None,
    jobs: "list[str] | None" = None,
) -> list[Run]:
    """Finish (``finish_run``) every run of the store that the Dagster instance (an instance or
    the path of a Dagster home) reports finished and whose manifest is not consolidated yet;
    then the finished runs the store has no folder of (observation runs, runs whose assets all
    wrote their data elsewhere): every run that materialized or observed an asset the store's
    runs planned or read, and every run of the job names in ``jobs``. Returns the runs it
    finished."""
    from ..store.read import list_run_ids

    owned = isinstance(instance, str)
    if owned:
        from .instance import open_instance

        instance = open_instance(instance)
    try:
        fs, root = open_fs(base_path, dict(storage_options or {}))
        done = []
        known = set(list_run_ids(fs, root))
        assets: set[str] = set()  # the assets the store's runs planned or read
        for run_id in sorted(known):
            try:
                run = read_manifest(fs, root, run_id)
            except ExplorerError:
                continue  # a broken manifest is the readers' warning, not ours to rewrite
            if run is None:
                continue
            for planned in run.planned:
                assets.add(planned.asset)
                assets.update(planned.inputs or ())
            if run.consolidated:
                continue
            record = instance.get_run_record_by_id(run_id)
            if record is None:
                continue
            if _status(record.dagster_run.status) == "running":
                continue
            done.append(finish_run(base_path, run_id, instance, storage_options))
        # runs with no folder in the store: the instance's runs that materialized or observed
        # an asset this store knows (an observation run, a run of MaterializeResult assets),
        # and every run of the named jobs
        missing = _runs_with_asset_events(instance, assets) - known
        if jobs:
            missing |= {r.dagster_run.run_id for r in instance.get_run_records()
                        if r.dagster_run.job_name in jobs} - known
        for run_id in sorted(missing):
            record = instance.get_run_record_by_id(run_id)
            if record is None or _status(record.dagster_run.status) == "running":
                continue
            done.append(finish_run(base_path, run_id, instance, storage_options))
        return done
    finally:
        if owned:
            instance.dispose()


def _runs_with_asset_events(instance: dg.DagsterInstance, assets: set[str]) -> set[str]:
    """The ids of the runs that recorded a materialization or an observation of one of
    ``assets`` (keys as the store writes them, path parts joined with ``/``)."""
    runs: set[str] = set()
    for key in sorted(assets):
        asset_key = dg.AssetKey(key.split("/"))
        for fetch in (instance.fetch_materializations, instance.fetch_observations):
            cursor = None
            while True:
                page = fetch(asset_key, limit=1000, cursor=cursor)
                runs.update(r.run_id for r in page.records)
                if not page.has_more:
                    break
                cursor = page.cursor
    return runs


def frontier_hooks(io_manager_key: str = "io_manager") -> set[dg.HookDefinition]:
    """Hooks to attach to a job (``@job(hooks=frontier_hooks())``): when an op fails, its run is
    marked ``failed`` in the store of the job's :class:`RunPrefixedIOManager` at once.

    A second hook, when a step succeeds, records the materializations of that step the IO
    manager did not see (``MaterializeResult``, ``-> None``, ``deps=`` assets) as versions stored
    outside the store, read from the instance's event log (the events since that step started,
    read backwards from the log's end: not the whole run's).

    The hooks do not consolidate: other ops of the run may still write, and the explorer keeps
    reading the run's sidecars. Success can only be known when the run ends: call
    :func:`finish_run` after ``execute_in_process``, :func:`consolidate_finished_runs`
    from a schedule or script, or deploy :func:`consolidation_sensors`.
    """

    @dg.failure_hook(name="frontier_mark_failed", required_resource_keys={io_manager_key})
    def _mark_failed(context: dg.HookContext) -> None:
        iom = getattr(context.resources, io_manager_key)
        if isinstance(iom, RunPrefixedIOManager):
            mark_run_status(iom.base_path, context.run_id, "failed", dict(iom.storage_options), job=context.job_name)

    @dg.success_hook(name="frontier_record_step", required_resource_keys={io_manager_key})
    def _record_step(context: dg.HookContext) -> None:
        iom = getattr(context.resources, io_manager_key)
        if isinstance(iom, RunPrefixedIOManager):
            try:
                record_run_events(iom.base_path, context.run_id, context.instance, dict(iom.storage_options),
                                  step_key=context.step_key)
            except ExplorerError as exc:  # the run's end records them again: a log line, not a failure
                context.log.warning(f"frontier: {exc}")

    return {_mark_failed, _record_step}


def consolidation_sensors(
    base_path: str,
    storage_options: dict[str, Any] | None = None,
    name: str = "frontier_consolidate",
) -> list[dg.SensorDefinition]:
    """Run-status sensors (for deployments with the Dagster daemon) that finish each run of the
    store (``finish_run``: versions stored outside the store, checks, observations, final
    status) when it succeeds or fails."""
    options = dict(storage_options or {})
    sensors = []
    for dagster_status, status in ((dg.DagsterRunStatus.SUCCESS, "success"), (dg.DagsterRunStatus.FAILURE, "failed")):

        def _make(st: str, ds: Any) -> dg.SensorDefinition:
            @dg.run_status_sensor(run_status=ds, name=f"{name}_{st}", monitor_all_code_locations=False)
            def _sensor(context: dg.RunStatusSensorContext) -> None:
                finish_run(base_path, context.dagster_run.run_id, context.instance, options)

            return _sensor

        sensors.append(_make(status, dagster_status))
    return sensors


__all__ = [
    "RunPrefixedIOManager",
    "finish_run",
    "record_run_events",
    "consolidate_run",
    "consolidate_finished_runs",
    "mark_run_status",
    "frontier_hooks",
    "consolidation_sensors",
]
