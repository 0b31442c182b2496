"""The asset screen's preview tab: a table's rows read a page at a time (``m`` reads the next
page, never the whole table), or the text of a JSON, bytes or pickle version. ``/`` filters the
rows read, ``=`` keeps the rows holding the focused value, ``F`` counts the values of the focused
column over the whole version (DuckDB, as VisiData's ``F``), ``t`` traces the row under the cursor
to its sources."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static, TabPane

from ....models import AssetVersion
from ...errors import describe_error
from ....formats.base import quote_ident, quote_literal
from ...text import human_size, safe, when
from ...widgets.tables import Table
from .overview import fmt_value

if TYPE_CHECKING:
    from ....api import Store

PREVIEW_ROWS = 50  # rows per page read
FREQUENCIES = 200  # values listed by F (the count of distinct values is always whole)
NOT_STORED = ("stored outside the store: Dagster recorded this materialization (its metadata, data version "
              "and inputs are in the overview); its data is wherever the asset wrote it, so there is nothing to preview")


class PreviewTable(Table):
    """The data preview; ``t`` traces the row under the cursor to its sources (offered only for a
    table version: trace follows table rows)."""

    BINDINGS = [
        Binding("t", "screen.trace_row", "trace row"),
        Binding("m", "more", "more rows"),
        Binding("equals_sign", "filter_value", "this value", key_display="="),
        Binding("F", "frequency", "counts", key_display="F"),
    ]

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("fixed_columns", 1)  # the first column (often the key) stays while the others scroll
        super().__init__(**kw)

    def pane(self) -> "PreviewPane":
        return next(a for a in self.ancestors if isinstance(a, PreviewPane))

    def focused_column(self) -> str | None:
        if not self.columns:
            return None
        return str(self.ordered_columns[self.cursor_column].key.value)

    def action_more(self) -> None:
        self.pane().load_more()

    def action_frequency(self) -> None:
        column = self.focused_column()
        if column is not None:
            self.pane().frequency(column)

    def action_filter_value(self) -> None:
        """Keep the rows whose focused column holds the focused value; again: show every row."""
        if not self.row_count:
            return
        if self.value_filter is not None:
            self.set_value_filter(None)
            return
        cell = self.get_cell_at(self.cursor_coordinate)
        self.set_value_filter((self.cursor_column, cell.plain if isinstance(cell, Text) else str(cell)))


def pickle_facts(v: AssetVersion, refusal: str) -> Text:
    """What is known of a pickle without unpickling it, and why it is not loaded."""
    t = Text()

    def line(label: str, value: Any) -> None:
        t.append(f"{label:>13}  ", style="bold")
        t.append(f"{value}\n")

    line("format", "pickle")
    line("size", f"{human_size(v.size_bytes)} ({v.size_bytes:,} bytes)")
    line("hash", v.content_hash)
    line("created", when(v.created_at))
    line("code version", v.code_version or "-")
    line("path", v.data_path)
    line("inputs", ", ".join(f"{i.asset}@{i.run_id}" for i in v.inputs) or "none")
    for k, val in sorted(v.metadata.items()):
        line("metadata", f"{k}: " + (json.dumps(val, default=str) if not isinstance(val, str) else val))
    t.append("\n")
    t.append(refusal + "\n", style="yellow")
    t.append_text(Text.assemble(("P", "bold"), " loads it anyway, after asking"))
    return t


class PreviewPane(TabPane):
    """Reads the preview in a worker; ``frame`` / ``version`` are what it shows."""

    def __init__(self) -> None:
        super().__init__("2 preview", id="preview")
        self.frame: pd.DataFrame | None = None
        self.version: AssetVersion | None = None
        self.store: "Store | None" = None
        self._previewed: tuple | None = None
        self.done = False  # every row of the version has been read

    def compose(self) -> ComposeResult:
        yield Static(id="preview-note", classes="hint")
        yield PreviewTable(id="preview-table", zebra_stripes=True)
        yield VerticalScroll(Static(id="preview-text"), id="preview-scroll")

    def on_mount(self) -> None:
        self.query_one("#preview-scroll").display = False

    def show(self, store: "Store", v: AssetVersion) -> None:
        """Read the preview of ``v`` unless it is the one shown (a refresh keeps it)."""
        self.store = store
        if self._previewed != (v.asset, v.run_id, v.content_hash):
            self._previewed = (v.asset, v.run_id, v.content_hash)
            self.load(store, v)

    @work(thread=True, exclusive=True, group="preview")
    def load(self, store: "Store", v: AssetVersion) -> None:
        self.app.call_from_thread(self._loading)
        if not v.stored:
            self.app.call_from_thread(self._show, NOT_STORED, None, v)
            return
        try:
            value = store.preview(v.asset, v.run_id, rows=PREVIEW_ROWS)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self._show, None, describe_error(exc), v)
            return
        self.app.call_from_thread(self._show, value, None, v)

    def _loading(self) -> None:
        self.query_one("#preview-table").loading = True

    def _show(self, value: Any, error: str | None, v: AssetVersion | None = None) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        table = self.query_one("#preview-table", DataTable)
        table.loading = False
        text = self.query_one("#preview-text", Static)
        scroll = self.query_one("#preview-scroll")
        self.version = v
        self.frame = value if error is None and isinstance(value, pd.DataFrame) else None
        self.screen.refresh_bindings()  # ``t`` is offered for a table only
        note = self.query_one("#preview-note", Static)
        note.display = self.frame is not None
        if error is not None or not isinstance(value, pd.DataFrame):
            table.display = False
            scroll.display = True
            if error is not None:
                text.update(safe(Text(error, style="red")))
            elif v is not None and v.data_format == "pickle":
                text.update(safe(pickle_facts(v, str(value))))
            elif isinstance(value, (dict, list)):
                text.update(safe(json.dumps(value, indent=2, default=str)[:20000]))
            else:
                text.update(safe(str(value)[:20000]))
            return
        table.display = True
        scroll.display = False
        table.clear(columns=True)
        for c in value.columns:
            table.add_column(str(c), key=str(c))
        self.done = len(value) < PREVIEW_ROWS
        self._add_rows(value, 0)

    def _add_rows(self, frame: pd.DataFrame, start: int) -> None:
        table = self.query_one("#preview-table", DataTable)
        for i, row in enumerate(frame.itertuples(index=False), start):
            table.add_row(*(fmt_value(x) for x in row), key=str(i))  # the frame's row (a filter hides some)
        self.show_note()
        if isinstance(table, Table):
            table.report_columns()  # a filter's count includes the new rows

    def total_rows(self) -> int | None:
        v = self.version
        return v.table.num_rows if v is not None and v.table is not None else None

    def show_note(self) -> None:
        """``rows 1–50 of 3,161 · m 50 more · / filter · = this value · F counts``"""
        n = 0 if self.frame is None else len(self.frame)
        total = self.total_rows()
        if total is not None:
            self.done = self.done or n >= total
        shown = f"rows 1–{n:,}" if n else "no rows"
        t = Text(shown + (f" of {total:,}" if total is not None else (" (all)" if self.done else "")), style="bold")
        if not self.done:
            t.append_text(Text.assemble("  ", ("m", "bold"), f" {PREVIEW_ROWS} more"))
        t.append_text(Text.assemble("  ", ("/", "bold"), " filter  ", ("=", "bold"), " this value  ",
                                    ("F", "bold"), " counts"))
        self.query_one("#preview-note", Static).update(t)

    def load_more(self) -> None:
        if self.done or self.frame is None or self.version is None or self.store is None:
            if self.done:
                self.notify("every row is shown", timeout=2)
            return
        self.read_page(self.store, self.version, len(self.frame))

    @work(thread=True, exclusive=True, group="preview")
    def read_page(self, store: "Store", v: AssetVersion, offset: int) -> None:
        try:
            page = store.preview(v.asset, v.run_id, rows=PREVIEW_ROWS, offset=offset)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.notify, describe_error(exc), title="cannot read more rows", severity="error")
            return
        self.app.call_from_thread(self._more, v, offset, page)

    def _more(self, v: AssetVersion, offset: int, page: Any) -> None:
        if not self.is_attached or v is not self.version or self.frame is None or len(self.frame) != offset:
            return  # another version or page took over
        if not isinstance(page, pd.DataFrame):
            return
        self.done = len(page) < PREVIEW_ROWS
        self.frame = pd.concat([self.frame, page], ignore_index=True)
        self._add_rows(page, offset)

    def frequency(self, column: str) -> None:
        if self.version is None or self.store is None or self.version.table is None:
            return
        self.count_values(self.store, self.version, column)

    @work(thread=True, exclusive=True, group="frequency")
    def count_values(self, store: "Store", v: AssetVersion, column: str) -> None:
        view = quote_ident(f"{v.asset}@{v.run_id}")
        where = f" WHERE {quote_ident('partition')} = {quote_literal(v.partition)}" if v.partition is not None else ""
        col = quote_ident(column)
        try:
            counts = store.sql(f"SELECT {col} AS value, count(*) AS n FROM {view}{where} "
                               f"GROUP BY 1 ORDER BY n DESC, 1 NULLS LAST LIMIT {FREQUENCIES}")
            whole = store.sql(f"SELECT count(DISTINCT {col}) + CAST(count(*) > count({col}) AS INTEGER) AS d, "
                              f"count(*) AS n FROM {view}{where}")
            distinct, rows = int(whole.iloc[0, 0]), int(whole.iloc[0, 1])
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.notify, describe_error(exc), title="cannot count", severity="error")
            return
        pairs = [(None if pd.isna(val) else val, int(n)) for val, n in counts.itertuples(index=False)]
        self.app.call_from_thread(self.app.push_screen, FrequencyScreen(f"{v.asset}@{v.run_id}", column, pairs, distinct, rows))
    def show_unpickled(self, v: AssetVersion, type_name: str, text: str) -> None:
        self.query_one("#preview-table").display = False
        self.query_one("#preview-scroll").display = True
        self.query_one("#preview-text", Static).update(safe(Text.assemble(
            (f"unpickled {v.asset} @ {v.run_id} (a {type_name}):\n", "bold yellow"), text[:20000])))

    def trace_where(self) -> dict[str, Any]:
        """The previewed row under the cursor as a condition: the version's declared key
        columns, else every column holding a simple value (number, text, boolean)."""
        import numpy as np

        frame, v = self.frame, self.version
        table = self.query_one("#preview-table", DataTable)
        if frame is None or v is None or not len(frame) or not table.row_count:
            return {}
        at = table.cursor_key()
        if at is None:
            return {}
        row = frame.iloc[int(at)]

        def plain(x: Any) -> Any:
            if isinstance(x, pd.Timestamp):
                return x.to_pydatetime()
            if isinstance(x, np.generic):
                return x.item()
            return x

        keys = [k for k in v.keys if k in frame.columns]
        if keys:
            return {k: plain(row[k]) for k in keys}
        where = {}
        for c in frame.columns:
            x = plain(row[c])
            if isinstance(x, bool) or isinstance(x, (int, str)):
                where[str(c)] = x
            elif isinstance(x, float) and math.isfinite(x):
                where[str(c)] = x
        return where


class FrequencyScreen(ModalScreen[None]):
    """How often each value of one column occurs in a whole version (``F`` in the preview)."""

    BINDINGS = [Binding("escape,q,F", "dismiss", "close")]
    DEFAULT_CSS = """
    FrequencyScreen { align: center middle; }
    FrequencyScreen > #frequency-box { width: 90%; max-width: 100; height: auto; max-height: 80%;
                                       border: round $accent; background: $surface; padding: 0 1; }
    FrequencyScreen #frequency-table { height: auto; max-height: 30; }
    """

    def __init__(self, version: str, column: str, pairs: list[tuple[Any, int]], distinct: int, rows: int) -> None:
        super().__init__()
        self.version, self.column, self.pairs, self.distinct, self.rows = version, column, pairs, distinct, rows

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        shown = len(self.pairs)
        head = Text.assemble(("counts of ", "bold"), (self.column, "bold cyan"), f" in {self.version}: "
                             f"{self.distinct:,} distinct values in {self.rows:,} rows"
                             + (f" (the {shown} most frequent shown)" if shown < self.distinct else "")
                             + " · esc closes")
        with Vertical(id="frequency-box"):
            yield Static(safe(head), classes="hint")
            table = Table(id="frequency-table", cursor_type="row", zebra_stripes=True, noun="values")
            yield table

    def on_mount(self) -> None:
        table = self.query_one("#frequency-table", Table)
        for c in ("value", "rows", "share"):
            table.add_column(c, key=c)
        for i, (value, n) in enumerate(self.pairs):
            share = n / self.rows if self.rows else 0
            table.add_row(Text("(null)", style="dim") if value is None else fmt_value(value),
                          Text(f"{n:,}", justify="right"), Text(f"{share:6.1%} " + "█" * round(share * 20)),
                          key=str(i))
        table.focus()

    def action_dismiss(self) -> None:
        self.dismiss(None)
