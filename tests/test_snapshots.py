"""Snapshot tests of the main screens on the demo store at 120x36 (pytest-textual-snapshot).

Update after an intended visual change with ``pytest tests/test_snapshots.py --snapshot-update``
and look at the pictures before committing them. Nothing shown depends on the clock: times and
durations come from the store.
"""

from __future__ import annotations

import pytest

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from snapshot_app import make_app  # noqa: E402
from tui_support import workers_done  # noqa: E402

SIZE = (120, 36)


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await workers_done(pilot.app)
    await pilot.pause()


def steps(*keys: str, call=None):
    """A run_before that waits for the store, presses keys (waiting for workers after each)."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        if call is not None:
            call(pilot.app)
            await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


SCREENS = {
    "runs": steps(),
    "runs_filtered": steps("slash", *"credit", "enter"),
    "run": steps("down", "down", "enter"),
    "lineage": steps("L", "right", "right"),
    "lineage_upstream": steps("L", "right", "right", "l", "u"),
    "lineage_grouped": steps("L", "g"),
    "asset_overview": steps(call=lambda app: app.open_asset("features")),
    "asset_versions": steps("3", "space", "down", "space", call=lambda app: app.open_asset("scores")),
    "asset_history": steps("4", call=lambda app: app.open_asset("scores")),
    "asset_provenance": steps("5", call=lambda app: app.open_asset("scores")),
    "diff": steps("3", "space", "down", "space", "D", call=lambda app: app.open_asset("scores")),
    "trace": steps("2", "down", "down", "t", call=lambda app: app.open_asset("scores")),
    "staleness": steps("s"),
    "help": steps("question_mark"),
}


@pytest.mark.parametrize("name", list(SCREENS))
def test_screen(name, snap_compare):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=SCREENS[name])


# ---------------------------------------------------------------------- README screenshots

ROOT = Path(__file__).resolve().parent.parent


def _export_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("export_screenshots", ROOT / "scripts" / "export_screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPORT = _export_script()


@pytest.mark.parametrize("name", list(EXPORT.SHOTS))
def test_committed_screenshot_is_what_the_script_draws(name, tmp_path):
    """The SVGs the README shows are exactly what ``python scripts/export_screenshots.py`` writes
    today, so they cannot go stale: after a visual change, run the script and look at them."""
    import asyncio

    asset, keys = EXPORT.SHOTS[name]
    drawn = asyncio.run(EXPORT.shoot(name, asset, keys, tmp_path, EXPORT.SIZE))
    committed = ROOT / "screenshots" / f"{name}.svg"
    assert committed.exists(), f"screenshots/{name}.svg is missing: run scripts/export_screenshots.py"
    assert drawn.read_text() == committed.read_text(), (
        f"screenshots/{name}.svg is stale: run python scripts/export_screenshots.py {name} and look at it")


def test_every_committed_screenshot_comes_from_the_script():
    assert {p.stem for p in (ROOT / "screenshots").glob("*.svg")} == set(EXPORT.SHOTS)
