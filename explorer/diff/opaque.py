"""Opaque versions (pickle, bytes): equal or not by content hash and size. Never read, never unpickled."""

from __future__ import annotations

from ..models import AssetVersion
from .result import OpaqueDiff


def diff_opaque(va: AssetVersion, vb: AssetVersion) -> OpaqueDiff:
    return OpaqueDiff(
        equal=va.content_hash == vb.content_hash,
        size={"a": va.size_bytes, "b": vb.size_bytes},
        content_hash={"a": va.content_hash, "b": vb.content_hash},
    )
