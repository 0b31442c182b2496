"""The bars every screen shares: breadcrumbs at the top (where you are in the screen stack),
a status line and the keys at the bottom."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer



class Breadcrumbs(Widget):
    """``demo_store › runs › run …-r9 › asset features``: one crumb per screen under this one;
    ``esc`` goes back one crumb."""

    DEFAULT_CSS = "Breadcrumbs { height: 1; padding: 0 1; background: $boost; color: $text-muted; }"

    def on_mount(self) -> None:
        self.refresh()

    def render(self) -> Text:
        app = self.app
        crumbs = [getattr(s, "crumb", None) for s in app.screen_stack]
        crumbs = [c for c in crumbs if c]
        from ..text import safe

        parts: list = [getattr(app, "label", "") or ""]
        for i, c in enumerate(crumbs):
            parts += [" › ", (c, "bold" if i == len(crumbs) - 1 else "")]
        text = safe(*parts, style="cyan", lines=False)
        width = self.size.width - 2
        if len(crumbs) > 1:
            hint = safe("   esc: back to ", crumbs[-2], style="dim", lines=False)
            if text.cell_len + hint.cell_len <= width:  # the path first; the hint where it fits
                text.append_text(hint)
        if width > 0 and text.cell_len > width:  # keep the end (where you are), cut the start
            text = safe("…") + text[text.cell_len - width + 1:]
        return text


class StatusLine(Widget):
    """One line above the keys: what the focused table hides, a filter's count, what ``y`` copied."""

    DEFAULT_CSS = "StatusLine { height: 1; padding: 0 1; background: $panel; color: $text-muted; }"

    note: reactive[str] = reactive("", layout=False)

    HELP = "? help · ^p palette · q quit"

    def render(self) -> Text:
        from ..text import safe

        width = self.size.width - 2
        note = safe(self.note, lines=False).plain
        right = self.HELP if width >= 60 and len(note) + len(self.HELP) + 2 <= width else "? help"
        room = max(0, width - len(right) - 2)
        if len(note) > room:
            note = note[: max(0, room - 1)] + "…"
        return safe(note, " " * max(1, width - len(note) - len(right)), (right, "bold"))


def bottom_bars() -> ComposeResult:
    """The status line and the compact footer, for a screen's ``compose``."""
    yield StatusLine()
    yield Footer(compact=True, show_command_palette=False)
