"""What every full screen of the app shares: its crumb in the breadcrumbs, the bars, and
redrawing when the store changes (the app's ``StoreChanged`` message)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from ..errors import safely
from ..messages import StoreChanged, StoreFailed
from ..widgets.bars import Breadcrumbs

if TYPE_CHECKING:
    from ...api import Store


class AppScreen(Screen):
    """A screen with a crumb (``crumb``: how the breadcrumbs name it) that draws itself from the
    app's store in ``show_store`` (on mount, and again on every ``StoreChanged``)."""

    crumb = ""

    @property
    def store(self) -> "Store":
        """The store the app holds (screens are opened once it is loaded, the runs screen excepted)."""
        return self.app.store  # type: ignore[attr-defined]

    @property
    def report(self) -> Any | None:
        """The staleness report of ``store``, or None when it could not be computed."""
        return self.app.report  # type: ignore[attr-defined]

    def show_store(self) -> None:
        """Fill the screen from ``store``; called on mount and after every change."""

    def store_failed(self, message: str) -> None:
        """The store could not be read (the app has already said why)."""

    def on_store_changed(self, message: StoreChanged) -> None:
        if self.is_attached:
            safely(self.app, self.show_store, title=f"{type(self).__name__}: cannot show this")

    def on_store_failed(self, message: StoreFailed) -> None:
        self.store_failed(message.message)

    def on_screen_resume(self) -> None:
        for bar in self.query(Breadcrumbs):
            bar.refresh()
