"""Stale and missing assets with their causes; ``enter`` opens the asset (as on every screen),
``L`` shows its root cause in the lineage graph."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from .base import AppScreen
from ..errors import safely
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import DataTable, Static

from ..widgets.tables import Table
from ..widgets.detail import DetailBar
from ..status import tainted_versions
from ..text import cause_lines, safe, status_text
from ..widgets.lineage_graph import short_run


class Hanging:
    """Lines of (prefix, text), each wrapped to the width it is drawn at with its continuation
    lines indented under the text after its prefix (a long cause never runs back to column 1)."""

    def __init__(self, items: list[tuple[Text, Text]]) -> None:
        self.items = [(safe(prefix), safe(body)) for prefix, body in items]

    def lines(self, console, width: int) -> list[Text]:
        out = []
        for prefix, body in self.items:
            indent = min(prefix.cell_len, max(0, width - 10))  # at least 10 columns for the text
            room = max(1, width - indent)
            for i, part in enumerate(body.wrap(console, room, overflow="fold") or [Text("")]):
                line = prefix.copy() if i == 0 else safe(" " * indent)
                part.rstrip()
                line.append_text(part)
                out.append(line)
        return out

    def __rich_console__(self, console, options):
        yield from self.lines(console, options.max_width)


class CauseBar(DetailBar):
    """The staleness detail: the asset, then each cause and the root causes with hanging indents."""

    def show(self, items: list[tuple[Text, Text]]) -> None:
        self.hanging = Hanging(items)
        self.refresh(layout=True)  # the bar grows (up to its max-height) with the causes

    def render(self):
        hanging = getattr(self, "hanging", None)
        return hanging if hanging is not None else self.text


class StalenessScreen(AppScreen):
    """The staleness report as a table."""

    crumb = "staleness"

    AUTO_FOCUS = "#stale"

    BINDINGS = [
        Binding("escape", "app.back", "back"),
        Binding("enter", "open_asset", "open asset", show=False),
        Binding("L", "jump", "root cause in graph", key_display="L"),
    ]

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(id="title", classes="title")
        table: Table = Table(id="stale", cursor_type="row", zebra_stripes=True, fixed_columns=2)  # asset, status
        table.whole_columns = frozenset({"root cause"})  # the answer: whole, never "raw/bureau, …"
        for c in ("asset", "status", "run", "root cause", "causes"):
            table.add_column(c, key=c)
        yield table
        yield CauseBar(id="detail")
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one("#stale").focus()
        safely(self.app, self.show_store)

    def show_store(self) -> None:
        report = self.report
        table = self.query_one("#stale", DataTable)
        title = self.query_one("#title", Static)
        if report is None:
            title.update(safe("staleness is not available for this store (see notifications)", style="red"))
            return
        keep = self.selected()
        table.clear()
        rows = [a for a in report.assets if a.status != "fresh"]
        fresh = len(report.assets) - len(rows)
        title.update(safe(("staleness ", "bold"), (self.app.label, "cyan"),
                          f" · {len(rows)} need attention · {fresh} fresh"))
        tainted = tainted_versions(self.store)
        for a in rows:
            roots = ", ".join(dict.fromkeys(c.asset for c in a.root_causes)) or "-"
            causes = "; ".join(cause_lines(a))
            status = status_text(a.status, " ⚑tainted" if (a.asset, a.run_id) in tainted else "")
            table.add_row(a.asset, status, short_run(a.run_id) or "-", roots, causes, key=a.asset)
        if keep is not None and keep in {a.asset for a in rows}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self._show_detail()

    def selected(self) -> str | None:
        table = self.query_one("#stale", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowHighlighted, "#stale")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        key = self.selected()
        detail = self.query_one("#detail", CauseBar)
        if key is None or self.report is None:
            detail.show([(safe(""), safe("every asset is fresh", style="green") if key is None else safe(""))])
            return
        st = self.report.get(key)
        items = [(safe(""), safe((key, "bold"), "  ", status_text(st.status), f"  version of run {st.run_id or '-'}"))]
        for line in cause_lines(st):
            items.append((safe("  • "), safe(line, style="yellow")))
        roots = list(dict.fromkeys(c.asset for c in st.root_causes))
        if roots:
            items.append((safe("  root cause: "), safe(f"{', '.join(roots)} (L shows it in the graph)")))
        detail.show(items)

    def root_cause(self, key: str) -> str:
        st = self.report.get(key)
        roots = [c.asset for c in st.root_causes if c.asset]
        return roots[0] if roots else key

    def action_jump(self) -> None:
        key = self.selected()
        if key is not None:
            self.app.pop_screen()
            self.app.action_lineage(focus=self.root_cause(key))

    @on(DataTable.RowSelected, "#stale")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_asset()

    def action_open_asset(self) -> None:
        key = self.selected()
        if key is not None:
            self.app.open_asset(key)
