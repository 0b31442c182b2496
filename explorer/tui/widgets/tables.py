"""``DataTable`` with the vi keys users of k9s and lazygit expect, whose cells are never markup."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import DataTable

from ..text import safe


class Table(DataTable):
    """A DataTable that also moves with ``j``/``k`` and jumps with ``g``/``G``. Every heading
    and cell goes through ``safe`` (``DataTable`` reads a ``str`` cell as markup)."""

    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
        Binding("g", "scroll_top", "first row", show=False),
        Binding("G", "scroll_bottom", "last row", show=False),
    ]

    def add_column(self, label: Any, **kw: Any):  # type: ignore[override]
        return super().add_column(safe(label), **kw)

    def add_row(self, *cells: Any, label: Any = None, **kw: Any):  # type: ignore[override]
        return super().add_row(*(safe(c) for c in cells), label=None if label is None else safe(label), **kw)

    def update_cell(self, row_key: Any, column_key: Any, value: Any, **kw: Any) -> None:  # type: ignore[override]
        super().update_cell(row_key, column_key, safe(value), **kw)

    def update_cell_at(self, coordinate: Any, value: Any, **kw: Any) -> None:  # type: ignore[override]
        super().update_cell_at(coordinate, safe(value), **kw)

