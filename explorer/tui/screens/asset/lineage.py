"""The asset screen's provenance and impact tabs: every version this one was built from, and
every version built from it, as trees (``enter`` opens a version)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import TabPane, Tree

from ....lineage import LineageResult
from ....models import InputRef
from ...errors import describe_error
from ...text import safe

if TYPE_CHECKING:
    from ....api import Store

TREE_DEPTH = 200  # provenance / impact levels drawn (`frontier-explore provenance -f json` lists them all)


def ref_label(ref: InputRef, missing: set[InputRef] | frozenset[InputRef]) -> Text:
    return safe((ref.asset, "bold"), "  ", (ref.run_id, "cyan"),
                ("  missing from the store", "red") if ref in missing else None)


class VersionTree(Tree):
    """A provenance or impact tree; ``y`` copies the focused version as ``KEY@RUN``."""

    BINDINGS = [Binding("y", "copy", "copy KEY@RUN", show=False)]

    def action_copy(self) -> None:
        node = self.cursor_node
        ref = node.data if node is not None else None
        if isinstance(ref, InputRef):
            self.app.copy_value(f"{ref.asset}@{ref.run_id}")  # type: ignore[attr-defined]


class LineagePane(TabPane):
    """One tree: ``direction`` is ``provenance`` (upstream) or ``impact`` (downstream)."""

    def __init__(self, direction: str, number: int) -> None:
        super().__init__(f"{number} {direction}", id=direction)
        self.direction = direction

    def compose(self) -> ComposeResult:
        yield VersionTree(self.direction, id=f"{self.direction}-tree")

    def show(self, store: "Store", key: str, run_id: str) -> None:
        tree = self.query_one(Tree)
        tree.clear()
        try:
            result: LineageResult = getattr(store, self.direction)(key, run_id)
        except Exception as exc:  # noqa: BLE001
            tree.root.set_label(safe(describe_error(exc), style="red"))
            return
        missing = set(result.missing)  # (once: a long answer has thousands of labels)
        tree.root.set_label(safe(ref_label(result.root, missing)))
        tree.root.data = result.root
        nodes = {result.root: tree.root}
        for step in result.walk(max_depth=TREE_DEPTH):  # Textual's Tree draws by recursion: bounded
            label = ref_label(step.child, missing)
            parent = nodes[step.parent]
            if step.repeated:
                parent.add_leaf(safe(label, (" (shown above)", "dim")), data=step.child)
            elif step.cut:
                parent.add(safe(label), data=step.child).add_leaf(safe("… deeper levels not drawn here", style="dim"))
            elif step.has_children:
                nodes[step.child] = parent.add(safe(label), data=step.child, expand=True)
            else:
                parent.add_leaf(safe(label), data=step.child)
        tree.root.expand()
        if len(result.versions) == 1:
            tree.root.add_leaf(safe("nothing upstream: a source" if self.direction == "provenance"
                                    else "nothing built from this version yet", style="dim"))
