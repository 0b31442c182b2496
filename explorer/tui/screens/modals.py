"""Small modal dialogs: a reason to type (flags) and a yes/no question (unpickling)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from rich.text import Text
from textual.widgets import Button, Input, Static

from ..text import safe

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 80%; max-width: 90; height: auto; border: round $accent;
                    background: $surface; padding: 0 1; }}
{name} Horizontal {{ height: auto; align: right middle; }}
{name} Button {{ margin: 0 1; }}
"""


class ReasonModal(ModalScreen[str | None]):
    """Asks for a reason; ``enter`` submits it (it must not be empty), ``escape`` cancels."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = MODAL_CSS.format(name="ReasonModal")

    def __init__(self, question: Text, placeholder: str = "reason") -> None:
        super().__init__()
        self.question = question
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe(self.question), id="question")
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static("[b]enter[/b] confirms · [b]escape[/b] cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if not reason:
            self.notify("type a reason first (escape cancels)", severity="warning")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question; only ``y`` (or the Yes button) answers yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]
    DEFAULT_CSS = MODAL_CSS.format(name="ConfirmModal")

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe(self.question), id="question")
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="warning")
                yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
