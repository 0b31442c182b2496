"""A fixed-height text bar whose updates repaint only itself (no layout pass)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class DetailBar(Widget):
    """Shows one ``Text``; give it a fixed height in CSS."""

    DEFAULT_CSS = "DetailBar { height: 4; padding: 0 1; background: $panel; }"

    text: reactive[Text] = reactive(Text(""), layout=False)  # (empty: nothing to escape)

    def update(self, text: Text | str) -> None:
        from ..text import safe

        self.text = safe(text)

    def render(self) -> Text:
        return self.text
