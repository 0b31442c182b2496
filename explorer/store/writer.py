"""The writer: one run's outputs, each with its sidecar, and the run manifest.

Protocol (see docs/store-format.md):
1. at start the run manifest is written with ``status: running`` and the plan;
2. each ``write`` puts the data first, then the sidecar (its presence commits the version);
3. at exit the manifest is rewritten with the final status and every sidecar of the run
   (read back from the store, so versions written by other processes are included).
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import format as fmt
from .. import formats
from ..errors import ExplorerError, FormatError, WriteError
from ..formats.base import sha256, to_arrow
from ..formats.directory import directory_hash
from ..models import EXTERNAL, AssetVersion, InputRef, PlannedAsset, Run, replace
from .fs import create_exclusive, open_fs, write_atomic

InputSpec = str | tuple[str, str] | tuple[str, str, str] | InputRef | AssetVersion
PartitionSpec = str | Mapping[str, str] | None


def partition_key(partition: PartitionSpec, dimensions: Mapping[str, str] | None = None,
                  where: str = "partition") -> tuple[str | None, dict[str, str] | None]:
    """(partition key, dimensions) of what a writer is given: a key (``"2023-01-22"``), or a
    multi-partition as ``{dimension: key}`` whose key is Dagster's: the keys ordered by
    dimension name, joined by ``|`` (``"blue|2022-01-01"``)."""
    if partition is None:
        if dimensions:
            raise WriteError("partition_dimensions given without a partition")
        return None, None
    try:
        if isinstance(partition, Mapping):
            dims = fmt.check_dimensions(dict(sorted((str(k), v) for k, v in partition.items())), where)
            return "|".join(dims.values()), dims
        return fmt.check_partition(partition, where), fmt.check_dimensions(dict(dimensions), where) if dimensions else None
    except FormatError as exc:
        raise WriteError(str(exc)) from None


def new_run_id(when: datetime | None = None) -> str:
    """A time-sortable run id: ``20261124T023954Z-3f9a1c``."""
    when = when or fmt.now()
    return when.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def serialize(value: Any, data_format: str) -> bytes:
    """Bytes of a single-file version in the given format."""
    try:
        f = formats.get(data_format)
    except FormatError as exc:
        raise WriteError(str(exc)) from None
    return f.write(value)


def put(fs, root: str, rel: str, data: bytes, exclusive: bool = False) -> None:
    """Write ``data`` at ``rel`` under the store root.

    On local disk the bytes go to a hidden temporary file that is then renamed into place, so a
    reader never sees a half-written sidecar or manifest (object stores' PUTs are atomic already).
    With ``exclusive`` the file must not exist yet (FileExistsError otherwise, also when another
    writer creates it at the same moment: see ``fs.create_exclusive``).
    """
    path = fmt.join(root, rel)
    if exclusive:
        create_exclusive(fs, path, data)
        return
    write_atomic(fs, path, data)


def _write_tree(fs, root: str, rel: str, files: Mapping[str, bytes]) -> tuple[int, str]:
    """A directory version's files (each exclusive), and its (size, content hash)."""
    hashes = {}
    for sub, data in files.items():
        put(fs, root, fmt.join(rel, sub), data, exclusive=True)
        hashes[sub] = sha256(data)
    return sum(len(d) for d in files.values()), directory_hash(hashes)


def read_run_sidecars(fs, root: str, run_id: str) -> list[AssetVersion]:
    """Every committed version of a run, read from its sidecars (broken ones are skipped)."""
    folder = fmt.join(root, fmt.versions_dir(run_id))
    try:
        names = [p for p in fs.ls(folder, detail=False) if p.endswith(".json")]
    except FileNotFoundError:
        names = []
    out = []
    for path in sorted(names):
        try:
            out.append(fmt.parse_sidecar(fmt.loads(fs.cat_file(path), path), path, run_id))
        except (FormatError, FileNotFoundError):
            continue  # a broken sidecar is reported by readers; consolidation keeps the rest
    return out


def write_version(
    fs,
    root: str,
    run_id: str,
    key: str,
    value: Any,
    inputs: Sequence[InputRef] = (),
    data_format: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    code_version: str | None = None,
    keys: Sequence[str] = (),
    partition_by: Sequence[str] = (),
    clock: Callable[[], datetime] | None = None,
    data_rel: str | None = None,
    partition: str | None = None,
    partition_dimensions: Mapping[str, str] | None = None,
) -> AssetVersion:
    """Write one version into an existing run: data first, then its sidecar (which commits it).

    The lower level of ``RunWriter.write``, also used by the Dagster IO manager. ``data_rel``
    overrides where the data goes (it must stay inside the run's prefix); by default it is
    ``<run_id>/<key>.<ext>`` (``<run_id>/<key>/<partition>.<ext>`` for a partition, see
    ``fmt.partition_path``). Never overwrites a version.
    """
    clock = clock or fmt.now
    key = fmt.check_asset_key(key)
    partition, dims = partition_key(partition, partition_dimensions, f"partition of {key!r}")
    try:
        inferred = formats.infer(value) if data_format is None else None
    except WriteError as exc:
        raise WriteError(f"cannot write {key!r}: {exc}") from None
    if data_format is None and inferred is None:
        raise WriteError(f"cannot write {key!r}: cannot store a {type(value).__name__} without format=: "
                         "pass format='pickle' to pickle it")
    try:
        f = inferred or formats.get(data_format)
    except FormatError as exc:
        raise WriteError(str(exc)) from None
    data_format = f.name
    if data_rel is None:
        rel = fmt.data_path(run_id, key, data_format, partition, dims)
    else:
        rel = fmt.check_relative_path(data_rel, "data path", key)
        if not rel.startswith(run_id + "/"):
            raise WriteError(f"data path {rel!r} is outside run {run_id}")
    side = fmt.sidecar_path(run_id, key, partition)
    if partition is not None:  # a long partition key could make a file name no file system takes
        try:
            fmt.check_relative_path(rel + ".json", "data path", key)  # (the longest extension written)
            fmt.check_relative_path(side, "sidecar path", key)
        except FormatError as exc:
            raise WriteError(f"cannot write partition {fmt.printable(partition)!r} of {key!r}: {exc}") from None
    # the metadata as readers will see it (strict JSON, bounded nesting), checked before any write
    stored_metadata = fmt.check_value_depth(json.loads(fmt.dumps(dict(metadata or {}))), f"version {key!r} of run {run_id}")
    if fs.exists(fmt.join(root, rel)) or fs.exists(fmt.join(root, side)):
        raise WriteError(f"{rel} already exists; versions are never overwritten")

    try:
        table = to_arrow(value) if f.table else None
    except WriteError as exc:  # a mixed-type column, say: name the asset, with format= too
        raise WriteError(f"cannot write {key!r}: {exc}") from None
    try:
        if f.directory:
            if table is None:
                raise WriteError(f"format {f.name} needs a DataFrame or Arrow table")
            size, chash = _write_tree(fs, root, rel, f.write_tree(table, partition_by))
        else:
            data = f.write(table if table is not None else value)  # (a frame converted once)
            put(fs, root, rel, data, exclusive=True)
            size, chash = len(data), sha256(data)
    except FileExistsError:
        raise WriteError(f"{rel} was written by another writer of run {run_id}; versions are never overwritten") from None
    missing_keys = [k for k in keys if table is not None and k not in table.column_names]
    if missing_keys:
        raise WriteError(f"key columns {missing_keys} are not columns of {key!r}")

    version = AssetVersion(
        asset=key,
        run_id=run_id,
        created_at=clock(),
        data_path=rel,
        data_format=data_format,
        size_bytes=size,
        content_hash=chash,
        code_version=code_version,
        metadata=stored_metadata,
        inputs=tuple(inputs),
        table=f.statistics(table) if table is not None else None,
        keys=tuple(keys),
        partition=partition,
        partition_dimensions=dims,
    )
    try:
        put(fs, root, side, fmt.dumps(fmt.sidecar_doc(version)), exclusive=True)
    except FileExistsError:
        raise WriteError(f"{side} was committed by another writer of run {run_id}; versions are never overwritten") from None
    return version


def write_external_version(fs, root: str, run_id: str, key: str, content_hash: str, **facts: Any) -> AssetVersion:
    """Commit a version whose value is not in the store (the asset wrote it elsewhere, or
    returned only metadata): a sidecar with no data file, ``data_format`` EXTERNAL. Its
    ``content_hash`` stands for the data (a Dagster data version, say); ``facts``: the rest of
    :func:`external_version`'s arguments. Never overwrites."""
    return commit_version(fs, root, external_version(run_id, key, content_hash, **facts))


def commit_version(fs, root: str, version: AssetVersion) -> AssetVersion:
    """Write ``version``'s sidecar, which commits it; never overwrites one."""
    side = fmt.sidecar_path(version.run_id, version.asset, version.partition)
    try:
        put(fs, root, side, fmt.dumps(fmt.sidecar_doc(version)), exclusive=True)
    except FileExistsError:
        raise WriteError(f"{side} already exists; versions are never overwritten") from None
    return version


def external_version(
    run_id: str,
    key: str,
    content_hash: str,
    inputs: Sequence[InputRef] = (),
    metadata: Mapping[str, Any] | None = None,
    code_version: str | None = None,
    created_at: datetime | None = None,
    partition: str | None = None,
    partition_dimensions: Mapping[str, str] | None = None,
) -> AssetVersion:
    """The version :func:`write_external_version` commits, checked as it checks it, not written."""
    key = fmt.check_asset_key(key)
    partition, dims = partition_key(partition, partition_dimensions, f"partition of {key!r}")
    stored_metadata = fmt.check_value_depth(json.loads(fmt.dumps(dict(metadata or {}))), f"version {key!r} of run {run_id}")
    if not isinstance(content_hash, str) or not content_hash:
        raise WriteError(f"{key}: a version needs a content hash")
    version = AssetVersion(
        asset=key, run_id=fmt.check_run_id(run_id), created_at=created_at or fmt.now(), data_path=None,
        data_format=EXTERNAL, size_bytes=0, content_hash=content_hash, code_version=code_version,
        metadata=stored_metadata, inputs=tuple(inputs), partition=partition, partition_dimensions=dims,
    )
    return version


def read_run_manifest(fs, root: str, run_id: str) -> Run | None:
    """The run's manifest, or None when it has none (yet)."""
    got = _read_manifest_doc(fs, root, run_id)
    return got[0] if got is not None else None


def _read_manifest_doc(fs, root: str, run_id: str) -> tuple[Run, dict[str, Any]] | None:
    rel = fmt.run_manifest_path(run_id)
    try:
        raw = fs.cat_file(fmt.join(root, rel))
    except FileNotFoundError:
        return None
    doc = fmt.loads(raw, rel)
    return fmt.parse_run(doc, rel, run_id), doc


_log = logging.getLogger(__name__)


def register_run(fs, root: str, run_id: str, at: datetime | None = None) -> str | None:
    """Add ``run_id`` to the store's run log: an empty object ``_frontier_runs/<UTC time>--<run
    id>``, the time taken from this machine's wall clock (never a writer's injected clock: the
    log's order is real time). Returns its name, or None when it could not be written.

    Never fails the run. When the registration cannot be written (twice), the store marker is
    rewritten with ``run_log: false`` so that readers list the store's root again instead of
    trusting a log that lacks this run; if even that fails, a warning says so (the run is then
    found by a full listing, or once a checkpoint written ``RUN_LOG_MARGIN`` later covers it)."""
    error: Exception | None = None
    for _ in range(2):
        try:
            name = fmt.run_log_name(run_id, at or datetime.now(timezone.utc))
            put(fs, root, fmt.run_log_path(name), b"")
            return name
        except Exception as exc:  # noqa: BLE001 - the run is written whatever happens here
            error = exc
    try:
        put(fs, root, fmt.STORE_MARKER, fmt.dumps(fmt.store_marker_doc(run_log=False)))
        _log.warning("run %s could not be registered in %s (%s): the store's marker now says run_log false",
                     run_id, fmt.RUN_LOG_DIR, error)
    except Exception as exc:  # noqa: BLE001
        _log.warning("run %s could not be registered in %s (%s) nor the store marker rewritten (%s): "
                     "readers through a checkpoint may miss it until a later checkpoint or a full listing",
                     run_id, fmt.RUN_LOG_DIR, error, exc)
    return None


def write_run_manifest(fs, root: str, run: Run, consolidate: bool = False, create: bool = False,
                       new: bool = False) -> Run:
    """Write ``run``'s manifest (and the store marker if the store has none). With
    ``consolidate`` the manifest carries every sidecar of the run, read back from the store
    (so versions written by other processes are included). With ``create`` the manifest must
    not exist yet: of writers starting the same run at once exactly one succeeds, the others
    get a WriteError naming the run. With ``create`` or ``new`` (the caller found no manifest:
    this is the run's first) the run is registered in the run log once its manifest is written
    (``register_run``)."""
    if not fs.exists(fmt.join(root, fmt.STORE_MARKER)):
        try:
            put(fs, root, fmt.STORE_MARKER, fmt.dumps(fmt.store_marker_doc()), exclusive=True)
        except FileExistsError:
            pass  # another writer made it
    versions = read_run_sidecars(fs, root, run.run_id) if consolidate else None
    if versions is not None:
        run = replace(run, consolidated=True, asset_count=len(versions))
    try:
        put(fs, root, fmt.run_manifest_path(run.run_id), fmt.dumps(fmt.run_doc(run, versions)), exclusive=create)
    except FileExistsError:
        raise WriteError(f"run {run.run_id} already exists in {root} (another writer started it)") from None
    if create or new:
        register_run(fs, root, run.run_id)
    return run


def _column_lineage_entry(key: str, value: Any, spec: Mapping[str, Iterable[Any]], inputs: Sequence[InputRef]) -> dict[str, Any]:
    """``column_lineage=`` checked against the inputs and the table's columns, as metadata."""
    try:
        entry = fmt.column_lineage_entry(spec)
    except FormatError as exc:
        raise WriteError(f"{key}: {exc}") from None
    consumed = {i.asset for i in inputs}
    columns = getattr(value, "column_names", None)
    if columns is None and hasattr(value, "columns"):
        columns = [str(c) for c in value.columns]
    for column, deps in entry["deps_by_column"].items():
        if columns is not None and column not in columns:
            raise WriteError(f"{key}: column_lineage names column {column!r}, which the table does not have")
        for d in deps:
            if d["asset_key"] not in consumed:
                raise WriteError(f"{key}: column_lineage of {column!r} names {d['asset_key']!r}, which is not among its inputs")
    return {fmt.COLUMN_LINEAGE_KEY: entry}


class RunWriter:
    """Write one run of a pipeline to a store.

    >>> with RunWriter("/data/store", job="training", code_version="abc123") as run:
    ...     run.write("raw_data", df)
    ...     run.write("features", feats, inputs=["raw_data"])
    """

    def __init__(
        self,
        url: str,
        job: str | None = None,
        code_version: str | None = None,
        tags: Mapping[str, str] | None = None,
        storage_options: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
        plan: Mapping[str, Sequence[str] | None] | Iterable[str] | None = None,
        started_at: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
        checkpoint_every: int | None = None,
    ) -> None:
        self.fs, self.root = open_fs(url, dict(storage_options or {}))
        self.clock = clock or fmt.now
        if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every < 1):
            raise WriteError(f"checkpoint_every must be a positive number of runs, not {checkpoint_every!r}")
        self.checkpoint_every = checkpoint_every
        started = started_at or self.clock()
        self.run_id = fmt.check_run_id(run_id or new_run_id(started))
        self._run = Run(
            run_id=self.run_id,
            job=job,
            status="running",
            started_at=started,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            code_version=code_version,
            parent_run_id=fmt.check_run_id(parent_run_id) if parent_run_id else None,
            planned=self._plan(plan, code_version),
        )
        self._written: dict[tuple[str, str | None], AssetVersion] = {}
        self._started = False
        self._finished = False
        self._joined = False

    @classmethod
    def join(
        cls,
        url: str,
        run_id: str,
        storage_options: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> "RunWriter":
        """Write into a run that another process started (as a multiprocess executor does).

        A joined writer adds versions only; leaving its ``with`` block does not finish the run:
        the process that started the run calls ``finish()``, which consolidates every sidecar
        written by every process.
        """
        self = cls(url, run_id=run_id, storage_options=storage_options, clock=clock)
        run = read_run_manifest(self.fs, self.root, self.run_id)
        if run is None:
            raise WriteError(f"run {run_id} does not exist in {self.root}; start it first")
        if run.status != "running":
            raise WriteError(f"run {run_id} is {run.status}; only running runs can be joined")
        self._run = run
        self._started = True
        self._joined = True
        return self

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _plan(plan: Any, code_version: str | None) -> tuple[PlannedAsset, ...]:
        if plan is None:
            return ()
        if isinstance(plan, Mapping):
            return tuple(
                PlannedAsset(fmt.check_asset_key(k), tuple(v) if v is not None else None, code_version)
                for k, v in plan.items()
            )
        return tuple(PlannedAsset(fmt.check_asset_key(k), None, code_version) for k in plan)

    def _abs(self, rel: str) -> str:
        return fmt.join(self.root, rel)

    def _put(self, rel: str, data: bytes) -> None:
        put(self.fs, self.root, rel, data)

    @property
    def run(self) -> Run:
        return self._run

    @property
    def versions(self) -> dict[str | tuple[str, str], AssetVersion]:
        """The versions this writer committed, by asset key ((key, partition) for a partition)."""
        return {(k if p is None else (k, p)): v for (k, p), v in self._written.items()}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "RunWriter":
        if self._started:
            return self
        if self.fs.exists(self._abs(fmt.run_manifest_path(self.run_id))):
            raise WriteError(f"run {self.run_id} already exists in {self.root}")
        write_run_manifest(self.fs, self.root, self._run, create=True)
        self._started = True
        return self

    def __enter__(self) -> "RunWriter":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._joined:
            return  # the run's owner finishes it
        self.finish("failed" if exc_type is not None else "success")

    def finish(self, status: str = "success") -> Run:
        """Mark the run finished and write the consolidated manifest."""
        if self._finished:
            return self._run
        self.start()
        if status not in ("success", "failed"):
            raise WriteError(f"invalid final status {status!r}")
        finished = replace(self._run, status=status, finished_at=self.clock())
        self._run = write_run_manifest(self.fs, self.root, finished, consolidate=True)
        self._finished = True
        if self.checkpoint_every:
            self._maybe_checkpoint()
        return self._run

    def _maybe_checkpoint(self) -> None:
        """With ``checkpoint_every=N``: write a checkpoint once N runs are listed beyond the newest
        one (two listings per finished run). The run is already safe: a failure here is a log
        line, never an error of the run."""
        from . import checkpoint
        from .read import list_run_ids

        try:
            if len(list_run_ids(self.fs, self.root)) - checkpoint.covered(self.fs, self.root) >= self.checkpoint_every:
                checkpoint.write(self.fs, self.root, self.clock)
        except Exception as exc:  # noqa: BLE001 - the run is committed whatever happens here
            logging.getLogger("explorer").warning("run %s: no checkpoint written (%s: %s)", self.run_id,
                                                  type(exc).__name__, exc)

    # ------------------------------------------------------------------ inputs
    def _resolve_input(self, spec: InputSpec) -> InputRef:
        if isinstance(spec, AssetVersion):
            return spec.ref
        if isinstance(spec, InputRef):
            return spec
        partition = None
        if isinstance(spec, str):
            key, run_id = spec, self.run_id
        elif isinstance(spec, tuple) and len(spec) in (2, 3):
            key, run_id, partition = spec if len(spec) == 3 else (*spec, None)
            run_id = run_id or self.run_id
        else:
            raise WriteError(f"invalid input {spec!r}: use a key, (key, run_id), (key, run_id, partition) or an AssetVersion")
        key = fmt.check_asset_key(key)
        partition, _ = partition_key(partition, None, f"partition of input {key!r}")
        if run_id == self.run_id and (key, partition) in self._written:
            return self._written[(key, partition)].ref
        run_id = fmt.check_run_id(run_id)
        path = self._abs(fmt.sidecar_path(run_id, key, partition))
        what = repr(key) + (f" partition {partition!r}" if partition is not None else "")
        try:
            doc = fmt.loads(self.fs.cat_file(path), path)
        except FileNotFoundError:
            if run_id == self.run_id:
                raise WriteError(f"input {what} has not been written in run {run_id}") from None
            raise WriteError(f"input {what} has no version in run {run_id}") from None
        return fmt.parse_sidecar(doc, path, run_id).ref

    # ------------------------------------------------------------------ write
    def write(
        self,
        key: str,
        value: Any,
        inputs: Iterable[InputSpec] = (),
        format: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        code_version: str | None = None,
        keys: Sequence[str] = (),
        partition_by: Sequence[str] = (),
        partition: PartitionSpec = None,
        partition_dimensions: Mapping[str, str] | None = None,
        column_lineage: Mapping[str, Iterable[Any]] | None = None,
    ) -> AssetVersion:
        """Write one asset version: data first, then its sidecar. Returns the committed version.

        ``partition`` makes it a version of one partition of the asset (a key, or a
        multi-partition as ``{dimension: key}``); a run may write many partitions of one asset
        (a backfill), each once.

        ``format`` is inferred (parquet for tables, json for dicts and lists, npy for arrays,
        bytes for bytes); pickle is used only when asked by name. ``format='directory'``
        writes a table as a directory of parquet files, hive-partitioned by ``partition_by``.
        ``column_lineage`` maps columns of the table to the ``(input asset, column)`` pairs each
        is derived from (recorded as Dagster's ``dagster/column_lineage`` metadata entry).
        """
        if self._finished:
            raise WriteError(f"run {self.run_id} is finished; start a new run")
        self.start()
        key = fmt.check_asset_key(key)
        part, dims = partition_key(partition, partition_dimensions, f"partition of {key!r}")
        if (key, part) in self._written:
            what = repr(key) + (f" partition {part!r}" if part is not None else "")
            raise WriteError(f"{what} was already written in run {self.run_id}; versions are never overwritten")
        resolved = tuple(self._resolve_input(i) for i in inputs)
        if column_lineage is not None:
            metadata = {**(metadata or {}), **_column_lineage_entry(key, value, column_lineage, resolved)}
        if self._joined:
            self._check_still_running(key)
        version = write_version(
            self.fs,
            self.root,
            self.run_id,
            key,
            value,
            inputs=resolved,
            data_format=format,
            metadata=metadata,
            code_version=code_version if code_version is not None else self._run.code_version,
            keys=keys,
            partition_by=partition_by,
            clock=self.clock,
            partition=part,
            partition_dimensions=dims,
        )
        self._written[(key, part)] = version
        if self._joined:
            self._check_still_running(key, committed=True, partition=part)
        return version

    def _check_still_running(self, key: str, committed: bool = False, partition: str | None = None) -> None:
        """A joined writer's versions count only while the run's owner has not finished it
        (the owner's consolidated manifest lists the versions of the run): before writing, and
        again after committing (the owner may have finished meanwhile), a finished run that
        does not list ``key`` is a WriteError for this writer."""
        got = _read_manifest_doc(self.fs, self.root, self.run_id)
        if got is None or got[0].status == "running":
            return
        run, doc = got
        listed = any(isinstance(d, dict) and d.get("asset") == key and d.get("partition") == partition
                     for d in doc.get("versions") or ())
        if committed and listed:
            return
        if committed:
            raise WriteError(
                f"run {self.run_id} was finished ({run.status}) by its owner before {key!r} was committed:"
                " that version is not part of the run"
            )
        raise WriteError(f"run {self.run_id} was finished ({run.status}) by its owner; a joined writer cannot add {key!r} to it")


__all__ = ["RunWriter", "write_version", "write_external_version", "external_version", "commit_version", "read_run_sidecars", "read_run_manifest", "write_run_manifest", "put", "new_run_id", "serialize", "directory_hash", "ExplorerError"]
