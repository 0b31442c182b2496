"""Run manifests for runs whose outputs are written one by one by an IO manager.

No Dagster import here: these functions work on any run-prefixed store.

A run written by :class:`~explorer.dagster.io.RunPrefixedIOManager` gets its manifest with
``status: running`` when its first output is handled. :func:`consolidate_run` later rewrites it
with the final status, the finish time and every sidecar of the run (one read per run for the
explorer instead of one per version). Until then the explorer reads the run from its sidecars,
so an unconsolidated run is complete, only its status may be out of date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from .. import format as fmt
from ..errors import ExplorerError, FormatError, WriteError
from ..models import CheckResult, Observation, Run, replace
from ..store.fs import open_fs
from ..store.writer import read_run_manifest, write_run_manifest

FINAL_STATUSES = ("success", "failed")


# one implementation for every writer: the same functions RunWriter uses
read_manifest = read_run_manifest
write_manifest = write_run_manifest


def _open(base_path: str, storage_options: Mapping[str, Any] | None):
    return open_fs(base_path, dict(storage_options or {}))


def mark_run_status(
    base_path: str,
    run_id: str,
    status: str,
    storage_options: Mapping[str, Any] | None = None,
    finished_at: datetime | None = None,
    job: str | None = None,
) -> Run:
    """Set a run's status without consolidating (other steps may still be writing).

    Used by the failure hook: the run is known to fail, but versions written after this call
    must still be found, so the explorer keeps reading the run's sidecars.
    """
    if status not in ("running",) + FINAL_STATUSES:
        raise WriteError(f"invalid status {status!r}")
    fs, root = _open(base_path, storage_options)
    fmt.check_run_id(run_id)
    run = read_manifest(fs, root, run_id)
    new = run is None
    if run is None:
        run = Run(run_id=run_id, job=job, status=status, started_at=finished_at or fmt.now())
    if run.consolidated:
        return run  # already final
    run = replace(run, status=status, finished_at=(finished_at or fmt.now()) if status != "running" else None)
    return write_manifest(fs, root, run, new=new)


def consolidate_run(
    base_path: str,
    run_id: str,
    status: str,
    storage_options: Mapping[str, Any] | None = None,
    finished_at: datetime | None = None,
    job: str | None = None,
    started_at: datetime | None = None,
    checks: tuple[CheckResult, ...] | None = None,
    observations: tuple[Observation, ...] | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> Run:
    """Finalize a run: its final ``status`` (``success`` or ``failed``), finish time and all
    its sidecars in one manifest. Safe to call again (it re-reads the sidecars).

    A run that handled no output at all gets a manifest too, so that it is listed.
    ``checks`` and ``observations`` (read from Dagster's event log by
    ``explorer.dagster.io.finish_run``) replace those the manifest had; ``tags`` and
    ``parent_run_id`` are used for a run that had no manifest yet.
    """
    if status not in FINAL_STATUSES:
        raise WriteError(f"invalid final status {status!r}: use 'success' or 'failed'")
    fs, root = _open(base_path, storage_options)
    fmt.check_run_id(run_id)
    try:
        run = read_manifest(fs, root, run_id)
    except FormatError as exc:
        raise ExplorerError(f"cannot consolidate run {run_id}: {exc}") from None
    finished = finished_at or fmt.now()
    new = run is None
    if run is None:
        run = Run(run_id=run_id, job=job, status=status, started_at=started_at or finished,
                  tags={str(k): str(v) for k, v in (tags or {}).items()},
                  parent_run_id=fmt.check_run_id(parent_run_id) if parent_run_id else None)
    run = replace(run, status=status, finished_at=finished, job=run.job or job)
    if checks is not None:
        run = replace(run, checks=tuple(checks))
    if observations is not None:
        run = replace(run, observations=tuple(observations))
    return write_manifest(fs, root, run, consolidate=True, new=new)
