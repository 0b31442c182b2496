"""One run: its facts, the versions it wrote, and its lineage graph."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from .base import AppScreen
from ..errors import safely
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import DataTable, Static

from ...errors import ExplorerError
from ...humanize import counted
from ..status import run_graph
from ..widgets.tables import Table
from ..text import human_duration, human_size, safe, status_text, when
from ..widgets.lineage_graph import LineageGraph, short_run


class RunScreen(AppScreen):
    """A run's versions table and lineage graph (tab switches between them)."""

    AUTO_FOCUS = "#versions"

    BINDINGS = [
        Binding("escape", "app.back", "back"),
        Binding("enter", "open_asset", "open asset", show=False),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    @property
    def crumb(self) -> str:
        return f"run {self.run_id}"

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(id="title", classes="title")
        yield Static(id="facts", classes="facts")
        table: Table = Table(id="versions", cursor_type="row", zebra_stripes=True, noun="versions")
        table.hide_cursor_unfocused = True
        table.whole_columns = frozenset({"rows", "size", "hash"})  # the inputs and code give way first
        for key in ("asset", "format", "rows", "size", "hash", "code", "inputs"):
            table.add_column(key, key=key)
        yield table
        yield LineageGraph(id="graph")
        yield from bottom_bars()

    def on_mount(self) -> None:
        safely(self.app, self.show_store)
        self.query_one("#versions").focus()

    def show_store(self) -> None:
        store = self.store
        try:
            run = store.run(self.run_id)
        except ExplorerError as exc:
            self.notify(str(exc), severity="error")
            return
        versions = store.run_versions(self.run_id)
        planned = [p.asset for p in run.planned]
        written = {v.asset for v in versions}
        self.query_one("#title", Static).update(safe(("run ", "bold"), (run.run_id, "bold cyan"), "  ", status_text(run.status)))
        not_written = [a for a in planned if a not in written]
        facts: list = [f"job {run.job or '-'} · code {run.code_version or '-'} · started {when(run.started_at)}"]
        if run.finished_at:
            facts.append(f" · finished {when(run.finished_at)} · took {human_duration(run.duration_seconds)}")
        if run.parent_run_id:
            facts.append(f" · re-execution of {run.parent_run_id}")
        facts.append(safe("\n"))  # the line break (store text is made one line: lines=False)
        if planned:
            unplanned = len(written - set(planned))
            facts.append(f"wrote {len(written) - unplanned} of {len(planned)} planned assets"
                         + (f" and {unplanned} not planned" if unplanned else ""))
            if not_written:
                facts += [" · not written: ", (", ".join(not_written), "red" if run.status == "failed" else "cyan")]
        else:
            facts.append(f"wrote {counted(len(written), 'asset')}")
        if run.tags:
            facts.append(" · tags " + " ".join(f"{k}={v}" for k, v in run.tags.items()))
        self.query_one("#facts", Static).update(safe(*facts, lines=False))

        table = self.query_one("#versions", DataTable)
        cursor = table.cursor_row
        table.clear()
        for v in versions:
            ins = ", ".join(i.asset + ("" if i.run_id == self.run_id else f" ({short_run(i.run_id)})") for i in v.inputs)
            table.add_row(
                v.asset,
                v.data_format,
                safe(f"{v.table.num_rows:,}" if v.table else "", justify="right"),
                safe(human_size(v.size_bytes), justify="right"),
                v.short_hash,
                v.code_version or "",
                ins,
                key=v.asset,
            )
        if versions:
            table.move_cursor(row=min(cursor, len(versions) - 1), animate=False)
        g, info = run_graph(store, self.run_id, self.report)
        self.query_one("#graph", LineageGraph).set_graph(g, info)

    def action_open_asset(self) -> None:
        table = self.query_one("#versions", DataTable)
        if table.row_count:
            key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
            self.app.open_asset(key, self.run_id)

    @on(DataTable.RowSelected, "#versions")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.app.open_asset(str(event.row_key.value), self.run_id)

    @on(LineageGraph.NodeOpened)
    def _node_opened(self, event: LineageGraph.NodeOpened) -> None:
        info = event.graph.shown_info.get(event.key)
        run = info.run_id if info else None
        store = self.store
        if run is not None and not store.index.wrote(event.key, run):
            run = None
        self.app.open_asset(event.key, run)
