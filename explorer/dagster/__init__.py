"""Dagster integration (optional extra ``frontier-explore[dagster]``).

- :class:`RunPrefixedIOManager` writes op and asset outputs into a run-prefixed store with the
  store format's sidecars and run manifest (``explorer.dagster.io``);
- :func:`consolidate_run` / :func:`consolidate_finished_runs` finalize runs, and
  :func:`frontier_hooks` / :func:`consolidation_sensors` do it for you;
- stores written by Dagster's stock ``fs_io_manager`` (no sidecars) are read by
  ``explorer.dagster.stock`` (which does not need Dagster), and lineage, run status and timings
  come from a Dagster instance through ``explorer.dagster.instance`` when one is given.

Only the names that need Dagster import it, on first use, so ``explorer.dagster.stock`` works
without Dagster installed.
"""

from __future__ import annotations

from typing import Any

_IO_NAMES = {
    "RunPrefixedIOManager",
    "consolidate_finished_runs",
    "frontier_hooks",
    "consolidation_sensors",
    "finish_run",
    "record_run_events",
}
_INSTANCE_NAMES = {"read_instance", "DagsterRunInfo"}
_MANIFEST_NAMES = {"consolidate_run", "mark_run_status"}

__all__ = sorted(_IO_NAMES | _INSTANCE_NAMES | _MANIFEST_NAMES)


def _need_dagster(name: str) -> ImportError:
    return ImportError(f"explorer.dagster.{name} needs Dagster: pip install 'frontier-explore[dagster]'")


def __getattr__(name: str) -> Any:
    if name in _IO_NAMES:
        try:
            from . import io
        except ModuleNotFoundError as exc:
            if exc.name == "dagster":
                raise _need_dagster(name) from None
            raise
        return getattr(io, name)
    if name in _MANIFEST_NAMES:
        from . import manifest

        return getattr(manifest, name)
    if name in _INSTANCE_NAMES:
        try:
            from . import instance
        except ModuleNotFoundError as exc:  # pragma: no cover - instance imports dagster lazily
            if exc.name == "dagster":
                raise _need_dagster(name) from None
            raise
        return getattr(instance, name)
    raise AttributeError(f"module 'explorer.dagster' has no attribute {name!r}")
