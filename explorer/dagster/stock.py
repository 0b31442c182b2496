"""Reading stores written by Dagster's stock IO managers (``fs_io_manager``,
``s3_pickle_io_manager``, ``UPathIOManager`` subclasses), which write no sidecars.

Does not import Dagster: a listing alone gives runs and step outputs with sizes and times.
Given a Dagster instance (``dagster_home``), ``explorer.dagster.instance`` adds run status, job
names, timings, tags, parent runs, check results and observations; every materialization
becomes a version (the non-run-scoped asset file is the data of the run that materialized it
last, the others are versions stored outside the store), with the inputs each materialization
recorded; ops inside graph-backed assets are marked (``models.INSIDE``).

Stock layout::

    <base>/<run_id>/<step_key>/<output_name>[/<mapping_key>]   op outputs (pickles)
    <base>/<asset key path>[/<partition>]                      asset outputs, overwritten each run
    <base>/<asset key path>/<key>/<key>                        a multi-partition (keys by dimension name)
    <base>/<run_id>/compute_logs/<key>.out|.err|.complete      Dagster's compute logs (skipped)

What cannot be known is said, not invented: versions have no content hash (their
``content_hash`` starts with ``unhashed:`` and their metadata says
``"frontier/compare": "timestamps"``), runs read without an instance have status ``unknown``.
Assets whose materialization carries a Dagster data version use it in place of a hash
(``dagster-data-version:<v>``, ``"frontier/compare": "data versions"``).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import format as fmt
from .. import formats
from ..errors import StoreNotFound
from ..models import EXTERNAL, INSIDE, AssetVersion, InputRef, PlannedAsset, Run, replace, utc
from ..store import read as _index
from ..index import Index, Progress, RunRecord
from ..store.read import has_marker, list_run_ids, read_runs
from .events import partitions_read

if TYPE_CHECKING:  # pragma: no cover
    from .instance import DagsterRunInfo

DAGSTER_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UNHASHED = "unhashed:"
DATA_VERSION = "dagster-data-version:"
UNKNOWN_STATUS = "unknown"


def comparison_basis(version: AssetVersion) -> str:
    """How versions of this asset can be compared: ``content hashes`` (sidecars written by
    frontier writers), ``data versions`` (Dagster's) or ``timestamps`` (stock outputs, no hash).
    Verification and staleness should say which one they used."""
    if version.content_hash.startswith(UNHASHED):
        return "timestamps"
    if version.content_hash.startswith(DATA_VERSION):
        return "data versions"
    return "content hashes"


def _mtime(info: dict[str, Any]) -> datetime:
    for name in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str):
            try:
                return fmt.parse_time(value, "listing", name)
            except Exception:  # noqa: BLE001
                continue
    return fmt.now()


def _key_and_format(rel: str) -> tuple[str, str]:
    for ext, data_format in formats.stock_extensions().items():  # (the registry's: every format's extensions)
        if rel.endswith(ext) and len(rel) > len(ext):
            return rel[: -len(ext)], data_format
    return rel, "pickle"  # the stock fs_io_manager / s3_pickle_io_manager write bare pickles


# Dagster's LocalComputeLogManager writes each step's stdout and stderr (and a marker that the
# capture is complete) to <storage>/<run_id>/compute_logs/<key>.out|.err|.complete (".partial"
# while a step runs), and daemon ticks' and backfills' logs to other folders of <storage>: never data
COMPUTE_LOG_DIR = "compute_logs"
COMPUTE_LOG_SUFFIXES = (".out", ".err", ".complete", ".out.partial", ".err.partial")


def is_compute_log(rel: str) -> bool:
    """Whether ``rel`` (a path inside a run folder) is one of Dagster's compute-log files."""
    parts = rel.split("/")
    return len(parts) == 2 and parts[0] == COMPUTE_LOG_DIR and parts[1].endswith(COMPUTE_LOG_SUFFIXES)


def _only_logs(fs, root: str, name: str) -> bool:
    """Whether the top-level folder ``name`` holds only Dagster's log files (the compute logs of
    a run that stored no op output in its folder, or of daemon ticks and backfills)."""
    try:
        found = fs.find(fmt.join(root, name))
    except (FileNotFoundError, PermissionError, OSError):
        return False
    return bool(found) and all(p.endswith(COMPUTE_LOG_SUFFIXES) for p in found)


def _list_run(fs, root: str, run_id: str, rec: RunRecord) -> None:
    prefix = fmt.join(root, run_id)
    try:
        found = fs.find(prefix, detail=True)
    except (FileNotFoundError, PermissionError) as exc:
        rec.warnings.append(f"{run_id}/: cannot list ({type(exc).__name__})")
        return
    for path, info in sorted(found.items()):
        if info.get("type") == "directory":
            continue
        rel = path[len(prefix) + 1 :] if path.startswith(prefix + "/") else path.rsplit("/", 1)[-1]
        if rel.split("/")[0].startswith(("_", ".")) or is_compute_log(rel):
            continue
        key, data_format = _key_and_format(rel)
        try:
            key = fmt.check_asset_key(key)
        except Exception as exc:  # noqa: BLE001 - an odd file name is a warning
            rec.warnings.append(f"{run_id}/{rel}: skipped ({exc})")
            continue
        rec.versions.append(
            AssetVersion(
                asset=key,
                run_id=run_id,
                created_at=_mtime(info),
                data_path=f"{run_id}/{rel}",
                data_format=data_format,
                size_bytes=int(info.get("size") or 0),
                content_hash=f"{UNHASHED}{run_id}/{key}",
                metadata={"frontier/content_hash": "absent", "frontier/compare": "timestamps"},
            )
        )


def _inside(key: str, internal: dict[str, list[str]]) -> list[str]:
    for k, assets in internal.items():
        if key == k or key.startswith(k + "/"):
            return assets
    return []


def _mark_op_outputs(rec: RunRecord, info: "DagsterRunInfo") -> None:
    """Outputs of ops inside graph-backed assets (no assets, as the run's plan says) are op
    outputs of their run, never assets: marked with the graph's assets (``models.INSIDE``)."""
    if info.internal_outputs:
        rec.versions = [replace(v, metadata={**v.metadata, INSIDE: inside}) if (inside := _inside(v.asset, info.internal_outputs))
                        else v for v in rec.versions]


def _run_from_listing(run_id: str, versions: list[AssetVersion]) -> Run:
    started = min((v.created_at for v in versions), default=fmt.now())
    return Run(run_id=run_id, job=None, status=UNKNOWN_STATUS, started_at=started)


def _run_from_info(info: "DagsterRunInfo", fallback: datetime) -> Run:
    return Run(
        run_id=info.run_id,
        job=info.job,
        status=info.status,
        started_at=info.started_at or info.created_at or fallback,
        finished_at=info.finished_at,
        tags=dict(info.tags),
        parent_run_id=info.parent_run_id,
        checks=tuple(info.checks),
        observations=tuple(info.observations),
        # what the run set out to materialize (Dagster's ASSET_MATERIALIZATION_PLANNED events, one
        # per step to execute, whichever executor): a failed run's unwritten assets are missing
        planned=tuple(PlannedAsset(a) for a in info.planned),
    )


def _lineage(records: dict[str, RunRecord], infos: dict[str, "DagsterRunInfo"]) -> None:
    """Inputs of each version from the LOADED_INPUT events of its step, resolved to the run
    (this one or an ancestor in the re-execution chain) whose output was loaded."""
    keys_by_run: dict[str, dict[str, AssetVersion]] = {
        rid: {v.asset: v for v in rec.versions} for rid, rec in records.items()
    }
    # op step key -> asset keys it materialized (for asset steps), over all runs
    assets_of_step: dict[str, set[str]] = {}
    for info in infos.values():
        for m in info.materializations:
            if m.step_key:
                assets_of_step.setdefault(m.step_key, set()).add(m.asset)

    def chain(run_id: str) -> list[str]:
        out, seen = [], set()
        while run_id and run_id not in seen:
            seen.add(run_id)
            out.append(run_id)
            run_id = infos[run_id].parent_run_id if run_id in infos else None
        return out

    def asset_ref(asset: str, before: float, run_id: str) -> InputRef | None:
        """The materialization of ``asset`` a step of ``run_id`` read: this run's, else the
        latest one before the step (its data may be overwritten since: then it is missing)."""
        found = [
            (m.timestamp, info.run_id)
            for info in infos.values()
            for m in info.materializations
            if m.asset == asset and m.timestamp <= before
        ]
        same = [f for f in found if f[1] == run_id]
        if not (same or found):
            return None
        _, source = max(same or found)
        v = keys_by_run.get(source, {}).get(asset)
        return InputRef(asset, source, v.content_hash if v else None)

    # the materialization each version is, and what storage ids name (input event pointers)
    mat_of = {(info.run_id, m.asset, m.partition): m for info in infos.values() for m in info.materializations}
    history: dict[str, list[tuple[float, str, Any]]] = {}  # asset -> its materializations, oldest first
    for info in infos.values():
        for m in info.materializations:
            history.setdefault(m.asset, []).append((m.timestamp, info.run_id, m))
    for h in history.values():
        h.sort(key=lambda t: (t[0], t[1]))
    partitioned = {a for a, h in history.items() if any(m.partition is not None for _, _, m in h)}
    by_storage = {m.storage_id: (info.run_id, m) for info in infos.values() for m in info.materializations
                  if m.storage_id is not None}
    version_of = {(v.run_id, v.asset, v.partition): v for rec in records.values() for v in rec.versions}
    observed = {sid: (info.run_id, part) for info in infos.values() for sid, (_, part) in info.observation_ids.items()}

    def pointed(v: AssetVersion) -> list[InputRef] | None:
        """The inputs as the materialization recorded them (``dagster/input_event_pointer/<asset>``:
        the upstream materialization read, its partition as the partition mapping chose; with
        ``dagster/input_data_version/<asset>``: the data version read). These are exact, also for
        graph-backed assets and ``deps=``; None when the materialization recorded none."""
        m = mat_of.get((v.run_id, v.asset, v.partition))
        if m is None or not (m.inputs or m.input_data_versions):
            return None
        out = []
        for up_asset, sid in sorted(m.inputs.items()):
            hit = by_storage.get(sid)
            if hit is None:
                if sid in observed:  # an observable source: the observation read
                    obs_run, obs_partition = observed[sid]
                    read = m.input_data_versions.get(up_asset)
                    out.append(InputRef(up_asset, obs_run, f"{DATA_VERSION}{read}" if read else None, obs_partition))
                continue
            up_run, um = hit
            read = m.input_data_versions.get(up_asset)
            if up_asset in partitioned and read:
                found = partitions_read(history.get(up_asset, []), read, m.timestamp, m.partition)
                if found:
                    out.extend(InputRef(up_asset, run, ref_hash(run, up_asset, pm), pm.partition) for run, pm in found)
                    continue
            out.append(InputRef(up_asset, up_run, ref_hash(up_run, up_asset, um, read), um.partition))
        return out

    def ref_hash(run: str, asset: str, um: Any, read: str | None = None) -> str | None:
        uv = version_of.get((run, asset, um.partition))
        dv = read or um.data_version
        return uv.content_hash if uv else (f"{DATA_VERSION}{dv}" if dv else None)

    for run_id, rec in records.items():
        info = infos.get(run_id)
        if info is None:
            continue
        new_versions = []
        for v in rec.versions:
            step = v.metadata.get("frontier/step") or v.asset.split("/")[0]
            mapping = re.search(r"\[([^\]]+)\]$", step)
            refs: list[InputRef] = []
            exact = pointed(v)
            if exact is not None:
                meta = dict(v.metadata, **{"frontier/lineage": "dagster instance events"})
                new_versions.append(replace(v, inputs=tuple(dict.fromkeys(exact)), metadata=meta))
                continue
            for up_step, up_output in info.loaded.get(step, ()):
                if f"{up_step}/{up_output}" in info.internal_outputs:
                    continue  # an op inside a graph-backed asset: its inputs are the asset's
                if up_step in assets_of_step:
                    for asset in sorted(assets_of_step[up_step]):
                        ref = asset_ref(asset, v.created_at.timestamp() + 1, run_id)
                        if ref:
                            refs.append(ref)
                    continue
                base = f"{up_step}/{up_output}"
                for source in chain(run_id):
                    have = keys_by_run.get(source, {})
                    if mapping and f"{base}/{mapping.group(1)}" in have:
                        hits = [f"{base}/{mapping.group(1)}"]
                    elif base in have:
                        hits = [base]
                    else:
                        hits = sorted(k for k in have if k.startswith(base + "/"))
                    if hits:
                        refs.extend(InputRef(k, source, have[k].content_hash) for k in hits)
                        break
                else:
                    refs.append(InputRef(base, run_id, None))  # loaded, but not in the store
            meta = dict(v.metadata, **{"frontier/lineage": "dagster instance events"})
            new_versions.append(replace(v, inputs=tuple(dict.fromkeys(refs)), metadata=meta))
        rec.versions = new_versions


def _stock_paths(asset: str, m: Any) -> list[str]:
    """Where UPathIOManager puts a materialization: ``<asset>``, ``<asset>/<partition>``, or
    for a multi-partition ``<asset>/<key>/<key>`` (the keys ordered by dimension name)."""
    if m.partition is None:
        return [asset]
    paths = []
    if m.dimensions:
        paths.append("/".join([asset, *(m.dimensions[d] for d in sorted(m.dimensions))]))
    elif "|" in m.partition:
        paths.append("/".join([asset, *m.partition.split("|")]))
    return paths + [f"{asset}/{m.partition}"]


def _stock_file(fs, root: str, m: Any) -> tuple[dict | None, str, str]:
    """The file a stock IO manager wrote for materialization ``m``: (its listing info or None,
    its path relative to the store, its data format)."""
    extensions = formats.stock_extensions()
    for key in _stock_paths(m.asset, m):
        for ext in ("",) + tuple(extensions):  # UPathIOManager subclasses add an extension
            try:
                info = fs.info(fmt.join(root, key + ext))
            except (FileNotFoundError, OSError):
                continue
            if info.get("type") != "directory":
                return info, key + ext, extensions.get(ext, "pickle")
    return None, m.asset, "pickle"


def _asset_records(fs, root: str, infos: dict[str, "DagsterRunInfo"], records: dict[str, RunRecord]) -> None:
    """Every materialization the instance recorded becomes a version of its run. A stock asset
    file (``<base>/<asset path>[/<partition>]``, multi-partitions at ``<asset>/<key>/<key>``)
    is overwritten each run, so it is the data of the run that materialized it last; the other
    materializations are versions without data in the store (``models.EXTERNAL``): overwritten
    since, or never written there (``MaterializeResult``, ``-> None``, an asset that stores its
    data itself or through another IO manager). Their metadata says which."""
    latest: dict[tuple[str, str], tuple[float, str, Any]] = {}
    for info in infos.values():
        for m in info.materializations:
            slot = (m.asset, m.partition or "")
            if slot not in latest or m.timestamp > latest[slot][0]:
                latest[slot] = (m.timestamp, info.run_id, m)
    made: dict[tuple, AssetVersion] = {}
    order = sorted(((m.timestamp, info.run_id, m) for info in infos.values() for m in info.materializations),
                   key=lambda t: (t[0], t[1]))
    for ts, run_id, m in order:
        if run_id not in records:
            continue
        newest = latest[(m.asset, m.partition or "")]
        found, rel, data_format = _stock_file(fs, root, m) if newest[2] is m else (None, m.asset, "pickle")
        try:
            key = fmt.check_asset_key(m.asset)
            part = fmt.check_partition(m.partition, rel) if m.partition is not None else None
        except Exception as exc:  # noqa: BLE001 - an odd key or partition is a warning
            records[run_id].warnings.append(f"{rel}: skipped ({exc})")
            continue
        common = {
            "asset": key, "run_id": run_id, "code_version": m.code_version, "partition": part,
            "partition_dimensions": m.dimensions if part is not None else None,
        }
        meta = {
            **m.metadata,
            "frontier/content_hash": "absent",
            "frontier/compare": "data versions" if m.data_version else "timestamps",
            "frontier/step": m.step_key or "",
        }
        if found is not None:
            chash = f"{DATA_VERSION}{m.data_version}" if m.data_version else f"{UNHASHED}{run_id}/{key}"
            v = AssetVersion(created_at=_mtime(found), data_path=rel, data_format=data_format,
                             size_bytes=int(found.get("size") or 0), content_hash=chash,
                             metadata={**meta, "frontier/overwritten_each_run": True}, **common)
        else:
            if newest[2] is m:
                meta["frontier/not_in_store"] = "no file at the asset's path: its value went elsewhere"
            else:
                meta["frontier/not_in_store"] = f"overwritten by run {newest[1]}"
            chash = (f"{DATA_VERSION}{m.data_version}" if m.data_version
                     else f"dagster-materialization:{m.storage_id if m.storage_id is not None else f'{run_id}/{key}'}")
            v = AssetVersion(created_at=utc(ts), data_path=None, data_format=EXTERNAL, size_bytes=0,
                             content_hash=chash, metadata=meta, **common)
        made[v.ident] = v  # a step retried within the run: its last materialization
    for v in made.values():
        records[v.run_id].versions.append(v)


def open_index(fs, root: str, progress: Progress | None = None, dagster_home: str | None = None) -> Index:
    """The index of a store that may hold frontier runs, stock Dagster runs, or both.

    Frontier runs (with manifests) are read as usual; folders without a manifest that are
    named like Dagster run ids (or known to the instance) are listed as stock runs. With
    ``dagster_home`` the instance supplies status, job, times, parent runs and lineage, and
    overlays the status of frontier runs that were never consolidated.
    """
    run_ids = list_run_ids(fs, root)
    escaping: list[str] = []
    outside_root = getattr(_index, "_outside_root", None)  # symlinked runs leaving a local store
    if outside_root is not None:
        run_ids, escaping = outside_root(fs, root, run_ids)
    frontier, warnings, no_manifest = read_runs(fs, root, run_ids, progress)
    warnings.extend(f"{r}/: symlink pointing outside the store, not followed" for r in escaping)
    infos: dict[str, DagsterRunInfo] = {}
    if dagster_home:
        from .instance import read_instance

        try:
            if frontier and not no_manifest:  # a frontier store: only runs never consolidated
                infos = read_instance(dagster_home, [r.run.run_id for r in frontier if not r.run.consolidated])
            else:
                infos = read_instance(dagster_home)
        except ModuleNotFoundError as exc:
            if exc.name != "dagster":
                raise
            warnings.append(
                f"Dagster is not installed, so the instance at {dagster_home} is not read "
                "(pip install dagster)"
            )
    stock_ids = [r for r in no_manifest if DAGSTER_RUN_ID.match(r) or r in infos]
    records: dict[str, RunRecord] = {}
    for run_id in stock_ids:
        rec = RunRecord(Run(run_id=run_id, job=None, status=UNKNOWN_STATUS, started_at=fmt.now()))
        _list_run(fs, root, run_id, rec)
        info = infos.get(run_id)
        rec.run = _run_from_info(info, rec.run.started_at) if info else _run_from_listing(run_id, rec.versions)
        if info:
            _mark_op_outputs(rec, info)
        records[run_id] = rec
    if infos:
        for run_id, info in infos.items():  # runs whose outputs are all stock asset files
            if run_id not in records and run_id not in run_ids and (info.materializations or info.checks or info.observations):
                records[run_id] = RunRecord(_run_from_info(info, fmt.now()))
        _asset_records(fs, root, infos, records)
        _lineage(records, infos)
        records = {rid: rec for rid, rec in records.items()
                   if rec.versions or rid in stock_ids or rec.run.checks or rec.run.observations}
        unconsolidated = [rec for rec in frontier if rec.run.run_id in infos and not rec.run.consolidated]
        if unconsolidated:  # the instance knows how they ended, and what their end will record
            from .eventlog import unrecorded_events  # (Dagster is installed: its instance was read)

            held = {(v.asset, v.run_id, v.partition): v.content_hash for rec in frontier for v in rec.versions}
            events = unrecorded_events(fs, root, [rec.run.run_id for rec in unconsolidated], dagster_home, held)
            for rec in unconsolidated:  # shown now, nothing written
                info, (versions, checks, observations) = infos[rec.run.run_id], events[rec.run.run_id]
                rec.versions.extend(versions)
                rec.run = replace(rec.run, status=info.status, finished_at=info.finished_at or rec.run.finished_at,
                                  checks=tuple(checks) or rec.run.checks,  # (the instance's record is the whole one)
                                  observations=tuple(observations) or rec.run.observations)
    all_records = frontier + list(records.values())
    if not all_records and not has_marker(fs, root):
        raise StoreNotFound(
            f"no frontier store at {root}: no run manifests ({fmt.META_DIR}/{fmt.RUN_MANIFEST}) "
            "and no Dagster run folders found"
        )
    asset_roots = {m.asset.split("/")[0] for info in infos.values() for m in info.materializations}
    skipped = [r for r in no_manifest  # asset folders are not runs
               if r not in records and r not in asset_roots and not _only_logs(fs, root, r)]
    if skipped and records and not infos:  # beside stock runs: most likely stock asset files
        shown = ", ".join(f"{fmt.printable(r)}/" for r in skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        warnings.append(f"{len(skipped)} folders beside the runs are no run folders, skipped ({shown}): Dagster's "
                        "stock asset files are attributed to their runs with --dagster-home")
    else:
        warnings.extend(f"{r}/: folder without a run manifest, skipped" for r in skipped)
    if records:
        how = (
            f"versions compared by Dagster's data versions (by timestamps where none was recorded); "
            f"lineage, status and times from the Dagster instance at {dagster_home}"
            if infos
            else "versions compared by timestamps; no lineage (pass --dagster-home to read it from the Dagster instance)"
        )
        warnings.append(f"{len(records)} runs in Dagster's stock layout (no sidecars): content hashes absent, {how}")
    return Index.from_records(all_records, warnings)


__all__ = ["open_index", "comparison_basis", "DAGSTER_RUN_ID", "UNHASHED", "DATA_VERSION", "UNKNOWN_STATUS"]
