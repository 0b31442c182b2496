"""The messages the parts of the app talk in (Textual ``Message`` classes).

The app posts ``StoreChanged`` to every screen of its stack after a (re)load that changed
something or after it wrote a flag, and ``StoreFailed`` when a read failed; a screen redraws in
its handler (``AppScreen`` does it for every screen). Widgets ask their screen for things with
messages too (``VersionsTable.DiffRequested``), never by calling methods on it.
"""

from __future__ import annotations

from textual.message import Message


class StoreChanged(Message, bubble=False):
    """``app.store`` (and ``app.report``) now hold a store that differs from what was drawn."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation  # the app's load counter: 1 after the first load


class StoreFailed(Message, bubble=False):
    """Reading the store failed; ``message`` says why in one line."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
