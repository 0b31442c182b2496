"""frontier-explore: lineage, staleness and diffs for run-prefixed object stores."""

from .errors import ExplorerError
from .models import AssetVersion, InputRef, Run
from .store import RunWriter, Store

__version__ = "0.1.0"

__all__ = ["AssetVersion", "ExplorerError", "InputRef", "Run", "RunWriter", "Store", "__version__"]
