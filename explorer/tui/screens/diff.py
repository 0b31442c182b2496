"""Two versions of one asset compared: schema, rows, changed columns, samples, metadata, lineage."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..app import describe_error


def _section(title: str) -> Text:
    return Text("\n" + title, style="bold underline")


def render_diff(d: dict[str, Any], summary: list[str]) -> list[Any]:
    """Rich renderables for a ``VersionDiff.to_dict()``."""
    out: list[Any] = []
    head = Text()
    for line in summary:
        head.append("• " + line + "\n")
    out.append(head)
    schema = d.get("schema") or {}
    if schema:
        out.append(_section("schema"))
        t = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
        t.add_column("change")
        t.add_column("column")
        t.add_column("type")
        for change, style in (("added", "green"), ("removed", "red"), ("changed", "yellow"), ("type_changed", "yellow")):
            items = schema.get(change) or []
            if isinstance(items, dict):
                items = [{"name": k, "type": v} for k, v in items.items()]
            for item in items:
                if isinstance(item, dict):
                    name = item.get("name") or item.get("column") or ""
                    typ = item.get("type") or " → ".join(str(item.get(k)) for k in ("from", "to") if k in item) or \
                        " → ".join(str(item.get(k)) for k in ("a", "b") if k in item)
                else:
                    name, typ = str(item), ""
                t.add_row(Text(change, style=style), name, typ)
        if t.row_count:
            out.append(t)
        else:
            out.append(Text(json.dumps(schema, default=str)))
    rows = d.get("rows")
    if rows:
        out.append(_section("rows"))
        if isinstance(rows, dict):
            out.append(Text("  ".join(f"{k}: {v}" for k, v in rows.items())))
        else:
            out.append(Text(str(rows)))
    cols = d.get("columns_changed")
    if cols:
        out.append(_section("changed columns"))
        if isinstance(cols, dict):
            cols = [dict(v, column=k) if isinstance(v, dict) else {"column": k, "changed": v} for k, v in cols.items()]
        t = Table(box=None, padding=(0, 2), header_style="bold")
        keys = list(dict.fromkeys(k for c in cols if isinstance(c, dict) for k in c))
        for k in keys:
            t.add_column(k)
        for c in cols:
            if isinstance(c, dict):
                t.add_row(*(str(c.get(k, "")) for k in keys))
            else:
                t.add_row(str(c))
        out.append(t)
    samples = d.get("samples")
    if samples:
        out.append(_section("samples"))
        if isinstance(samples, dict):
            for name, rows_ in samples.items():
                if not rows_:
                    continue
                out.append(Text(name, style="bold"))
                if isinstance(rows_, list) and rows_ and isinstance(rows_[0], dict):
                    t = Table(box=None, padding=(0, 1), header_style="bold")
                    keys = list(dict.fromkeys(k for r in rows_ for k in r))
                    for k in keys:
                        t.add_column(str(k))
                    for r in rows_[:10]:
                        t.add_row(*(json.dumps(r.get(k), default=str) if not isinstance(r.get(k), str) else r.get(k)
                                    for k in keys))
                    out.append(t)
                else:
                    out.append(Text(json.dumps(rows_, default=str, indent=1)[:4000]))
        else:
            out.append(Text(json.dumps(samples, default=str, indent=1)[:4000]))
    for name in ("metadata", "lineage"):
        part = d.get(name)
        if part:
            out.append(_section(name))
            out.append(Text(json.dumps(part, default=str, indent=2)[:6000]))
    return out


class DiffScreen(Screen):
    """The diff of two versions of an asset, computed in a worker."""

    AUTO_FOCUS = "#diff-body"

    BINDINGS = [Binding("escape", "app.back", "back")]

    def __init__(self, key: str, a: str, b: str) -> None:
        super().__init__()
        self.key, self.a, self.b = key, a, b

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("diff ", "bold"), (self.key, "bold cyan"), f"  {self.a}  →  {self.b}"),
                     classes="title", id="title")
        yield VerticalScroll(id="diff-body")
        yield Footer()

    def on_mount(self) -> None:
        body = self.query_one("#diff-body")
        body.loading = True
        body.focus()
        self.compute()

    @work(thread=True, exclusive=True)
    def compute(self) -> None:
        store = self.app.store
        try:
            fn = getattr(store, "diff", None)
            if fn is None:
                raise RuntimeError("this build has no diff module")
            d = fn(self.key, a=self.a, b=self.b)
            parts = render_diff(d.to_dict(), d.summary())
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self._show, None, describe_error(exc))
            return
        self.app.call_from_thread(self._show, parts, None)

    def _show(self, parts: list[Any] | None, error: str | None) -> None:
        body = self.query_one("#diff-body")
        body.loading = False
        body.remove_children()
        if error is not None:
            body.mount(Static(Text(error, style="red")))
            self.notify(error, severity="error")
            return
        body.mount_all([Static(p, classes="diff-part") for p in parts])
