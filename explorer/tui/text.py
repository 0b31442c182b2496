"""Small text helpers shared by the screens (status words with colour, times, sizes)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from .widgets.lineage_graph import STATUS_COLOUR


def status_text(status: str, suffix: str = "") -> Text:
    """A status as a coloured word (never colour alone)."""
    marks = {"success": "✓", "fresh": "✓", "failed": "✗", "missing": "✗", "stale": "!", "running": "▸",
             "unknown": "?", "tainted": "⚑", "flagged": "⚑"}
    mark = marks.get(status, "·")
    return Text(f"{mark} {status}{suffix}", style=STATUS_COLOUR.get(status, ""))


def when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else ""


from ..humanize import human_duration, human_size  # noqa: E402,F401 - the CLI's formats


INTEGRITY_COLOUR = {"ok": "green", "modified": "red", "truncated": "red", "missing": "red",
                    "unreadable": "red", "unverifiable": "grey62"}


def integrity_text(status: str) -> Text:
    """A verification result (``explorer.verify``) as a coloured word."""
    mark = {"ok": "✓", "unverifiable": "·"}.get(status, "✗")
    return Text(f"{mark} {status}", style=INTEGRITY_COLOUR.get(status, ""))
