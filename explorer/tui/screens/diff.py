"""Two versions of one asset compared: schema, rows, changed columns, samples, metadata, lineage."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from .base import AppScreen
from ..widgets.bars import Breadcrumbs, bottom_bars
from textual.widgets import Static

from ..app import describe_error
from ..text import RichTable as Table, safe
from ..widgets.lineage_graph import short_run


def _section(title: str) -> Text:
    return Text("\n" + title, style="bold underline")


def _cell(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


def _records(rows: list[dict], limit: int = 10) -> Table:
    t = Table(box=None, padding=(0, 1), header_style="bold")
    keys = list(dict.fromkeys(k for r in rows for k in r))
    for k in keys:
        t.add_column(str(k))
    for r in rows[:limit]:
        t.add_row(*(_cell(r.get(k)) for k in keys))
    return t


def render_diff(d: dict[str, Any], summary: list[str]) -> list[Any]:
    """Rich renderables for a ``VersionDiff``: its summary, then changed columns, samples and
    the lineage explanation as tables (everything from ``to_dict()``, nothing recomputed)."""
    out: list[Any] = []
    head = Text()
    for line in summary:
        stripped = line.strip()
        style = "green" if stripped.startswith("+") else "red" if stripped.startswith("-") else \
            "bold" if line.endswith(":") or line is summary[0] else ""
        head.append(line + "\n", style=style)
    out.append(head)
    schema = d.get("schema") or {}
    if any(schema.get(k) for k in ("added", "removed", "changed")):
        out.append(_section("schema"))
        t = Table(box=None, padding=(0, 2), header_style="bold")
        for c in ("change", "column", "type"):
            t.add_column(c)
        for item in schema.get("added") or []:
            t.add_row(Text("added", style="green"), item.get("column", ""), str(item.get("type", "")))
        for item in schema.get("removed") or []:
            t.add_row(Text("removed", style="red"), item.get("column", ""), str(item.get("type", "")))
        for item in schema.get("changed") or []:
            t.add_row(Text("type changed", style="yellow"), item.get("column", ""),
                      f"{item.get('from')} → {item.get('to')}")
        out.append(t)
    rows = d.get("rows")
    if isinstance(rows, dict) and rows:
        out.append(_section("rows"))
        out.append(Text("   ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in rows.items())))
    cols = d.get("columns_changed")
    if cols:
        out.append(_section("changed columns (rows whose value differs)"))
        t = Table(box=None, padding=(0, 2), header_style="bold")
        t.add_column("column")
        t.add_column("rows changed", justify="right")
        for name, n in cols.items():
            t.add_row(name, f"{n:,}" if isinstance(n, int) else _cell(n))
        out.append(t)
    samples = d.get("samples")
    if isinstance(samples, dict) and any(samples.values()):
        for name in ("added", "removed"):
            if samples.get(name):
                out.append(_section(f"sample of {name} rows"))
                out.append(_records(samples[name]))
        if samples.get("changed"):
            out.append(_section("sample of changed rows"))
            t = Table(box=None, padding=(0, 2), header_style="bold")
            for c in ("key", "column", "from", "to"):
                t.add_column(c)
            for item in samples["changed"][:10]:
                key = ", ".join(f"{k}={_cell(v)}" for k, v in (item.get("key") or {}).items())
                for col, ch in (item.get("changes") or {}).items():
                    t.add_row(key, col, Text(_cell(ch.get("from")), style="red"), Text(_cell(ch.get("to")), style="green"))
            out.append(t)
    elif samples and not isinstance(samples, dict):
        out.append(_section("samples"))
        out.append(Text(json.dumps(samples, default=str, indent=1)[:4000]))
    meta = d.get("metadata")
    if meta:
        out.append(_section("metadata"))
        t = Table(box=None, padding=(0, 2), header_style="bold")
        for c in ("field", "from", "to"):
            t.add_column(c)
        for k, ch in meta.items():
            if isinstance(ch, dict) and "from" in ch:
                t.add_row(k, _cell(ch.get("from")), _cell(ch.get("to")))
            else:
                t.add_row(k, _cell(ch), "")
        out.append(t)
    steps = d.get("lineage")
    if steps:
        out.append(_section("lineage: why they differ"))
        t = Table(box=None, padding=(0, 2), header_style="bold")
        for c in ("asset", "from run", "to run", "status", "changes"):
            t.add_column(c)
        for st in steps:
            indent = "  " * int(st.get("depth") or 0)
            t.add_row(indent + str(st.get("asset")), str(st.get("a") or "-"), str(st.get("b") or "-"),
                      str(st.get("status") or ""), "; ".join(st.get("changes") or []))
        out.append(t)
    return out


class DiffScreen(AppScreen):
    """The diff of two versions of an asset, computed in a worker."""

    AUTO_FOCUS = "#diff-body"

    BINDINGS = [Binding("escape", "app.back", "back")]

    def __init__(self, key: str, a: str, b: str) -> None:
        super().__init__()
        self.key, self.a, self.b = key, a, b
        self.parts: list[Any] = []

    @property
    def crumb(self) -> str:
        return f"diff {short_run(self.a)} → {short_run(self.b)}"

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(safe(Text.assemble(("diff ", "bold"), (self.key, "bold cyan"), f"  {self.a}  →  {self.b}")),
                     classes="title", id="title")
        yield VerticalScroll(id="diff-body")
        yield from bottom_bars()

    def on_mount(self) -> None:
        body = self.query_one("#diff-body")
        body.loading = True
        body.focus()
        self.compute()

    @work(thread=True, exclusive=True)
    def compute(self) -> None:
        store = self.app.store
        try:
            d = store.diff(self.key, a=self.a, b=self.b)
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
            body.mount(Static(safe(Text(error, style="red"))))
            self.notify(error, severity="error")
            return
        self.parts = parts
        body.mount_all([Static(p if isinstance(p, Table) else safe(p), classes="diff-part") for p in parts])
