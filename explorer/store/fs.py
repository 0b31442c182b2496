"""One way to open a filesystem: from a URL (any fsspec protocol or a local path) and options."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from typing import Any, Callable

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from ..errors import StoreNotFound
from .fsspec_adapter import strip_protocol


def coerce_option(value: Any) -> Any:
    """Turn a CLI string into the bool, int, float or None that fsspec expects."""
    if not isinstance(value, str):
        return value
    low = value.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def parse_storage_options(pairs: list[str] | None) -> dict[str, Any]:
    """``["endpoint_url=http://...", "anon=true"]`` -> dict. Raises ValueError on a bad pair."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"storage option {pair!r} is not KEY=VALUE")
        key, value = pair.split("=", 1)
        key = key.strip()
        # endpoint_url and friends belong to client_kwargs in s3fs but s3fs accepts it at top level
        out[key] = coerce_option(value)
    return out


_SECRET_WORDS = ("secret", "token", "password", "passwd", "credential", "private", "sas", "signature")
_SECRET_KEYS = {"key", "access_key", "account_key", "aws_access_key_id", "client_secret", "api_key"}


def is_secret_option(name: str) -> bool:
    """Whether a storage option holds a credential (never printed, logged or cached)."""
    low = str(name).lower()
    return low in _SECRET_KEYS or low.endswith("_key") or any(w in low for w in _SECRET_WORDS)


def redact_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Storage options safe to show: credential values replaced by ``"***"`` (nested dicts too)."""
    out: dict[str, Any] = {}
    for k, v in (options or {}).items():
        if is_secret_option(k):
            out[k] = "***"
        elif isinstance(v, dict):
            out[k] = redact_options(v)
        else:
            out[k] = v
    return out


def public_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Storage options without any credential (used to key the local index cache)."""
    out: dict[str, Any] = {}
    for k, v in (options or {}).items():
        if is_secret_option(k):
            continue
        out[k] = public_options(v) if isinstance(v, dict) else v
    return out


def protocol(fs: fsspec.AbstractFileSystem) -> str:
    """A filesystem's protocol (its first name when it has several: ``("s3", "s3a")`` -> ``s3``)."""
    return fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return protocol(fs) in ("file", "local")


def forget_listing(fs: fsspec.AbstractFileSystem, path: str) -> None:
    """Drop what ``fs`` remembers of the listing of ``path`` (another process may have written
    there since); a filesystem without a listings cache has nothing to drop."""
    try:
        fs.invalidate_cache(path)
    except Exception:  # noqa: BLE001 - a filesystem without a listings cache
        pass


def open_fs(url: "str | os.PathLike[str]", storage_options: dict[str, Any] | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """Return ``(filesystem, root path)`` for a store URL or local path (a ``str`` or a
    ``pathlib.Path``). Local paths are made absolute."""
    url = os.fspath(url)
    options = dict(storage_options or {})
    if url.startswith(("s3://", "s3a://")) and "region_name" in options:
        # botocore takes the region through the client, s3fs through client_kwargs
        options["client_kwargs"] = {**options.get("client_kwargs", {}), "region_name": options.pop("region_name")}
    if "://" not in url:
        url = os.path.abspath(os.path.expanduser(url))
    try:
        fs, root = url_to_fs(url, **options)
    except (ImportError, ValueError, TypeError) as exc:
        raise StoreNotFound(f"cannot open store {url}: {exc}") from None
    root = root.rstrip("/") or "/"
    if type(fs) is LocalFileSystem:  # (the same options: fsspec's default local filesystem)
        fs = StoreFiles(store_root=root, **fs.storage_options)
    return fs, root


def display_url(fs: fsspec.AbstractFileSystem, root: str) -> str:
    """The URL of a store as a user would type it (never with credentials)."""
    if is_local(fs):
        return root
    return f"{protocol(fs)}://{root}"


class KnownFiles(fsspec.AbstractFileSystem):
    """A store's filesystem for reading data files whose sizes the index already knows.

    Readers ask an object store about a file before reading it: s3fs sends a HEAD for
    ``info``, ``exists`` and every ``open`` without a size, and pyarrow and DuckDB ask for
    info and open a file several times per read (a diff of two parquet versions sent 58 HEADs
    for 12 GETs on S3). Versions are immutable and their sidecars record their sizes, so for
    those files this answers ``info``/``size``/``exists``/``modified`` from the index and opens
    them with the size given; everything else goes to the store's filesystem unchanged.
    DuckDB and pyarrow are given this object in place of the store's filesystem.
    """

    cachable = False  # one per index (fsspec would otherwise share instances by arguments)

    def __init__(self, fs: fsspec.AbstractFileSystem, files: dict[str, tuple[int, Any]]) -> None:
        super().__init__()
        self.fs = fs
        self.protocol = fs.protocol  # (DuckDB routes URLs to a filesystem by its protocol)
        self.files = files  # stripped path -> (size in bytes, committed at)

    def _known(self, path: str) -> tuple[int, Any] | None:
        return self.files.get(strip_protocol(self.fs, path))

    def _strip_protocol(self, path):  # noqa: D102 - the store's own rules
        return strip_protocol(self.fs, path)

    def unstrip_protocol(self, name: str) -> str:
        return self.fs.unstrip_protocol(name)

    def info(self, path, **kwargs):
        known = self._known(path)
        if known is None:
            return self.fs.info(path, **kwargs)
        return {"name": strip_protocol(self.fs, path), "size": known[0], "type": "file"}

    def size(self, path):
        known = self._known(path)
        return known[0] if known is not None else self.fs.size(path)

    def exists(self, path, **kwargs):
        return self._known(path) is not None or self.fs.exists(path, **kwargs)

    def isfile(self, path):
        return self._known(path) is not None or self.fs.isfile(path)

    def isdir(self, path):
        return self._known(path) is None and self.fs.isdir(path)

    def modified(self, path):
        known = self._known(path)
        return known[1] if known is not None else self.fs.modified(path)

    def ls(self, path, detail=True, **kwargs):
        return self.fs.ls(path, detail=detail, **kwargs)

    def find(self, path, maxdepth=None, withdirs=False, detail=False, **kwargs):
        return self.fs.find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)

    def glob(self, path, maxdepth=None, **kwargs):
        if self._known(path) is not None:  # a plain path of a known file: no listing
            return [strip_protocol(self.fs, path)]
        return self.fs.glob(path, maxdepth=maxdepth, **kwargs)

    def cat_file(self, path, start=None, end=None, **kwargs):
        known = self._known(path)
        if known is None:
            return self.fs.cat_file(path, start=start, end=end, **kwargs)
        size = known[0]  # (s3fs's cat_file would send a HEAD to learn the size it can read in parts)
        start = 0 if start is None else (start if start >= 0 else max(size + start, 0))
        end = size if end is None else (end if end >= 0 else max(size + end, 0))
        with self.open(path, "rb") as f:
            f.seek(start)
            return f.read(max(end - start, 0))

    def open(self, path, mode="rb", **kwargs):
        known = self._known(path)
        if known is None or "r" not in mode:
            return self.fs.open(path, mode, **kwargs)
        kwargs.setdefault("size", known[0])
        f = self.fs.open(path, mode, **kwargs)
        # s3fs asks for the file's details (a HEAD) on its first read even when the size is
        # given; fsspec's buffered files keep them in ``_details``: fill it from the index
        if getattr(f, "_details", False) is None:
            f._details = self.info(path)
        return f

    def _open(self, path, mode="rb", **kwargs):
        return self.open(path, mode, **kwargs)


# --------------------------------------------------------------------------- reading local files


class RefusedFile(OSError):
    """A local file a reader will not open: not a regular file (a FIFO, device, socket or
    folder), or a symbolic link that leaves the store or loops. The message names the file."""


def inside(real_root: str, path: str) -> bool:
    """Whether ``path``, symbolic links resolved, lies in the folder whose real path is ``real_root``."""
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def shown_path(path: str, root: str | None) -> str:
    """``path`` relative to the store's root, as a message names it."""
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1 :]
    return path


def check_readable(path: str, root: str | None = None, real_root: str | None = None) -> None:
    """Refuse, before it is opened, a local file that is not a regular file (opening a FIFO
    waits for a writer forever; a device never ends) or, under the store's folder ``root``
    (whose real path is ``real_root``), one whose path leaves the store through a symbolic link
    (of the file itself or of a folder on the way). Raises RefusedFile naming the file, or the
    OSError of ``lstat`` (FileNotFoundError, PermissionError)."""
    name = shown_path(path, root)
    base = (root or "").rstrip("/")
    if real_root is not None and root is not None and path.startswith(base + "/"):
        # one lstat per component below the root (a few microseconds); only a path with a
        # symbolic link on it is resolved (``realpath`` costs some 30 us in Python)
        linked = False
        for part in path[len(base) + 1 :].split("/"):
            base = f"{base}/{part}"
            st = os.lstat(base)
            linked = linked or stat.S_ISLNK(st.st_mode)
        if linked and not inside(real_root, path):
            raise RefusedFile(f"{name}: symlink pointing outside the store, not followed")
    else:
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RefusedFile(f"{name}: symlink loop, not followed") from None
            raise
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
        raise RefusedFile(f"{name}: not a regular file ({kind}); not read")


class StoreFiles(LocalFileSystem):
    """The local filesystem of one store: every file opened for reading is checked first by
    ``check_readable``, so a FIFO, a device or a symbolic link out of the store is refused with
    one line naming the file instead of hanging or reading outside. Everything the store's
    readers open goes through here: manifests and sidecars (the index), flags, and data read by
    pyarrow (a distinct class, so pyarrow calls it rather than swapping in its native local
    filesystem, which does not check)."""

    def __init__(self, store_root: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_root = store_root
        self.real_root = os.path.realpath(store_root) if store_root else None

    def _open(self, path, mode="rb", block_size=None, **kwargs):
        if "r" in mode and "+" not in mode:
            check_readable(strip_protocol(self, path), self.store_root, self.real_root)
        return super()._open(path, mode, block_size=block_size, **kwargs)


def replace_local(path: "str | os.PathLike[str]", write: Callable[[Any], Any]) -> Any:
    """Write a local file through a hidden temporary one beside it (``write(file)``), renamed
    over ``path`` once complete: a reader sees the old file or the new one, never a part.
    Returns what ``write`` returns; the temporary file never outlives a failure."""
    folder, name = os.path.split(os.fspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            out = write(fh)
        os.replace(tmp, path)
        return out
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Put ``data`` at ``path`` so that no reader sees half of it: on local disk through
    ``replace_local``; an object store's PUT is atomic already."""
    if is_local(fs):
        replace_local(path, lambda fh: fh.write(data))
    else:
        fs.pipe_file(path, data)


def create_exclusive(fs: fsspec.AbstractFileSystem, path: str, data: bytes) -> None:
    """Create the file ``path`` holding ``data``, only if nothing is there yet: raises
    FileExistsError otherwise, also when another process creates it at the same moment.

    On local disk the bytes go to a hidden temporary file which is then hard-linked into
    place (``link`` fails when the name exists, atomically), so a reader never sees half a
    file either; a disk without hard links falls back to ``O_EXCL``. On S3 the PUT is
    conditional (``If-None-Match: *``: s3fs's ``mode="create"``, whose 412 answer it turns
    into FileExistsError). Other backends get what their ``pipe_file(mode="create")`` offers
    (fsspec's default checks, then writes: exclusive only between polite writers).
    """
    if is_local(fs):
        folder, name = os.path.split(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.tmp-{os.urandom(4).hex()}")
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # no hard links here (some network or FAT disks)
                with open(path, "xb") as fh:
                    fh.write(data)
        finally:
            try:
                os.remove(tmp)
            except FileNotFoundError:
                pass
        return
    for attempt in range(3):
        try:
            fs.pipe_file(path, data, mode="create")
            return
        except FileExistsError:
            raise
        except OSError as exc:
            # AWS may answer 409 ConditionalRequestConflict while another conditional PUT of
            # the same key is in flight: ask again (the next answer is 200 or 412)
            code = getattr(exc.__cause__, "response", {}).get("Error", {}).get("Code")
            if code != "ConditionalRequestConflict" or attempt == 2:
                raise
