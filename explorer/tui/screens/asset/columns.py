"""The asset screen's columns tab: the column lineage of the version shown, one step each way.
Every column lists where it comes from (``← clean.income_k``) and where it goes
(``→ features.ratio``), declared (``dagster/column_lineage``, ``RunWriter.write(column_lineage=...)``)
or inferred (passed through unchanged); ``enter`` on an entry opens that version at that column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text  # (annotations)
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static, TabPane, Tree

from ....column_lineage import INFERRED, ColumnEdge, ColumnMap, column_map
from ....models import AssetVersion
from ....names import with_partition
from ...errors import describe_error
from ...text import safe
from ...widgets.lineage_graph import short_run

if TYPE_CHECKING:
    from ....api import Store


@dataclass(frozen=True)
class ColumnRef:
    """A column of a version: ``enter`` on its entry opens ``key`` (with its partition) at ``run_id``."""

    asset: str
    run_id: str | None  # None: the version it names is not in the store
    partition: str | None
    column: str

    @property
    def ident(self) -> tuple[str, ...]:
        base = (self.asset, self.run_id or "")
        return base if self.partition is None else (*base, self.partition)

    @property
    def key(self) -> str:
        return self.asset if self.partition is None else with_partition(self.asset, self.partition)


def entry_label(arrow: str, asset: str, column: str, run_id: str | None, kind: str) -> Text:
    return safe((f"{arrow} ", "bold"), (asset, "bold"), ".", (column, "cyan"),
                (f"  @ {short_run(run_id)}" if run_id else "  (that version is not in the store)",
                 "dim" if run_id else "red"),
                ("  (inferred)", "dim italic") if kind == INFERRED else None)


class ColumnTree(Tree):
    """The columns and their entries; ``y`` copies a column's name, or an entry's ``KEY@RUN``."""

    BINDINGS = [
        Binding("y", "copy", "copy", show=False),
        Binding("j", "cursor_down", "down", show=False),
        Binding("k", "cursor_up", "up", show=False),
    ]

    def action_copy(self) -> None:
        node = self.cursor_node
        data = node.data if node is not None else None
        if isinstance(data, ColumnRef):
            self.app.copy_value(f"{data.key}@{data.run_id}" if data.run_id else data.column)  # type: ignore[attr-defined]
        elif isinstance(data, str):
            self.app.copy_value(data)  # type: ignore[attr-defined]

    def select_column(self, column: str) -> bool:
        """Move the cursor to ``column``'s node (True: found)."""
        for node in self.root.children:
            if node.data == column:
                node.expand()
                self.move_cursor(node)
                return True
        return False


class ColumnsPane(TabPane):
    """The column lineage tree of one version."""

    def __init__(self, number: int) -> None:
        super().__init__(f"{number} columns", id="columns")
        self.filled = False
        self.pending: str | None = None  # a column to put the cursor on once filled

    def compose(self) -> ComposeResult:
        yield Static(safe(("←", "bold"), " where a column comes from, ", ("→", "bold"), " where it goes, ",
                          ("(inferred)", "italic"), ": passed through unchanged; ", ("enter", "bold"),
                          " goes there"), classes="hint")
        yield ColumnTree("columns", id="columns-tree")

    def show(self, store: "Store", v: AssetVersion, key: str) -> None:
        """Fill the tree (the versions built from ``v`` are found in a worker: a pass over the index)."""
        self.filled = False
        self.read_map(store, v, key)

    def select_column(self, column: str) -> None:
        """Put the cursor on ``column`` (once the tree is filled)."""
        self.pending = column
        if self.filled:
            self.query_one(ColumnTree).select_column(column)

    @work(thread=True, exclusive=True, group="column-map")
    def read_map(self, store: "Store", v: AssetVersion, key: str) -> None:
        try:
            cmap = column_map(store.index, v)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.fill, None, v, key, describe_error(exc))
            return
        self.app.call_from_thread(self.fill, cmap, v, key, "")

    def fill(self, cmap: ColumnMap | None, v: AssetVersion, key: str, error: str) -> None:
        if not self.is_attached:
            return
        tree = self.query_one(ColumnTree)
        tree.clear()
        self.filled = True
        if cmap is None:
            tree.root.set_label(safe(error, style="red"))
            return
        n_from = len({e.column for e in cmap.upstream})
        n_to = len({e.source_column for e in cmap.downstream})
        tree.root.data = ColumnRef(v.asset, v.run_id, v.partition, "")  # the version itself (y copies KEY@RUN)
        if not cmap.columns:
            tree.root.set_label(safe((key, "bold"), " is not a table: it has no columns"))
            return
        tree.root.set_label(safe(
            (key, "bold"), f" @ {short_run(v.run_id)}: {len(cmap.columns)} columns, ",
            f"{n_from} with sources, {n_to} used downstream"))
        for column in cmap.columns:
            sources, uses = cmap.sources_of(column), cmap.uses_of(column)
            if not sources and not uses:
                tree.root.add_leaf(safe((column, "bold cyan"), ("  no recorded lineage", "dim")), data=column)
                continue
            counts = [f"← {len(sources)}"] * bool(sources) + [f"→ {len(uses)}"] * bool(uses)
            node = tree.root.add(safe((column, "bold cyan"), ("  " + "  ".join(counts), "dim")), data=column, expand=True)
            for e in sources:
                node.add_leaf(entry_label("←", e.source_asset, e.source_column, e.source_run_id, e.kind),
                              data=ColumnRef(e.source_asset, e.source_run_id, e.source_partition, e.source_column))
            for e in uses:
                node.add_leaf(entry_label("→", e.asset, e.column, e.run_id, e.kind),
                              data=ColumnRef(e.asset, e.run_id, e.partition, e.column))
        tree.root.expand()
        if self.pending:
            tree.select_column(self.pending)


__all__ = ["ColumnEdge", "ColumnRef", "ColumnTree", "ColumnsPane"]
