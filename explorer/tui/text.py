"""Small text helpers shared by the screens (status words with colour, times, sizes), and the
app's side of the output boundary: ``plain`` and ``safe`` (every store string a screen shows
goes through one of them, or through ``Table``, ``DetailBar`` or ``notify``, which use them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from ..visible import visible_lines

# (here, not in the graph widget: the runs screen draws statuses, and must not import networkx)
STATUS_COLOUR = {
    "fresh": "green",
    "success": "green",
    "stale": "yellow",
    "missing": "red",
    "failed": "red",
    "running": "cyan",
    "pending": "cyan",
    "superseded": "bright_black",
    "input": "blue",
    "group": "magenta",
    "unknown": "grey62",  # stock Dagster runs read without an instance: nothing known, neutral
    "tainted": "bright_magenta",
    "flagged": "bright_magenta",
}


def status_text(status: str, suffix: str = "") -> Text:
    """A status as a coloured word (never colour alone)."""
    marks = {"success": "✓", "fresh": "✓", "failed": "✗", "missing": "✗", "stale": "!", "running": "▸",
             "unknown": "?", "tainted": "⚑", "flagged": "⚑"}
    mark = marks.get(status, "·")
    return Text(f"{mark} {status}{suffix}", style=STATUS_COLOUR.get(status, ""))


def cause_lines(status: Any) -> list[str]:
    """The causes of an ``AssetStatus`` as lines; a missing asset with none says why it is missing
    (as ``frontier-explore stale`` does)."""
    lines = [c.describe() for c in getattr(status, "causes", ()) or ()]
    if not lines and getattr(status, "status", None) == "missing":
        planned = getattr(status, "planned_by", ()) or ()
        lines.append("never materialized" + (f"; planned by {', '.join(planned)}" if planned else ""))
    return lines


def when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else ""


from ..humanize import human_duration, human_size  # noqa: E402,F401 - the CLI's formats


INTEGRITY_COLOUR = {"ok": "green", "modified": "red", "truncated": "red", "missing": "red",
                    "unreadable": "red", "unverifiable": "grey62"}


def integrity_text(status: str) -> Text:
    """A verification result (``explorer.verify``) as a coloured word."""
    mark = {"ok": "✓", "unverifiable": "·"}.get(status, "✗")
    return Text(f"{mark} {status}", style=INTEGRITY_COLOUR.get(status, ""))


def plain(value: Any, style: str = "") -> Text:
    """A value from a store as a ``Text``: made visible (``explorer.visible``), never markup."""
    return Text("" if value is None else visible_lines(str(value)), style=style)


def safe(content: Any) -> Text:
    """Any content for a widget as a ``Text`` that cannot drive the terminal: a string is
    ``plain`` (never markup); a ``Text`` the code assembled from store pieces keeps its styles
    while each piece is made visible."""
    if not isinstance(content, Text):
        return plain(content)
    source = content.plain
    if visible_lines(source) == source:
        return content
    cuts = sorted({0, len(source), *(s.start for s in content.spans), *(s.end for s in content.spans)})
    where: dict[int, int] = {}
    pieces = []
    at = 0
    for a, b in zip(cuts, cuts[1:]):
        where[a] = at
        piece = visible_lines(source[a:b])
        pieces.append(piece)
        at += len(piece)
    where[len(source)] = at
    out = Text("".join(pieces), style=content.style, justify=content.justify, overflow=content.overflow,
               no_wrap=content.no_wrap, end=content.end)
    for s in content.spans:
        out.stylize(s.style, where[s.start], where[s.end])
    return out


class RichTable(Table):
    """A rich ``Table`` (drawn inside a ``Static``) whose headings and cells go through ``safe``:
    rich reads a ``str`` cell as markup."""

    def add_column(self, header: Any = "", *args: Any, **kw: Any) -> None:  # type: ignore[override]
        super().add_column(safe(header), *args, **kw)

    def add_row(self, *cells: Any, **kw: Any) -> None:  # type: ignore[override]
        super().add_row(*(None if c is None else safe(c) for c in cells), **kw)
