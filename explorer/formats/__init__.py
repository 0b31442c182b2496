"""The data formats: one module per format, registered here, looked up by name.

Every part of the library that treats formats differently (the store format's names and
extensions, the writer, the reader, SQL, diffs, verification, traces, stock Dagster stores)
asks this registry, so a new format is one module in this package (discovered on import)
calling ``register``, or a ``register`` call in user code. See ``base.Format`` for the interface
and docs/architecture.md for where things go.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from ..errors import FormatError
from .base import Format, Location

_REGISTRY: dict[str, Format] = {}
_WRITTEN: dict[str, str] = {}  # name -> the extension written, kept with the registry (read per manifest)


def register(format: Format) -> Format:
    """Make ``format`` known by its name (a second format of the same name replaces the first)."""
    if not getattr(format, "name", None) or "/" in format.name:
        raise FormatError(f"a data format needs a plain name, got {getattr(format, 'name', None)!r}")
    _REGISTRY[format.name] = format
    _WRITTEN[format.name] = format.extension
    return format


def unregister(name: str) -> None:
    """Forget a format (for a format registered by a test or a plug-in)."""
    _REGISTRY.pop(name, None)
    _WRITTEN.pop(name, None)


def get(name: str) -> Format:
    """The format of that name; FormatError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise FormatError(f"unknown format {name!r}; known: {', '.join(_REGISTRY)}") from None


def known(name: Any) -> bool:
    return isinstance(name, str) and name in _REGISTRY


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def is_table(name: str) -> bool:
    """Whether versions of this format are tables (SQL views, table diffs, traces)."""
    f = _REGISTRY.get(name)
    return f is not None and f.table


def extension(name: str) -> str:
    """The extension the writer gives a file of this format (``""`` for a directory)."""
    return get(name).extension


def written_extensions() -> dict[str, str]:
    """``{format name: extension written}`` (the registry's own mapping: read, never change it)."""
    return _WRITTEN


def stock_extensions() -> dict[str, str]:
    """``{extension: format}`` of the files a stock Dagster store holds (its UPathIOManager
    subclasses add an extension; a file without one is a pickle)."""
    out: dict[str, str] = {}
    for f in _REGISTRY.values():
        for ext in f.extensions if f.in_stock_stores else ():
            out.setdefault(ext, f.name)
    return out


def infer(value: Any) -> Format | None:
    """The format a value given without ``format=`` is written in, or None."""
    for f in sorted(_REGISTRY.values(), key=lambda f: f.claim_order):
        if f.claims(value):
            return f
    return None


def _discover() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name not in ("base", "statistics"):
            importlib.import_module(f"{__name__}.{mod.name}")


_discover()

__all__ = ["Format", "Location", "extension", "stock_extensions", "get", "infer", "is_table", "known", "names",
           "register", "unregister", "written_extensions"]
