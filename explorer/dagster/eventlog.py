"""What a run's event log in a Dagster instance holds that the IO manager never saw, read only.

Dagster calls no IO manager for outputs typed None / MaterializeResult, nor for asset checks and
observations; the instance's event log records them. :func:`run_events` reads one run's (or one
step's) records: a version stored outside the store for each materialization without one in the
store, with the inputs its event pointers name, and the run's check evaluations and
observations. The IO manager's side (``explorer.dagster.io``: the success hook, ``finish_run``)
writes them; a reader given ``--dagster-home`` shows them for the runs not consolidated yet
(:func:`unrecorded_events`), writing nothing.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import dagster as dg

from .. import format as fmt
from ..errors import ExplorerError
from ..models import AssetVersion, CheckResult, InputRef, Observation, utc
from ..store.writer import external_version
from . import events as dg_events

_EVENT_KINDS = ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "ASSET_OBSERVATION")


def _run_event_records(instance: Any, run_id: str) -> list[Any]:
    kinds = {dg.DagsterEventType(k) for k in _EVENT_KINDS}
    out, cursor = [], None
    while True:
        conn = instance.get_records_for_run(run_id, cursor=cursor, of_type=kinds, limit=1000)
        out.extend(conn.records)
        if not conn.has_more:
            return out
        cursor = conn.cursor


STEP_PAGES = (4, 16, 64, 256)  # how many records a step's hook reads at a time, newest first (then 256 a page)


def _step_event_records(instance: Any, run_id: str, step_key: str) -> list[Any]:
    """The records of one step (oldest first), for the success hook: the run's event log read
    backwards from its end down to that step's ``STEP_START``, so a step reads the events
    written since it started (its own and those of steps running beside it), never the whole
    run's: small pages first, as the step's own events are the newest. Without a ``STEP_START``
    (an older instance) the whole log is read."""
    kinds = {dg.DagsterEventType(k) for k in _EVENT_KINDS} | {dg.DagsterEventType.STEP_START}
    out, cursor, page = [], None, 0
    while True:
        limit = STEP_PAGES[min(page, len(STEP_PAGES) - 1)]
        page += 1
        conn = instance.get_records_for_run(run_id, cursor=cursor, of_type=kinds, limit=limit, ascending=False)
        for record in conn.records:
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key != step_key:
                continue
            if event.event_type_value == "STEP_START":
                return out[::-1]
            out.append(record)
        if not conn.has_more:
            return out[::-1]
        cursor = conn.cursor


def _pointed_run(instance: Any, asset: str, storage_id: int) -> tuple[str, str | None] | None:
    """(run id, partition) of the materialization or observation with that storage id."""
    key = dg.AssetKey.from_user_string(asset)
    for fetch in (instance.fetch_materializations, instance.fetch_observations):
        try:
            found = fetch(dg.AssetRecordsFilter(asset_key=key, storage_ids=[storage_id]), limit=1).records
        except Exception:  # noqa: BLE001 - an older instance: no such filter
            found = []
        for r in found:
            event = r.event_log_entry.dagster_event
            data = getattr(event, "event_specific_data", None)
            item = getattr(data, "materialization", None) or getattr(data, "asset_observation", None)
            part = getattr(item, "partition", None)
            return r.run_id, None if part is None else str(part)
    return None


def _upstream_history(instance: Any, asset: str, before: float, partition: str | None = None) -> list[tuple[float, str, Any]]:
    """The materializations of ``asset`` (of one ``partition`` only: its latest) recorded before
    ``before``, as ``(timestamp, run id, MaterializationFacts)`` oldest first."""
    key = dg.AssetKey.from_user_string(asset)
    out, cursor = [], None
    while True:
        flt = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition is not None else None,
                                    before_timestamp=before + 1e-6)
        page = instance.fetch_materializations(flt, limit=1 if partition is not None else 1000, cursor=cursor)
        for r in page.records:
            facts = dg_events.materialization(r.event_log_entry, storage_id=r.storage_id)
            if facts is not None:
                out.append((r.timestamp, r.run_id, facts))
        if partition is not None or not page.has_more:
            break
        cursor = page.cursor
    return sorted(out, key=lambda t: (t[0], t[1]))


def _partitions_read(instance: Any, up: str, read: str, facts: dg_events.MaterializationFacts) -> list[tuple[str, Any]] | None:
    """The upstream partitions a materialization read (``events.partitions_read``): the same
    partition key first (the identity mapping, one fetch), else the upstream's whole history
    before the materialization (another mapping: ``TimeWindowPartitionMapping`` and the like)."""
    try:
        if facts.partition is not None:
            found = dg_events.partitions_read(_upstream_history(instance, up, facts.timestamp, facts.partition),
                                              read, facts.timestamp, facts.partition)
            if found:
                return found
        return dg_events.partitions_read(_upstream_history(instance, up, facts.timestamp), read, facts.timestamp,
                                         facts.partition)
    except Exception:  # noqa: BLE001 - an older instance: no such filter; the pointer is then all that is known
        return None


def _external_inputs(fs: Any, root: str, instance: Any, facts: dg_events.MaterializationFacts,
                     held: Mapping[tuple[str, str, str | None], str] | None = None) -> tuple[InputRef, ...]:
    """The upstream versions a materialization read: the run that wrote (or observed) each, its
    partition, and its content hash (the store's version when it has one: from ``held`` or
    else its sidecar; else the data version Dagster recorded). The input event pointer names
    the upstream's latest materialization of any partition; for a partitioned upstream the
    partitions read are recovered from the input data version (``events.partitions_read``), as
    the stock reader does."""
    refs = []
    for up, (pointer, data_version) in sorted(facts.inputs.items()):
        if pointer is None:
            continue
        got = _pointed_run(instance, up, pointer)
        if got is None:
            continue
        run_id, partition = got
        # (run id, partition, the data version that stands for its content)
        read: list[tuple[str, str | None, str | None]] = [(run_id, partition, data_version)]
        if partition is not None and data_version:
            found = _partitions_read(instance, up, data_version, facts)
            if found:
                read = [(r, m.partition, m.data_version) for r, m in found]
        for run_id, partition, dv in read:
            content_hash = held.get((up, run_id, partition)) if held is not None else None
            if content_hash is None:
                content_hash = dg_events.data_version_hash(dv) if dv else None
                try:
                    raw = fs.cat_file(fmt.join(root, fmt.sidecar_path(run_id, up, partition)))
                    content_hash = fmt.parse_sidecar(fmt.loads(raw, up), up, run_id).content_hash
                except (FileNotFoundError, ExplorerError):
                    pass
            try:
                refs.append(InputRef(fmt.check_asset_key(up), fmt.check_run_id(run_id), content_hash, partition))
            except ExplorerError:
                continue
    return tuple(refs)


def run_events(
    fs: Any, root: str, run_id: str, instance: Any, step_key: str | None = None,
    held: Mapping[tuple[str, str, str | None], str] | None = None,
) -> tuple[list[AssetVersion], list[CheckResult], list[Observation]]:
    """What the event log of run ``run_id`` (of one step: ``step_key``) holds that the IO
    manager never saw, read, not written: for every asset materialization without a version in
    the store, a version stored outside the store (metadata, data version, code version, the
    inputs its event pointers name); the run's check evaluations; its observations. ``held``:
    the content hash of every version the caller has read already, by (asset, run id,
    partition), so that the store is not asked again (without it, sidecars are looked for)."""
    def recorded(key: str, partition: str | None) -> bool:
        if held is not None:
            return (key, run_id, partition) in held
        return fs.exists(fmt.join(root, fmt.sidecar_path(run_id, key, partition)))

    versions, checks, observations = [], [], []
    records = _run_event_records(instance, run_id) if step_key is None else _step_event_records(instance, run_id, step_key)
    for record in records:
        entry = record.event_log_entry
        check = dg_events.check_result(entry)
        if check is not None:
            checks.append(check)
            continue
        obs = dg_events.observation(entry)
        if obs is not None:
            observations.append(obs)
            continue
        facts = dg_events.materialization(entry, storage_id=record.storage_id)
        if facts is None:
            continue
        try:
            key = fmt.check_asset_key(facts.asset)
        except ExplorerError:
            continue
        if recorded(key, facts.partition):
            continue  # the IO manager wrote it
        try:
            versions.append(external_version(
                run_id, key, facts.content_hash, inputs=_external_inputs(fs, root, instance, facts, held),
                metadata=facts.metadata, code_version=facts.code_version,
                created_at=utc(facts.timestamp), partition=facts.partition, partition_dimensions=facts.dimensions,
            ))
        except ExplorerError:
            continue  # (a partition key or metadata the store cannot hold)
    return versions, checks, observations


def unrecorded_events(
    fs: Any, root: str, run_ids: Iterable[str], dagster_home: str, held: Mapping[tuple[str, str, str | None], str],
) -> dict[str, tuple[list[AssetVersion], list[CheckResult], list[Observation]]]:
    """:func:`run_events` of each run not consolidated yet, from the instance at
    ``dagster_home``, read only: what a reader shows of such a run as its end would record it.
    ``held``: the content hashes of the versions read from the store (none is made again)."""
    from .instance import open_instance

    instance = open_instance(dagster_home)
    try:
        return {run_id: run_events(fs, root, run_id, instance, held=held) for run_id in run_ids}
    finally:
        instance.dispose()


__all__ = ["run_events", "unrecorded_events", "STEP_PAGES"]
