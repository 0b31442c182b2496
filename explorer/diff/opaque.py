"""Opaque versions (pickle, bytes): equal or not by content hash and size. Never read, never unpickled."""

from __future__ import annotations

from ..models import AssetVersion
from .result import OpaqueDiff, Pair


def diff_opaque(va: AssetVersion, vb: AssetVersion) -> OpaqueDiff:
    return OpaqueDiff(
        equal=va.content_hash == vb.content_hash,
        size=Pair(va.size_bytes, vb.size_bytes),
        content_hash=Pair(va.content_hash, vb.content_hash),
    )
