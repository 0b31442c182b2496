"""Runs side by side (issue 20): the grid of ``Store.compare`` with the runs as columns and
one row per fact (an asset's content hash, row count, metadata values), as ``dvc exp show``
draws experiments. Values that differ from the leftmost run's are highlighted; ``c`` keeps
only the facts that changed; ``o`` / ``O`` reorder the runs by the focused fact."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ...compare import MISSING, GridRow, RunGrid
from ..text import safe
from ..widgets.bars import Breadcrumbs, bottom_bars
from ..widgets.lineage_graph import short_run
from ..widgets.tables import Table
from .base import AppScreen


def cell_text(row: GridRow, value: Any) -> str:
    """A grid value as a cell shows it: hashes shortened, nothing as ``-``."""
    if value is MISSING:
        return "-"
    if row.fact == "hash" and isinstance(value, str):
        return value[7:19] if value.startswith("sha256:") else value  # other hashes whole
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class CompareScreen(AppScreen):
    """The marked runs compared fact by fact."""

    AUTO_FOCUS = "#grid"

    BINDINGS = [
        Binding("escape", "app.back", "back"),
        Binding("c", "toggle_changed", "changed only"),
        Binding("o", "sort_runs", "sort runs by fact"),
        Binding("O", "sort_runs(True)", "sort descending", show=False, key_display="O"),
        Binding("enter", "open_cell", "open asset", show=False),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = list(run_ids)
        self.changed_only = False
        self.sort: tuple[str, bool] | None = None  # (fact name, descending)
        self.grid: RunGrid | None = None
        self._rows: list[GridRow] = []

    @property
    def crumb(self) -> str:
        return f"compare {len(self.run_ids)} runs"

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(id="title", classes="title")
        table: Table = Table(id="grid", cursor_type="cell", zebra_stripes=True, noun="facts")
        table.filters = False  # the screen's own c
        yield table
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.show_store()

    def show_store(self) -> None:
        grid = self.store.compare(self.run_ids)
        if self.sort is not None:
            name, descending = self.sort
            try:
                grid = grid.sorted_by(name, descending)
            except Exception:  # noqa: BLE001 - the fact is gone after a refresh: keep the order
                self.sort = None
        self.grid = grid
        self._draw()

    def _draw(self) -> None:
        grid = self.grid
        assert grid is not None
        table = self.query_one("#grid", DataTable)
        focused = self._focused_name()
        table.clear(columns=True)
        table.add_column("asset", key="asset")
        table.add_column("fact", key="fact")
        for r in grid.runs:
            label = short_run(r.run_id)
            if self.sort is not None:
                label += " ▼" if self.sort[1] else " ▲"
            table.add_column(label, key=r.run_id)
        shown = grid.changed() if self.changed_only else grid
        self._rows = list(shown.rows)
        for row in self._rows:
            first = next((v for v in row.values if v is not MISSING), MISSING)
            cells: list[Any] = [safe(row.asset, style="bold" if row.changed else ""), row.fact]
            for value in row.values:
                style = "dim" if value is MISSING else ("bold yellow" if row.changed and repr(value) != repr(first) else "")
                cells.append(safe(cell_text(row, value), style=style))
            table.add_row(*cells, key=row.name)
        if focused is not None:
            for i, row in enumerate(self._rows):
                if row.name == focused:
                    table.move_cursor(row=i, animate=False)
        changed = sum(r.changed for r in grid.rows)
        order = f" · runs by {self.sort[0]}{' descending' if self.sort[1] else ''}" if self.sort else ""
        only = " · changed only (c: all)" if self.changed_only else " · c: changed only"
        self.query_one("#title", Static).update(safe(
            ("compare ", "bold"), f"{len(grid.runs)} runs: {len(grid.rows)} facts, ",
            (f"{changed} changed", "yellow" if changed else ""), f"{order}{only}"))

    def _focused_name(self) -> str | None:
        table = self.query_one("#grid", DataTable)
        if not self._rows or table.row_count == 0:
            return None
        row = table.cursor_coordinate.row
        return self._rows[row].name if 0 <= row < len(self._rows) else None

    def action_toggle_changed(self) -> None:
        self.changed_only = not self.changed_only
        self._draw()

    def action_sort_runs(self, descending: bool = False) -> None:
        name = self._focused_name()
        if name is None:
            return
        self.sort = (name, descending)
        self.show_store()

    def action_open_cell(self) -> None:
        table = self.query_one("#grid", DataTable)
        name = self._focused_name()
        col = table.cursor_coordinate.column
        if name is None or self.grid is None:
            return
        row = next(r for r in self._rows if r.name == name)
        i = col - 2 if col >= 2 else 0  # (on the asset or fact column: the leftmost run)
        run = self.grid.runs[i].run_id
        if row.values[i] is MISSING:
            self.notify(f"{row.asset} is not in run {run}", severity="warning")
            return
        self.app.open_asset(row.asset, run)

    @on(DataTable.CellSelected, "#grid")
    def _selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_open_cell()
