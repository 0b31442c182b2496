"""Shared fixtures: the demo store, temporary stores, and running the CLI in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.demo import DEMO_STORE


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """``cli("runs", path, "--format", "json")`` -> CliResult(code, out, err)."""

    def run(*argv: str) -> CliResult:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def demo_path() -> Path:
    """The committed demo store (read-only: never write into it)."""
    assert (DEMO_STORE / "_frontier_store.json").exists(), "demo_store/ is missing: run scripts/make_demo_store.py"
    return DEMO_STORE


@pytest.fixture(scope="session")
def demo_runs() -> dict[str, str]:
    """Story names of the demo runs (R1..R9) -> run ids, as documented in explorer/demo.py."""
    ids = sorted(p.name for p in DEMO_STORE.iterdir() if p.is_dir() and not p.name.startswith("_"))
    return {f"R{i + 1}": rid for i, rid in enumerate(ids)}


# Variables of the user's environment that change what the explorer prints or where it writes.
# They are cleared before any fixture runs (module- and session-scoped ones too): the tests set
# what they need themselves.
_USER_ENVIRONMENT = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "DAGSTER_HOME", "FRONTIER_EXPLORE_DEBUG",
                     "FRONTIER_EXPLORE_CONFIG", "TEXTUAL", "AWS_PROFILE", "AWS_ENDPOINT_URL")


def pytest_configure(config):
    import os
    import tempfile

    for name in _USER_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ["TZ"] = "UTC"
    import time

    time.tzset()
    # never the user's ~/.cache or ~/.config, not even from fixtures that run before _isolated_index_cache
    scratch = tempfile.mkdtemp(prefix="frontier-tests-")
    os.environ["FRONTIER_EXPLORE_CACHE_DIR"] = os.path.join(scratch, "cache")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(scratch, "config")
    os.environ["XDG_CACHE_HOME"] = os.path.join(scratch, "xdg-cache")


@pytest.fixture(autouse=True)
def _isolated_index_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own local index cache, never the user's."""
    monkeypatch.setenv("FRONTIER_EXPLORE_CACHE_DIR", str(tmp_path_factory.mktemp("index-cache")))
    # and no named stores from the user's config file
    monkeypatch.delenv("FRONTIER_EXPLORE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    return str(tmp_path / "store")
