"""Small text helpers shared by the screens (status words with colour, times, sizes), and the
app's side of the output boundary: ``safe`` (every store string a screen shows goes through it,
as a string, before rich builds a ``Text`` of it; ``Table``, ``DetailBar`` and ``notify`` use it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from ..visible import visible, visible_lines

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
    return safe(f"{mark} {status}{suffix}", style=STATUS_COLOUR.get(status, ""))


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
    return safe(f"{mark} {status}", style=INTEGRITY_COLOUR.get(status, ""))


def _shown(value: Any, lines: bool = True) -> str:
    text = "" if value is None else str(value)
    return visible_lines(text) if lines else visible(text)


def _checked(content: Text) -> Text:
    """A ``Text`` built elsewhere (rich, plotext) with each piece made visible, its styles kept.
    (Too late for BEL, BS, VT, FF and CR, which rich dropped when it was built: store text
    goes to ``safe`` as a string.)"""
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


def safe(*parts: Any, style: str = "", justify: Any = None, lines: bool = True) -> Text:
    """The one way text reaches a widget: a ``Text`` assembled from ``parts`` (as
    ``Text.assemble``: a value, a ``(value, style)`` pair, or a ``Text`` this function made),
    each value made visible (``explorer.visible``) BEFORE rich sees it (rich drops BEL, BS, VT,
    FF and CR silently) and never read as markup. ``lines=False``: newlines and tabs escaped too
    (one line)."""
    if len(parts) == 1 and not isinstance(parts[0], (Text, tuple)):
        return Text(_shown(parts[0], lines), style=style, justify=justify)
    if len(parts) == 1 and isinstance(parts[0], Text) and not style and justify is None:
        return _checked(parts[0])  # (keeps its own style and justification)
    out = Text(style=style, justify=justify)
    for part in parts:
        if isinstance(part, Text):
            out.append_text(_checked(part))
        elif isinstance(part, tuple):
            value, part_style = part
            out.append(_shown(value, lines), style=part_style or None)
        elif part is not None:
            out.append(_shown(part, lines))
    return out


def shown_text(value: Any, lines: bool = False) -> str:
    """``safe``'s escaping for the few places that take a string, not a ``Text`` (the lineage
    graph draws its labels cell by cell; notifications; the clipboard)."""
    return _shown(value, lines)


def shown_markup(value: Any) -> str:
    """``shown_text`` for the strings Textual reads as markup (the command palette's titles and
    help lines): control characters made visible, then ``[`` escaped."""
    from textual.markup import escape

    return escape(_shown(value, False))


class RichTable(Table):
    """A rich ``Table`` (drawn inside a ``Static``) whose headings and cells go through ``safe``:
    rich reads a ``str`` cell as markup."""

    def add_column(self, header: Any = "", *args: Any, **kw: Any) -> None:  # type: ignore[override]
        super().add_column(safe(header), *args, **kw)

    def add_row(self, *cells: Any, **kw: Any) -> None:  # type: ignore[override]
        super().add_row(*(None if c is None else safe(c) for c in cells), **kw)
