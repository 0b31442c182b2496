"""The trace of one row: the exact upstream rows and versions it came from (``store.trace``)."""

from __future__ import annotations

import json
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from .base import AppScreen
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import Static, Tree

from ..errors import describe_error
from ..text import human_size, safe

ROWS_SHOWN = 5


def short_hash(content_hash: str | None) -> str:
    """``sha256:41ce33281eb0…`` -> ``41ce33281eb0``: the 12 characters the rest of the app shows
    (``y`` on a step copies nothing longer; the overview has the whole hash)."""
    return (content_hash or "").split(":")[-1][:12]


def row_text(row: dict[str, Any], width: int = 160) -> str:
    text = ", ".join(f"{k}={v}" for k, v in row.items())
    return text if len(text) <= width else text[: width - 1] + "…"


def where_text(where: dict[str, Any]) -> str:
    parts = []
    for col, val in where.items():
        vals = val if isinstance(val, (list, tuple)) else [val]
        parts.append(f"{col}=" + "|".join(str(v) for v in vals))
    return " and ".join(parts)


class TraceScreen(AppScreen):
    """A tree: the traced rows, then every upstream version from the decision to the sources."""

    AUTO_FOCUS = "#trace-tree"
    BINDINGS = [Binding("escape", "app.back", "back")]

    def __init__(self, key: str, run: str, where: dict[str, Any]) -> None:
        super().__init__()
        self.key = key
        self.run = run
        self.where = dict(where)
        self.result: Any = None
        self.error: str | None = None

    crumb = "trace"

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(id="title", classes="title")
        yield Tree("trace", id="trace-tree")
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one("#title", Static).update(safe(
            ("trace ", "bold"), (self.key, "bold cyan"), f" @ {self.run}  where {where_text(self.where)}"))
        tree = self.query_one("#trace-tree", Tree)
        tree.root.set_label(safe("tracing …", style="dim"))
        tree.loading = True
        self.run_trace()

    @work(thread=True, exclusive=True, group="trace")
    def run_trace(self) -> None:
        try:
            result = self.store.trace(self.key, self.run, where=self.where)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.app.call_from_thread(self._failed, describe_error(exc))
            return
        self.app.call_from_thread(self._show, result)

    def _failed(self, message: str) -> None:
        if not self.is_attached:  # the user went back while the trace ran
            return
        self.error = message
        tree = self.query_one("#trace-tree", Tree)
        tree.loading = False
        tree.root.set_label(safe(f"cannot trace: {message}", style="red"))
        self.notify(message, title="cannot trace this row", severity="error")

    @staticmethod
    def _rows(node, rows, label: str = "rows") -> None:
        if not rows:
            node.add_leaf(safe(f"{label}: none", style="dim"))
            return
        branch = node.add(safe(f"{label} ({len(rows)})"), expand=True)
        for r in rows[:ROWS_SHOWN]:
            branch.add_leaf(safe(row_text(r)))
        if len(rows) > ROWS_SHOWN:
            branch.add_leaf(safe(f"… {len(rows) - ROWS_SHOWN} more", style="dim"))

    def _show(self, result: Any) -> None:
        if not self.is_attached:  # the user went back while the trace ran
            return
        self.result = result
        tree = self.query_one("#trace-tree", Tree)
        tree.loading = False
        tree.clear()
        root = result.root
        tree.root.set_label(safe((root.asset, "bold"), " @ ", (root.run_id, "cyan"),
                                     f"  ({len(result.steps)} upstream versions)"))
        tree.root.data = root
        tree.root.add_leaf(safe(f"hash: {short_hash(root.content_hash)}"))
        tree.root.add_leaf(safe(f"where: {where_text(root.where)}"))
        self._rows(tree.root, list(root.rows))
        try:  # the version's own metadata: often the rule behind a value (a threshold, a model)
            metadata = self.store.version(root.asset, root.run_id).metadata
        except Exception:  # noqa: BLE001 - the facts are a help, not the trace
            metadata = {}
        if metadata:
            branch = tree.root.add(safe(f"metadata of {root.asset} @ {root.run_id}"), expand=True)
            for k, v in sorted(metadata.items()):
                branch.add_leaf(safe(f"{k}: {json.dumps(v, default=str)[:120]}"))
        for step in result.steps:
            note = None
            if step.kind == "missing":
                note = ("  missing from the store", "red")
            elif step.kind == "table" and not step.traceable:
                note = ("  not traceable by row", "yellow")
            elif step.kind == "table":
                note = (f"  {len(step.rows)} matching rows", "green")
            label = safe((step.asset, "bold"), " @ ", (step.run_id, "cyan"), f"  {step.kind}", note)
            node = tree.root.add(label, data=step, expand=True)
            if step.content_hash:
                node.add_leaf(safe(f"hash: {short_hash(step.content_hash)}"))
            if step.consumers:
                node.add_leaf(safe("read by: " + ", ".join(f"{c.asset} @ {c.run_id}" for c in step.consumers)))
            if step.matched_on:
                node.add_leaf(safe(f"matched on: {', '.join(step.matched_on)} ({step.match_kind})"))
            if step.kind == "table" and step.traceable:
                self._rows(node, list(step.rows))
            if step.kind == "object":
                facts = step.facts
                node.add_leaf(safe(f"format: {facts.get('format')}, {human_size(facts.get('size_bytes'))}"))
                if facts.get("code_version"):
                    node.add_leaf(safe(f"code version: {facts['code_version']}"))
                for k, v in sorted((facts.get("metadata") or {}).items()):
                    node.add_leaf(safe(f"metadata {k}: {json.dumps(v, default=str)[:120]}"))
                if "array" in facts:
                    node.add_leaf(safe(f"array: shape {tuple(facts['array']['shape'])}, dtype {facts['array']['dtype']}"))
                if "content" in facts:
                    node.add_leaf(safe("content: " + json.dumps(facts["content"], default=str)[:200]))
            if step.note:
                node.add_leaf(safe(step.note, style="yellow" if not step.traceable else "dim"))
        tree.root.expand()
