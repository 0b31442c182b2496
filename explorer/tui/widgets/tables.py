"""``DataTable`` with the vi keys users of k9s and lazygit expect."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable


class Table(DataTable):
    """A DataTable that also moves with ``j``/``k`` and jumps with ``g``/``G``."""

    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
        Binding("g", "scroll_top", "first row", show=False),
        Binding("G", "scroll_bottom", "last row", show=False),
    ]
