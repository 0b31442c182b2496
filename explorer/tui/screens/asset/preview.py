"""The asset screen's preview tab: the first rows of a table (a ``PreviewTable``), or the text
of a JSON, bytes or pickle version; ``t`` traces the row under the cursor to its sources."""

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
from textual.widgets import DataTable, Static, TabPane

from ....models import AssetVersion
from ...errors import describe_error
from ...text import human_size, safe, when
from ...widgets.tables import Table
from .overview import fmt_value

if TYPE_CHECKING:
    from ....api import Store

PREVIEW_ROWS = 50
NOT_STORED = ("stored outside the store: Dagster recorded this materialization (its metadata, data version "
              "and inputs are in the overview); its data is wherever the asset wrote it, so there is nothing to preview")


class PreviewTable(Table):
    """The data preview; ``t`` traces the row under the cursor to its sources (offered only for a
    table version: trace follows table rows)."""

    BINDINGS = [Binding("t", "screen.trace_row", "trace this row")]


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
        self._previewed: tuple | None = None

    def compose(self) -> ComposeResult:
        yield PreviewTable(id="preview-table", zebra_stripes=True)
        yield VerticalScroll(Static(id="preview-text"), id="preview-scroll")

    def on_mount(self) -> None:
        self.query_one("#preview-scroll").display = False

    def show(self, store: "Store", v: AssetVersion) -> None:
        """Read the preview of ``v`` unless it is the one shown (a refresh keeps it)."""
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
        for i, row in enumerate(value.itertuples(index=False)):
            table.add_row(*(fmt_value(x) for x in row), key=str(i))  # the frame's row (a filter hides some)

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
