"""The asset screen's first tab: the version's facts, its partitions and its schema with statistics."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static, TabPane

from ....models import AssetVersion
from ....names import with_partition
from ....visible import bounded
from ...text import human_size, safe, status_text, when
from ...widgets.tables import Table

if TYPE_CHECKING:
    from ....api import Store


def fmt_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


LABEL = 12  # the labels' column


class Facts(Static):
    """``label value`` lines; a value too long for its line (a hash at 80 columns) folds under
    itself, never back to the first column."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.rows: list[tuple[str, str, str]] = []

    def set_rows(self, rows: list[tuple[str, str, str]]) -> None:
        self.rows = rows
        self.refresh(layout=True)

    def build(self, width: int) -> Text:
        room = max(10, width - LABEL - 1) if width else 10_000
        parts: list = []
        for label, value, style in self.rows:  # (each value made visible already: wrapping keeps it so)
            parts.append((f"{label:>{LABEL}} ", "bold"))
            for i, part in enumerate(safe(value, style=style).wrap(self.app.console, room, overflow="fold")):
                if i:
                    parts.append(" " * (LABEL + 1))
                parts += [part, "\n"]
        out = safe(*parts)
        out.rstrip()
        return out

    def render(self) -> Text:
        return self.build(self.content_size.width)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.build(width).plain.split("\n")) if self.rows else 0


class OverviewPane(TabPane):
    """Facts (run, hash, path, inputs, flags, metadata, causes), partitions, schema."""

    def __init__(self) -> None:
        super().__init__("1 overview", id="overview")
        self._partition_rows: list[str] = []
        self.asset = ""
        self.key = ""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Facts(id="facts", classes="facts")
            yield Table(id="partitions", cursor_type="row", zebra_stripes=True)
            yield Table(id="schema", cursor_type="row", zebra_stripes=True)

    def show(self, store: "Store", v: AssetVersion, key: str, report: Any | None) -> None:
        self.asset, self.key = v.asset, key
        self.fill_facts(store, v, report)
        self.fill_partitions(store, v)
        self.fill_schema(v)

    def fill_facts(self, store: "Store", v: AssetVersion, report: Any | None) -> None:
        run = store.index.runs.get(v.run_id)
        rows: list[tuple[str, str, str]] = []

        def line(label: str, value: Any, style: str = "") -> None:
            rows.append((label, bounded(safe(value, lines=False).plain), style))  # one line each, however long

        line("run", f"{v.run_id}" + (f"  ({run.job}, {run.status})" if run else ""))
        line("created", when(v.created_at))
        line("code version", v.code_version or "-")
        if v.stored:
            line("format", v.data_format)
            line("size", human_size(v.size_bytes))
        line("hash", v.content_hash)
        if v.stored:
            line("path", v.data_path)
        else:
            line("data", "stored outside the store (Dagster recorded the materialization)")
        if v.table is not None:
            line("rows", f"{v.table.num_rows:,}")
        if v.keys:
            line("keys", ", ".join(v.keys))
        if v.partition is not None:
            line("partition", v.partition)
        line("inputs", ", ".join(f"{with_partition(i.asset, i.partition)}@{i.run_id}" for i in v.inputs) or "none (a source)")
        try:
            flag = store.active_flags().get((v.asset, v.run_id))
            tainted_by = store.tainted().get((v.asset, v.run_id), ())
        except Exception:  # noqa: BLE001
            flag, tainted_by = None, ()
        if flag is not None:
            line("flagged", f"by {flag.author} at {when(flag.created_at)}: {flag.reason}", "bright_magenta")
        elif tainted_by:
            line("tainted", "built from " + ", ".join(f"{a}@{r}" for a, r in sorted(tainted_by)), "bright_magenta")
        for k, val in sorted(v.metadata.items()):
            line("metadata", f"{k}: " + (json.dumps(val) if not isinstance(val, str) else val))
        for c in store.index.latest_checks(v):
            style = "green" if c.passed else ("red" if c.severity == "ERROR" else "yellow")
            line("check", f"{c.name}: {c.outcome} ({c.severity})" + (f" - {c.description}" if c.description else "")
                 + "".join(f", {k}={val}" for k, val in c.metadata.items()), style)
        latest = store.index.latest(v.asset, v.partition)
        if report is not None and latest is not None and latest.run_id == v.run_id:
            st = report.get(v.asset)
            for c in getattr(st, "causes", ()) or ():
                line("cause", c.describe(), "yellow")
        self.query_one("#facts", Facts).set_rows(rows)

    def fill_partitions(self, store: "Store", v: AssetVersion) -> None:
        """A partitioned asset's partitions: status, latest run, versions (enter opens one)."""
        table = self.query_one("#partitions", DataTable)
        table.clear(columns=True)
        rows = store.partitions(v.asset) if v.partition is not None else []
        table.display = bool(rows)
        if not rows:
            return
        for c in ("partition", "status", "latest run", "versions", "created"):
            table.add_column(c, key=c)
        for i, p in enumerate(rows):
            name = safe(p.partition, style="bold" if p.partition == v.partition else "", lines=False)
            table.add_row(name, status_text(p.status), p.run_id or "", str(p.versions),
                          when(p.created_at) if p.created_at else "", key=str(i))
        self._partition_rows = [p.partition for p in rows]

    @on(DataTable.RowHighlighted)
    def _keep_cursor_visible(self, event: DataTable.RowHighlighted) -> None:
        """The tables grow to their rows inside one scroll: keep the cursor's row on screen."""
        from textual.geometry import Region

        table = event.data_table
        scroll = self.query_one(VerticalScroll)
        row_y = table.virtual_region.y + table.header_height + event.cursor_row
        scroll.scroll_to_region(Region(0, row_y, 1, 1), animate=False)

    @on(DataTable.RowSelected, "#partitions")
    def _partition_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        part = self._partition_rows[int(event.row_key.value)]
        if with_partition(self.asset, part) != self.key:
            self.app.open_asset(with_partition(self.asset, part))  # type: ignore[attr-defined]

    def fill_schema(self, v: AssetVersion) -> None:
        table = self.query_one("#schema", DataTable)
        table.clear(columns=True)
        if v.table is None:
            table.display = False
            return
        for c in ("column", "type", "nulls", "min", "max", "mean", "distinct"):
            table.add_column(c, key=c)
        for c in v.table.columns:
            table.add_row(c.name, c.type, fmt_value(c.null_count), fmt_value(c.min), fmt_value(c.max),
                          fmt_value(c.mean), fmt_value(c.distinct), key=c.name)
