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

from ..errors import describe_error
from ..text import RichTable as Table, safe
from ..widgets.lineage_graph import short_run


def _section(title: str) -> Text:
    return Text("\n" + title, style="bold underline")


def _cell(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, default=str)


LONG = 40  # a string longer than this is shown around its first difference, as the CLI does
WINDOW = 20  # the from / to windows beside a "first difference" column (80 columns hold the row)


def _is_long(ch: Any) -> bool:
    """A changed cell of two strings too long to show whole (or cut by the diff, which keeps a
    window around the first difference and the full lengths)."""
    return (isinstance(ch.a, str) and isinstance(ch.b, str)
            and (max(len(ch.a), len(ch.b)) > LONG or ch.length_a is not None or ch.length_b is not None))


def _records(rows: list[dict], limit: int = 10) -> Table:
    t = Table(box=None, padding=(0, 1), header_style="bold")
    keys = list(dict.fromkeys(k for r in rows for k in r))
    for k in keys:
        t.add_column(str(k))
    for r in rows[:limit]:
        t.add_row(*(_cell(r.get(k)) for k in keys))
    return t


def head_lines(result: Any) -> list[str]:
    """The summary's lines that the sections below do not show again: what is compared, whether
    the content differs and why; a table's row counts and changed columns, and the metadata
    changes, are left to their own tables (at 80x24 the answer fits the first screen)."""
    lines = result.summary()
    out, section = [], "head"
    for i, line in enumerate(lines):
        if line in ("metadata:", "why:"):
            section = line[:-1]
        elif section == "head" and i > 0 and not line.startswith(("content differs", "same content")):
            section = "details"
        if (section in ("head", "why") or (section == "details" and result.table is None)
                or (section == "metadata" and not result.metadata)):
            out.append(line)
    return out


def render_diff(result: Any) -> list[Any]:
    """Rich renderables for a ``VersionDiff``: its summary, then schema, rows, changed columns,
    samples, metadata and the lineage explanation as tables (read from its attributes, nothing recomputed)."""
    from ...diff.result import around, inline_change

    summary = head_lines(result)
    out: list[Any] = []
    head = Text()
    for line in summary:
        stripped = line.strip()
        style = "green" if stripped.startswith("+") else "red" if stripped.startswith("-") else \
            "bold" if line.endswith(":") or line is summary[0] else ""
        head.append(line + "\n", style=style)
    out.append(head)
    t = result.table
    if t is not None and t.schema.differs:
        out.append(_section("schema"))
        tab = Table(box=None, padding=(0, 2), header_style="bold")
        for c in ("change", "column", "type"):
            tab.add_column(c)
        for item in t.schema.added:
            tab.add_row(Text("added", style="green"), item.column, item.type)
        for item in t.schema.removed:
            tab.add_row(Text("removed", style="red"), item.column, item.type)
        for ch in t.schema.changed:
            tab.add_row(Text("type changed", style="yellow"), ch.column, f"{ch.a} → {ch.b}: {ch.describe()}")
        out.append(tab)
    if t is not None:
        out.append(_section("rows"))
        out.append(Text("   ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in t.rows.to_dict().items())))
        if t.columns_changed:
            out.append(_section("changed columns (rows whose value differs)"))
            tab = Table(box=None, padding=(0, 2), header_style="bold")
            tab.add_column("column")
            tab.add_column("rows changed", justify="right")
            for name, n in t.columns_changed.items():
                tab.add_row(name, f"{n:,}")
            out.append(tab)
        for name, rows in (("added", t.samples.added), ("removed", t.samples.removed)):
            if rows:
                out.append(_section(f"sample of {name} rows"))
                out.append(_records(list(rows)))
        if t.samples.changed:
            out.append(_section("sample of changed rows"))
            shown = t.samples.changed[:10]
            long = any(_is_long(ch) for item in shown for ch in item.changes)
            tab = Table(box=None, padding=(0, 2 if not long else 1), header_style="bold")
            for c in ("key", "column", "from", "to") + (("first difference",) if long else ()):
                tab.add_column(c)
            for item in shown:
                key = ", ".join(f"{k}={_cell(v)}" for k, v in item.key.items())
                for ch in item.changes:
                    x, y = (around(ch.a, ch.b, WINDOW if long else 60) if isinstance(ch.a, str) and isinstance(ch.b, str)
                            else (_cell(ch.a), _cell(ch.b)))
                    cells = [key, ch.column, Text(x, style="red"), Text(y, style="green")]
                    if long:  # as the CLI's table: the first difference in place, ``…abc[d→X]ef…``
                        cells.append(Text(inline_change(ch.a, ch.b, 40), style="yellow") if _is_long(ch) else "")
                    tab.add_row(*cells)
            out.append(tab)
        d = t.duplicates
        if d is not None:
            for side, rows in (("A", d.unmatched_a), ("B", d.unmatched_b)):
                if rows:
                    out.append(_section(f"rows of repeated keys only in {side}"))
                    out.append(_records(list(rows)))
    if result.metadata:
        out.append(_section("metadata"))
        tab = Table(box=None, padding=(0, 2), header_style="bold")
        for c in ("field", "from", "to"):
            tab.add_column(c)
        for k, ch in result.metadata.items():
            tab.add_row(k, _cell(ch.a), _cell(ch.b))
        out.append(tab)
    if result.lineage:
        out.append(_section("lineage: why they differ"))
        tab = Table(box=None, padding=(0, 2), header_style="bold")
        for c in ("asset", "from run", "to run", "status", "changes"):
            tab.add_column(c)
        for st in result.lineage:
            tab.add_row("  " * st.depth + st.asset, st.a or "-", st.b or "-", st.status, "; ".join(st.changes))
        out.append(tab)
    return out


class DiffScreen(AppScreen):
    """The diff of two versions of an asset, computed in a worker."""

    AUTO_FOCUS = "#diff-body"

    BINDINGS = [Binding("escape", "app.back", "back")]

    def __init__(self, key: str, a: str, b: str, **options: Any) -> None:
        """``options``: those of ``Store.diff`` (keys, abs_tol, rel_tol, ignore_spaces, ignore_case,
        ignore_column_case, exclude, columns, redact, limit), shown in the title."""
        super().__init__()
        self.key, self.a, self.b = key, a, b
        self.options = options
        self.parts: list[Any] = []

    @property
    def crumb(self) -> str:
        return f"diff {short_run(self.a)} → {short_run(self.b)}"

    def compose(self) -> ComposeResult:
        yield Breadcrumbs()
        yield Static(safe(Text.assemble(("diff ", "bold"), (self.key, "bold cyan"), f"  {self.a}  →  {self.b}",
                                        ("  " + self._options_text()) if self.options else "")),
                     classes="title", id="title")
        yield VerticalScroll(id="diff-body")
        yield from bottom_bars()

    def _options_text(self) -> str:
        parts = []
        for name, value in self.options.items():
            if value in (None, False, (), [], {}):
                continue
            parts.append(name.replace("_", "-") if value is True else f"{name.replace('_', '-')} {value}")
        return "(" + ", ".join(parts) + ")" if parts else ""

    def on_mount(self) -> None:
        body = self.query_one("#diff-body")
        body.loading = True
        body.focus()
        self.compute()

    @work(thread=True, exclusive=True)
    def compute(self) -> None:
        store = self.store
        try:
            d = store.diff(self.key, a=self.a, b=self.b, **self.options)
            parts = render_diff(d)
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
