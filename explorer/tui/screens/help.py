"""Every key binding of the app, read from the classes that define them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_sections() -> list[tuple[str, list[Binding]]]:
    from ..app import ExplorerApp
    from ..widgets.lineage_graph import LineageGraph
    from .asset import AssetScreen, VersionsTable
    from .diff import DiffScreen
    from .graph import GraphScreen
    from .run import RunScreen
    from .runs import RunsScreen
    from .staleness import StalenessScreen

    return [
        ("everywhere", ExplorerApp.BINDINGS + [Binding("ctrl+p", "command_palette", "command palette: actions, runs, assets")]),
        ("runs (home)", RunsScreen.BINDINGS + [Binding("up,down,k,j,pageup,pagedown", "", "move")]),
        ("run", RunScreen.BINDINGS + [Binding("tab", "", "switch between versions table and graph")]),
        ("lineage graph", LineageGraph.BINDINGS + GraphScreen.BINDINGS),
        ("asset", AssetScreen.BINDINGS),
        ("asset versions", VersionsTable.BINDINGS + [Binding("enter", "", "open that version")]),
        ("staleness", StalenessScreen.BINDINGS),
        ("diff", DiffScreen.BINDINGS),
    ]


def key_label(b: Binding) -> str:
    if b.key_display and "/" not in b.key_display and "-" not in b.key_display:
        return b.key_display
    names = {"question_mark": "?", "slash": "/", "escape": "esc", "space": "space"}
    return " ".join(names.get(k.strip(), k.strip()) for k in b.key.split(","))


class HelpScreen(ModalScreen):
    """Keys of every screen."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "close"),
    ]

    def compose(self) -> ComposeResult:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column()
        for title, bindings in binding_sections():
            grid.add_row(Text(title, style="bold underline"), "")
            seen = set()
            for b in bindings:
                label = key_label(b)
                if (label, b.description) in seen:
                    continue
                seen.add((label, b.description))
                grid.add_row(label, b.description)
            grid.add_row("", "")
        with VerticalScroll(id="help-box"):
            yield Static(Text("keys · escape closes", style="bold"), classes="title")
            yield Static(grid, id="help-table")

    def action_dismiss(self) -> None:
        self.dismiss()
