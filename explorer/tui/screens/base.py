"""What every full screen of the app shares: its crumb in the breadcrumbs and the bars."""

from __future__ import annotations

from textual.screen import Screen

from ..widgets.bars import Breadcrumbs


class AppScreen(Screen):
    """A screen with a crumb (``crumb``: how the breadcrumbs name it)."""

    crumb = ""

    def on_screen_resume(self) -> None:
        for bar in self.query(Breadcrumbs):
            bar.refresh()
