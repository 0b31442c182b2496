"""The app at the sizes people use (80x24, 120x40) and without colour: what is on the screen,
what has the focus, and what happens when the app itself breaks. Truth comes from the store's
files and the demo story, never from the app's own tables."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.tui.app import ExplorerApp

SMALL = (80, 24)
MEDIUM = (120, 40)


def drive(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return wrapper


async def settle(app, pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def screen_lines(app) -> list[str]:
    """The terminal's lines as the user sees them (every layer, notifications included)."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


def manifests(root: Path) -> dict[str, dict]:
    out = {}
    for d in sorted(root.iterdir()):
        m = d / "_frontier" / "run.json"
        if m.exists():
            out[d.name] = json.loads(m.read_text())
    return out


def sidecars(root: Path, run_id: str) -> dict[str, dict]:
    out = {}
    for f in sorted((root / run_id / "_frontier" / "versions").glob("*.json")):
        doc = json.loads(f.read_text())
        out[doc["asset"]] = doc
    return out


# ---------------------------------------------------------------------- NO_COLOR and crashes


@pytest.mark.parametrize("size", [SMALL, MEDIUM])
@drive
async def test_no_color_through_every_screen(demo_path, monkeypatch, size):
    """NO_COLOR=1 swaps in Textual's monochrome filter, which reads the style of every segment
    drawn: the lineage graph used to yield unstyled blanks and crashed the app."""
    monkeypatch.setenv("NO_COLOR", "1")
    runs = manifests(demo_path)
    newest = max(runs, key=lambda r: runs[r]["started_at"])
    app = ExplorerApp(str(demo_path), label="demo")
    seen = []
    async with app.run_test(size=size) as pilot:
        assert app.no_color
        await settle(app, pilot)

        async def press(*keys):
            for k in keys:
                await pilot.press(k)
                await settle(app, pilot)
            seen.append(type(app.screen).__name__)
            assert screen_lines(app)  # something drawn, nothing raised

        await press("enter")  # the newest run: its graph
        assert newest in screen_text(app)
        await press("tab", "j", "k")
        await press("escape", "L")
        await press("l", "l", "j", "u", "d", "g")
        await press("g", "escape")  # ungroup, back to the runs
        await press("s")
        await press("escape")
        assert type(app.screen).__name__ == "RunsScreen"
        app.open_asset("scores")
        await settle(app, pilot)
        for tab in "123456":
            await press(tab)
        await press("3", "space", "down", "space", "D")  # diff
        await press("escape", "2", "t")  # trace
        await press("escape", "escape", "question_mark")
        await press("escape")
    assert app.crash is None, seen
    assert {"RunScreen", "GraphScreen", "StalenessScreen", "AssetScreen", "DiffScreen", "TraceScreen",
            "HelpScreen", "RunsScreen"} <= set(seen), seen


CRASHING = """
import os, sys
import explorer.tui.app as m
from explorer.tui.app import ExplorerApp, run

class Broken(ExplorerApp):
    CSS_PATH = os.path.join(os.path.dirname(m.__file__), "app.tcss")

    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.explode)

    def explode(self):
        raise RuntimeError("a bug in the app")

sys.exit(run(Broken(sys.argv[1]), headless=True))
"""


def test_a_crash_exits_non_zero_with_one_line_and_the_traceback_in_a_log(tmp_path, demo_path):
    logs = tmp_path / "logs"
    script = tmp_path / "crash.py"
    script.write_text(CRASHING)
    env = {"FRONTIER_EXPLORE_LOG_DIR": str(logs), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, str(script), str(demo_path)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 1
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    (log,) = logs.iterdir()
    assert lines[0] == f"frontier-explore: the app crashed: RuntimeError: a bug in the app (the traceback is in {log})"
    text = log.read_text()
    assert text.startswith("Traceback (most recent call last):")
    assert "in explode" in text and text.rstrip().endswith("RuntimeError: a bug in the app")
    assert "Traceback" not in res.stdout
