"""Pickles: written on request (``format="pickle"``), never unpickled without opt-in, since
unpickling runs code from the store. The stock Dagster IO managers write bare pickles."""

from __future__ import annotations

import pickle
from typing import Any

from ..models import AssetVersion
from . import register
from .base import Format, Location

REFUSAL = (
    "{what} is a pickle; unpickling runs code from the store, so it is not loaded "
    "(opt in with --trust-pickle or allow_pickle=True)"
)


def refusal(version: AssetVersion) -> str:
    """Why a pickle is not loaded (nor previewed, which never unpickles)."""
    return REFUSAL.format(what=f"{version.asset} in run {version.run_id}")


class Pickle(Format):
    name = "pickle"
    extensions = (".pkl", ".pickle")
    trusted = True

    def write(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, loc: Location) -> Any:
        """Only called once the caller opted in (``explorer.store.data.load`` checks)."""
        return pickle.loads(loc.fs.cat_file(loc.path))  # noqa: S301 - the user opted in

    def preview(self, loc: Location, rows: int = 50, offset: int = 0) -> Any:
        return refusal(loc.version)

    def facts(self, loc: Location) -> tuple[dict[str, Any], str | None]:
        return {}, "pickle: not unpickled (its facts are shown; unpickling would run code from the store)"


register(Pickle())
