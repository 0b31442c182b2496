"""The whole store's lineage graph at its latest versions, with the focused asset's facts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from .base import AppScreen
from ...humanize import counted
from ..errors import safely
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import Static

from ..status import store_graph
from ..widgets.detail import DetailBar
from ..text import cause_lines, safe, status_text, when
from ..widgets.lineage_graph import LineageGraph


class GraphScreen(AppScreen):
    """Every asset at its latest version."""

    crumb = "lineage"

    AUTO_FOCUS = "#graph"

    BINDINGS = [Binding("escape", "app.back", "back")]

    def __init__(self, focus: str | None = None) -> None:
        super().__init__()
        self.initial_focus = focus

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(id="title", classes="title")
        yield LineageGraph(id="graph")
        yield DetailBar(id="detail")
        yield from bottom_bars()

    def on_mount(self) -> None:
        safely(self.app, self.show_store)
        self.query_one("#graph").focus()

    def show_store(self) -> None:
        store = self.store
        g, info = store_graph(store, self.report)
        counts: dict[str, int] = {}
        for i in info.values():
            counts[i.status] = counts.get(i.status, 0) + 1
        parts: list = [("lineage ", "bold"), (self.app.label, "cyan"), f" · {counted(g.number_of_nodes(), 'asset')} · "]
        for k in sorted(counts):
            parts += [status_text(k, f" {counts[k]}"), "  "]
        self.query_one("#title", Static).update(safe(*parts))
        graph = self.query_one("#graph", LineageGraph)
        graph.set_graph(g, info, focus=self.initial_focus)
        self.initial_focus = None
        self.query_one("#detail", DetailBar).update(self.describe(graph.focused_node))

    def focus_asset(self, key: str) -> None:
        graph = self.query_one("#graph", LineageGraph)
        graph.focus_node(key)
        graph.focus()
        self.query_one("#detail", DetailBar).update(self.describe(graph.focused_node))

    def on_lineage_graph_node_focused(self, event: LineageGraph.NodeFocused) -> None:
        # the node focused now: a message posted before the graph was filled names no node
        self.query_one("#detail", DetailBar).update(self.describe(event.graph.focused_node))

    def describe(self, key: str | None) -> "Text":
        store = self.store
        graph = self.query_one("#graph", LineageGraph)
        if key is None or store is None:
            return safe("")
        if key in graph.members:
            return safe(f"{key}: {', '.join(graph.members[key])} (enter to expand)")
        info = graph.shown_info.get(key)
        parts: list = [(key, "bold"), "  "]
        if info:
            parts.append(status_text(info.status))
        v = store.index.latest(key)
        if v is not None:
            parts.append(f"  latest {v.run_id} · {when(v.created_at)} · code {v.code_version or '-'}")
        if graph.highlight_kind:
            parts.append((f"\n  {len(graph.highlight)} assets {graph.highlight_kind} of {key} highlighted "
                          f"({graph.highlight_kind[0]} again to clear)", "bright_cyan"))
        report = self.report
        if report is not None:
            status = report.get(key) if hasattr(report, "get") else None
            for line in cause_lines(status)[:2] if status is not None else ():
                parts.append(("\n  " + line, "yellow"))
        return safe(*parts)

    @on(LineageGraph.NodeOpened)
    def _opened(self, event: LineageGraph.NodeOpened) -> None:
        self.app.open_asset(event.key)
