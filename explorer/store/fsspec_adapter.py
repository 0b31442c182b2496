"""The one place that uses fsspec's private API (``tests/test_fsspec_adapter.py`` pins what is
relied on, so an fsspec upgrade that changes it fails there, not somewhere in a reader).

- ``strip_protocol``: a URL or path as the filesystem names it internally (``_strip_protocol``);
- ``open_takes_size``: whether the filesystem's ``_open`` accepts ``size=`` (s3fs does: a file
  opened with its size sends no HEAD);
- ``cat_many``: many small reads as one concurrent batch of plain GETs on async filesystems
  (``_cat_file`` and ``fsspec.asyn._run_coros_in_chunks``);
- ``names_after``: the names in a folder that sort after a given one, on S3 one ``ListObjectsV2``
  with ``StartAfter`` (s3fs's ``_call_s3``, which adds the request options and turns botocore's
  errors into OSErrors, and ``split_path``: s3fs's listings take no ``StartAfter``).
"""

from __future__ import annotations

import inspect
from typing import Any

import fsspec


def strip_protocol(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs._strip_protocol(path)


def open_takes_size(fs: fsspec.AbstractFileSystem) -> bool:
    try:
        return "size" in inspect.signature(fs._open).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False

def cat_many(fs: fsspec.AbstractFileSystem, paths: list[str], batch_size: int | None = None) -> list[Any]:
    """Read many small files: bytes or the exception, in order of ``paths``.

    Async filesystems (s3fs, gcsfs, adlfs, http) get one concurrent batch of plain GETs:
    ``_cat_file`` is called directly (no glob expansion of the paths) and, for s3fs, with
    ``max_concurrency=1`` so that it does not send a HEAD to learn the size before the GET.
    """
    if not paths:
        return []
    if getattr(fs, "async_impl", False):
        from fsspec.asyn import _run_coros_in_chunks, sync

        kw: dict[str, Any] = {}
        try:
            if "max_concurrency" in inspect.signature(fs._cat_file).parameters:
                kw["max_concurrency"] = 1
        except (TypeError, ValueError):  # pragma: no cover
            pass

        async def _go() -> list[Any]:
            coros = [fs._cat_file(p, **kw) for p in paths]
            return await _run_coros_in_chunks(
                coros, batch_size=batch_size or getattr(fs, "batch_size", None), nofiles=True, return_exceptions=True
            )

        return sync(fs.loop, _go)
    out: list[Any] = []
    for p in paths:
        try:
            out.append(fs.cat_file(p))
        except Exception as exc:  # noqa: BLE001 - reported per file by the caller
            out.append(exc)
    return out


def names_after(fs: fsspec.AbstractFileSystem, folder: str, after: str) -> list[str]:
    """The names (last path segment) of the files directly in ``folder`` that sort after
    ``after``, sorted. On S3 only those are listed (``StartAfter``: 1,000 a page); elsewhere the
    folder is listed and filtered. A missing folder has no names."""
    if hasattr(fs, "_call_s3") and hasattr(fs, "split_path"):
        from fsspec.asyn import sync

        bucket, key, _ = fs.split_path(folder)
        prefix = key.strip("/") + "/" if key.strip("/") else ""

        async def _go() -> list[str]:
            kw: dict[str, Any] = dict(Bucket=bucket, Prefix=prefix, StartAfter=prefix + after, Delimiter="/")
            out: list[str] = []
            while True:
                page = await fs._call_s3("list_objects_v2", **kw)
                out.extend(c["Key"][len(prefix):] for c in page.get("Contents", []))
                if not page.get("IsTruncated"):
                    return out
                kw["ContinuationToken"] = page["NextContinuationToken"]

        return sorted(n for n in sync(fs.loop, _go) if n > after)  # (_call_s3 raises OSErrors)
    try:
        listed = fs.ls(folder, detail=False)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in (p.rstrip("/").rsplit("/", 1)[-1] for p in listed) if n > after)
