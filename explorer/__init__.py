"""frontier-explore: lineage, staleness and diffs for run-prefixed object stores.

``from explorer import Store, RunWriter`` is the public API. Names are imported on first
use, so that importing a submodule (the terminal app, the CLI) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["AssetVersion", "ExplorerError", "InputRef", "Run", "RunWriter", "Store", "__version__"]

_WHERE = {
    "ExplorerError": "errors",
    "AssetVersion": "models",
    "InputRef": "models",
    "Run": "models",
    "RunWriter": "store",
    "Store": "api",
}

if TYPE_CHECKING:  # pragma: no cover
    from .errors import ExplorerError
    from .models import AssetVersion, InputRef, Run
    from .api import Store
    from .store import RunWriter


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'explorer' has no attribute {name!r}")
