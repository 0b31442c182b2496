"""Opening stores, indexing them, reading their data, and writing runs."""

from .index import Index, RunRecord, build_index
from .store import Store
from .writer import RunWriter

__all__ = ["Index", "RunRecord", "Store", "RunWriter", "build_index"]
