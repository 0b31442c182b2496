"""The asset screen's preview tab: a table's rows read a page at a time (``m`` reads the next
page, never the whole table), or the text of a JSON, bytes or pickle version; a one-dimensional
numeric array is drawn as a histogram (``v`` shows its values). ``/`` searches the whole version
(read page by page in a worker) and ``n`` / ``N`` go to the next / previous matching row, reading
the pages up to it; ``|`` filters the rows read, ``=`` keeps the rows holding the focused value,
``F`` counts the values of the focused column over the whole version (DuckDB, as VisiData's
``F``), ``t`` traces the row under the cursor to its sources."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static, TabPane
from textual.worker import get_current_worker

from ....models import AssetVersion
from ...errors import describe_error
from ....formats.base import quote_ident, quote_literal
from ....visible import visible
from ...text import human_size, safe, when
from ...widgets.plot import Histogram, HistogramView
from ...widgets.tables import Table
from .overview import fmt_value

if TYPE_CHECKING:
    from ....api import Store

PREVIEW_ROWS = 50  # rows per page read
SEARCH_ROWS = 10_000  # rows per page read by a search (only the positions of the matches are kept)
HISTOGRAM_BYTES = 64 << 20  # a longer 1-D array is not read whole for its histogram
FREQUENCIES = 200  # values listed by F (the count of distinct values is always whole)
NOT_STORED = ("stored outside the store: Dagster recorded this materialization (its metadata, data version "
              "and inputs are in the overview); its data is wherever the asset wrote it, so there is nothing to preview")


def match_positions(frame: pd.DataFrame, needle: str, start: int = 0) -> list[int]:
    """The positions (``start`` + row number) of the rows of ``frame`` with a cell holding
    ``needle``, case-insensitively, in the text shown for it (``fmt_value`` then made visible) or
    its full text (a float shown as ``4.77e+04`` is found by ``47700``). An empty cell holds nothing."""
    needle = needle.lower()
    if not needle or not len(frame):
        return []
    hit = pd.Series(False, index=range(len(frame)))
    for col in range(frame.shape[1]):
        s = frame.iloc[:, col].reset_index(drop=True)
        empty = s.isna()
        texts = [s.astype(str)]
        text = s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
        if s.dtype.kind == "f" or s.dtype == object:
            texts.append(s.map(lambda x: "" if x is None else fmt_value(x)))
        for t in texts:
            if text:
                t = t.map(visible)
            hit |= t.str.lower().str.contains(needle, regex=False, na=False) & ~empty
    return [start + i for i in hit[hit].index]


class SearchInput(Input):
    """The box ``/`` opens above the preview: ``enter`` searches the whole version, ``escape``
    closes it (and ends the search)."""

    BINDINGS = [Binding("escape", "close", "close search")]

    def __init__(self, pane: "PreviewPane") -> None:
        super().__init__(placeholder="search the whole version: text any cell of a row holds (enter)",
                         classes="table-filter", id="preview-search")
        self.pane = pane

    def action_close(self) -> None:
        self.pane.end_search()
        self.pane.query_one("#preview-table").focus()
        self.remove()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pane.query_one("#preview-table").focus()
        self.remove()
        self.pane.search(event.value)


class PreviewTable(Table):
    """The data preview; ``t`` traces the row under the cursor to its sources (offered only for a
    table version: trace follows table rows). At 80 columns the footer holds every key it offers
    (short labels); ``N``, ``|``, ``=`` and ``P`` are in ``?`` (and ``=`` in the note above the rows)."""

    BINDINGS = [
        Binding("slash", "search", "find", key_display="/"),
        Binding("n", "search_next(1)", "next match", key_display="n/N"),
        Binding("N", "search_next(-1)", "previous match", key_display="N", show=False),
        Binding("vertical_line", "filter", "filter the rows read", key_display="|", show=False),
        Binding("t", "screen.trace_row", "trace row"),
        Binding("m", "more", "more rows"),
        Binding("equals_sign", "filter_value", "rows with this value (again: all)", key_display="=", show=False),
        Binding("F", "frequency", "counts", key_display="F"),
        Binding("P", "screen.load_pickle", "unpickle (a pickle's preview)", key_display="P", show=False),  # a table is no pickle
    ]

    def action_search(self) -> None:
        pane = self.pane()
        box = next(iter(pane.query(SearchInput)), None)
        if box is None:
            box = SearchInput(pane)
            box.value = pane.needle
            pane.mount(box, before=self)
        box.focus()

    def action_search_next(self, step: int) -> None:
        self.pane().search_next(step)

    def filter_note(self) -> str:
        """The filter's count, then how the search stands (the status line shows both)."""
        return " · ".join(p for p in (super().filter_note(), self.pane().search_note()) if p)

    def on_focus(self, event: events.Focus) -> None:
        if not self.display:  # the preview shows text or a histogram: the focus goes there
            self.call_after_refresh(self.pane().focus_shown)

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
    parts: list = []

    def line(label: str, value: Any) -> None:
        parts.extend([(f"{label:>13}  ", "bold"), f"{value}\n"])

    line("format", "pickle")
    line("size", f"{human_size(v.size_bytes)} ({v.size_bytes:,} bytes)")
    line("hash", v.content_hash)
    line("created", when(v.created_at))
    line("code version", v.code_version or "-")
    line("path", v.data_path)
    line("inputs", ", ".join(f"{i.asset}@{i.run_id}" for i in v.inputs) or "none")
    for k, val in sorted(v.metadata.items()):
        line("metadata", f"{k}: " + (json.dumps(val, default=str) if not isinstance(val, str) else val))
    parts += ["\n", (refusal + "\n", "yellow"), ("P", "bold"), " loads it anyway, after asking"]
    return safe(*parts)


class PreviewPane(TabPane):
    """Reads the preview in a worker; ``frame`` / ``version`` are what it shows."""

    BINDINGS = [Binding("v", "toggle_values", "values / histogram")]

    def __init__(self) -> None:
        super().__init__("2 preview", id="preview")
        self.frame: pd.DataFrame | None = None
        self.version: AssetVersion | None = None
        self.store: "Store | None" = None
        self._previewed: tuple | None = None
        self.done = False  # every row of the version has been read
        self.needle = ""  # the text searched for ("" : no search)
        self.matches: list[int] = []  # positions in the version of the rows holding it, ascending
        self.searched = 0  # rows searched so far
        self.search_done = False
        self.current: int | None = None  # the match the cursor is on (its position in the version)
        self._pending = 0  # n / N pressed while the search had not found the next match yet
        self._first = False
        self.histogram: Histogram | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="preview-note", classes="hint")
        yield PreviewTable(id="preview-table", zebra_stripes=True)
        yield HistogramView(id="preview-histogram")
        yield VerticalScroll(Static(id="preview-text"), id="preview-scroll")

    def on_mount(self) -> None:
        self.query_one("#preview-scroll").display = False
        self.query_one("#preview-histogram").display = False

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "toggle_values":
            return self.histogram is not None
        return True

    def focus_shown(self) -> None:
        """Focus what the pane shows (the table, the histogram or the text)."""
        for wid in ("#preview-table", "#preview-histogram", "#preview-scroll"):
            w = self.query_one(wid)
            if w.display:
                w.focus()
                return

    def action_toggle_values(self) -> None:
        """A histogram's raw values (the preview's text), or back to the histogram."""
        if self.histogram is None:
            return
        hist, scroll = self.query_one("#preview-histogram"), self.query_one("#preview-scroll")
        hist.display = not hist.display
        scroll.display = not hist.display
        self.histogram_note(hist.display)
        self.focus_shown()

    def histogram_note(self, drawn: bool) -> None:
        if self.histogram is not None:
            self.query_one("#preview-note", Static).update(safe(
                (self.histogram.summary(), "bold"), "  ", ("v", "bold"), " values" if drawn else " histogram"))

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
        hist = None
        try:
            hist = self.array_histogram(store, v, value)
        except Exception as exc:  # noqa: BLE001 - the values are still shown
            self.app.call_from_thread(self.notify, describe_error(exc), title="no histogram", severity="warning")
        self.app.call_from_thread(self._show, value, None, v, hist)

    @staticmethod
    def array_histogram(store: "Store", v: AssetVersion, value: Any) -> "Histogram | None":
        """The histogram of a one-dimensional numeric array (read whole up to ``HISTOGRAM_BYTES``:
        the preview holds only its first values), else None."""
        import numpy as np

        if v.data_format != "npy":
            return None
        if isinstance(value, str) and value.startswith("preview truncated") and (v.size_bytes or 0) <= HISTOGRAM_BYTES:
            value = store.load(v.asset, v.run_id)
        if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "biuf":
            return None
        return Histogram(value)

    def _loading(self) -> None:
        self.query_one("#preview-table").loading = True

    def _show(self, value: Any, error: str | None, v: AssetVersion | None = None,
              hist: "Histogram | None" = None) -> None:
        if not self.is_attached:  # the screen was closed while the worker ran
            return
        table = self.query_one("#preview-table", DataTable)
        table.loading = False
        text = self.query_one("#preview-text", Static)
        scroll = self.query_one("#preview-scroll")
        self.version = v
        self.frame = value if error is None and isinstance(value, pd.DataFrame) else None
        self.histogram = hist if error is None else None
        self.end_search()
        self.screen.refresh_bindings()  # ``t`` is offered for a table only, ``v`` for a histogram
        note = self.query_one("#preview-note", Static)
        note.display = self.frame is not None or self.histogram is not None
        histogram = self.query_one("#preview-histogram", HistogramView)
        histogram.display = self.histogram is not None
        if self.histogram is not None and v is not None:
            histogram.set_histogram(self.histogram, f"{v.asset} @ {v.run_id}")
            self.histogram_note(True)
        if error is not None or not isinstance(value, pd.DataFrame):
            was_table = self.app.focused is table
            table.display = False
            scroll.display = self.histogram is None
            if was_table:
                self.call_after_refresh(self.focus_shown)
            if error is not None:
                text.update(safe(error, style="red"))
            elif v is not None and v.data_format == "pickle":
                text.update(pickle_facts(v, str(value)))
            elif isinstance(value, (dict, list)):
                text.update(safe(json.dumps(value, indent=2, default=str)[:20000]))
            else:
                text.update(safe(str(value)[:20000]))
            return
        table.display = True
        scroll.display = False
        histogram.display = False
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
        parts: list = [shown + (f" of {total:,}" if total is not None else (" (all)" if self.done else ""))]
        if not self.done:
            parts += ["  ", ("m", "bold"), f" {PREVIEW_ROWS} more"]
        search = self.search_note()
        if search:
            parts.append(("  " + search, "yellow"))
        else:
            parts += ["  ", ("/", "bold"), " search  ", ("n", "bold"), "/", ("N", "bold"),
                      " next/prev  ", ("=", "bold"), " this value  ", ("F", "bold"), " counts"]
        self.query_one("#preview-note", Static).update(safe(*parts, style="bold"))
        table = self.query_one("#preview-table", Table)
        if table.is_attached:
            table.report_columns()  # the status line says how the search stands

    def load_more(self) -> None:
        if self.done or self.frame is None or self.version is None or self.store is None:
            if self.done:
                self.notify("every row is shown", timeout=2)
            return
        self.read_page(self.store, self.version, len(self.frame))

    @work(thread=True, exclusive=True, group="preview")
    def read_page(self, store: "Store", v: AssetVersion, offset: int, rows: int = PREVIEW_ROWS,
                  then: int | None = None) -> None:
        """Rows ``offset`` .. ``offset + rows`` (whole pages); ``then``: the row to put the cursor on."""
        try:
            page = store.preview(v.asset, v.run_id, rows=rows, offset=offset)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self.notify, describe_error(exc), title="cannot read more rows", severity="error")
            return
        self.app.call_from_thread(self._more, v, offset, page, rows, then)

    def _more(self, v: AssetVersion, offset: int, page: Any, rows: int = PREVIEW_ROWS, then: int | None = None) -> None:
        if not self.is_attached or v is not self.version or self.frame is None or len(self.frame) != offset:
            return  # another version or page took over
        if not isinstance(page, pd.DataFrame):
            return
        self.done = len(page) < rows
        self.frame = pd.concat([self.frame, page], ignore_index=True)
        self._add_rows(page, offset)
        if then is not None:
            self.call_after_refresh(self._move_to, then)

    # ------------------------------------------------------------------ search
    def search(self, needle: str) -> None:
        """Search the whole version for ``needle``, then go to the first match from the cursor on."""
        self.end_search()
        if not needle.strip() or self.version is None or self.store is None or self.frame is None:
            self.show_note()
            return
        self.needle = needle
        self._pending = 1
        self.show_note()
        self._first = True  # the first jump may land on the cursor's own row
        self.scan(self.store, self.version, needle)

    def end_search(self) -> None:
        self.workers.cancel_group(self, "search")
        self.needle, self.matches, self.searched, self.search_done = "", [], 0, False
        self.current, self._pending = None, 0
        if self.is_mounted and self.frame is not None:
            self.show_note()

    @work(thread=True, exclusive=True, group="search")
    def scan(self, store: "Store", v: AssetVersion, needle: str) -> None:
        worker = get_current_worker()
        offset = 0
        while not worker.is_cancelled:
            try:
                page = store.preview(v.asset, v.run_id, rows=SEARCH_ROWS, offset=offset)
            except Exception as exc:  # noqa: BLE001
                self.app.call_from_thread(self.notify, describe_error(exc), title="cannot search", severity="error")
                return
            if not isinstance(page, pd.DataFrame):
                return
            found = match_positions(page, needle, offset)
            offset += len(page)
            last = len(page) < SEARCH_ROWS
            if not worker.is_cancelled:
                self.app.call_from_thread(self._found, v, needle, found, offset, last)
            if last:
                return

    def _found(self, v: AssetVersion, needle: str, found: list[int], searched: int, last: bool) -> None:
        if not self.is_attached or v is not self.version or needle != self.needle:
            return
        self.matches.extend(found)
        self.searched, self.search_done = searched, last
        if self._pending:
            step, self._pending = self._pending, 0
            self.search_next(step)
        else:
            self.show_note()

    def cursor_position(self, default: int = -1) -> int:
        """The version row the cursor is on (the table's row key), or ``default``."""
        table = self.query_one("#preview-table", Table)
        key = table.cursor_key() if table.row_count else None
        return int(key) if key is not None else default

    def search_next(self, step: int) -> None:
        """The next (``step`` 1) or previous (-1) match from the cursor, wrapping round; if the
        search has not got that far yet, it goes there when it does."""
        if not self.needle:
            self.notify("nothing searched yet: / searches", timeout=2)
            return
        at = self.cursor_position(-1)
        if self._first and step > 0:
            at -= 1
        ahead = [p for p in self.matches if p > at] if step > 0 else [p for p in self.matches if p < at]
        if ahead:
            target = ahead[0] if step > 0 else ahead[-1]
        elif not self.search_done:
            self._pending = step
            self.show_note()
            return
        elif self.matches:
            target = self.matches[0] if step > 0 else self.matches[-1]
            self.notify("search wrapped round", timeout=2)
        else:
            self.show_note()
            return
        self._first = False
        self.go_to(target)

    def go_to(self, position: int) -> None:
        """Put the cursor on the version's row ``position``, reading the pages up to it first."""
        self.current = position
        self.show_note()
        if self.frame is not None and position >= len(self.frame):
            if self.version is None or self.store is None:
                return
            have = len(self.frame)
            rows = ((position - have) // PREVIEW_ROWS + 1) * PREVIEW_ROWS  # whole pages, up to the match
            self.read_page(self.store, self.version, have, rows, position)
            return
        self._move_to(position)

    def _move_to(self, position: int) -> None:
        table = self.query_one("#preview-table", Table)
        try:
            index = table.get_row_index(str(position))
        except Exception:  # noqa: BLE001 - a filter hides the row: show every row read
            table.filter_text = ""
            table.set_value_filter(None)
            try:
                index = table.get_row_index(str(position))
            except Exception:  # noqa: BLE001
                return
        table.move_cursor(row=index, animate=False)
        table.report_columns()

    def search_note(self) -> str:
        """``match 3 of 17 for “abc”``, ``no match for “abc”``, or how far the search has got."""
        if not self.needle:
            return ""
        quoted = f"“{self.needle}”"  # (made visible with the note, by safe)
        total = f"{len(self.matches):,}" + ("" if self.search_done else "+")
        if self.search_done and not self.matches:
            return f"no match for {quoted} in {self.searched:,} rows"
        if self.current is not None and self.current in self.matches:
            where = f"match {self.matches.index(self.current) + 1:,} of {total} for {quoted}"
        else:
            where = f"{total} matches for {quoted}"
        return where + ("" if self.search_done else f" (searching: {self.searched:,} rows read)")

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
        self.query_one("#preview-text", Static).update(safe(
            (f"unpickled {v.asset} @ {v.run_id} (a {type_name}):\n", "bold yellow"), text[:20000]))

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
        head = safe(("counts of ", "bold"), (self.column, "bold cyan"), f" in {self.version}: "
                             f"{self.distinct:,} distinct values in {self.rows:,} rows"
                             + (f" (the {shown} most frequent shown)" if shown < self.distinct else "")
                             + " · esc closes")
        with Vertical(id="frequency-box"):
            yield Static(head, classes="hint")
            table = Table(id="frequency-table", cursor_type="row", zebra_stripes=True, noun="values")
            yield table

    def on_mount(self) -> None:
        table = self.query_one("#frequency-table", Table)
        for c in ("value", "rows", "share"):
            table.add_column(c, key=c)
        for i, (value, n) in enumerate(self.pairs):
            share = n / self.rows if self.rows else 0
            table.add_row(safe("(null)", style="dim") if value is None else fmt_value(value),
                          safe(f"{n:,}", justify="right"), f"{share:6.1%} " + "█" * round(share * 20),
                          key=str(i))
        table.focus()

    def action_dismiss(self) -> None:
        self.dismiss(None)
