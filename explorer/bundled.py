"""Where the bundled demo store is, without importing what builds it (pandas, numpy).

In a wheel the demo store is package data (``explorer/demo_store/``, see ``pyproject.toml``); in a
checkout it is the top-level ``demo_store/`` folder. Either way it is opened read-only: flagging
it raises :class:`~explorer.errors.ReadOnlyStore`, and ``frontier-explore demo PATH`` writes a
copy that can be flagged.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _locate() -> Path:
    installed = _PACKAGE / "demo_store"
    if (installed / "_frontier_store.json").is_file():
        return installed
    return _PACKAGE.parent / "demo_store"


DEMO_STORE: Path = _locate()


def is_bundled_demo(fs, root: str) -> bool:
    """True when ``root`` on ``fs`` is the bundled demo store (a local path only)."""
    from .store.fs import is_local

    if not is_local(fs):
        return False
    try:
        return os.path.samefile(root, DEMO_STORE)
    except OSError:
        return False


def copy_demo(dest: str | os.PathLike) -> Path:
    """Write a copy of the bundled demo store to ``dest`` (a new or empty folder), which can
    then be flagged and written to like any store. Returns the path."""
    import shutil

    from .errors import ExplorerError

    target = Path(dest)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExplorerError(f"{target} exists and is not an empty folder: choose a new path for the demo copy")
    if not (DEMO_STORE / "_frontier_store.json").is_file():
        raise ExplorerError(f"the bundled demo store is missing from {DEMO_STORE}")
    shutil.copytree(DEMO_STORE, target, dirs_exist_ok=True)
    return target
