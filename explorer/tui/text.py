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


# The same formats as the CLI's (explorer/cli/common.py); repeated here because importing the
# CLI package pulls in every subcommand (and pandas) before the first frame.
def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


INTEGRITY_COLOUR = {"ok": "green", "modified": "red", "truncated": "red", "missing": "red",
                    "unreadable": "red", "unverifiable": "grey62"}


def integrity_text(status: str) -> Text:
    """A verification result (``explorer.verify``) as a coloured word."""
    mark = {"ok": "✓", "unverifiable": "·"}.get(status, "✗")
    return Text(f"{mark} {status}", style=INTEGRITY_COLOUR.get(status, ""))
