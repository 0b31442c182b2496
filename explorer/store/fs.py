"""One way to open a filesystem: from a URL (any fsspec protocol or a local path) and options."""

from __future__ import annotations

import os
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from ..errors import StoreNotFound


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


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def open_fs(url: str, storage_options: dict[str, Any] | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """Return ``(filesystem, root path)`` for a store URL. Local paths are made absolute."""
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
    return fs, root.rstrip("/") or "/"


def display_url(fs: fsspec.AbstractFileSystem, root: str) -> str:
    """The URL of a store as a user would type it (never with credentials)."""
    if is_local(fs):
        return root
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return f"{protocol}://{root}"
