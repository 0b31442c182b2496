"""Choose a store when several are configured and none was named on the command line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class StorePicker(ModalScreen[str]):
    """A list of ``(key, label)`` choices; dismisses with the chosen key."""

    BINDINGS = [
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
        Binding("escape,q", "app.quit", "quit"),
    ]

    DEFAULT_CSS = """
    StorePicker { align: center middle; }
    StorePicker > Vertical { width: 80%; max-width: 100; height: auto; max-height: 80%;
                             border: round $accent; background: $surface; padding: 0 1; }
    StorePicker OptionList { height: auto; max-height: 20; border: none; }
    """

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Open which store?[/b]  enter opens · escape quits")
            yield OptionList(*[Option(label, id=key) for key, label in self.choices], id="stores")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
