"""Small text helpers shared by the screens (status words with colour, times, sizes)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from ..cli.common import human_duration, human_size  # noqa: F401 - one formatter for CLI and app
from .widgets.lineage_graph import STATUS_COLOUR


def status_text(status: str, suffix: str = "") -> Text:
    """A status as a coloured word (never colour alone)."""
    marks = {"success": "✓", "fresh": "✓", "failed": "✗", "missing": "✗", "stale": "!", "running": "▸"}
    mark = marks.get(status, "·")
    return Text(f"{mark} {status}{suffix}", style=STATUS_COLOUR.get(status, ""))


def when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else ""
