"""I/O only: opening filesystems (``fs``), reading a store into the index (``read``), the local
cache (``cache``), reading data (``data``), flags (``flags``) and the writer (``writer``).

The index itself is ``explorer.index``; the ``Store`` facade is ``explorer.api.Store``
(``from explorer import Store``).
"""

from typing import TYPE_CHECKING

__all__ = ["RunWriter"]

if TYPE_CHECKING:  # pragma: no cover
    from .writer import RunWriter


def __getattr__(name: str):
    """``RunWriter``, imported on first use (the writer needs pyarrow; reading a store's
    listing, or ``frontier-explore --help``, does not). ``explorer.store.Store``: the old place
    of the facade, kept as an alias for code written against it (``from explorer import Store``
    is the public name). Resolved on first use, so this I/O layer never imports the facade above it."""
    import importlib

    if name == "RunWriter":
        return importlib.import_module("explorer.store.writer").RunWriter
    if name == "Store":
        return importlib.import_module("explorer.api").Store
    raise AttributeError(f"module 'explorer.store' has no attribute {name!r}")
