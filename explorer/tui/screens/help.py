"""Every key binding of the app, read from the classes that define them."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_sections() -> list[tuple[str, list[Binding]]]:
    from ..app import ExplorerApp
    from ..widgets.tables import Table
    from ..widgets.lineage_graph import LineageGraph
    from .asset import AssetScreen, PreviewTable, VersionsTable
    from .modals import ConfirmModal, ReasonModal
    from .trace import TraceScreen
    from .diff import DiffScreen
    from .graph import GraphScreen
    from .run import RunScreen
    from .runs import RunsScreen
    from .staleness import StalenessScreen

    return [
        ("everywhere", ExplorerApp.BINDINGS),
        ("tables", [Binding("up,down,pageup,pagedown", "", "move")] + Table.BINDINGS
                    + [Binding("left,right", "", "a column left / right")]),
        ("runs (home)", RunsScreen.BINDINGS + [Binding("click header", "", "sort by that column")]),
        ("run", RunScreen.BINDINGS + [Binding("tab", "", "switch between versions table and graph")]),
        ("lineage graph", LineageGraph.BINDINGS + GraphScreen.BINDINGS),
        ("asset", AssetScreen.BINDINGS),
        ("asset preview", PreviewTable.BINDINGS),
        ("asset versions", VersionsTable.BINDINGS + [Binding("enter", "", "open that version")]),
        ("trace", TraceScreen.BINDINGS + [Binding("enter,space", "", "expand / collapse a step")]),
        ("flag reason", [Binding("enter", "", "confirm")] + ReasonModal.BINDINGS),
        ("unpickle question", ConfirmModal.BINDINGS),
        ("staleness", StalenessScreen.BINDINGS),
        ("diff", DiffScreen.BINDINGS),
    ]


def key_label(b: Binding) -> str:
    if b.key_display and "/" not in b.key_display and "-" not in b.key_display:
        return b.key_display
    names = {"question_mark": "?", "slash": "/", "escape": "esc", "space": "space"}
    return " ".join(names.get(k.strip(), k.strip()) for k in b.key.split(","))


KEY_WIDTH = 16


class HelpScreen(ModalScreen):
    """Keys of every screen."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "close"),
    ]

    def compose(self) -> ComposeResult:
        text = Text()
        for title, bindings in binding_sections():
            text.append(title + "\n", style="bold underline")
            seen = set()
            for b in bindings:
                label = key_label(b)
                if (label, b.description) in seen:
                    continue
                seen.add((label, b.description))
                text.append(f"  {label:<{KEY_WIDTH}} ", style="bold cyan")
                if len(label) > KEY_WIDTH:  # a long key list gets its own line
                    text.append("\n" + " " * (KEY_WIDTH + 3))
                text.append(b.description + "\n")
            text.append("\n")
        with VerticalScroll(id="help-box"):
            yield Static(Text("keys · escape closes", style="bold"), classes="title")
            yield Static(text, id="help-table")

    def action_dismiss(self) -> None:
        self.dismiss()
