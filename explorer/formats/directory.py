"""A directory of parquet files (a partitioned dataset, hive-style ``col=value/`` folders).

Every reader reads exactly the files the store's listing gives (``Location.files``: symbolic
links refused, names starting with ``.`` or ``_`` left out as pyarrow's discovery does), never
a glob of its own, which would follow a link out of the store or round a loop. Its content
hash covers every file, by relative path."""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Mapping, Sequence

from ..errors import ExplorerError
from . import register
from .base import Format, Location, duck_path, hash_file
from .parquet import parquet_bytes


def directory_hash(files: Mapping[str, str]) -> str:
    """Hash of a directory from ``{relative path: file content hash}``, order independent."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8") + b"\0" + files[rel].encode("ascii") + b"\n")
    return "sha256:" + h.hexdigest()


def _dataset(loc: Location) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(loc.files(True), filesystem=loc.fs, format="parquet",
                      partitioning="hive", partition_base_dir=loc.path)


class Directory(Format):
    name = "directory"
    extensions = ()
    kind = "table"
    table = True
    directory = True

    def write_tree(self, table: Any, partition_by: Sequence[str]) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        if partition_by:
            import pyarrow.compute as pc

            combos = table.select(list(partition_by)).group_by(list(partition_by)).aggregate([])
            for row in combos.to_pylist():
                mask = None
                for col, val in row.items():
                    cond = pc.is_null(table[col]) if val is None else pc.equal(table[col], val)
                    mask = cond if mask is None else pc.and_(mask, cond)
                part = table.filter(mask).drop_columns(list(partition_by))
                sub = "/".join(f"{c}={'__HIVE_DEFAULT_PARTITION__' if v is None else v}" for c, v in row.items())
                files[f"{sub}/part-0.parquet"] = parquet_bytes(part)
        else:
            files["part-0.parquet"] = parquet_bytes(table)
        return files

    def read(self, loc: Location, columns: list[str] | None = None, filter: Any = None) -> Any:
        return _dataset(loc).to_table(columns=columns, filter=filter)

    def schema(self, loc: Location) -> Any:
        return _dataset(loc).schema

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        head = _dataset(loc).head(offset + rows)
        return head.slice(offset) if offset else head

    def duckdb_source(self, loc: Location, con: Any = None) -> str:
        files = loc.files(True)
        if not files:
            v = loc.version
            raise ExplorerError(f"directory version {v.asset} of run {v.run_id} holds no parquet files")
        listed = ", ".join(duck_path(loc.url(f)) for f in files)
        return f"read_parquet([{listed}], hive_partitioning=true)"

    def allowed(self, loc: Location) -> tuple[list[str], list[str]]:
        return [], [loc.url(loc.path.rstrip("/"))]

    def hash(self, fs: Any, path: str, files: Callable[[bool], list[str]]) -> tuple[str, int]:
        hashes: dict[str, str] = {}
        total = 0
        base = path.rstrip("/") + "/"
        for f in files(False):  # every file, a symbolic link inside refused
            digest, size = hash_file(fs, f)
            hashes[f[len(base):] if f.startswith(base) else f] = digest
            total += size
        return directory_hash(hashes), total


register(Directory())
