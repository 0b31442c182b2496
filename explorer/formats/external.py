"""Versions stored outside the store: Dagster recorded the materialization (metadata, data
version, code version, inputs) but the value went elsewhere (a warehouse, a file the asset
wrote itself) or there was none (``MaterializeResult``, ``-> None``). No data file: every
read says so in one line; diffs compare metadata (``kind = "external"``)."""

from __future__ import annotations

from typing import Any

from ..errors import ExplorerError
from ..models import EXTERNAL
from . import register
from .base import Format, Location


def not_stored(version: Any) -> ExplorerError:
    """The one message for reading a version that has no data file."""
    return ExplorerError(f"{version.asset} in run {version.run_id} is stored outside the store: "
                         "Dagster recorded its materialization, the store holds no data for it")


class External(Format):
    name = EXTERNAL
    kind = "external"
    in_stock_stores = False
    claim_order = 10_000

    def write(self, value: Any) -> bytes:
        raise ExplorerError("a version stored outside the store has no data to write: use write_external_version")

    def read(self, loc: Location, columns: list[str] | None = None, filter: Any = None):
        raise not_stored(loc.version)

    def schema(self, loc: Location):
        raise not_stored(loc.version)

    def load(self, loc: Location) -> Any:
        raise not_stored(loc.version)

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        raise not_stored(loc.version)

    def hash(self, fs: Any, path: str, files: Any) -> tuple[str, int]:
        raise ExplorerError("a version stored outside the store has no data to hash")


register(External())
