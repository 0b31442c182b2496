"""Integrity: recompute content hashes and compare them with the sidecars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .errors import ExplorerError
from .models import AssetVersion
from .store import data as data_mod
from .store.fs import KnownFiles

if TYPE_CHECKING:  # pragma: no cover
    from .store.source import Source


@dataclass(frozen=True)
class Integrity:
    """The result of checking one version's bytes against its sidecar."""

    asset: str
    run_id: str
    status: str  # ok, modified, truncated, missing, unreadable, unverifiable, outside (no data in the store)
    expected_hash: str
    actual_hash: str | None
    expected_size: int
    actual_size: int | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True unless the data no longer matches what was recorded (an unverifiable version,
        which has no hash to match, is not known to have changed)."""
        return self.status in ("ok", "unverifiable", "outside")

    def passes(self, allow_unverifiable: bool = False) -> bool:
        """Whether ``verify`` accepts this version: its bytes match their sha256, or, only when
        ``allow_unverifiable``, it has no usable hash to check them against."""
        return self.status in ("ok", "outside") or (allow_unverifiable and self.status == "unverifiable")

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "run_id": self.run_id,
            "status": self.status,
            "expected_hash": self.expected_hash,
            "actual_hash": self.actual_hash,
            "expected_size": self.expected_size,
            "actual_size": self.actual_size,
            "detail": self.detail,
        }


def check_version(fs, root: str, v: AssetVersion) -> Integrity:
    """Recompute one version's hash from the object as the store holds it now: every byte it
    has, however many (never the size the sidecar or the index recorded). Never raises for
    damaged data: it reports it. A version without a sha256 (stock Dagster outputs have none;
    ``none``, ``md5:...``) is ``unverifiable``. A version stored outside the store has no bytes
    here that could have changed: ``outside``, which passes."""
    if not v.stored:
        return Integrity(v.asset, v.run_id, "outside", v.content_hash, None, 0, None,
                         "stored outside the store: no data in the store to check")
    if not v.content_hash.startswith("sha256:"):
        detail = ("no content hash was recorded for this version (written without a sidecar)" if not v.content_hash
                  else f"content hash {v.content_hash[:40]!r} is not a sha256; the bytes cannot be checked")
        return Integrity(v.asset, v.run_id, "unverifiable", v.content_hash, None, v.size_bytes, None, detail)
    if isinstance(fs, KnownFiles):
        fs = fs.fs  # the real object: KnownFiles would stop reading at the recorded size
    try:
        path = data_mod.resolve(fs, root, v)
    except ExplorerError as exc:
        return Integrity(v.asset, v.run_id, "unreadable", v.content_hash, None, v.size_bytes, None, str(exc))
    try:
        fs.invalidate_cache(path)  # a listing cached earlier may hold an older size
    except Exception:  # noqa: BLE001 - a filesystem without a listings cache
        pass
    try:
        actual, size = data_mod.content_hash(fs, root, v, path)
    except FileNotFoundError:
        return Integrity(v.asset, v.run_id, "missing", v.content_hash, None, v.size_bytes, None,
                         f"{v.data_path} does not exist")
    except (PermissionError, OSError) as exc:
        return Integrity(v.asset, v.run_id, "unreadable", v.content_hash, None, v.size_bytes, None,
                         f"{v.data_path}: {exc}")
    except ExplorerError as exc:  # a symlink or a FIFO inside a directory version
        return Integrity(v.asset, v.run_id, "unreadable", v.content_hash, None, v.size_bytes, None, str(exc))
    if actual == v.content_hash:
        status, detail = "ok", ""
    elif size < v.size_bytes:
        status, detail = "truncated", f"{size} of {v.size_bytes} bytes"
    elif size > v.size_bytes:
        status, detail = "modified", f"{size - v.size_bytes} bytes appended or inserted ({size} bytes, sidecar says {v.size_bytes})"
    else:
        status, detail = "modified", f"hash differs ({size} bytes, sidecar says {v.size_bytes})"
    return Integrity(v.asset, v.run_id, status, v.content_hash, actual, v.size_bytes, size, detail)


def verify(store: "Source", run: str | None = None, progress: Callable[[int, int], None] | None = None) -> list[Integrity]:
    """Check every version (or one run's versions) of a store. Reads data, never writes."""
    versions: Iterable[AssetVersion] = store.run_versions(run) if run else list(store.index.versions.values())
    versions = sorted(versions, key=lambda v: (v.run_id, v.asset))
    out = []
    for i, v in enumerate(versions):
        out.append(check_version(store.data_fs, store.root, v))
        if progress:
            progress(i + 1, len(versions))
    return out
